"""Reading and writing files safely: no half files, no surprise overwrites, no stranger's name
deciding where a file goes, no device or pipe read as if it were a file.

Every export and session save goes through ``atomic_write_bytes``: the data go
to a temporary file in the destination folder (same file system, so the final
rename is atomic), are flushed to disk, and only then take the file's name.
A set of files (render, sweep, Export all) goes through ``write_file_set``:
every file is written to a temporary first, then all take their names; if
anything fails (or SIGINT/SIGTERM arrives) on the way, the files this call
created are removed and the ones it replaced are put back. A file name built
from text that came from a file (a session's preset name, ...) goes through
``safe_name`` first. Nothing that is not a regular file is ever replaced.

Errors are ``OSError`` subclasses whose message names the path and says what
went wrong in one line, so the CLI can print it and the window can show it.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO


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


# ------------------------------------------------------------------ names
#: characters of a base name made from a stranger's text at most (before the caller's suffixes)
MAX_BASE_NAME = 64
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
#: names Windows reserves (a file called CON cannot be created there)
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def safe_name(text: object, fallback: str = "custom", limit: int = MAX_BASE_NAME) -> str:
    """A base name made from text that came from a file or a user (a preset name, a label):
    ASCII letters, digits, '-', '_' and '.' only (every other run of characters becomes one
    '_'), no leading '.', '-' or '_', at most ``limit`` characters; ``fallback`` if nothing is
    left. It can never name a folder (``..``), a hidden file or a path elsewhere."""
    t = _UNSAFE_NAME.sub("_", text) if isinstance(text, str) else ""
    t = t[: 4 * limit].strip("._-")[:limit].rstrip("._-")
    if not t:
        return fallback
    if t.split(".", 1)[0].upper() in _RESERVED:
        t = t[: limit - 1] + "_"
    return t


def check_base_name(name: str) -> str:
    """A file name to create inside a chosen folder: no folder part, not hidden, not '.' or '..'."""
    if (not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".")
            or "/" in name or "\\" in name or "\0" in name or Path(name).name != name):
        raise WriteError(f"refusing to write {name!r}: a file name inside the chosen folder must not name "
                         "a folder, a hidden file or a path elsewhere", errno.EINVAL)
    return name


# ------------------------------------------------------------------ reading
class MissingFile(ValueError):
    """``open_regular``: there is no file of that name."""


class NotAFile(ValueError):
    """``open_regular``: the name is a folder, a device, a pipe or a socket."""


def open_regular(path: str | os.PathLike, max_bytes: int | None = None) -> tuple[BinaryIO, int]:
    """(binary file, size) of a regular file, opened without blocking on a FIFO and checked on
    the open descriptor (no check-then-open race); ValueError with the reason otherwise (missing,
    a folder, a device, pipe or socket, larger than ``max_bytes``)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as e:
        raise MissingFile(e.strerror or "No such file or directory") from None
    except IsADirectoryError:
        raise NotAFile("Is a directory") from None
    except (OSError, TypeError, ValueError) as e:
        try:
            special = not stat.S_ISREG(os.stat(path).st_mode)  # a socket cannot even be opened
        except (OSError, TypeError, ValueError):
            special = False
        if special:
            raise NotAFile("not a regular file: a device, pipe or socket") from None
        reason = _reason(e) if isinstance(e, OSError) else str(e)
        raise ValueError(f"cannot open it ({reason})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise NotAFile("Is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise NotAFile("not a regular file: a device, pipe or socket")
        if max_bytes is not None and st.st_size > max_bytes:
            raise ValueError(f"it is too large ({st.st_size:,} bytes; at most {max_bytes // 2**20:,} MB)")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; ValueError with the reason otherwise."""
    f, _ = open_regular(path, max_bytes)
    with f:
        try:
            data = f.read(max_bytes + 1)
        except OSError as e:
            raise ValueError(f"cannot read it ({_reason(e)})") from None
    if len(data) > max_bytes:  # it grew while we read
        raise ValueError(f"it is too large (at most {max_bytes // 2**20:,} MB)")
    return data


# ------------------------------------------------------------------ folders
def make_folder(folder: str | os.PathLike) -> tuple[Path, list[Path]]:
    """``ensure_folder``, and the folders this call created (outermost first), so that a
    caller that fails later can remove them again (``remove_empty_folders``)."""
    p = Path(folder)
    missing = []
    q = p
    while not os.path.lexists(q) and q != q.parent:
        missing.append(q)
        q = q.parent
    try:
        out = ensure_folder(p)
    except BaseException:  # a failure or an interrupt (Ctrl+C right after the mkdir): take them back
        remove_empty_folders([m for m in reversed(missing) if m.is_dir()])
        raise
    return out, [m for m in reversed(missing) if m.is_dir()]


def remove_empty_folders(created: Sequence[Path]) -> None:
    """Remove the folders a failed call created, innermost first, where they are still empty."""
    for d in reversed(list(created)):
        with contextlib.suppress(OSError):
            d.rmdir()


@contextlib.contextmanager
def output_folder(folder: str | os.PathLike) -> Iterator[Path]:
    """A folder for a command's output: created if needed, and removed again (if still empty)
    when the command fails or is interrupted before writing anything into it."""
    created: list[Path] = []
    try:
        out, created = make_folder(folder)  # cleans up after itself if it fails
        yield out
    except BaseException:
        remove_empty_folders(created)
        raise


def ensure_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and parents) if needed and check that files can be written in it."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise WriteError(f"cannot write to {p}: it is a file, not a folder", errno.ENOTDIR)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"cannot create folder {p}: {_reason(e)}", e.errno) from None
    # signals held: an interrupt between the probe's creation and its removal left it behind
    with deferred_signals():
        try:
            fd, probe = tempfile.mkstemp(dir=p, prefix=".gaussviz-probe-", suffix=".tmp")
        except OSError as e:
            raise WriteError(f"cannot write to folder {p}: {_reason(e)}", e.errno) from None
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)
    return p


def check_can_create(path: str | os.PathLike, force: bool = False) -> Path:
    """Raise the error a later write would raise for an existing file, before doing long work.

    A folder, a link, a pipe, a device or a socket is never replaced, with or without force."""
    p = Path(path)
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return p
    except OSError as e:
        raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and p.is_dir()):
        raise WriteError(f"cannot write {p}: it is a folder", errno.EISDIR)
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"cannot write {p}: it exists and is not a regular file (a link, pipe, device or "
                         "socket); not replacing it", errno.EEXIST)
    if not force:
        raise OverwriteError(p)
    return p


def _publish(tmp: str | os.PathLike, p: Path, force: bool) -> None:
    """Give a finished temporary file its name, signals held: replace only a regular file and only
    with ``force``, else link without overwriting; OS errors as one WriteError naming ``p``."""
    with deferred_signals():
        try:
            if force and os.path.lexists(p):
                check_can_create(p, force=True)  # still a regular file
                os.replace(tmp, p)
            else:
                _link_no_overwrite(tmp, p)
        except (OverwriteError, WriteError):
            raise
        except OSError as e:
            raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None


def atomic_write_bytes(path: str | os.PathLike, data: bytes, force: bool = False) -> Path:
    """Write ``data`` to ``path`` all at once: readers see the old file or the new one, never half.

    Without ``force`` an existing file is left alone and ``OverwriteError`` (a
    ``FileExistsError``) is raised. Returns the path written.
    """
    p = check_can_create(path, force)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise WriteError(f"cannot write {p}: folder {folder} does not exist", errno.ENOENT)
    tmp = _write_temp(p, data)
    try:
        _publish(tmp, p, force)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_folder(folder)
    return p


def _write_temp(p: Path, data: bytes) -> str:
    """``data`` in a hidden temporary file next to ``p``, flushed to disk; removed again on any failure."""
    folder = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
        raise
    return tmp


def write_file_set(folder: str | os.PathLike, files: Sequence[tuple[str, bytes]], force: bool = False,
                   then: Callable[[], None] | None = None) -> list[Path]:
    """Write several files into ``folder`` all or nothing (render, sweep, Export all).

    Every name must be a plain file name (``check_base_name``); without ``force``
    nothing is written if any of them exists (``OverwriteError`` for the first).
    Every file goes to a temporary first; then all take their names. If anything
    fails part way, or SIGINT/SIGTERM arrives, the files this call created are
    removed, the ones it replaced are restored, and no temporary is left; the
    signal is then handled as usual. ``then()`` runs once every file has its name, still
    before a held signal is delivered (e.g. removing the state the set was made from).
    """
    out = Path(folder)
    names = [check_base_name(n) for n, _ in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise WriteError(f"a file set names {', '.join(dup)} twice", errno.EINVAL)
    if not out.is_dir():
        raise WriteError(f"cannot write to {out}: folder does not exist", errno.ENOENT)
    for n in names:
        check_can_create(out / n, force)
    temps: list[str] = []
    try:
        for n, data in files:
            temps.append(_write_temp(out / n, data))
        created: list[Path] = []
        replaced: list[tuple[Path, str]] = []
        final = out
        with deferred_signals():
            try:
                for n, tmp in zip(names, temps):
                    final = out / n
                    if force and os.path.lexists(final):
                        check_can_create(final, force=True)
                        replaced.append((final, _backup(final)))
                        os.replace(tmp, final)
                    else:
                        _link_no_overwrite(tmp, final)
                        created.append(final)
            except BaseException as e:
                for final in created:
                    with contextlib.suppress(OSError):
                        os.unlink(final)
                for final, bak in replaced:
                    with contextlib.suppress(OSError):
                        os.replace(bak, final)
                    with contextlib.suppress(OSError):  # a rename onto its own hard link does nothing
                        os.unlink(bak)
                if isinstance(e, OSError) and not isinstance(e, (WriteError, OverwriteError)):
                    raise WriteError(f"cannot write {final}: {_reason(e)}", e.errno) from None
                raise
            for _, bak in replaced:
                with contextlib.suppress(OSError):
                    os.unlink(bak)
            if then is not None:
                then()
    finally:
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_folder(out)
    return [out / n for n in names]


def _backup(final: Path) -> str:
    """A hidden second name for a file about to be replaced (a hard link; a copy where links fail)."""
    fd, bak = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".old")
    os.close(fd)
    try:
        os.unlink(bak)
        os.link(final, bak)
    except OSError:
        shutil.copy2(final, bak)
    return bak


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a set of renames (or their undoing) runs, then deliver them:
    an interrupt lands before the first rename or after the last, never between two.

    Only the main thread can handle signals in Python; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, lambda signum, _frame: held.append(signum))
        except (ValueError, OSError):  # pragma: no cover - not the main interpreter
            pass
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(held):
            signal.raise_signal(sig)


@contextlib.contextmanager
def loading_modules() -> Iterator[None]:
    """A block that imports heavy libraries (Qt, pyqtgraph, numba): they load whole or not at all
    (signals held as in ``deferred_signals``: an import cut half way can crash the interpreter's
    exit), and with the cyclic collector paused. Imports make tens of thousands of objects and no
    garbage; the full collections they set off cost ~0.15 s of the window's ~1 s of imports (measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        with deferred_signals():
            yield
    finally:
        if enabled:
            gc.enable()


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
            _publish(tmp, p, force)
        except OSError as e:  # the fsync or chmod before it
            if isinstance(e, (OverwriteError, WriteError)):
                raise
            raise WriteError(f"cannot write {p}: {_reason(e)}", e.errno) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike, text: str, force: bool = False, encoding: str = "utf-8") -> Path:
    """``atomic_write_bytes`` for text (UTF-8 by default, newlines as given)."""
    return atomic_write_bytes(path, text.encode(encoding), force=force)


def read_text(path: str | os.PathLike, what: str = "file", max_bytes: int = 2**30) -> str:
    """A UTF-8 text file (a regular file of at most ``max_bytes``: never a FIFO or a device), or a
    one-line ValueError/OSError naming the path."""
    p = Path(path)
    try:
        data = read_regular(p, max_bytes)
    except MissingFile:
        raise WriteError(f"cannot read {what} {p}: no such file", errno.ENOENT) from None
    except NotAFile as e:
        raise WriteError(f"cannot read {what} {p}: {'it is a folder' if 'directory' in str(e) else e}",
                         errno.EISDIR if "directory" in str(e) else errno.EINVAL) from None
    except ValueError as e:
        raise WriteError(f"cannot read {what} {p}: {e}", errno.EIO) from None
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
