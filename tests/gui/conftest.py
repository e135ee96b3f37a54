"""Fixtures for the window tests: a window on a preset, closed (worker stopped) at teardown."""

from __future__ import annotations

import ctypes
import gc
import os

import pytest

from gaussviz.core.presets import get_preset
from gaussviz.gui.window import MainWindow

#: generous: the first run in a process loads the numba cache
WAIT_MS = 10_000

try:
    _trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc: measure without the trim
    _trim = None


def rss_mb() -> float:
    """Resident memory held, in MB, after gc and glibc's malloc_trim (freed heap handed
    back first: otherwise malloc's free lists swing RSS by several MB either way)."""
    gc.collect()
    if _trim is not None:
        _trim(0)
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="session", autouse=True)
def app_as_users_get_it(qapp):
    """pytest-qt's application set up as gaussviz sets up its own (``qtapp.application``: the font
    raised to MIN_POINT_SIZE, the icon, the collector). Without it a test saw Qt's 9-pt offscreen
    font until some test in the session called ``application()`` (a render, say): the layout
    then changed in the middle of the suite."""
    from gaussviz.gui.qtapp import MIN_POINT_SIZE, application

    app = application(headless=True)
    assert app is qapp and app.font().pointSizeF() >= MIN_POINT_SIZE
    return app


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """Compile (or load from numba's cache) the kernels once, so no waitUntil pays for it."""
    from gaussviz.core.settings import build_run

    for name in ("seed-question", "ill-conditioned-natural", "what-am-i-missing"):
        build_run(get_preset(name)).advance(10)
    s = get_preset("ill-conditioned-natural")
    s.target.dim, s.target.cov, s.target.mean, s.start.mean = 3, None, 0.0, 0.0
    build_run(s).advance(10)
    # the forecasts' many-chain (parallel) entry point at d = 2 (kernels.advance_kernel)
    import numpy as np

    from gaussviz.core.estimator import BatchEstimator

    BatchEstimator(np.zeros(2), np.eye(2), n_chains=64).advance(np.zeros((4, 2)), 4, parallel=True)


@pytest.fixture(autouse=True)
def gc_on_gui_thread_only(qapp):
    """As in the app (gui.qtapp.GuiGarbageCollector): Python's cyclic gc never runs in the run
    worker or forecast threads, where destroying a closed window's Qt objects deadlocks."""
    from gaussviz.gui.qtapp import GuiGarbageCollector

    collector = GuiGarbageCollector(interval_ms=200)
    yield
    collector.timer.stop()
    collector.deleteLater()
    gc.collect()  # this test's leftovers, here on the GUI thread
    gc.enable()


@pytest.fixture(autouse=True)
def own_settings(tmp_path_factory):
    """Each test remembers into its own empty folder (gui/prefs.py): never the user's settings, never
    another test's."""
    from PySide6 import QtCore

    folder = tmp_path_factory.mktemp("qsettings")  # not in tmp_path: tests count the files there
    QtCore.QSettings.setPath(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def make_window(qtbot):
    windows: list[MainWindow] = []

    def make(preset: str = "seed-question", running: bool = False, show: bool = False,
             speed: float | None = None) -> MainWindow:
        s = get_preset(preset)
        if speed is not None:
            s.speed = float(speed)
        w = MainWindow(s, running=running)
        qtbot.addWidget(w)
        windows.append(w)
        if show:
            w.show()
            qtbot.waitExposed(w)
        # The worker builds the run and publishes step 0 first.
        qtbot.waitUntil(lambda: w.shown_snapshot is not None, timeout=WAIT_MS)
        return w

    yield make
    for w in windows:
        w.shutdown()
        assert not w.worker.is_alive()
