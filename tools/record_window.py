"""Record the live window's plots with File > Record, driven from a script (offscreen on a
machine without a display): the window route of issue 16, beside ``gaussviz render --video``.

    python tools/record_window.py --preset what-am-i-missing --seconds 10 --out window.mp4
    python tools/record_window.py --preset what-am-i-missing --seconds 10 --out window.gif

The window opens on the preset (at its pace), starts recording, runs for the given seconds
(the status bar shows the red indicator), stops and prints what was written: frames, frames
dropped, and the GUI thread's time spent grabbing.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="what-am-i-missing")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out", required=True, help="an .mp4 or .gif file")
    ap.add_argument("--size", default="1600x1000", help="window size (default 1600x1000)")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()

    from gaussviz.gui.qtapp import application

    app = application(headless=True)
    from PySide6 import QtCore

    from gaussviz.core.presets import get_preset
    from gaussviz.gui.window import MainWindow

    w, h = (int(x) for x in a.size.lower().split("x"))
    win = MainWindow(get_preset(a.preset), running=False)
    win.resize(w, h)
    win.show()
    state = {"result": None}
    stop = QtCore.QTimer()
    stop.setSingleShot(True)
    stop.setTimerType(QtCore.Qt.TimerType.PreciseTimer)

    def begin() -> None:
        if not win.start_recording(a.out, force=a.force):
            app.quit()
            return
        win.set_running(True)
        # a precise timer: a coarse one (the default) may fire up to 5 % early
        stop.start(round(a.seconds * 1000))

    def finish() -> None:
        state["result"] = win.stop_recording()
        app.quit()

    # Recording starts once the window drew its first updates (the worker built the run and
    # numba loaded its kernels), at the run's start: the run is reset first.
    warm = QtCore.QTimer()

    def warmed() -> None:
        snap = win.shown_snapshot
        if snap is not None and snap.step > 0:
            warm.stop()
            win.set_running(False)
            win.reset()
            QtCore.QTimer.singleShot(300, begin)

    stop.timeout.connect(lambda: finish())
    warm.timeout.connect(warmed)
    warm.start(50)
    win.set_running(True)
    app.exec()
    rec = win.recorder
    win.shutdown()
    win.close()
    r = state["result"]
    if r is None or r.path is None:
        print(f"recording failed: {r.error if r else win.statusBar().currentMessage()}", file=sys.stderr)
        return 1
    print(f"wrote {r.path}: {r.frames} frames = {r.seconds:.1f} s at {rec.fps:g} frames/s, "
          f"{rec.size[0]}x{rec.size[1]}, {r.dropped} dropped; "
          f"grabbing took {1e3 * rec.grab_seconds / max(1, rec.grabs):.1f} ms a frame "
          f"({1e3 * rec.grab_cpu / max(1, rec.grabs):.1f} ms CPU) "
          f"on the GUI thread ({rec.grabs} grabs); window drew {win.frames_drawn} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
