"""Start-up benchmark (issue 13): launch the window as a user does and time what they see.

For ``gaussviz --preset PRESET`` (offscreen) it prints the seconds from launch to

- the window first painted (``window``),
- the first drawn frame (``first frame``),
- the first drawn frame of a running update (``first update``),

for a warm start (numba's cache filled by a first launch; median of ``--repeat``) and for a
first-ever start (``--cold``: ``NUMBA_CACHE_DIR`` pointed at a new empty temporary folder;
the user's cache is not touched), with the machine's load average and the CPU seconds the
launch used (a busy shared machine stretches wall time, CPU time much less), and the floor no
start of the window can beat: a Python process importing numpy, PySide6's widgets and pyqtgraph
(plainly, and as gaussviz loads them).
Launches run with bytecode (``PYTHONDONTWRITEBYTECODE`` dropped), as an installed package has it.

Goals: first-ever start to the first update <= 10 s, warm start to the first frame <= 1 s.

    python benchmarks/bench_startup.py [--preset NAME] [--repeat 5] [--cold] [--cold-only]

Every figure is also printed as ``RESULT <key> <value> <op> <target>``. ``--root OLD`` launches
another checkout (e.g. ``git archive`` of an older commit) for before/after figures; the
figures measured for issue 13 are in the README's install section.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

GOAL_COLD_UPDATE_S = 10.0
GOAL_WARM_FRAME_S = 1.0
MARKS = {"GAUSSVIZ_WINDOW_SHOWN": "window", "GAUSSVIZ_FIRST_FRAME": "first_frame",
         "GAUSSVIZ_FIRST_UPDATE_FRAME": "first_update"}


def launch(preset: str, env: dict[str, str], timeout: float, root: str = ROOT) -> dict[str, float]:
    """One launch: seconds to each mark, and the CPU seconds (user + system) of the process."""
    env = dict(env, GAUSSVIZ_EXIT_AFTER_FIRST_FRAME="1", QT_QPA_PLATFORM=env.get("QT_QPA_PLATFORM", "offscreen"))
    # as installed: with bytecode (pip compiles it; without it every start compiles gaussviz's sources)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    out = {k: float("nan") for k in MARKS.values()}
    try:
        # run from the checkout itself: ``python -m`` puts the working folder first on the path
        r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", preset], env=env, cwd=root,
                           capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        print(f"  launch timed out after {timeout:g} s")
        return out
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in r.stdout.splitlines():
        key, _, value = line.partition(" ")
        if key in MARKS:
            wall, _, cpu = value.partition(" ")  # an older gaussviz prints the time only
            out[MARKS[key]] = float(wall) - t0
            out[MARKS[key] + "_cpu"] = float(cpu) if cpu else float("nan")
    if r.returncode != 0 or out["first_update"] != out["first_update"]:
        print(f"  launch failed (exit {r.returncode}): {r.stderr[-800:]}")
    return out


#: the floor's imports: plain, and as gaussviz makes them (gui/pgshim's lazy Qt names, the collector
#: paused: core.fileio.loading_modules)
FLOORS = {"plain": "import numpy, PySide6.QtWidgets, pyqtgraph",
          "as gaussviz loads them": "import gc; gc.disable(); import numpy, gaussviz.gui, pyqtgraph"}


def floor(repeat: int, code: str, root: str = ROOT) -> dict[str, float]:
    """What no start of this window can beat: Python importing numpy, PySide6's widgets and
    pyqtgraph (median wall and CPU seconds of ``repeat`` processes)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.time()
        subprocess.run([sys.executable, "-c", code], env=env, cwd=root, check=True)
        walls.append(time.time() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return {"wall": sorted(walls)[len(walls) // 2], "cpu": sorted(cpus)[len(cpus) // 2]}


def show(label: str, runs: list[dict[str, float]]) -> dict[str, float]:
    med = {}
    for k in ("window", "first_frame", "first_update", "cpu", "first_frame_cpu", "first_update_cpu"):
        vals = sorted(r.get(k, float("nan")) for r in runs)
        med[k] = vals[len(vals) // 2]
    each = "; ".join(f"{r['window']:.2f}/{r['first_frame']:.2f}/{r['first_update']:.2f}" for r in runs)
    print(f"{label}: window {med['window']:.2f} s, first frame {med['first_frame']:.2f} s, first update "
          f"{med['first_update']:.2f} s; CPU to the first frame {med['first_frame_cpu']:.2f} s, to the first "
          f"update {med['first_update_cpu']:.2f} s, in all {med['cpu']:.1f} s  (runs window/frame/update: {each}; "
          f"load {os.getloadavg()[0]:.1f})", flush=True)
    return med


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="seed-question")
    ap.add_argument("--repeat", type=int, default=5, help="warm launches (default 5)")
    ap.add_argument("--cold", action="store_true", help="also one first-ever start (empty numba cache)")
    ap.add_argument("--cold-only", action="store_true", help="only the first-ever start")
    ap.add_argument("--timeout", type=float, default=900.0, help="per launch (s; default 900)")
    ap.add_argument("--root", default=ROOT, help="the gaussviz checkout to launch (default: this one; an older "
                                                "one gives the figures before a change)")
    a = ap.parse_args()
    env = dict(os.environ)
    print(f"start-up of gaussviz --preset {a.preset} (offscreen; {os.cpu_count()} cores)", flush=True)
    if not a.cold_only:
        # fills the user's cache if needed (compiling in the window: a launch that exits at its first
        # update would stop a helper process before it is done), and the OS file cache
        launch(a.preset, dict(env, GAUSSVIZ_WARMUP="0"), a.timeout, a.root)
        warm = show("warm", [launch(a.preset, env, a.timeout, a.root) for _ in range(a.repeat)])
        floors = {name: floor(a.repeat, code, a.root) for name, code in FLOORS.items()}
        for name, code in FLOORS.items():
            print(f"floor, {name} (python -c '{code}'): {floors[name]['wall']:.2f} s wall, "
                  f"{floors[name]['cpu']:.2f} s CPU", flush=True)
        fl = floors["as gaussviz loads them"]
        print(f"RESULT startup.warm_first_frame_s {warm['first_frame']:.4g} <= {GOAL_WARM_FRAME_S:g}")
        print(f"RESULT startup.warm_first_update_s {warm['first_update']:.4g} - -")
        print(f"RESULT startup.warm_first_frame_cpu_s {warm['first_frame_cpu']:.4g} <= {GOAL_WARM_FRAME_S:g}")
        print(f"RESULT startup.import_floor_s {fl['wall']:.4g} - -")
        print(f"RESULT startup.import_floor_plain_s {floors['plain']['wall']:.4g} - -")
    if a.cold or a.cold_only:
        with tempfile.TemporaryDirectory(prefix="gaussviz-numba-") as d:
            runs = [launch(a.preset, dict(env, NUMBA_CACHE_DIR=d), a.timeout, a.root)]
            cold = show("first-ever (empty numba cache)", runs)
        print(f"RESULT startup.cold_first_update_s {cold['first_update']:.4g} <= {GOAL_COLD_UPDATE_S:g}")
        print(f"RESULT startup.cold_window_s {cold['window']:.4g} - -")
        print(f"RESULT startup.cold_first_update_cpu_s {cold['first_update_cpu']:.4g} <= {GOAL_COLD_UPDATE_S:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
