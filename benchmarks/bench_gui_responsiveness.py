"""GUI responsiveness while the worker runs flat out (issue 3's goal).

Measures, offscreen: the gaps between ticks of a 10 ms GUI timer (goal: p99 < 30 ms),
the redraw rate, the worker's updates per second, and the latency from an alpha
change to the first drawn snapshot computed with it (goal: < 100 ms).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_responsiveness.py [--preset NAME] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6 import QtCore, QtWidgets

from gaussviz.core.presets import get_preset
from gaussviz.gui.window import MainWindow


def pump(app: QtWidgets.QApplication, seconds: float, until=None) -> bool:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if until is not None and until():
            return True
        time.sleep(0.0005)
    return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="ill-conditioned-natural")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--stub-plots", action="store_true",
                    help="don't draw (isolates the worker's effect on the GUI thread from paint time)")
    a = ap.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    s = get_preset(a.preset)
    if a.dim:
        s.target.dim, s.target.cov, s.target.mean, s.start.mean = a.dim, None, 0.0, 0.0
        s.target.cond = 10.0
    w = MainWindow(s, running=True)
    if a.stub_plots:
        w.plots.show_snapshot = lambda snap: None
    w.show()
    pump(app, 10.0, until=lambda: w.frames_drawn > 5)  # numba cache load, first frames
    pump(app, 1.0)

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    f0, s0, t0 = w.frames_drawn, w.shown_snapshot.step, time.perf_counter()
    last[0] = t0
    timer.start()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(a.seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    dt = time.perf_counter() - t0
    g = np.array(gaps[1:]) * 1e3
    print(f"preset {a.preset} d={w.settings.target.dim}: {len(g)} ticks in {dt:.1f} s")
    print(f"timer gap ms: p50 {np.percentile(g, 50):.1f}  p99 {np.percentile(g, 99):.1f}  max {g.max():.1f}")
    rate = (w.shown_snapshot.step - s0) / dt / 1e6
    print(f"redraw: {(w.frames_drawn - f0) / dt:.1f} frames/s;  worker: {rate:.2f} M updates/s")

    # alpha change -> first drawn snapshot computed with it
    lat = []
    for k in range(20):
        new = [0.0101, 0.0102][k % 2] if a.preset.startswith("ill") else [0.00201, 0.00202][k % 2]
        t = time.perf_counter()
        w.panel.alpha.set_value(new)
        w.panel.alpha.sig_alpha.emit(new)

        def seen(new=new) -> bool:
            sn = w.shown_snapshot
            return sn is not None and sn.chain.settings["alpha"] == new and sn.chain.alpha_t > 0

        ok = pump(app, 2.0, until=seen)
        lat.append((time.perf_counter() - t) * 1e3 if ok else float("inf"))
        pump(app, 0.05)
    lat = np.array(lat)
    print(f"alpha change -> drawn: median {np.median(lat):.0f} ms  max {lat.max():.0f} ms "
          f"(worker apply->publish {w.worker.last_latency * 1e3:.1f} ms)")
    w.close()


if __name__ == "__main__":
    main()
