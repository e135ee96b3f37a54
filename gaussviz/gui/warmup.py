"""A first start: the window runs at once, interpreted, while a helper process compiles (issue 13).

Every start with the helper on (the default) begins interpreted: the first frame (the run's step 0)
needs neither numba nor a compiled kernel (core/jit.py: numba is imported on first use). Once that
frame is drawn, a loader thread imports numba and reads its cache's index: warm, it loads the
compiled kernels (about a second, off the first frame's way) and the window switches to them; cold,
the helper below compiles them.

With numba's cache empty (a fresh install, an upgrade), compiling the kernels a run needs takes
a minute or more of CPU. ``KernelWarmup`` switches the kernels to their interpreted twins
(core/jit.py: the same source, ~100x slower, plenty for a run at its pace) and starts a helper
process, ``python -m gaussviz.gui.warmup_helper SESSION``, that opens the same window offscreen on the
same settings (so it compiles exactly the kernels, signatures included, the window uses), draws
one complete frame after the first update, and exits. numba's cache now holds the kernels; the
window switches to them (loaded in well under a second) and says so.

The helper runs on the other core and never holds this process's GIL, so the window stays
responsive; it is stopped when the window closes. ``GAUSSVIZ_WARMUP=0`` turns all this off
(the kernels then compile in the worker thread, as before; the tests do that).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PySide6 import QtCore

from ..core import jit, kernels, param_space, plotdata, raster
from ..core import parameterizations as pz
from ..core.paths import package_dir
from ..core.session import session_text
from ..core.settings import Settings

#: the helper gives up after this long (a stuck helper must not keep the window interpreted)
HELPER_TIMEOUT_S = 1800.0
#: a warm start loads the compiled kernels once the first frame is drawn (``frame_drawn``), or after
#: this long without one: loading holds the GIL for about a second, which the first frame does not wait on
PRELOAD_DELAY_S = 2.0


def enabled() -> bool:
    return os.environ.get("GAUSSVIZ_WARMUP", "1") != "0"


def needs_optimizers(settings: Settings) -> bool:
    """Whether the run's chains take the kernels' optimizer path (core.kernels.needs_optimizers)."""
    return any(e.optimizer != "sgd" or pz.get(e.parameterization).code == kernels.RIEMANNIAN
               for e in settings.all_estimators())


def warm(settings: Settings) -> bool:
    """True when numba's cache holds what a window on ``settings`` needs to start (reads index files;
    imports numba)."""
    drawing = [plotdata._thin, plotdata._extent, raster._frame, raster._grid]
    if settings.target.dim == 1:  # the parameter-space contours are drawn for d = 1 only
        drawing.append(param_space._march)
    return kernels.cached(settings.target.dim, needs_optimizers(settings)) and all(jit.in_cache(k) for k in drawing)


def warm_key(settings: Settings) -> tuple[int, bool]:
    """What decides the kernels a start needs (``warm``): a helper compiled for one key is not run
    again for the same key."""
    return int(settings.target.dim), needs_optimizers(settings)


class KernelWarmup(QtCore.QObject):
    """The helper process and the switch back to compiled kernels (GUI thread only)."""

    #: the kernels are compiled and in use (or the helper failed: they compile here on demand)
    sig_done = QtCore.Signal(bool)
    #: a start's loader found numba's cache cold: True, a helper compiles them (running interpreted
    #: meanwhile); False, no helper could start (they compile here, in the worker)
    sig_compiling = QtCore.Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._proc: subprocess.Popen | None = None
        self._loader: threading.Thread | None = None
        #: the kernels a start loads, until its loader thread starts (after the first frame)
        self._todo: list | None = None
        self._settings: Settings | None = None
        self._cold = False  # the loader found numba's cache cold
        #: "compile" (a helper process compiles) or "load" (a thread loads them from numba's cache)
        self.mode = ""
        self._dir: tempfile.TemporaryDirectory | None = None
        self._started = 0.0
        self.seconds = float("nan")  #: how long the last helper took
        #: the warm_key of the last helper's settings
        self.compiled_for: tuple[int, bool] | None = None
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._poll)

    @property
    def active(self) -> bool:
        return self._proc is not None or self._loader is not None or self._todo is not None

    def preload(self, settings: Settings) -> bool:
        """A start: the first frames run interpreted, then a thread imports numba and, if its cache
        is warm, loads the compiled kernels from it (numba's import, its target's start and the
        loads, about 1.5 s of CPU holding the GIL most of it, are then not on the way to the first
        frame); if it is cold, a helper process compiles them (:meth:`start`). True if started. The
        thread starts at :meth:`frame_drawn` (or after ``PRELOAD_DELAY_S``)."""
        if not enabled() or self.active:
            return False
        start = kernels.start_kernels(settings.target.dim, needs_optimizers(settings))
        if all(jit.loaded(k) for k in start):  # loaded already (a later run of this process)
            return False
        self._todo = [*start, *(k for m in (plotdata, raster, param_space) for k in jit.dispatchers(m).values())]
        self._settings = settings.copy()
        self._cold = False
        self.mode = "load"
        self._started = time.monotonic()
        jit.set_interpreted(True)
        self._timer.start()
        return True

    @property
    def waits_for_frame(self) -> bool:
        """A warm start's loader thread waits for the first frame (:meth:`frame_drawn`)."""
        return self._todo is not None

    def frame_drawn(self) -> None:
        """The window drew a frame: a warm start's loader thread may start now."""
        if self._todo is not None:
            self._start_loader()

    def _start_loader(self) -> None:
        todo, self._todo = self._todo, None
        self._loader = threading.Thread(target=self._load, args=(self._settings, todo),
                                        name="gaussviz-kernel-loader", daemon=True)
        self._loader.start()

    def _load(self, settings: Settings, todo: list) -> None:
        """The loader thread: numba, then (its cache warm) the compiled kernels from its cache."""
        try:
            with jit.compiled_here():
                if not warm(settings):
                    self._cold = True
                    return
                jit.load_cached(todo)
        except Exception as e:  # the kernels then load on first use, as without a loader
            print(f"gaussviz: warning: loading the kernels from numba's cache failed: {e}", file=sys.stderr)

    def start(self, settings: Settings) -> bool:
        """Run interpreted and compile in a helper, unless disabled or already under way; True if started."""
        if not enabled() or self._proc is not None:
            return False
        self._dir = tempfile.TemporaryDirectory(prefix="gaussviz-warmup-")
        session = Path(self._dir.name) / "settings.json"
        session.write_text(session_text(settings), encoding="utf-8")
        log = open(Path(self._dir.name) / "helper.log", "wb")
        env = dict(os.environ, GAUSSVIZ_WARMUP="0", QT_QPA_PLATFORM="offscreen")
        # the helper imports this very gaussviz (a checkout or an install) and shares numba's cache
        root = str(package_dir().parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        try:
            self._proc = subprocess.Popen([sys.executable, "-m", "gaussviz.gui.warmup_helper", str(session)], env=env,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        except OSError:
            log.close()
            self._cleanup()
            return False
        finally:
            if not log.closed:
                log.close()
        self.mode = "compile"
        self.compiled_for = warm_key(settings)
        self._started = time.monotonic()
        jit.set_interpreted(True)
        self._timer.start()
        return True

    def _poll(self) -> None:
        if self._todo is not None:
            if time.monotonic() - self._started >= PRELOAD_DELAY_S:
                self._start_loader()
            return
        if self._loader is not None:
            if self._loader.is_alive():
                return
            self._loader.join()
            self._loader = None
            if self._cold:  # numba's cache lacks them: a helper compiles them, interpreted meanwhile
                self._cold = False
                self.mode = ""
                settings, self._settings = self._settings, None
                if settings is not None and self.start(settings):
                    self.sig_compiling.emit(True)
                else:
                    self._timer.stop()
                    jit.set_interpreted(False)
                    self.sig_compiling.emit(False)
                return
            self._finish(True)
            return
        proc = self._proc
        if proc is None:
            return
        rc = proc.poll()
        if rc is None and time.monotonic() - self._started < HELPER_TIMEOUT_S:
            return
        if rc is None:
            self._terminate()
        self._finish(rc == 0)

    def _finish(self, ok: bool) -> None:
        self.seconds = time.monotonic() - self._started
        self._timer.stop()
        self._proc = None
        if not ok and self._dir is not None:
            log = Path(self._dir.name) / "helper.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            print(f"gaussviz: warning: compiling the kernels in a helper process failed; they compile "
                  f"in the window instead.\n{tail}", file=sys.stderr)
        self._cleanup()
        jit.set_interpreted(False)
        self.sig_done.emit(ok)

    def _terminate(self) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)

    def _cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def stop(self) -> None:
        """Stop the helper (the window closes); the kernels are compiled from here on."""
        self._timer.stop()
        if self._proc is not None:
            self._terminate()
            self._proc = None
        if self._loader is not None:
            self._loader.join(60.0)  # loading from the cache takes a second or two
            self._loader = None
        self._todo = None
        self._settings = None
        self._cleanup()
        jit.set_interpreted(False)


