"""Draw gaussviz's app icon: a tilted 1- and 2-sigma ellipse over a cloud of samples.

Writes ``resources/icons/gaussviz.svg`` and PNGs at the sizes launchers and window
managers ask for (``gaussviz-<N>.png``). The samples are drawn from the 2-D
Gaussian the ellipses describe, with a fixed seed, so the output is the same on
every run; commit what it writes.

    python tools/make_icon.py
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: the ellipse: semi-axes (1 sigma, in units of the 256 px canvas) and tilt (degrees, counter-clockwise)
AXES = (52.0, 22.0)
TILT = 35.0
CENTRE = (128.0, 128.0)
BACKGROUND = "#16324f"
DOTS = "#9cc3e6"
ELLIPSE = "#e69f00"  # Okabe-Ito orange, as in the plots


def svg() -> str:
    rng = np.random.default_rng(7)
    t = math.radians(TILT)
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    z = rng.standard_normal((70, 2)) * np.array(AXES)
    pts = z @ rot.T
    pts[:, 1] *= -1  # SVG's y axis points down
    pts += np.array(CENTRE)
    keep = (np.abs(pts - 128) < 104).all(axis=1)
    dots = "\n".join(f'  <circle cx="{x:.1f}" cy="{y:.1f}" r="5.5"/>' for x, y in pts[keep])
    cx, cy = CENTRE
    ellipses = "\n".join(
        f'  <ellipse cx="{cx}" cy="{cy}" rx="{k * AXES[0]:.1f}" ry="{k * AXES[1]:.1f}" '
        f'transform="rotate({-TILT} {cx} {cy})" stroke-width="{w}"{dash}/>'
        for k, w, dash in ((1, 11, ""), (2, 7, ' stroke-dasharray="18 10"')))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- gaussviz icon, drawn by tools/make_icon.py: a tilted 1- and 2-sigma ellipse over samples -->
<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
 <rect x="8" y="8" width="240" height="240" rx="48" fill="{BACKGROUND}"/>
 <g fill="{DOTS}" fill-opacity="0.85">
{dots}
 </g>
 <g fill="none" stroke="{ELLIPSE}" stroke-linecap="round">
{ellipses}
 </g>
 <circle cx="{cx}" cy="{cy}" r="9" fill="{ELLIPSE}"/>
</svg>
"""


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtCore, QtGui, QtSvg

    OUT.mkdir(parents=True, exist_ok=True)
    text = svg()
    (OUT / "gaussviz.svg").write_text(text, encoding="utf-8")
    _app = QtGui.QGuiApplication.instance() or QtGui.QGuiApplication(sys.argv[:1])
    renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(text.encode()))
    for n in SIZES:
        img = QtGui.QImage(n, n, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(QtCore.Qt.GlobalColor.transparent)
        p = QtGui.QPainter(img)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        renderer.render(p)
        p.end()
        if not img.save(str(OUT / f"gaussviz-{n}.png"), "PNG"):
            print(f"could not write gaussviz-{n}.png", file=sys.stderr)
            return 1
    print(f"wrote {OUT}/gaussviz.svg and {len(SIZES)} PNGs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
