"""The window's entry point: presets, sessions, the --screenshot mode (a real subprocess)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PySide6 import QtGui

from gaussviz.cli import main
from gaussviz.core.session import to_json
from gaussviz.gui.app import settings_for


def _args(**kw) -> argparse.Namespace:
    base = {"preset": None, "session": None, "screenshot": None, "after": 3.0}
    base.update(kw)
    return argparse.Namespace(**base)


def test_default_is_the_seed_question():
    assert settings_for(_args()).preset == "seed-question"
    assert settings_for(_args(preset="ill-conditioned-natural")).estimator.parameterization == "natural"


def test_session_file_is_loaded(tmp_path):
    from gaussviz.core.presets import get_preset

    s = get_preset("asymmetry-drift")
    s.estimator.alpha = 0.0031
    f = tmp_path / "s.json"
    f.write_text(to_json(s))
    got = settings_for(_args(session=str(f)))
    assert got.estimator.alpha == 0.0031 and got.target.cov == s.target.cov


@pytest.mark.parametrize(("content", "argv_extra", "message"), [
    ("{not json", [], "not valid JSON (line 1"),
    ('{"target": {}, "start": {}}', [], "missing key 'estimator'"),
    (None, [], "No such file"),
    (b"\xff\xfe\x00bad", [], "not UTF-8"),
    ("{}", ["--preset", "seed-question"], "use --preset or --session, not both"),
])
def test_bad_session_exits_2_with_one_line(tmp_path, capsys, content, argv_extra, message):
    f = tmp_path / "bad.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    elif content is not None:
        f.write_text(content)
    assert main(["--session", str(f), *argv_extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gaussviz: error: ") and message in err and err.count("\n") == 1


def test_screenshot_bad_after_or_folder(tmp_path, capsys):
    assert main(["--screenshot", str(tmp_path / "x.png"), "--after", "-1"]) == 2
    assert "--after must be a number of seconds >= 0" in capsys.readouterr().err
    assert main(["--screenshot", str(tmp_path / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _no_display_env(**extra) -> dict:
    """The environment of a headless box: no DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def _saved_geometry(width: int, height: int) -> bytes:
    """The settings file of a window that was closed at ``width`` x ``height``."""
    from PySide6 import QtCore, QtWidgets

    from gaussviz.gui.qtapp import application

    application(headless=True)
    w = QtWidgets.QWidget()
    w.resize(width, height)
    geometry = bytes(w.saveGeometry().data())
    w.deleteLater()
    folder = QtCore.QTemporaryDir()
    path = f"{folder.path()}/g.ini"
    st = QtCore.QSettings(path, QtCore.QSettings.Format.IniFormat)
    st.setValue("window/geometry", QtCore.QByteArray(geometry))
    st.sync()
    with open(path, "rb") as f:
        return f.read()


def test_no_display_is_one_line_and_exit_2():
    r = subprocess.run([sys.executable, "-m", "gaussviz"], env=_no_display_env(), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gaussviz: error: no display"), r.stderr
    assert "xvfb-run" in lines[0] and "QT_QPA_PLATFORM" not in r.stdout


def test_screenshot_subprocess_writes_the_whole_window(tmp_path):
    """Headless without any variable set: --screenshot draws offscreen by itself."""
    out = tmp_path / "shot.png"
    # at its pace (20 updates/s) the preset diverges at update 85, about 4 s in; --after counts from
    # the first real frame, and a busy machine (the whole suite on 2 cores) slows the first seconds
    # (it failed there with --after 6): 12 s leave room
    # a window left small by its user (the remembered geometry) does not change the picture's size
    # (it did, in the whole suite: other windows had saved theirs) and a screenshot saves none
    config = tmp_path / "config"
    (config / "gaussviz").mkdir(parents=True)
    small = _saved_geometry(800, 600)
    (config / "gaussviz" / "gaussviz.ini").write_bytes(small)
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "ill-conditioned-covariance",
                        "--screenshot", str(out), "--after", "12"],
                       env=_no_display_env(XDG_CONFIG_HOME=str(config)), capture_output=True, text=True,
                       timeout=300)
    assert (config / "gaussviz" / "gaussviz.ini").read_bytes() == small
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}" and r.stderr == ""
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1600, 1000)
    ptr = img.convertToFormat(QtGui.QImage.Format.Format_RGB32).constBits()
    px = np.frombuffer(ptr, dtype=np.uint8).reshape(1000, 1600, 4)
    assert len(np.unique(px[..., :3].reshape(-1, 3), axis=0)) > 200  # drawn, not blank
    # The divergence banner (red, #c62828) is in the picture.
    red = (px[..., 2] == 0xC6) & (px[..., 1] == 0x28) & (px[..., 0] == 0x28)
    assert red.sum() > 5000


def test_screenshot_never_overwrites_without_force(tmp_path):
    out = tmp_path / "shot.png"
    out.write_bytes(b"mine")
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--screenshot", str(out)], env=_no_display_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and out.read_bytes() == b"mine"
    assert len(r.stderr.strip().splitlines()) == 1 and "already exists" in r.stderr and "--force" in r.stderr


def test_screenshot_on_a_first_ever_start_waits_for_a_real_frame(tmp_path):
    """An empty numba cache: the kernels compile for seconds; the picture still shows updates (the session
    in its metadata says how many), nothing is printed but the file's name, and force replaces a file."""
    from gaussviz.core.session import read_session

    out = tmp_path / "shot.png"
    out.write_bytes(b"old")
    env = _no_display_env(NUMBA_CACHE_DIR=str(tmp_path / "empty-cache"))
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "seed-question", "--screenshot", str(out),
                        "--after", "0", "--force"], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "" and r.stdout.strip() == f"wrote {out}"
    assert read_session(out).steps > 0  # drawn after updates, not the empty plots of step 0
    assert list((tmp_path / "empty-cache").rglob("*.nbi"))  # it compiled, into the cache it was given


def test_a_first_ever_start_runs_interpreted_at_once(tmp_path):
    """An empty numba cache with the helper on (the default outside the tests): the first updates run
    interpreted (core/jit.py) while a helper process compiles, so a real frame comes at once; the
    helper is stopped with the window (nothing left running)."""
    from gaussviz.core.session import read_session

    out = tmp_path / "shot.png"
    env = _no_display_env(NUMBA_CACHE_DIR=str(tmp_path / "empty-cache"), GAUSSVIZ_WARMUP="1")
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "ill-conditioned-covariance",
                        "--screenshot", str(out), "--after", "1"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {out}" and r.stderr == ""
    assert read_session(out).steps > 0
    assert _processes_with_env(f"NUMBA_CACHE_DIR={tmp_path / 'empty-cache'}") == []  # the helper is gone


def _processes_with_env(entry: str) -> list[int]:
    """Live processes whose environment holds ``entry`` (Linux /proc)."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if entry.encode() in f.read().split(b"\0"):
                        found.append(int(d))
            except OSError:
                continue
    return found


def test_the_window_says_when_it_compiles(make_window, monkeypatch, qtbot):
    import gaussviz.gui.window as window_module

    monkeypatch.setattr(window_module, "warm", lambda settings: False)
    w = make_window("seed-question", running=False)
    assert w.statusBar().currentMessage() == window_module.COMPILING_NOTE
    assert "first start only" in window_module.COMPILING_NOTE
    w.set_running(True)
    qtbot.waitUntil(lambda: w.shown_snapshot is not None and w.shown_snapshot.step > 0, timeout=10_000)
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == "", timeout=5_000)
    qtbot.waitUntil(lambda: w.status_state.text() == "running", timeout=5_000)  # refreshed 4 times a second
    monkeypatch.setattr(window_module, "warm", lambda settings: True)
    w.reset()
    assert w.statusBar().currentMessage() == ""


def test_the_window_has_the_app_icon(make_window):
    from PySide6 import QtWidgets

    w = make_window("seed-question")
    sizes = QtWidgets.QApplication.instance().windowIcon().availableSizes()
    assert {s.width() for s in sizes} >= {16, 32, 48, 256}
    assert not w.windowIcon().isNull()


def test_the_window_switches_to_the_compiled_kernels_when_the_helper_is_done(make_window, monkeypatch, qtbot):
    """Interpreted while the helper process runs (gui/warmup.py), compiled after: the status bar says both."""
    import gaussviz.gui.warmup as warmup_module
    import gaussviz.gui.window as window_module
    from gaussviz.core import jit

    asked = []

    def warm_after_the_first_look(settings):
        asked.append(settings.target.dim)
        return len(asked) > 1

    monkeypatch.setattr(warmup_module, "warm", warm_after_the_first_look)  # the loader thread asks
    monkeypatch.setattr(window_module, "warm", warm_after_the_first_look)
    monkeypatch.setenv("GAUSSVIZ_WARMUP", "1")
    w = make_window("ill-conditioned-natural", running=True)
    assert w.warmup.active and jit.interpreting()  # at once, before anyone looked at numba's cache
    # after the first frame a thread finds the cache cold: a helper compiles, the status bar says so
    qtbot.waitUntil(lambda: w.statusBar().currentMessage() == window_module.INTERPRETED_NOTE, timeout=30_000)
    assert w.warmup.mode == "compile" and jit.interpreting()
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 0, timeout=30_000)
    # the helper opens the window offscreen on the same settings, draws a frame and exits
    qtbot.waitUntil(lambda: not w.warmup.active, timeout=300_000)
    assert not jit.interpreting()
    assert "compiled" in w.statusBar().currentMessage()
    step = w.shown_snapshot.step
    qtbot.waitUntil(lambda: w.shown_snapshot.step > step, timeout=30_000)  # and goes on, compiled
    qtbot.waitUntil(lambda: w.status_state.text() == "running", timeout=5_000)  # refreshed 4 times a second


# Why the two scripts below dispose of their window before they end (gui/qtapp.dispose): left
# alive (Python's collector cannot free it: its Qt children hold its methods), the window is
# deleted by PySide's own exit clean-up, and that crashed in shiboken while the plots' scene was
# cleared: a segmentation fault after the script's last line in 2 of 40 runs (``del`` and a
# collection, which do not free it). Disposed: 0 of 30. The app disposes of its window too.


def test_the_first_frame_needs_no_numba_and_the_kernels_come_after_it(tmp_path):
    """Issue 13's warm start: the window's first frame (the run's step 0) is drawn without numba
    imported (core/jit.py: numba on first use; the parameter-space contours wait for the compiled
    kernels); the loader thread starts after that frame, imports numba and loads the kernels (a
    warm cache: nothing compiles), then the contours are drawn. The loader is held back here until
    the frame is checked, so the check does not race it."""
    code = (
        "import sys, time\n"
        "from PySide6 import QtCore\n"
        "from gaussviz.gui.qtapp import application\n"
        "app = application(headless=True)\n"
        "from gaussviz.core import jit\n"
        "from gaussviz.core.presets import get_preset\n"
        "from gaussviz.gui import warmup\n"
        "from gaussviz.gui.window import MainWindow\n"
        "assert 'numba' not in sys.modules, 'importing the window imports numba'\n"
        "real = warmup.KernelWarmup._start_loader\n"
        "warmup.KernelWarmup._start_loader = lambda self: None\n"
        "def wait(cond, s):\n"
        "    t = time.monotonic()\n"
        "    while not cond() and time.monotonic() - t < s:\n"
        "        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)\n"
        "    return cond()\n"
        "w = MainWindow(get_preset('seed-question'), running=True)\n"
        "assert jit.interpreting() and w.warmup.mode == 'load'\n"
        "assert wait(lambda: w.shown_snapshot is not None, 120), 'no first frame'\n"
        "pv = w.plots.pspace\n"
        "assert 'numba' not in sys.modules, 'numba imported before the first frame'\n"
        "assert pv.contours.xData.size == 0 and pv.background_count >= 1\n"
        "assert wait(lambda: w.shown_snapshot.recent.shape[0] > 0, 60), 'no frame with samples'\n"
        "assert 'numpy.ma' not in sys.modules, 'the histogram imported numpy.ma (np.percentile)'\n"
        "warmup.KernelWarmup._start_loader = real\n"
        "assert wait(lambda: not w.warmup.active, 240), 'the kernels did not load'\n"
        "assert 'numba' in sys.modules and not jit.interpreting()\n"
        "assert wait(lambda: pv.contours.xData.size > 100, 60), 'no contours once compiled'\n"
        "from gaussviz.core import kernels\n"
        "assert kernels.advance_sgd.overloads and jit.fallbacks == []\n"
        "assert not kernels.advance_sgd.stats.cache_misses, 'a warm start compiled a kernel'\n"
        "w.close()\n"
        "w.shutdown()\n"
        "from gaussviz.gui.qtapp import dispose\n"
        "dispose(w)  # see above\n"
        "print('ok')\n"
    )
    from gaussviz.core.presets import get_preset
    from gaussviz.core.session import session_text

    # numba's cache holds every kernel the window uses (what the warm-up helper compiles on a first start)
    session = tmp_path / "s.json"
    session.write_text(session_text(get_preset("seed-question")), encoding="utf-8")
    env = _no_display_env(GAUSSVIZ_WARMUP="0", QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-m", "gaussviz.gui.warmup_helper", str(session)], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    env = _no_display_env(GAUSSVIZ_WARMUP="1", QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_a_warm_start_draws_its_first_frames_while_the_kernels_load():
    """numba's cache is warm (this test session compiled them): a new process runs the first frames
    interpreted while a thread loads the compiled kernels, then runs them compiled; nothing compiles."""
    code = (
        "import os\n"
        "from PySide6 import QtCore\n"
        "from gaussviz.gui.qtapp import application\n"
        "app = application(headless=True)\n"
        "from gaussviz.core import jit, kernels\n"
        "from gaussviz.core.presets import get_preset\n"
        "from gaussviz.gui.window import MainWindow\n"
        "w = MainWindow(get_preset('seed-question'), running=True)\n"
        "assert w.warmup.mode == 'load' and jit.interpreting()\n"
        "import time\n"
        "t = time.monotonic()\n"
        "while w.warmup.active and time.monotonic() - t < 240:\n"
        "    app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)\n"
        "assert not w.warmup.active and not jit.interpreting()\n"
        "t = time.monotonic()\n"
        "while (w.shown_snapshot is None or w.shown_snapshot.step < 20) and time.monotonic() - t < 60:\n"
        "    app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)\n"
        "assert kernels.advance_sgd.overloads and w.shown_snapshot.step >= 20\n"
        "assert jit.fallbacks == []\n"
        "w.shutdown()\n"
        "from gaussviz.gui.qtapp import dispose\n"
        "dispose(w)  # see above\n"
        "print('ok')\n"
    )
    from gaussviz.core.presets import get_preset
    from gaussviz.core.settings import build_run

    build_run(get_preset("seed-question")).advance(5)  # the kernels it needs are in the cache
    env = _no_display_env(GAUSSVIZ_WARMUP="1", QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=400)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_a_warm_cache_does_not_ask_for_kernels_a_run_never_draws(monkeypatch):
    """The contours' kernel is used for d = 1 only: a d = 2 run whose other kernels are cached is warm.
    (Asking for it made every d = 2 start find the cache cold and run a compiling helper again and
    again, interpreted all the while.)"""
    from gaussviz.core import jit, kernels, param_space
    from gaussviz.core.presets import get_preset
    from gaussviz.gui import warmup

    monkeypatch.setattr(kernels, "cached", lambda d, optimizers=False: True)
    monkeypatch.setattr(jit, "in_cache", lambda k: k is not param_space._march)
    s2 = get_preset("ill-conditioned-natural")
    s1 = get_preset("seed-question")
    assert s2.target.dim == 2 and s1.target.dim == 1
    assert warmup.warm(s2) and not warmup.warm(s1)
    assert warmup.warm_key(s2) != warmup.warm_key(s1)


def test_the_window_is_first_painted_with_the_run_drawn():
    """Start-up (issue 13): the run's first snapshot is drawn between ``show()`` and the first
    paint (MainWindow.draw_first_frame), so the window is not painted empty first."""
    env = _no_display_env(QT_QPA_PLATFORM="offscreen", GAUSSVIZ_EXIT_AFTER_FIRST_FRAME="1", GAUSSVIZ_WARMUP="1")
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "seed-question"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "GAUSSVIZ_FIRST_PAINT frame" in r.stdout.splitlines(), r.stdout
    assert any(line.startswith("GAUSSVIZ_FIRST_UPDATE_FRAME") for line in r.stdout.splitlines())


def test_draw_first_frame_draws_the_first_snapshot_once(qtbot, monkeypatch):
    from gaussviz.core.presets import get_preset
    from gaussviz.gui.window import MainWindow
    from gaussviz.gui.worker import RunWorker

    w = MainWindow(get_preset("seed-question"), running=False)
    qtbot.addWidget(w)
    try:
        assert w.shown_snapshot is None  # built, no event processed: the pacer has drawn nothing
        assert w.draw_first_frame(wait_s=30.0) is True
        first = w.shown_snapshot
        assert first is not None and first.step == 0
        assert w.draw_first_frame() is False and w.shown_snapshot is first  # drawn already: nothing more
    finally:
        w.shutdown()
    assert not w.worker.is_alive()
    # no snapshot in time: nothing drawn, and the wait ends with the worker
    w2 = MainWindow(get_preset("seed-question"), running=False)
    qtbot.addWidget(w2)
    try:
        monkeypatch.setattr(RunWorker, "wait_for_snapshot", lambda self, timeout: False)
        assert w2.draw_first_frame(wait_s=5.0) is False and w2.shown_snapshot is None
    finally:
        w2.shutdown()
    idle = RunWorker(get_preset("seed-question"), running=False)  # never started
    t0 = time.monotonic()
    assert idle.wait_for_snapshot(5.0) is False
    assert time.monotonic() - t0 < 1.0
