"""The one Qt application of a process: for the window, and headless for renders and sweeps.

Qt must be told to draw offscreen before PySide6 creates its application when
there is no display; ``prepare_headless`` does that, ``application`` creates (or
returns) the application with the app's font floor and message filter.
"""

from __future__ import annotations

import gc
import os
import sys

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.paths import resource_path

#: the smallest UI font (points)
MIN_POINT_SIZE = 10.5


def dispose(widget: QtWidgets.QWidget) -> None:
    """Delete a window's Qt objects now (call it after the window's ``shutdown``).

    A window is never freed by Python's collector: its Qt children (pacer, exporter, tabs) hold
    methods and lambdas of it, through Qt's ownership, which the collector cannot see. Left alive,
    it is deleted by PySide's own clean-up at interpreter exit, and that crashed now and then in
    shiboken while the plots' scene was cleared (2 of 40 runs of a script; 0 of 30 disposed)."""
    import shiboken6

    if shiboken6.isValid(widget):
        shiboken6.delete(widget)


def has_display() -> bool:
    """True when a window can be shown (X11 or Wayland, or a platform chosen explicitly)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM"))


def prepare_headless() -> None:
    """Use Qt's offscreen platform when there is no display (before the application exists)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def qt_message(mode: QtCore.QtMsgType, context: QtCore.QMessageLogContext, message: str) -> None:
    """Qt's log lines on stderr, without the offscreen platform's size-hint noise on every window."""
    if "propagateSizeHints" in message:
        return
    print(message, file=sys.stderr)


class GuiGarbageCollector(QtCore.QObject):
    """Python's cyclic garbage collector, run on the GUI thread only (from a timer).

    With automatic collection, whichever thread allocates next runs it: the run
    worker or the forecast thread would then destroy Qt objects left in cycles
    (a closed window's menus), and QObject's destructor, waiting for the GIL
    while holding a Qt lock the GUI thread wants, deadlocked the process (seen
    in the test suite). Calibre and pyqtgraph (``util.garbage_collector``) do
    the same for the same reason.
    """

    def __init__(self, interval_ms: int = 500, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, as automatic gc would."""
        l0, l1, l2 = gc.get_count()
        if l0 > self.threshold[0]:
            gc.collect(0)
            if l1 > self.threshold[1]:
                gc.collect(1)
                if l2 > self.threshold[2]:
                    gc.collect(2)


_FROZEN: set[str] = set()


def freeze_long_lived(stage: str) -> None:
    """Move every object alive now out of the cyclic collector's reach (``gc.freeze``), once per
    ``stage`` of a process: what start-up made (modules, the window) and what loading the kernels
    made (numba, llvmlite: ~100,000 objects) stays for good, and walking it took a full collection
    180-210 ms of the GUI thread (measured, the worker running; a younger generation's 50 ms),
    the longest pauses of a running window. Objects made later are collected as before."""
    if stage in _FROZEN:
        return
    _FROZEN.add(stage)
    gc.freeze()


#: the icon's sizes in resources/icons (tools/make_icon.py draws them)
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QtGui.QIcon:
    """The app's icon (resources/icons: the SVG and PNGs at the usual sizes); empty if not installed."""
    icon = QtGui.QIcon()
    for n in ICON_SIZES:
        try:
            icon.addFile(str(resource_path(f"icons/gaussviz-{n}.png")), QtCore.QSize(n, n))
        except ValueError:
            continue
    return icon


def application(headless: bool = False) -> QtWidgets.QApplication:
    """The process's QApplication, created on first use (offscreen when ``headless`` and no display).

    A QApplication, not a QGuiApplication, so pyqtgraph widgets can be rendered in
    the same process; a reference is kept because a collected application takes its fonts.
    """
    app = QtWidgets.QApplication.instance()
    if app is None:
        if headless:
            prepare_headless()
        QtCore.qInstallMessageHandler(qt_message)
        app = QtWidgets.QApplication(sys.argv[:1] or ["gaussviz"])
        globals()["_APP"] = app
        app._gaussviz_gc = GuiGarbageCollector(parent=app)  # type: ignore[attr-defined]
    app.setApplicationName("gaussviz")
    app.setDesktopFileName("gaussviz")  # Wayland finds the icon and name in gaussviz.desktop by this
    if app.windowIcon().isNull():
        app.setWindowIcon(app_icon())
    # Readable from the back of a room: some platforms (offscreen, bare X) default to 9 pt.
    f = app.font()
    if f.pointSizeF() < MIN_POINT_SIZE:
        f.setPointSizeF(MIN_POINT_SIZE)
        app.setFont(f)
    return app  # type: ignore[return-value]


__all__ = ["ICON_SIZES", "MIN_POINT_SIZE", "GuiGarbageCollector", "app_icon", "application", "has_display",
           "prepare_headless", "qt_message"]
_ = QtGui  # QtGui is imported so PySide6 registers its types before the application exists
