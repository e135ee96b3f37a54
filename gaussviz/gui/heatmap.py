"""The stability map as a picture: one panel per parameterization, drawn with QPainter.

x is the learning rate alpha (log scale), y the sweep's second axis. A cell is
red when any of its seeds diverged (darker = more seeds), otherwise coloured by
the median final KL(true || estimate) on a log scale (dark blue = close to the
truth, pale green = still far: a crawl). Everything is drawn at the requested
width with pixel-sized fonts, so text stays crisp at any size. The window's
"Stability map" tab shows the same ``QImage`` and maps clicks with
``MapGeometry.cell_at``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui

from .. import __version__
from ..core.fileio import atomic_write_bytes
from ..core.parameterizations import PARAMETERIZATIONS
from ..core.sweep import SweepResult
from .qtapp import application

#: diverged fraction: light (one seed) to dark (all seeds)
REDS = ["#fcae91", "#fb6a4a", "#de2d26", "#a50f15", "#67000d"]
#: log10 median KL, low (good) to high (crawl): a reversed GnBu
BLUES = ["#084081", "#0868ac", "#2b8cbe", "#4eb3d3", "#7bccc4", "#a8ddb5", "#ccebc5", "#e6f5d0"]
NO_DATA = "#bdbdbd"
FONT = "DejaVu Sans"


def _ramp(stops: list[str], t: float) -> QtGui.QColor:
    """Linear interpolation through colour stops, t in [0, 1]."""
    t = min(1.0, max(0.0, float(t)))
    x = t * (len(stops) - 1)
    i = min(int(x), len(stops) - 2)
    f = x - i
    a, b = QtGui.QColor(stops[i]), QtGui.QColor(stops[i + 1])
    return QtGui.QColor(round(a.red() + f * (b.red() - a.red())), round(a.green() + f * (b.green() - a.green())),
                        round(a.blue() + f * (b.blue() - a.blue())))


def diverged_color(frac: float) -> QtGui.QColor:
    """Red for a cell where a fraction ``frac`` > 0 of the seeds diverged."""
    return _ramp(REDS, frac)


@dataclass(frozen=True)
class KLScale:
    """log10 median KL mapped to the blue-green ramp."""

    lo: float
    hi: float

    def color(self, kl: float) -> QtGui.QColor:
        if not (math.isfinite(kl) and kl > 0):
            return QtGui.QColor(NO_DATA)
        return _ramp(BLUES, (math.log10(kl) - self.lo) / (self.hi - self.lo))


def kl_scale(result: SweepResult) -> KLScale:
    """Whole decades covering the median KL of every cell where no seed diverged."""
    frac = result.diverged_fraction
    med = result.median_kl
    ok = (frac == 0) & np.isfinite(med) & (med > 0)
    if not ok.any():
        return KLScale(-3.0, 1.0)
    lg = np.log10(med[ok])
    lo, hi = math.floor(float(lg.min())), math.ceil(float(lg.max()))
    if hi - lo < 1:
        hi = lo + 1
    return KLScale(float(lo), float(hi))


@dataclass
class MapGeometry:
    """Where each panel's cells are in the image, to map a click to a cell."""

    #: per panel: (parameterization index, left, top, width, height) of the cell grid
    panels: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    #: pixel edges of the alpha columns (A + 1) and of the rows (V + 1, top to bottom)
    x_edges: list[int] = field(default_factory=list)
    row_edges: list[list[int]] = field(default_factory=list)
    n_values: int = 1

    def cell_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """(parameterization, axis value, alpha) indices of the cell under a pixel, or None."""
        for (p, left, top, w, h), rows in zip(self.panels, self.row_edges):
            if left <= x < left + w and top <= y < top + h:
                a = int(np.searchsorted(self.x_edges, x, side="right") - 1)
                r = int(np.searchsorted(rows, y, side="right") - 1)
                a = min(max(a, 0), len(self.x_edges) - 2)
                r = min(max(r, 0), self.n_values - 1)
                return p, self.n_values - 1 - r, a  # rows are drawn largest value on top
        return None


def _fmt_tick(x: float) -> str:
    return f"{x:g}"


def _alpha_ticks(lo: float, hi: float) -> list[float]:
    """Decades inside [lo, hi]; 1-2-5 steps when fewer than two decades fit."""
    out = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** k
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                out.append((m, v))
    decades = [v for m, v in out if m == 1]
    return decades if len(decades) >= 2 else [v for _, v in out]


def _stable_up_to(result: SweepResult, p: int) -> str:
    """Where panel p starts to diverge, in words."""
    ok, first = result.stable_alpha(p)
    if first is None:
        return f"no seed diverged at any α ≤ {ok:.3g}"
    if ok is None:
        return f"seeds diverged already at α = {first:.3g}"
    return f"no seed diverged for α ≤ {ok:.3g}; first divergence at α = {first:.3g}"


def render_stability_map(result: SweepResult, width: int = 1600) -> tuple[QtGui.QImage, MapGeometry]:
    """The heat map as an image of the given width (height follows from the grid)."""
    if isinstance(width, bool) or not isinstance(width, int) or not 400 <= width <= 20_000:
        raise ValueError(f"image width must be a whole number of pixels from 400 to 20000; got {width!r}")
    application(headless=True)
    spec = result.spec
    P, V, A, S = spec.shape
    f = width / 1600.0
    frac = result.diverged_fraction
    med = result.median_kl
    scale = kl_scale(result)

    def px(v: float) -> int:
        return round(v * f)

    left, right_area, top = px(200), px(260), px(118)
    grid_w = width - left - right_area
    row_h = px(max(18.0, min(56.0, 240.0 / V)))
    panel_title_h, ticks_h, gap = px(34), px(30), px(20)
    panel_h = panel_title_h + V * row_h + ticks_h + gap
    bottom_h = px(90)
    legend_h = px(560)
    height = max(top + P * panel_h + bottom_h, top + legend_h + bottom_h)

    img = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("white"))
    img.setDotsPerMeterX(round(96 / 0.0254 * f))  # text metadata readers see ~96 dpi at 1600 px
    img.setDotsPerMeterY(round(96 / 0.0254 * f))
    painter = QtGui.QPainter(img)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)

        def font(size: float, bold: bool = False) -> QtGui.QFont:
            fo = QtGui.QFont(FONT)
            fo.setPixelSize(max(8, px(size)))
            fo.setBold(bold)
            return fo

        def text(x: float, y: float, w: float, h: float, s: str, fo: QtGui.QFont,
                 align=QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter,
                 color: str = "#202020") -> None:
            painter.setFont(fo)
            painter.setPen(QtGui.QColor(color))
            painter.drawText(QtCore.QRectF(x, y, w, h), int(align), s)

        center = QtCore.Qt.AlignmentFlag.AlignCenter
        right_mid = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter

        # ---- title
        text(px(24), px(10), width - px(48), px(40),
             f"Stability map: online Gaussian MLE after {spec.steps:,} updates, "
             f"{S} seed{'s' if S > 1 else ''} per cell", font(26, bold=True))
        for i, line in enumerate(spec.describe()):
            text(px(24), px(52 + 26 * i), width - px(48), px(26), line, font(17), color="#404040")

        # ---- alpha columns (shared by all panels)
        la = [math.log10(a) for a in spec.alphas]
        h_log = (la[-1] - la[0]) / (A - 1) if A > 1 else 1.0
        x_lo, x_hi = la[0] - h_log / 2, la[-1] + h_log / 2

        def x_of(log_a: float) -> float:
            return left + (log_a - x_lo) / (x_hi - x_lo) * grid_w

        x_edges = [round(left + i * grid_w / A) for i in range(A + 1)]
        ticks = _alpha_ticks(10 ** x_lo, 10 ** x_hi)
        geo = MapGeometry(x_edges=x_edges, n_values=V)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        ax = spec.axis_info
        y = top
        for p, name in enumerate(spec.parameterizations):
            # panel title: name, what it stores, where it starts to diverge
            painter.setFont(font(19, bold=True))
            fm = QtGui.QFontMetrics(painter.font())
            text(left, y, grid_w, panel_title_h, name, font(19, bold=True))
            name_w = fm.horizontalAdvance(name) + px(12)
            note = _stable_up_to(result, p)
            painter.setFont(font(14, bold=True))
            note_w = QtGui.QFontMetrics(painter.font()).horizontalAdvance(note) + px(16)
            help_w = grid_w - name_w - note_w
            help_text = QtGui.QFontMetrics(font(14)).elidedText(
                PARAMETERIZATIONS[name].help, QtCore.Qt.TextElideMode.ElideRight, max(0, help_w))
            text(left + name_w, y, help_w, panel_title_h, help_text, font(14), color="#555555")
            text(left + grid_w - note_w, y, note_w, panel_title_h, note, font(14, bold=True),
                 align=right_mid, color="#8b0000" if (frac[p] > 0).any() else "#084081")
            gy = y + panel_title_h
            rows = [gy + r * row_h for r in range(V + 1)]
            for r in range(V):
                v = V - 1 - r  # largest value on top
                for a in range(A):
                    fr = float(frac[p, v, a])
                    col = diverged_color(fr) if fr > 0 else scale.color(float(med[p, v, a]))
                    painter.fillRect(QtCore.QRect(x_edges[a], rows[r], x_edges[a + 1] - x_edges[a],
                                                  rows[r + 1] - rows[r]), col)
                text(px(8), rows[r], left - px(16), row_h, ax.format(spec.axis_values[v]), font(15),
                     align=right_mid)
            # thin white separators between rows keep them apart when V > 1
            painter.setPen(QtGui.QPen(QtGui.QColor("white"), max(1, px(1))))
            for r in range(1, V):
                painter.drawLine(left, rows[r], left + grid_w - 1, rows[r])
            painter.setPen(QtGui.QPen(QtGui.QColor("#303030"), max(1, px(1.5))))
            painter.drawRect(QtCore.QRect(left, gy, grid_w, V * row_h))
            geo.panels.append((p, left, gy, grid_w, V * row_h))
            geo.row_edges.append(rows)
            # x ticks under each panel
            ty = gy + V * row_h
            for t in ticks:
                tx = x_of(math.log10(t))
                painter.setPen(QtGui.QPen(QtGui.QColor("#303030"), max(1, px(1.5))))
                painter.drawLine(QtCore.QPointF(tx, ty), QtCore.QPointF(tx, ty + px(6)))
                text(tx - px(60), ty + px(6), px(120), px(22), _fmt_tick(t), font(14), align=center)
            y += panel_h

        # ---- axis titles
        text(left, y - gap + px(4), grid_w, px(30), "learning rate α (log scale)", font(17, bold=True),
             align=center)
        painter.save()
        painter.translate(px(34), top + (y - top) / 2)
        painter.rotate(-90)
        text(-(y - top) / 2, -px(16), y - top, px(32), ax.label, font(17, bold=True), align=center)
        painter.restore()
        text(px(24), y + px(28), width - px(48), px(48),
             f"Red: some of a cell's {S} seeds left the stable region (darker = more of them). "
             f"Blue-green: no seed diverged; colour = median KL(true ‖ estimate) after {spec.steps:,} updates "
             "(dark = close to the truth, pale = still far: a crawl).",
             font(14), align=QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.TextFlag.TextWordWrap,
             color="#404040")

        # ---- legends
        lx = width - right_area + px(40)
        bar_w = px(34)
        ly = top
        text(lx, ly, right_area - px(50), px(48), f"seeds diverged\n(of {S})", font(15, bold=True),
             align=QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        ly += px(52)
        levels = list(range(1, S + 1))
        bar_h = px(200)
        step_h = bar_h / len(levels)
        label_every = max(1, math.ceil(len(levels) / 8))
        for i, n in enumerate(reversed(levels)):
            yy = ly + i * step_h
            painter.fillRect(QtCore.QRectF(lx, yy, bar_w, step_h + 0.5), diverged_color(n / S))
            if (n % label_every == 0) or n == 1 or n == S:
                text(lx + bar_w + px(8), yy, px(120), step_h, f"{n}" + (" (all)" if n == S else ""),
                     font(14), align=QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter)
        painter.setPen(QtGui.QPen(QtGui.QColor("#303030"), max(1, px(1))))
        painter.drawRect(QtCore.QRectF(lx, ly, bar_w, bar_h))
        ly += bar_h + px(40)
        text(lx, ly, right_area - px(50), px(48), "median final KL\n(no seed diverged)", font(15, bold=True),
             align=QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        ly += px(52)
        n_strip = 100
        for i in range(n_strip):
            t = 1 - (i + 0.5) / n_strip  # top = high KL
            painter.fillRect(QtCore.QRectF(lx, ly + i * bar_h / n_strip, bar_w, bar_h / n_strip + 0.5),
                             _ramp(BLUES, t))
        painter.setPen(QtGui.QPen(QtGui.QColor("#303030"), max(1, px(1))))
        painter.drawRect(QtCore.QRectF(lx, ly, bar_w, bar_h))
        decades = range(int(scale.lo), int(scale.hi) + 1)
        every = max(1, math.ceil(len(decades) / 7))
        for k in decades:
            if (k - int(scale.lo)) % every and k != int(scale.hi):
                continue
            yy = ly + bar_h * (1 - (k - scale.lo) / (scale.hi - scale.lo))
            painter.drawLine(QtCore.QPointF(lx + bar_w, yy), QtCore.QPointF(lx + bar_w + px(6), yy))
            text(lx + bar_w + px(10), yy - px(11), px(120), px(22), _fmt_tick(10.0 ** k), font(14))
        ly += bar_h + px(24)
        painter.fillRect(QtCore.QRectF(lx, ly, bar_w, px(20)), QtGui.QColor(NO_DATA))
        text(lx + bar_w + px(10), ly - px(2), px(170), px(24), "no data", font(14))
    finally:
        painter.end()
    return img, geo


def stability_map_png(result: SweepResult, width: int = 1600) -> bytes:
    """PNG bytes of the heat map, carrying the sweep's settings in its text metadata."""
    img, _ = render_stability_map(result, width)
    img.setText("Software", f"gaussviz {__version__}")
    img.setText("Title", "gaussviz stability map")
    img.setText("gaussviz-sweep", json.dumps(result.spec.to_dict()))
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise OSError("could not encode the stability map as PNG")
    data = bytes(buf.data())
    buf.close()
    return data


def save_stability_map(path: str | os.PathLike, result: SweepResult, width: int = 1600,
                       force: bool = False) -> Path:
    """Write the heat map PNG atomically; refuses to overwrite without ``force``."""
    return atomic_write_bytes(path, stability_map_png(result, width), force=force)


__all__ = ["MapGeometry", "render_stability_map", "save_stability_map", "stability_map_png"]
