"""Colours, pens and fonts shared by every plot (readable on a projector).

One colour per chain index, the same in every plot and in exports: the
Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies. Black is kept for the truth (dashed) and grey for the exact
running MLE (dotted), so a chain's colour never means anything else.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

#: Okabe-Ito without black (the truth) and with yellow last (weak on white).
CHAIN_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)
TRUE_COLOR = "#000000"
REF_COLOR = "#6E6E6E"
SAMPLE_COLOR = (90, 90, 90, 110)
HIST_BRUSH = (170, 170, 170, 120)

LINE_WIDTH = 2.0
TITLE_SIZE = "12pt"
LABEL_SIZE = "11pt"
TICK_POINT_SIZE = 10
LEGEND_POINT_SIZE = "11pt"

#: Components of a vector (mu_1, mu_2, ...) share their chain's hue and get lighter:
#: the fraction of white mixed in. Dash patterns would say it too, but Qt strokes a
#: dashed 2 px curve ~10x slower than a solid one (30 ms a frame for five chains).
COMPONENT_TINTS: tuple[float, ...] = (0.0, 0.5, 0.7, 0.82)
COMPONENT_NAMES: tuple[str, ...] = ("dark", "light", "lighter", "palest")
GRID_COLOR = "#ebebeb"
#: status colours of messages and verdicts (good, warning, bad)
GOOD = "#1a7f37"
WARN = "#b35c00"
BAD = "#c62828"
FRAME_COLOR = "#555555"


def configure_pyqtgraph() -> None:
    """Light background, black text, smooth lines: the app's one look (also used by exports)."""
    pg.setConfigOptions(background="w", foreground="k", antialias=True)


def chain_color(k: int) -> str:
    """The colour of chain k (fixed by index, so a chain keeps it across runs)."""
    return CHAIN_COLORS[k % len(CHAIN_COLORS)]


def chain_pen(k: int, width: float = LINE_WIDTH, style: QtCore.Qt.PenStyle | None = None) -> QtGui.QPen:
    pen = pg.mkPen(chain_color(k), width=width)
    if style is not None:
        pen.setStyle(style)
    pen.setCosmetic(True)
    return pen


def true_pen(width: float = LINE_WIDTH) -> QtGui.QPen:
    pen = pg.mkPen(TRUE_COLOR, width=width, style=QtCore.Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    return pen


def ref_pen(width: float = LINE_WIDTH) -> QtGui.QPen:
    pen = pg.mkPen(REF_COLOR, width=width, style=QtCore.Qt.PenStyle.DotLine)
    pen.setCosmetic(True)
    return pen


def tint(color: str, white: float) -> QtGui.QColor:
    """``color`` mixed with a fraction ``white`` of white, still opaque (opaque pens draw fast)."""
    c = QtGui.QColor(color)
    return QtGui.QColor(round(c.red() + (255 - c.red()) * white), round(c.green() + (255 - c.green()) * white),
                        round(c.blue() + (255 - c.blue()) * white))


def component_pen(k: int, i: int, width: float = LINE_WIDTH) -> QtGui.QPen:
    """Chain k's pen for component i of a vector."""
    pen = pg.mkPen(tint(chain_color(k), COMPONENT_TINTS[i % len(COMPONENT_TINTS)]), width=width)
    pen.setCosmetic(True)
    return pen


def tick_font() -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSize(TICK_POINT_SIZE)
    return font
