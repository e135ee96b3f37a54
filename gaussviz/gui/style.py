"""Colours, looks and fonts shared by every plot (readable on a projector).

One colour per update rule, the same in every preset, plot, legend and export:
the rule's own ``color`` in ``core.parameterizations`` (Okabe-Ito, which stays
distinguishable with the common colour-vision deficiencies). Several chains of
the SAME rule (compare mode "learning rates", the drifting-target preset) keep
the rule's hue on a lightness ramp: the first as it is, the second darker, the
third lighter, and so on (``variant_color``); the legend says which is which.
Black is kept for the truth (dashed) and grey for the exact running MLE
(dotted), so a chain's colour never means anything else.

Components of a vector (mu_1, mu_2, ...) and the eigenvalues of Sigma
(smallest first) are told apart by markers along the curve, not by a tint:
``COMPONENT_MARKERS``. (Dashing would say it too, but Qt strokes a dashed
2 px curve ~10x slower; the raster curves of ``core/raster.py`` make markers
nearly free.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from ..core.optimizers import NAMES as OPTIMIZER_NAMES
from ..core.parameterizations import PARAMETERIZATIONS
from . import pgshim

#: Okabe-Ito without black (the truth) and with yellow last (weak on white): colours by index
#: for anything that is not an update rule (and the most chains compare mode offers)
CHAIN_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
)
#: a fixed colour per optimizer (compare mode "optimizers, same rule", where the chains share one
#: rule's colour otherwise): Okabe-Ito, one each, in the registry's order
OPTIMIZER_COLORS: dict[str, str] = dict(zip(OPTIMIZER_NAMES, ("#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                                "#E69F00")))
assert set(OPTIMIZER_COLORS) == set(OPTIMIZER_NAMES), "every optimizer needs its colour"
TRUE_COLOR = "#000000"
REF_COLOR = "#6E6E6E"
SAMPLE_COLOR = (90, 90, 90, 110)
#: the histogram's bars (opaque: the light grey 120/255 of (170, 170, 170) over white)
HIST_FILL = "#d7d7d7"
HIST_LINE = "#787878"
HIST_BRUSH = (170, 170, 170, 120)

LINE_WIDTH = 2
TITLE_SIZE = "12pt"
LABEL_SIZE = "11pt"
TICK_POINT_SIZE = 10
LEGEND_POINT_SIZE = "10.5pt"

#: markers along the curve of component i (mu_i, and the i-th smallest eigenvalue), and their names
COMPONENT_MARKERS: tuple[str | None, ...] = (None, "o", "s", "^")
COMPONENT_NAMES: tuple[str, ...] = ("plain line", "with ○", "with □", "with △")
COMPONENT_SYMBOLS: tuple[str, ...] = ("", "○", "□", "△")
#: pixels between markers along a curve
MARKER_EVERY = 34
MARKER_SIZE = 9
#: the lightness ramp of several chains of one rule: fraction of black (<0) or white (>0) mixed in
VARIANT_SHADES: tuple[float, ...] = (0.0, -0.38, 0.42, -0.62, 0.62, -0.2, 0.25)
VARIANT_NAMES: tuple[str, ...] = ("", "darker", "lighter", "darkest", "lightest", "dark", "light")
GRID_COLOR = "#ebebeb"
#: status colours of messages and verdicts (good, warning, bad)
GOOD = "#1a7f37"
WARN = "#b35c00"
BAD = "#c62828"
FRAME_COLOR = "#555555"


@dataclass(frozen=True)
class Theme:
    """The plots' colours on a light or a dark background. Data colours (the rules') stay; the
    truth's black, the MLE's grey, the histogram and white marker fills are swapped by ``ink``."""

    name: str
    background: str
    foreground: str  # axis text and titles
    grid: str
    frame: str
    sample: tuple[int, int, int, int]
    header: str  # the lesson's header box
    ink: tuple[tuple[str, str], ...] = ()

    def color(self, c: str) -> str:
        """``c`` as drawn in this theme."""
        for light, here in self.ink:
            if c.lower() == light.lower():
                return here
        return c


LIGHT = Theme("light", "#ffffff", "#000000", GRID_COLOR, FRAME_COLOR, SAMPLE_COLOR, "#eef3f8")
DARK = Theme("dark", "#1c1c1e", "#e0e0e0", "#303033", "#9a9a9a", (200, 200, 200, 90), "#26313d",
             ink=((TRUE_COLOR, "#f0f0f0"), (REF_COLOR, "#a9a9a9"), (HIST_FILL, "#3c3c40"),
                  (HIST_LINE, "#a0a0a0"), ("#ffffff", "#1c1c1e")))
#: View > Colours: follow the system (Qt's colorScheme), or always light / dark
SCHEMES = ("system", "light", "dark")


def system_is_dark() -> bool:
    """Qt's colour scheme of the desktop (QStyleHints.colorScheme): True when it is dark."""
    app = QtGui.QGuiApplication.instance()
    if app is None:
        return False
    return QtGui.QGuiApplication.styleHints().colorScheme() == QtCore.Qt.ColorScheme.Dark


def theme_for(scheme: str) -> Theme:
    """The plots' theme for a View > Colours choice."""
    if scheme == "dark" or (scheme == "system" and system_is_dark()):
        return DARK
    return LIGHT


def configure_pyqtgraph() -> None:
    """Light background, black text, smooth lines: the app's one look (also used by exports).
    Plots made from now on build their context menu when it is first opened, and their axes
    lay out a label's text only when it changed (gui/pgshim: start-up time)."""
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    pgshim.defer_view_menus()
    pgshim.skip_unchanged_axis_labels()


def rule_color(parameterization: str) -> str:
    """The fixed colour of an update rule (its spec's ``color``)."""
    spec = PARAMETERIZATIONS.get(parameterization)
    return spec.color if spec is not None else CHAIN_COLORS[0]


def chain_color(k: int) -> str:
    """A colour by index, for lists that are not update rules."""
    return CHAIN_COLORS[k % len(CHAIN_COLORS)]


def shade(color: str, amount: float) -> str:
    """``color`` mixed with white (amount > 0) or black (amount < 0), as ``#rrggbb``."""
    c = QtGui.QColor(color)
    rgb = [c.red(), c.green(), c.blue()]
    if amount >= 0:
        out = [round(v + (255 - v) * amount) for v in rgb]
    else:
        out = [round(v * (1 + amount)) for v in rgb]
    return "#{:02x}{:02x}{:02x}".format(*out)


def variant_color(color: str, j: int) -> str:
    """The j-th chain of one rule: the rule's colour on a lightness ramp (j = 0: as it is)."""
    return shade(color, VARIANT_SHADES[j % len(VARIANT_SHADES)]) if j else color


@dataclass(frozen=True)
class ChainStyle:
    """How one chain looks everywhere: its rule's colour (shaded for a repeated rule)."""

    color: str
    rule: str
    variant: int  # 0 for the first chain of its rule, 1 for the second, ...

    @property
    def variant_name(self) -> str:
        return VARIANT_NAMES[self.variant % len(VARIANT_NAMES)]


def optimizer_color(optimizer: str) -> str:
    """The fixed colour of an optimizer (compare mode "optimizers, same rule")."""
    return OPTIMIZER_COLORS.get(optimizer, CHAIN_COLORS[0])


def chain_styles_of(settings: Sequence[dict]) -> list[ChainStyle]:
    """The looks of chains from their settings: by update rule, except when the chains share one
    rule and differ by optimizer (each optimizer once): then each optimizer's fixed colour."""
    rules = [s.get("parameterization", "") for s in settings]
    optimizers = [s.get("optimizer", "sgd") for s in settings]
    if len(settings) > 1 and len(set(rules)) == 1 and len(set(optimizers)) == len(optimizers):
        return [ChainStyle(optimizer_color(o), o, 0) for o in optimizers]
    return chain_styles(rules)


def chain_styles(parameterizations: Sequence[str]) -> list[ChainStyle]:
    """The looks of chains running these rules, in order (same rule twice: a lightness ramp)."""
    seen: dict[str, int] = {}
    out = []
    for p in parameterizations:
        j = seen.get(p, 0)
        seen[p] = j + 1
        out.append(ChainStyle(variant_color(rule_color(p), j), p, j))
    return out


@dataclass(frozen=True)
class Look:
    """What a trace of ``plot_items.Canvas`` looks like (live raster and vector export alike).

    ``dash`` is (on, off) in pixels: along x for a curve, along the line for a path; ``marker``
    is drawn every ``every`` pixels along a curve, or at each point of a "symbols" trace.
    """

    color: str = "#000000"
    width: int = LINE_WIDTH
    dash: tuple[int, int] | None = None
    marker: str | None = None
    every: float = 0.0
    size: float = MARKER_SIZE
    edge: str | None = None
    edge_width: float = 1.0
    fill: str | None = None

    def with_(self, **kw) -> Look:
        return replace(self, **kw)

    def pen(self) -> QtGui.QPen:
        """The QPen that draws this look in vector form (exports, legend samples)."""
        pen = pg.mkPen(self.color, width=self.width)
        if self.dash:
            pen.setStyle(QtCore.Qt.PenStyle.CustomDashLine)
            pen.setDashPattern([max(0.5, self.dash[0] / max(self.width, 1)), self.dash[1] / max(self.width, 1)])
        pen.setCosmetic(True)
        return pen


#: the truth: black dashed; the exact running MLE: grey dotted
TRUE_DASH = (7, 5)
REF_DASH = (2, 4)
#: a chain's Polyak-Ruppert average: the chain's colour, dotted
AVG_DASH = (3, 3)


def avg_look(color: str, width: int = 2) -> Look:
    """A chain's averaged estimate (ellipse, density, KL): its colour, dotted."""
    return Look(color, width, AVG_DASH)


def true_look(width: int = 2) -> Look:
    return Look(TRUE_COLOR, width, TRUE_DASH)


def ref_look(width: int = 2) -> Look:
    return Look(REF_COLOR, width, REF_DASH)


def component_look(color: str, i: int, width: int = LINE_WIDTH) -> Look:
    """Component i of a chain's vector (mu_i, or the i-th smallest eigenvalue): plain, ○, □, △."""
    marker = COMPONENT_MARKERS[i % len(COMPONENT_MARKERS)]
    if marker is None:
        return Look(color, width)
    return Look(color, width, marker=marker, every=MARKER_EVERY, size=MARKER_SIZE, edge=color,
                edge_width=2.0, fill="#ffffff")


def chain_pen(color: str, width: float = LINE_WIDTH, style: QtCore.Qt.PenStyle | None = None) -> QtGui.QPen:
    pen = pg.mkPen(color, width=width)
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


def tick_font() -> QtGui.QFont:
    font = QtGui.QFont()
    font.setPointSize(TICK_POINT_SIZE)
    return font
