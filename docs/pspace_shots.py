"""The parameter-space screenshots of the README (issue 15), made with the window itself.

    QT_QPA_PLATFORM=offscreen python docs/pspace_shots.py OUT_FOLDER

For each preset: the whole window (``<preset>_window.png``, QWidget.grab) and the
parameter-space plot alone (``<preset>_pspace.png``, the export's renderer), after the
updates that tell the preset's story.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from gaussviz.core.presets import get_preset
from gaussviz.gui.image_export import render_item
from gaussviz.gui.qtapp import application
from gaussviz.gui.window import MainWindow

#: preset -> updates run before the picture
SHOTS = {"seed-question": 6000, "wrong-sign-descent": 2100, "start-too-small": 20_000}


def _wait(app, cond, seconds: float = 120.0) -> None:
    t0 = time.time()
    while not cond() and time.time() - t0 < seconds:
        app.processEvents()
        time.sleep(0.01)


def shoot(preset: str, steps: int, out: Path, size=(1600, 1000)) -> None:
    app = application(headless=True)
    s = get_preset(preset)
    s.speed = 0.0
    w = MainWindow(s, running=False)
    w.resize(*size)
    w.show()
    _wait(app, lambda: w.shown_snapshot is not None)
    w.worker.send("step", steps)
    _wait(app, lambda: w.shown_snapshot.step >= steps or all(c.divergence is not None
                                                              for c in w.shown_snapshot.chains))
    for _ in range(10):
        app.processEvents()
        w.redraw(complete=True)
        time.sleep(0.05)
    w.grab().save(str(out / f"{preset}_window.png"))
    render_item(w.plots.plot_items["pspace"], 900).save(str(out / f"{preset}_pspace.png"))
    w.shutdown()
    w.close()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for preset, steps in SHOTS.items():
        shoot(preset, steps, out)
        print(f"wrote {out}/{preset}_window.png and {preset}_pspace.png")


if __name__ == "__main__":
    main()
