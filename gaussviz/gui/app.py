"""Entry point of the window: ``gaussviz [--preset NAME | --session FILE] [--screenshot FILE --after S]``."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from PySide6 import QtCore

from ..core.fileio import atomic_write_bytes, check_can_create
from ..core.presets import get_preset
from ..core.session import read_session, shown_session_text
from ..core.settings import Settings
from .qtapp import application, has_display, prepare_headless

#: the screenshot waits at most this long for the first update (numba compiles on a first start:
#: 10-30 s on a 2-core machine, minutes on a loaded one)
FIRST_FRAME_TIMEOUT_S = 600.0
#: the one line printed when there is no display to open the window on (exit status 2)
NO_DISPLAY = ("no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): on a headless "
              "machine run it under Xvfb (xvfb-run gaussviz), or save a picture (gaussviz --screenshot FILE), "
              "or use gaussviz run | render | sweep")


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
    """Open the window (running); with --screenshot, save a PNG after --after seconds and exit.

    Without a display the window cannot open: one line and exit status 2 (Qt itself would abort
    with a message about xcb libraries). --screenshot needs no display: it draws offscreen.
    """
    settings = settings_for(args)
    shot = getattr(args, "screenshot", None)
    force = bool(getattr(args, "force", False))
    after = float(getattr(args, "after", 3.0) or 0.0)
    if shot is not None:
        if not math.isfinite(after) or after < 0:
            raise ValueError(f"--after must be a number of seconds >= 0; got {after}")
        parent = Path(shot).resolve().parent
        if not parent.is_dir():
            raise ValueError(f"--screenshot: folder {parent} does not exist")
        check_can_create(shot, force)  # fail now, not after the run (OverwriteError names --force)
        if not has_display():
            prepare_headless()
    elif not has_display():
        print(f"gaussviz: error: {NO_DISPLAY}", file=sys.stderr)
        return 2
    app = application()
    from .window import MainWindow

    window = MainWindow(settings, running=True)
    result = {"code": 0}
    if shot is not None:
        started = time.monotonic()

        def real_frame() -> bool:
            """A frame of the running estimate: updates applied, or a divergence at the first one."""
            snap = window.shown_snapshot
            return snap is not None and (snap.step > 0 or any(c.divergence is not None for c in snap.chains))

        def poll() -> None:
            # --after counts from the first real frame: a first start spends seconds compiling.
            if real_frame():
                QtCore.QTimer.singleShot(int(after * 1000), take)
            elif time.monotonic() - started > FIRST_FRAME_TIMEOUT_S:
                print(f"gaussviz: error: --screenshot: no update within {FIRST_FRAME_TIMEOUT_S:g} s; "
                      f"nothing written", file=sys.stderr)
                result["code"] = 2
                window.close()
            else:
                QtCore.QTimer.singleShot(50, poll)

        def take() -> None:
            window.redraw(complete=True)
            try:
                path = save_screenshot(window, shot, force)
            except OSError as e:
                print(f"gaussviz: error: --screenshot: {e}", file=sys.stderr)
                result["code"] = 2
            else:
                print(f"wrote {path}")
            window.close()

        QtCore.QTimer.singleShot(0, poll)
    if os.environ.get("GAUSSVIZ_EXIT_AFTER_FIRST_FRAME"):
        _report_first_frames(window)  # benchmarks/gui_bench.py (start-up time)
    window.show()
    app.exec()
    window.shutdown()
    return result["code"]


def _report_first_frames(window) -> None:
    """Benchmark hook: print time.time() and the process's CPU seconds when the window is first
    painted, when the first frame of a snapshot is, and when the first frame of a running update
    is (kernels loaded or compiled), then close the window."""
    printed: dict[str, object] = {}

    def poll() -> None:
        if "window" not in printed:  # the event loop runs: the window is up
            printed["window"] = True
            window.repaint()
            print(f"GAUSSVIZ_WINDOW_SHOWN {time.time():.6f} {time.process_time():.3f}", flush=True)
        snap = window.shown_snapshot
        if snap is not None and printed.get("snap") is not snap:
            printed["snap"] = snap
            window.repaint()  # painted now, not at some later event
            if "first" not in printed:
                printed["first"] = True
                print(f"GAUSSVIZ_FIRST_FRAME {time.time():.6f} {time.process_time():.3f}", flush=True)
            if snap.step > 0:
                print(f"GAUSSVIZ_FIRST_UPDATE_FRAME {time.time():.6f} {time.process_time():.3f}", flush=True)
                window.close()
                return
        QtCore.QTimer.singleShot(2, poll)

    QtCore.QTimer.singleShot(0, poll)


def save_screenshot(window, path: str | os.PathLike, force: bool = False) -> Path:
    """The whole window as PNG (``grab``: the offscreen screen is smaller than the window), with the
    session in its metadata like File > Export > Window, written atomically (core.fileio): never half
    a file, and an existing file only with ``force`` (OverwriteError otherwise)."""
    from .image_export import widget_png

    data = widget_png(window, shown_session_text(window.settings, window.shown_snapshot))
    return atomic_write_bytes(path, data, force=force)
