"""Issue 10, class 5 (the file layer): every file is written atomically, a set of files all or
nothing, nothing is replaced without force, and a non-regular file is never replaced.

Failures are injected at each point of a set's commit (the k-th rename fails, or an interrupt
arrives there): the folder must hold exactly what it held before, and no temporary.
"""

from __future__ import annotations

import errno
import os
import signal
import threading

import pytest

from gaussviz.core import fileio
from gaussviz.core.fileio import OverwriteError, WriteError, atomic_write_bytes, write_file_set

FILES = [(f"f{i}.bin", bytes([i]) * (1000 + i)) for i in range(6)]


def listing(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _fail_at(monkeypatch, name: str, k: int, exc: BaseException):
    """The k-th call of ``fileio.<name>`` raises ``exc``."""
    real = getattr(fileio, name) if hasattr(fileio, name) else getattr(os, name)
    calls = {"n": 0}

    def failing(*a, **kw):
        calls["n"] += 1
        if calls["n"] == k:
            raise exc
        return real(*a, **kw)

    return real, failing


@pytest.mark.parametrize("k", range(1, len(FILES) + 1))
@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_a_set_that_fails_at_the_kth_file_leaves_the_folder_as_it_was(tmp_path, monkeypatch, k, exc):
    (tmp_path / "keep.txt").write_text("mine")
    before = listing(tmp_path)
    _, failing = _fail_at(monkeypatch, "_link_no_overwrite", k, exc)
    monkeypatch.setattr(fileio, "_link_no_overwrite", failing)
    with pytest.raises((OSError, KeyboardInterrupt)):
        write_file_set(tmp_path, FILES)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("k", range(1, len(FILES) + 1))
def test_a_forced_set_that_fails_part_way_restores_what_it_replaced(tmp_path, monkeypatch, k):
    old = [(n, b"old " + n.encode()) for n, _ in FILES[:3]]  # half the names exist
    write_file_set(tmp_path, old)
    before = listing(tmp_path)
    calls = {"n": 0}
    real_replace, real_link = os.replace, fileio._link_no_overwrite

    def count():
        calls["n"] += 1
        if calls["n"] == k:
            raise OSError(errno.EIO, "I/O error")

    def replace(a, b):
        if str(a).endswith(".tmp"):
            count()
        return real_replace(a, b)

    def link(tmp, p):
        count()
        return real_link(tmp, p)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(fileio, "_link_no_overwrite", link)
    with pytest.raises(OSError):
        write_file_set(tmp_path, FILES, force=True)
    monkeypatch.undo()
    assert listing(tmp_path) == before


@pytest.mark.parametrize("k", range(1, len(FILES) + 1))
def test_a_set_interrupted_while_its_temporaries_are_written_leaves_nothing(tmp_path, monkeypatch, k):
    _, failing = _fail_at(monkeypatch, "_write_temp", k, KeyboardInterrupt())
    monkeypatch.setattr(fileio, "_write_temp", failing)
    with pytest.raises(KeyboardInterrupt):
        write_file_set(tmp_path, FILES)
    assert listing(tmp_path) == {}


def test_a_signal_during_the_renames_is_held_until_the_set_is_complete(tmp_path, monkeypatch):
    got = []
    old = signal.signal(signal.SIGINT, lambda s, f: got.append(s))
    try:
        real = fileio._link_no_overwrite
        state = {"n": 0}

        def link(tmp, p):
            state["n"] += 1
            if state["n"] == 2:
                os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the renames
                assert got == []  # held
            return real(tmp, p)

        monkeypatch.setattr(fileio, "_link_no_overwrite", link)
        write_file_set(tmp_path, FILES)
        assert got == [signal.SIGINT]  # delivered once the set was complete
        assert listing(tmp_path) == dict(FILES)
    finally:
        signal.signal(signal.SIGINT, old)


def test_without_force_nothing_is_written_if_one_exists(tmp_path):
    (tmp_path / "f3.bin").write_bytes(b"mine")
    with pytest.raises(OverwriteError):
        write_file_set(tmp_path, FILES)
    assert listing(tmp_path) == {"f3.bin": b"mine"}


@pytest.mark.parametrize("name", ["../escape.bin", "/abs.bin", ".hidden", "..", ".", "", "a/b", "a\\b", "x\0y"])
def test_a_set_never_names_a_path_elsewhere(tmp_path, name):
    inner = tmp_path / "inner"
    inner.mkdir()
    with pytest.raises(WriteError):
        write_file_set(inner, [("ok.bin", b"1"), (name, b"2")])
    assert listing(inner) == {} and sorted(p.name for p in tmp_path.iterdir()) == ["inner"]


def _non_regular(kind: str, p):
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "symlink":
        (p.parent / "target.txt").write_text("target")
        p.symlink_to(p.parent / "target.txt")
    elif kind == "dangling-symlink":
        p.symlink_to(p.parent / "nowhere")
    elif kind == "folder":
        p.mkdir()
    elif kind == "symlink-to-folder":
        (p.parent / "d").mkdir()
        p.symlink_to(p.parent / "d")


@pytest.mark.parametrize("kind", ["fifo", "symlink", "dangling-symlink", "folder", "symlink-to-folder"])
@pytest.mark.parametrize("how", ["one", "set"])
def test_a_non_regular_file_is_never_replaced(tmp_path, kind, how):
    p = tmp_path / "out.bin"
    _non_regular(kind, p)
    before = os.lstat(p)
    with pytest.raises(OSError):
        if how == "one":
            atomic_write_bytes(p, b"new", force=True)
        else:
            write_file_set(tmp_path, [("a.bin", b"a"), ("out.bin", b"new")], force=True)
    after = os.lstat(p)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert not (tmp_path / "a.bin").exists()
    assert not [q for q in tmp_path.iterdir() if q.name.endswith((".tmp", ".old"))]


def test_atomic_write_never_shows_half_a_file(tmp_path):
    p = tmp_path / "x.bin"
    atomic_write_bytes(p, b"a" * 1_000_000)
    stop = threading.Event()
    seen = set()

    def reader():
        while not stop.is_set():
            try:
                seen.add(len(p.read_bytes()))
            except FileNotFoundError:
                seen.add(-1)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(20):
            atomic_write_bytes(p, (b"b" if i % 2 else b"a") * (2_000_000 if i % 2 else 1_000_000), force=True)
    finally:
        stop.set()
        t.join()
    assert seen <= {1_000_000, 2_000_000}


def test_an_interrupt_while_the_folder_is_probed_leaves_no_probe(tmp_path, monkeypatch):
    """``ensure_folder`` checks a folder by creating and removing a file in it; Ctrl+C in between
    (seen in the sweep's interrupt test) left ``.gaussviz-probe-*.tmp`` behind."""
    import tempfile

    real = tempfile.mkstemp

    def mkstemp_then_interrupted(*a, **k):
        made = real(*a, **k)
        signal.raise_signal(signal.SIGINT)  # the user's Ctrl+C, right after the probe exists
        return made

    monkeypatch.setattr(fileio.tempfile, "mkstemp", mkstemp_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        fileio.ensure_folder(tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
