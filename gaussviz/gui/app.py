"""Entry point of the window: ``gaussviz [--preset NAME | --session FILE] [--screenshot FILE --after S]``."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from ..core.fileio import atomic_write_bytes, check_can_create
from ..core.presets import get_preset
from ..core.session import read_session, shown_session_text
from ..core.settings import Settings
from ..core.validation import MAX_AFTER_S, one_line
from .qtapp import application, dispose, freeze_long_lived, has_display, prepare_headless

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
    if preset and session is not None:
        raise ValueError("use --preset or --session, not both")
    if session is not None:
        return read_session(session)
    return get_preset(preset or "seed-question")


def run_app(args: argparse.Namespace) -> int:
    """Open the window (running); with --screenshot, save a PNG after --after seconds and exit.

    Without a display the window cannot open: one line and exit status 2 (Qt itself would abort
    with a message about xcb libraries). --screenshot needs no display: it draws offscreen.
    """
    shot = getattr(args, "screenshot", None)
    after = float(getattr(args, "after", 3.0) or 0.0)
    force = bool(getattr(args, "force", False))
    if shot is not None:
        if not math.isfinite(after) or not 0 <= after <= MAX_AFTER_S:
            raise ValueError(f"--after must be a number of seconds >= 0 and at most {MAX_AFTER_S:g} (a day); "
                             f"got {after:g}")
        parent = Path(shot).resolve().parent
        if not parent.is_dir():
            raise ValueError(f"--screenshot: folder {parent} does not exist")
        check_can_create(shot, force)  # fail now, not after the run (OverwriteError names --force)
    settings = settings_for(args)
    if shot is not None:
        if not has_display():
            prepare_headless()
    elif not has_display():
        print(f"gaussviz: error: {NO_DISPLAY}", file=sys.stderr)
        return 2
    app = application()
    result = {"code": 0}
    held: dict[str, Any] = {"window": None}

    def on_signal(signum: int, _frame) -> None:
        # Ctrl+C or SIGTERM: close the window as its Quit would (the worker stops; a screenshot
        # being written is finished first: atomic writes hold the signal over their rename).
        # Installed before the window is built: an interrupt while it is built (its worker
        # thread may already run) must not leave a thread that keeps the process alive.
        result["code"] = 128 + signum
        if held["window"] is not None:
            QtCore.QTimer.singleShot(0, held["window"].close)  # also if the loop has not started yet
            QtCore.QTimer.singleShot(0, app.quit)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, on_signal)
        except ValueError:  # not the main thread
            pass
    window = None
    try:
        from .window import DEFAULT_SIZE, MainWindow

        window = held["window"] = MainWindow(settings, running=True)
        if result["code"]:
            return result["code"]
        if shot is not None:
            # a picture is the same whatever size the window was left at (and takes nothing away)
            window.remember_layout = False
            window.resize(*DEFAULT_SIZE)
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
                    path = save_screenshot(window, shot, force=force)
                except (OSError, ValueError) as e:
                    print(f"gaussviz: error: --screenshot: {one_line(e)}", file=sys.stderr)
                    result["code"] = 2
                else:
                    print(f"wrote {path}")
                window.close()

            QtCore.QTimer.singleShot(0, poll)
        if os.environ.get("GAUSSVIZ_EXIT_AFTER_FIRST_FRAME"):
            _report_first_frames(window)  # benchmarks/gui_bench.py (start-up time)
        # what start-up made (modules, the window) stays: the collector (gui/qtapp) need not walk it,
        # not at its first full collection (~50 ms before the first frame) nor later
        freeze_long_lived("start-up")
        window.show()
        window.draw_first_frame()  # the window's first paint shows the run, not empty plots
        app.exec()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if window is not None:
            window.shutdown()
            dispose(window)  # not left to PySide's exit clean-up (qtapp.dispose says why)
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
            # what the first paint showed: the run (MainWindow.draw_first_frame) or empty plots
            print(f"GAUSSVIZ_FIRST_PAINT {'frame' if window.shown_snapshot is not None else 'empty'}", flush=True)
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


def save_screenshot(window: QtWidgets.QWidget, path: str | os.PathLike, force: bool = False) -> Path:
    """The whole window as PNG (``grab``: the offscreen screen is smaller than the window), written
    atomically (never half a file; an existing file only with ``force``), carrying the session
    like every exported PNG (``gaussviz --session shot.png`` opens it again)."""
    from .image_export import widget_png

    snap = getattr(window, "shown_snapshot", None)
    settings = getattr(window, "settings", None)
    session = shown_session_text(settings, snap) if settings is not None else None
    return atomic_write_bytes(path, widget_png(window, session, "gaussviz window"), force=force)
