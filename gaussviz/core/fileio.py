"""Writing files so that a crash never leaves half a file and nothing is overwritten by surprise.

Every export and session save goes through ``atomic_write_bytes``: the data go
to a temporary file in the destination folder (same file system, so the final
rename is atomic), are flushed to disk, and only then take the file's name.
Errors are ``OSError`` subclasses whose message names the path and says what
went wrong in one line, so the CLI can print it and the window can show it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class WriteError(OSError):
    """A file could not be written; ``str(e)`` is one line naming the path."""

    def __init__(self, message: str, err: int | None = None) -> None:
        super().__init__(message)
        # errno only (not strerror) so str(e) stays the plain message.
        self.errno = err


class OverwriteError(FileExistsError):
    """The destination exists and the caller did not allow overwriting it."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} already exists; not overwriting it without force (--force on the command line)")
        self.errno = errno.EEXIST
        self.path = path


def _reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "the disk is full"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if e.errno == errno.EROFS:
        return "the file system is read-only"
    return e.strerror or str(e)


def ensure_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and parents) if needed and check that files can be written in it."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise WriteError(f"cannot write to {p}: it is a file, not a folder", errno.ENOTDIR)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"cannot create folder {p}: {_reason(e)}", e.errno) from None
    try:
        fd, probe = tempfile.mkstemp(dir=p, prefix=".gaussviz-probe-", suffix=".tmp")
    except OSError as e:
        raise WriteError(f"cannot write to folder {p}: {_reason(e)}", e.errno) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return p


def check_can_create(path: str | os.PathLike, force: bool = False) -> Path:
    """Raise the error a later write would raise for an existing file, before doing long work."""
    p = Path(path)
    if p.is_dir():
        raise WriteError(f"cannot write {p}: it is a folder", errno.EISDIR)
    if p.exists() and not force:
        raise OverwriteError(p)
    return p


def atomic_write_bytes(path: str | os.PathLike, data: bytes, force: bool = False) -> Path:
    """Write ``data`` to ``path`` all at once: readers see the old file or the new one, never half.

    Without ``force`` an existing file is left alone and ``OverwriteError`` (a
    ``FileExistsError``) is raised. Returns the path written.
    """
    p = check_can_create(path, force)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise WriteError(f"cannot write {p}: folder {folder} does not exist", errno.ENOENT)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)
            if force:
                os.replace(tmp, p)
            else:
                _link_no_overwrite(tmp, p)
        except OverwriteError:
            raise
        except OSError as e:
            raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_folder(folder)
    return p


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that streams (an encoder): it takes the
    name only if the block finishes; any error removes it, so no half file is ever left.

    The temporary name ends in the same suffix (``.clip.mp4.x1y2.partial.mp4``), since some
    writers choose the format from it. Overwrite rules as ``atomic_write_bytes``.
    """
    p = check_can_create(path, force)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise WriteError(f"cannot write {p}: folder {folder} does not exist", errno.ENOENT)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=f".partial{p.suffix}")
    except OSError as e:
        raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            _fsync_file(tmp)
            os.chmod(tmp, 0o666 & ~_UMASK)
            if force:
                os.replace(tmp, p)
            else:
                _link_no_overwrite(tmp, p)
        except OverwriteError:
            raise
        except OSError as e:
            raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike, text: str, force: bool = False, encoding: str = "utf-8") -> Path:
    """``atomic_write_bytes`` for text (UTF-8 by default, newlines as given)."""
    return atomic_write_bytes(path, text.encode(encoding), force=force)


def read_text(path: str | os.PathLike, what: str = "file") -> str:
    """A UTF-8 text file, or a one-line ValueError/OSError naming the path."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise WriteError(f"cannot read {what} {p}: no such file", errno.ENOENT) from None
    except IsADirectoryError:
        raise WriteError(f"cannot read {what} {p}: it is a folder", errno.EISDIR) from None
    except OSError as e:
        raise WriteError(f"cannot read {what} {p}: {_reason(e)}", e.errno) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{what} {p} is not UTF-8 text (byte {e.start})") from None


def _link_no_overwrite(tmp: str, p: Path) -> None:
    # A hard link fails if the name exists, so no check-then-rename race; file
    # systems without hard links fall back to check + replace.
    try:
        os.link(tmp, p)
    except FileExistsError:
        raise OverwriteError(p) from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if p.exists():
            raise OverwriteError(p) from None
        os.replace(tmp, p)


def _read_umask() -> int:
    # os.umask can only be read by setting it: do it once, at import, not while threads write files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _fsync_file(path: str) -> None:
    """Flush a file another writer (a subprocess) wrote to disk before it takes its name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    # Make the rename itself durable (POSIX); harmless where unsupported.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
