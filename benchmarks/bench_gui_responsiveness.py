"""GUI responsiveness while the worker runs flat out (issue 3's goal), for one preset.

Kept as a short command for the window's own checks; the measurements live in
benchmarks/gui_bench.py (benchmark 4 of benchmarks/run.py): the gaps between ticks
of a 10 ms GUI timer (goal: p99 < 30 ms), the redraw rate, the worker's updates per
second and the latency from an alpha change to the first snapshot computed with it.

    python benchmarks/bench_gui_responsiveness.py [--preset NAME] [--seconds 5] [--dim D] [--stub-plots]
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from gui_bench import main  # noqa: E402

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--preset" not in argv:
        argv = ["--preset", "ill-conditioned-natural", *argv]
    sys.argv = [sys.argv[0], "--only", "load", *argv]
    sys.exit(main())
