"""Entry point of the window: ``gaussviz [--preset NAME | --session FILE] [--screenshot FILE --after S]``."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from ..core.presets import get_preset
from ..core.session import read_session
from ..core.settings import Settings
from .qtapp import application

#: the screenshot waits at most this long for the first update (numba compiles on a first start)
FIRST_FRAME_TIMEOUT_S = 20.0


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings the window opens with; ValueError/OSError (exit 2) on a bad preset or session."""
    preset = getattr(args, "preset", None)
    session = getattr(args, "session", None)
    if preset and session:
        raise ValueError("use --preset or --session, not both")
    if session:
        return read_session(session)
    return get_preset(preset or "seed-question")


def run_app(args: argparse.Namespace) -> int:
    """Open the window (running); with --screenshot, save a PNG after --after seconds and exit."""
    settings = settings_for(args)
    shot = getattr(args, "screenshot", None)
    after = float(getattr(args, "after", 3.0) or 0.0)
    if shot is not None:
        if not math.isfinite(after) or after < 0:
            raise ValueError(f"--after must be a number of seconds >= 0; got {after}")
        parent = Path(shot).resolve().parent
        if not parent.is_dir():
            raise ValueError(f"--screenshot: folder {parent} does not exist")
    app = application()
    from .window import MainWindow

    window = MainWindow(settings, running=True)
    result = {"code": 0}
    if shot is not None:
        waited = {"s": 0.0}

        def poll() -> None:
            # --after counts from the first update: a first start may spend seconds compiling.
            snap = window.shown_snapshot
            if waited["s"] > FIRST_FRAME_TIMEOUT_S or (snap is not None and snap.step > 0):
                QtCore.QTimer.singleShot(int(after * 1000), take)
                return
            waited["s"] += 0.1
            QtCore.QTimer.singleShot(100, poll)

        def take() -> None:
            window.redraw(complete=True)
            if not save_screenshot(window, shot):
                print(f"gaussviz: error: could not write {shot}", file=sys.stderr)
                result["code"] = 2
            window.close()

        QtCore.QTimer.singleShot(0, poll)
    if os.environ.get("GAUSSVIZ_EXIT_AFTER_FIRST_FRAME"):
        _report_first_frames(window)  # benchmarks/gui_bench.py (start-up time)
    window.show()
    app.exec()
    window.shutdown()
    return result["code"]


def _report_first_frames(window) -> None:
    """Benchmark hook: print time.time() when the first frame is painted and when the first
    frame of a running update is (numba kernels loaded), then close the window."""
    printed: dict[str, object] = {}

    def poll() -> None:
        snap = window.shown_snapshot
        if snap is not None and printed.get("snap") is not snap:
            printed["snap"] = snap
            window.repaint()  # painted now, not at some later event
            if "first" not in printed:
                printed["first"] = True
                print(f"GAUSSVIZ_FIRST_FRAME {time.time():.6f}", flush=True)
            if snap.step > 0:
                print(f"GAUSSVIZ_FIRST_UPDATE_FRAME {time.time():.6f}", flush=True)
                window.close()
                return
        QtCore.QTimer.singleShot(2, poll)

    QtCore.QTimer.singleShot(0, poll)


def save_screenshot(window: QtWidgets.QWidget, path: str) -> bool:
    """The whole window as PNG (``grab``: the offscreen screen is smaller than the window)."""
    return window.grab().save(str(path), "PNG")
