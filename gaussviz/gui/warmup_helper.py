"""The helper process of gui/warmup.py: ``python -m gaussviz.gui.warmup_helper SESSION``.

It opens the window offscreen on the session's settings, so that numba compiles (and caches)
exactly the kernels, signatures included, that the window needs; it waits for the first real
update, draws one complete frame into a pixmap (every plot's raster path) and exits.
"""

from __future__ import annotations

import sys
import time

from PySide6 import QtCore

from ..core.session import read_session
from .qtapp import application, dispose
from .warmup import HELPER_TIMEOUT_S
from .window import MainWindow


def main(argv: list[str] | None = None) -> int:
    """The helper: the window on the settings, offscreen, until one complete frame of a real update."""
    args = sys.argv[1:] if argv is None else argv
    settings = read_session(args[0])
    app = application(headless=True)
    window = MainWindow(settings, running=True)
    window.show()
    deadline = time.monotonic() + HELPER_TIMEOUT_S
    while time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        snap = window.shown_snapshot
        if snap is not None and (snap.step > 0 or any(c.divergence is not None for c in snap.chains)):
            break
        time.sleep(0.02)
    window.redraw(complete=True)
    window.grab()  # every plot's raster path, into a pixmap
    window.hide()  # not close(): closing saves the window's layout, which is the user's, not this helper's
    window.shutdown()
    dispose(window)  # not left to PySide's exit clean-up (qtapp.dispose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
