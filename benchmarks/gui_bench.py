"""Window benchmarks (issue 6, benchmarks 4 and 6; goals of issue 12), offscreen.

4. Window under load: while the worker runs flat out at d = 2, the gaps between
   ticks of a 10 ms GUI timer (p50, p99, max; goal p99 <= 20 ms), the redraw
   frames per second with 5,000 cloud points and 100,000-step histories (goal
   >= 60 with one chain, >= 30 with five), the GUI thread's CPU time per frame,
   and the time from an alpha change in the settings to the first snapshot
   computed with it (goal <= 100 ms). Run for the single-chain preset
   ``ill-conditioned-natural`` and for the five-chain ``what-am-i-missing``.
   Also the cost of one frame with no worker running (the drawing alone; goal
   <= 8 ms with one chain, <= 16 ms with five), in wall time and in the GUI
   thread's CPU time (which a busy machine inflates less): a running frame as
   the window draws it (the cloud and one group of trace plots in turn,
   ``gui/redraw.py``) and a full frame of all six plots.

The machine's load is printed beside each figure: on a shared machine, measure
several times and compare the quietest runs.
6. Start-up: seconds from launching ``gaussviz --preset seed-question`` to the
   first drawn frame, and to the first drawn frame of a running update (the
   numba kernels loaded from their cache), several times; and once with an
   empty, temporary numba cache (the first-ever start, compiling everything;
   the user's cache is not touched).

Every figure is printed as ``RESULT <key> <value> <op or -> <target or ->`` for
benchmarks/run.py, which calls this script in a subprocess.

    python benchmarks/gui_bench.py [--quick]
    python benchmarks/gui_bench.py --only load --preset what-am-i-missing --seconds 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6 import QtCore, QtWidgets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from gaussviz.core.presets import get_preset  # noqa: E402
from gaussviz.core.settings import build_run  # noqa: E402

#: preset -> key prefix ("" for the headline single-chain figures)
PRESETS = {"ill-conditioned-natural": "gui", "what-am-i-missing": "gui.compare5"}
#: key prefix -> (frames/s goal with the worker flat out, drawing-alone goal in ms per frame)
GOALS = {"gui": (60.0, 8.0), "gui.compare5": (30.0, 16.0), "gui.custom": (30.0, 16.0)}
#: the GUI timer's gaps: p99 goal (ms)
TIMER_P99_GOAL = 20.0
HISTORY_STEPS = 100_000


def result(key: str, value: float, op: str = "-", target: float | None = None, unit: str = "") -> None:
    tail = f"{op} {target:g}" if target is not None else "- -"
    print(f"RESULT {key} {value:.6g} {tail}", flush=True)
    if unit:
        mark = ""
        if target is not None:
            ok = value <= target if op == "<=" else value >= target
            mark = f"   goal {op} {target:g}: {'met' if ok else 'NOT MET'}"
        print(f"  {key:<48} {value:>12.4g} {unit}{mark}", flush=True)


def app() -> QtWidgets.QApplication:
    from gaussviz.gui.qtapp import application

    return application()


def pump(a: QtWidgets.QApplication, seconds: float, until=None) -> bool:
    """Run the event loop for up to ``seconds``; True as soon as ``until()`` holds."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        a.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 2)
        if until is not None and until():
            return True
        time.sleep(0.0005)
    return False


def wait_compiled(a: QtWidgets.QApplication, seconds: float = 600.0) -> None:
    """Until the window runs the compiled kernels: a start begins interpreted (core/jit.py) and a
    cache made stale by a source change compiles for a minute or more; measuring then would time
    the interpreter."""
    from gaussviz.core import jit

    if not pump(a, seconds, until=lambda: not jit.interpreting()):
        raise SystemExit(f"the kernels were still interpreted after {seconds:g} s: nothing measured")


def settings_for(preset: str, dim: int | None = None):
    s = get_preset(preset)
    s.speed = 0.0  # flat out
    if dim:
        s.target.dim, s.target.cov, s.target.mean, s.start.mean = dim, None, 0.0, 0.0
        s.target.cond = 10.0
    return s


def timer_gaps(a: QtWidgets.QApplication, seconds: float) -> np.ndarray:
    """Gaps (ms) between ticks of a 10 ms precise GUI timer over ``seconds``."""
    gaps: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    last[0] = time.perf_counter()
    timer.start()
    loop.exec()
    timer.stop()
    return np.array(gaps[1:]) * 1e3


def bench_load(preset: str, seconds: float, n_alpha: int, prefix: str, dim: int | None = None,
               stub_plots: bool = False) -> None:
    """Benchmark 4 for one preset: timer gaps, redraw rate, alpha latency, with the worker flat out."""
    from gaussviz.gui.window import MainWindow

    a = app()
    w = MainWindow(settings_for(preset, dim), running=True)
    if stub_plots:
        w.plots.show_snapshot = lambda snap: None
        w.plots.show_snapshot_part = lambda snap, parts: ()
    w.show()
    wait_compiled(a)
    # numba cache load, then histories of >= 100,000 steps
    pump(a, 30.0, until=lambda: w.shown_snapshot is not None and w.shown_snapshot.step >= HISTORY_STEPS)
    pump(a, 1.0)
    snap = w.shown_snapshot
    f0, s0, t0 = w.frames_drawn, snap.step, time.perf_counter()
    cpu0 = time.thread_time()  # this (the GUI) thread's CPU time
    load0 = os.getloadavg()[0]
    g = timer_gaps(a, seconds)
    dt = time.perf_counter() - t0
    cpu = time.thread_time() - cpu0
    frames = w.frames_drawn - f0
    fps = frames / dt
    rate = (w.shown_snapshot.step - s0) / dt
    snap = w.shown_snapshot
    print(f"{preset} d={w.settings.target.dim} K={len(snap.chains)}: {g.size} ticks in {dt:.1f} s, "
          f"{snap.recent.shape[0]} cloud points, history of {snap.step:,} steps in {snap.history.n} points, "
          f"redraw interval {w.timer.interval()} ms, frame cost {w._frame_cost * 1e3:.1f} ms")
    # the machine's load (this process's two busy threads count ~2): other processes slow the GUI thread
    result(f"{prefix}.loadavg_1m", max(load0, os.getloadavg()[0]), unit="runnable")
    goal = stub_plots is False
    result(f"{prefix}.timer_gap_p50_ms", float(np.percentile(g, 50)), unit="ms")
    result(f"{prefix}.timer_gap_p99_ms", float(np.percentile(g, 99)), "<=" if goal else "-",
           TIMER_P99_GOAL if goal else None, unit="ms")
    result(f"{prefix}.timer_gap_max_ms", float(g.max()), unit="ms")
    result(f"{prefix}.worker_updates_per_s", rate, unit="updates/s")
    if stub_plots:
        w.close()
        w.deleteLater()
        pump(a, 0.2)
        return
    fps_goal = GOALS.get(prefix, GOALS["gui.custom"])[0]
    result(f"{prefix}.redraw_fps", fps, ">=", fps_goal, unit="frames/s")
    # what the GUI thread spent per frame (drawing, painting, the timer, everything), and its share
    result(f"{prefix}.gui_cpu_per_frame_ms", 1e3 * cpu / max(frames, 1), unit="ms")
    result(f"{prefix}.gui_cpu_share", cpu / dt, unit="of a core")

    # alpha typed into the settings -> first snapshot computed with it (and first drawn)
    to_snap, to_drawn = [], []
    base = float(w.settings.estimator.alpha)
    for k in range(n_alpha):
        new = float(f"{base * (1.01 + 0.01 * (k % 2)):.3g}")

        def computed(new=new) -> bool:
            sn = w.worker._latest  # peek: latest() would mark it taken
            return sn is not None and sn.chain.settings["alpha"] == new and sn.chain.steps > 0

        def drawn(new=new) -> bool:
            sn = w.shown_snapshot
            return sn is not None and sn.chain.settings["alpha"] == new

        edit = w.panel.alpha.edit
        t = time.perf_counter()
        edit.setText(f"{new:g}")
        edit.editingFinished.emit()
        ok = pump(a, 2.0, until=computed)
        to_snap.append((time.perf_counter() - t) * 1e3 if ok else float("inf"))
        ok = pump(a, 2.0, until=drawn)
        to_drawn.append((time.perf_counter() - t) * 1e3 if ok else float("inf"))
        pump(a, 0.1)
    to_snap_a, to_drawn_a = np.array(to_snap), np.array(to_drawn)
    result(f"{prefix}.alpha_to_snapshot_ms", float(np.median(to_snap_a)), "<=", 100.0, unit="ms")
    result(f"{prefix}.alpha_to_snapshot_max_ms", float(to_snap_a.max()), unit="ms")
    result(f"{prefix}.alpha_to_drawn_ms", float(np.median(to_drawn_a)), unit="ms")
    w.close()
    w.deleteLater()
    pump(a, 0.2)


def bench_frame(preset: str, n: int, prefix: str) -> None:
    """The cost of one frame (setData + paint), no worker: what drawing alone allows. Two kinds:
    a running frame as the window draws it (the cloud and one group of trace plots, the groups in
    turn: ``gui.redraw``), which the goals are for, and a full frame of all six plots (a paused
    run, a step, a screenshot)."""
    from gaussviz.gui.window import MainWindow

    a = app()
    w = MainWindow(settings_for(preset), running=False)
    w.show()
    pump(a, 10.0, until=lambda: w.shown_snapshot is not None)
    wait_compiled(a)
    w.timer.stop()  # frames are drawn here, one by one
    run = build_run(settings_for(preset))
    while run.step < HISTORY_STEPS:
        run.advance(10_000)
        run.snapshot()
    load0 = os.getloadavg()[0]
    figures = {}
    for kind, running in (("running", True), ("full", False)):
        cost, cpu = [], []
        for _ in range(n):
            run.advance(3_000)
            snap = run.snapshot(extra={"running": running})
            t, c0 = time.perf_counter(), time.thread_time()
            w.show_snapshot(snap, w.pacer.frame_parts(snap))
            a.processEvents()  # the paint
            cost.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c0)
        figures[kind] = (np.array(cost[5:]) * 1e3, np.array(cpu[5:]) * 1e3)
    fps_goal, ms_goal = GOALS.get(prefix, GOALS["gui.custom"])
    result(f"{prefix}.frame_loadavg_1m", max(load0, os.getloadavg()[0]), unit="runnable")
    c, c_cpu = figures["running"]
    result(f"{prefix}.frame_ms", float(np.median(c)), "<=", ms_goal, unit="ms (running frame)")
    result(f"{prefix}.frame_p90_ms", float(np.percentile(c, 90)), unit="ms")
    result(f"{prefix}.frame_cpu_ms", float(np.median(c_cpu)), "<=", ms_goal, unit="ms (GUI thread CPU)")
    result(f"{prefix}.redraw_capacity_fps", 1e3 / float(np.median(c)), ">=", fps_goal, unit="frames/s")
    c, c_cpu = figures["full"]
    result(f"{prefix}.full_frame_ms", float(np.median(c)), unit="ms (all six plots)")
    result(f"{prefix}.full_frame_cpu_ms", float(np.median(c_cpu)), unit="ms (GUI thread CPU)")
    w.close()
    w.deleteLater()
    pump(a, 0.2)


def _launch(env: dict[str, str], timeout: float) -> tuple[float, float]:
    """Seconds from launch to the first drawn frame and to the first drawn frame with updates."""
    env = dict(env, GAUSSVIZ_EXIT_AFTER_FIRST_FRAME="1")
    t0 = time.time()
    first = update = float("nan")
    try:
        out = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "seed-question"], env=env,
                             capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        print(f"start-up run timed out after {timeout:g} s: {(e.stderr or b'')[-500:]!r}")
        return first, update
    for line in out.stdout.splitlines():
        if line.startswith("GAUSSVIZ_FIRST_FRAME "):
            first = float(line.split()[1]) - t0
        elif line.startswith("GAUSSVIZ_FIRST_UPDATE_FRAME "):
            update = float(line.split()[1]) - t0
    if not np.isfinite(update):
        print(f"start-up run failed (exit {out.returncode}): {out.stderr[-500:]}")
    return first, update


def bench_startup(repeat: int, no_cache: bool) -> None:
    """Benchmark 6: launch -> first drawn frame, with the numba cache present (warm) and empty."""
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    _launch(env, 120.0)  # fills the cache if it is empty, and the OS file cache
    runs = [_launch(env, 60.0) for _ in range(repeat)]
    first = np.array([r[0] for r in runs])
    update = np.array([r[1] for r in runs])
    print(f"start-up (warm, {repeat} runs): first frame {np.round(first, 2).tolist()} s, "
          f"first update {np.round(update, 2).tolist()} s")
    result("startup.first_frame_s", float(np.median(first)), unit="s")
    result("startup.first_update_frame_s", float(np.median(update)), unit="s")
    if no_cache:
        with tempfile.TemporaryDirectory(prefix="gaussviz-numba-") as d:
            f, u = _launch(dict(env, NUMBA_CACHE_DIR=d), 300.0)
        result("startup.no_cache_first_frame_s", f, unit="s")
        result("startup.no_cache_first_update_frame_s", u, unit="s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter runs (for run.py --quick)")
    ap.add_argument("--only", help="comma-separated subset: load,frame,startup")
    ap.add_argument("--preset", help="load test one preset only")
    ap.add_argument("--seconds", type=float, help="timer-gap measurement per preset")
    ap.add_argument("--dim", type=int, default=None, help="target dimension for --preset")
    ap.add_argument("--stub-plots", action="store_true",
                    help="don't draw (isolates the worker's effect on the GUI thread from drawing)")
    ap.add_argument("--no-cache-start", action="store_true", help="also time a start with an empty numba cache")
    a = ap.parse_args()
    chosen = a.only.split(",") if a.only else ["frame", "load", "startup"]
    seconds = a.seconds or (4.0 if a.quick else 10.0)
    presets = {a.preset: PRESETS.get(a.preset, "gui.custom")} if a.preset else PRESETS
    print("4. window under load (offscreen, worker flat out, 10 ms GUI timer)", flush=True)
    if "frame" in chosen:
        for preset, prefix in presets.items():
            bench_frame(preset, 30 if a.quick else 80, prefix)
    if "load" in chosen:
        for preset, prefix in presets.items():
            bench_load(preset, seconds, 6 if a.quick else 20, prefix, a.dim, a.stub_plots)
        if not a.preset:
            # the worker's own share of the gaps: the same load with nothing drawn
            bench_load("ill-conditioned-natural", seconds, 0, "gui.no_drawing", stub_plots=True)
    if "startup" in chosen:
        print("6. start-up: gaussviz --preset seed-question -> first drawn frame", flush=True)
        bench_startup(2 if a.quick else 5, no_cache=a.no_cache_start or not a.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
