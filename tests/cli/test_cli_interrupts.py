"""Issue 10, class 5 with real processes: SIGINT and SIGTERM during render, sweep and the
window's --screenshot leave no temporaries and no partial set; --screenshot is atomic and
never replaces a file without --force.

Each case starts ``gaussviz`` in a subprocess, sends the signal at a chosen moment (during
the run, while the files' temporaries are written, during the renames), waits (bounded) and
then checks the folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gaussviz.core.session import read_session
from gaussviz.gui.image_export import file_names

ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
RENDER_SET = set(file_names(("svg",)))  # the set `render --format svg` writes
SWEEP_SET = {"stability_map.png", "stability_map.csv", "stability_map.json"}

#: a gaussviz run whose file layer announces (and slows) each step of writing a set, so a
#: signal can be sent exactly then
SLOW = textwrap.dedent("""
    import sys, time
    import gaussviz.core.fileio as f
    phase = sys.argv[1]
    real_temp, real_link = f._write_temp, f._link_no_overwrite
    def temp(p, data):
        if phase == "temporaries" and p.parent.name != ".partial":  # the set, not a sweep's own state
            print("PHASE", flush=True); time.sleep(0.4)
        return real_temp(p, data)
    def link(tmp, p):
        if phase == "renames" and p.parent.name != ".partial":
            print("PHASE", flush=True); time.sleep(0.4)
        return real_link(tmp, p)
    f._write_temp, f._link_no_overwrite = temp, link
    from gaussviz.cli import main
    raise SystemExit(main(sys.argv[2:]))
""")


def _stray(root: Path) -> list[Path]:
    """Temporaries and hidden files left behind (a sweep's resumable state, ``.partial``, is not one;
    its own temporaries are)."""
    return [p for p in root.rglob("*") if p.name.endswith((".tmp", ".old"))
            or (p.name.startswith(".") and p.name != ".partial" and p.parent.name != ".partial")]


def _wait(proc: subprocess.Popen, timeout: float = 60.0) -> tuple[int, str]:
    """(exit status, stderr) once the process ended; its pipes closed."""
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the process did not end after the signal")
    return proc.returncode, err


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


RUN_CASES = [
    (["render", "--preset", "seed-question", "--format", "svg", "--steps", "1000000000"], set()),
    (["sweep", "--alpha-count", "40", "--seeds", "64", "--steps", "100000000", "--width", "400"], set()),
]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("delay", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("argv", [a for a, _ in RUN_CASES], ids=["render", "sweep"])
def test_interrupted_during_the_run_leaves_nothing(tmp_path, sig, delay, argv):
    out = tmp_path / "new" / "out"
    p = subprocess.Popen([sys.executable, "-m", "gaussviz", *argv, "--out", str(out)], env=ENV, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not out.exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # the command made its output folder: it is past the start-up, into its work
    if not out.exists():
        pytest.fail(f"no output folder: {_wait(p)[1]}")
    time.sleep(delay)
    p.send_signal(sig)
    code, err = _wait(p)
    assert code in (130, 143, -sig), err
    assert "Traceback" not in err
    assert _names(out) == set() and not (tmp_path / "new").exists()  # the folders it made are gone
    assert _stray(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["temporaries", "renames"])
@pytest.mark.parametrize("command", ["render", "sweep"])
def test_interrupted_while_writing_the_set(tmp_path, sig, phase, command):
    out = tmp_path / "out"
    (out).mkdir()
    (out / "mine.txt").write_text("kept")
    if command == "render":
        argv = ["render", "--preset", "seed-question", "--format", "svg", "--steps", "200"]
        full = RENDER_SET
    else:
        argv = ["sweep", "--alpha-count", "3", "--seeds", "1", "--steps", "50", "--width", "400"]
        full = SWEEP_SET
    p = subprocess.Popen([sys.executable, "-c", SLOW, phase, *argv, "--out", str(out)], env=ENV, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    line = ""
    while "PHASE" not in line and time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line and p.poll() is not None:
            break
    if "PHASE" not in line:
        pytest.fail(_wait(p)[1])
    p.send_signal(sig)
    code, err = _wait(p)
    assert code in (130, 143), err
    assert "Traceback" not in err
    names = _names(out) - {"mine.txt"}
    if phase == "temporaries":
        if command == "sweep":  # every chain ran: kept for --resume, which then only writes the files
            assert names == {".partial"} and "--resume" in err
            r = subprocess.run([sys.executable, "-m", "gaussviz", *argv, "--out", str(out), "--resume"], env=ENV,
                               cwd=tmp_path, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and "resuming: 18 of 18 chains are done" in r.stderr, r.stderr
            assert _names(out) - {"mine.txt"} == full
        else:
            assert names == set()  # nothing of the set
    else:
        assert names == full  # the renames were under way: the set is completed, then the signal acts
    assert (out / "mine.txt").read_text() == "kept"
    assert _stray(tmp_path) == []


def test_screenshot_never_replaces_without_force_and_carries_the_session(tmp_path):
    shot = tmp_path / "shot.png"
    shot.write_bytes(b"mine")
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "heavy-tails", "--screenshot", str(shot),
                        "--after", "0.2"], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "already exists" in r.stderr and r.stderr.count("\n") == 1
    assert shot.read_bytes() == b"mine"
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "heavy-tails", "--screenshot", str(shot),
                        "--after", "0.2", "--force"], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read_session(shot).target.kind == "student-t"  # gaussviz --session shot.png opens it again
    assert _stray(tmp_path) == []


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink"])
def test_screenshot_never_replaces_a_non_regular_file(tmp_path, kind):
    shot = tmp_path / "shot.png"
    if kind == "fifo":
        os.mkfifo(shot)
    elif kind == "folder":
        shot.mkdir()
    else:
        (tmp_path / "t.png").write_bytes(b"target")
        shot.symlink_to(tmp_path / "t.png")
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--screenshot", str(shot), "--after", "0", "--force"],
                       env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert os.path.lexists(shot) and (kind != "symlink" or (tmp_path / "t.png").read_bytes() == b"target")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_window_closes_cleanly_on_a_signal(tmp_path, sig):
    shot = tmp_path / "shot.png"
    p = subprocess.Popen([sys.executable, "-m", "gaussviz", "--screenshot", str(shot), "--after", "600"],
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3.0)
    p.send_signal(sig)
    code, err = _wait(p)
    assert code == 128 + sig and "Traceback" not in err, err
    assert not shot.exists() and _stray(tmp_path) == []
