"""The custom pyqtgraph items of the live plots: readable log/linear axes, a fast point cloud,
and the items one chain owns across the five plots."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from . import style

_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_EMPTY = np.zeros(0)


def sub(n: int) -> str:
    """1-based index as unicode subscript digits (axis and legend names)."""
    return str(n).translate(_SUBSCRIPTS)


def put_data(item, x=_EMPTY, y=_EMPTY) -> None:
    """setData, skipped when the item already holds exactly these arrays (paused runs,
    stopped chains and constant truth lines then cost no redraw)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ox, oy = item.xData, item.yData
    if ox is not None and oy is not None and ox.shape == x.shape and oy.shape == y.shape \
            and np.array_equal(ox, x) and np.array_equal(oy, y):
        return
    if isinstance(item, pg.PlotDataItem):
        item.setData(x=x, y=y)
    else:
        item.setData(x, y)


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_tick_label(value: float) -> str:
    """A log axis label a room can read: 0.02, 50, 2000, 10⁻⁵, 2·10⁶."""
    if 1e-3 <= value < 1e4:
        return f"{value:.4g}"
    exp = int(np.floor(np.log10(value) + 1e-9))
    mant = round(value / 10.0**exp)
    power = "10" + str(exp).translate(_SUPERSCRIPTS)
    return power if mant == 1 else f"{mant}·{power}"


def linear_tick_label(value: float, spacing: float) -> str:
    """A linear axis label: steps read 20k, 1.5M rather than 2e+04, 1.5e+06."""
    a = abs(value)
    if a >= 1e6 and spacing >= 1e5:
        return f"{value / 1e6:g}M"
    if a >= 1e4 and spacing >= 1e3:
        return f"{value / 1e3:g}k"
    return ""


class LogAxis(pg.AxisItem):
    """pyqtgraph's axis, but a log axis labels only 1, 2, 5 of a decade (only 1 when it spans many).

    The stock one labels every minor tick when the range is under a few decades,
    and the labels run into each other.
    """

    def logTickStrings(self, values, scale, spacing):
        vals = np.asarray(values, dtype=float)
        if vals.size == 0:
            return []
        span = float(vals.max() - vals.min())
        keep = (1, 2, 5) if span < 1.6 else (1,)
        out = []
        for v in vals:
            x = 10.0**v * scale
            exp = np.floor(v + 1e-9)
            mant = round(10.0 ** (v - exp))
            out.append(log_tick_label(x) if mant in keep and x > 0 else "")
        return out

    def tickStrings(self, values, scale, spacing):
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        out = super().tickStrings(values, scale, spacing)
        return [linear_tick_label(v * scale, spacing * scale) or s for v, s in zip(values, out)]


class PointCloudItem(pg.GraphicsObject):
    """Thousands of same-looking dots, drawn with a few opaque QPainter.drawPoints calls.

    ScatterPlotItem keeps per-spot records and costs ~10 ms per 5000 points
    per frame even in pixel mode; a cloud of identical dots needs none of that.
    Translucent dots cost ~4 ms a frame to blend (Qt's raster engine), so the
    dots are drawn opaque, each in the colour that ``color``'s alpha would have
    built up where the cloud is that dense: the points are counted per cell of
    ``size`` pixels on screen and a cell with c points gets the colour of c
    translucent layers over the white background (what overlapping dots show).
    """

    #: darkest layer count drawn (denser cells look the same)
    MAX_LAYERS = 8

    def __init__(self, size: float = 3.0, color=style.SAMPLE_COLOR) -> None:
        super().__init__()
        self.xData: np.ndarray = _EMPTY
        self.yData: np.ndarray = _EMPTY
        self._rect = QtCore.QRectF()
        self._size = float(size)
        c = pg.mkColor(color)
        alpha = c.alphaF()
        self._pens = []
        for layers in range(1, self.MAX_LAYERS + 1):
            cover = 1.0 - (1.0 - alpha) ** layers  # opacity of `layers` overlapping dots
            shade = QtGui.QColor(*(round(255 + (v - 255) * cover) for v in (c.red(), c.green(), c.blue())))
            pen = pg.mkPen(shade, width=size)
            pen.setCosmetic(True)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
            self._pens.append(pen)

    def setData(self, x, y) -> None:
        x = np.ascontiguousarray(x, dtype=float)
        y = np.ascontiguousarray(y, dtype=float)
        self.prepareGeometryChange()
        self.xData, self.yData = x, y
        if x.size:
            self._rect = QtCore.QRectF(x.min(), y.min(), float(np.ptp(x)), float(np.ptp(y)))
        else:
            self._rect = QtCore.QRectF()
        self.update()

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        a = self.xData if ax == 0 else self.yData
        return (float(a.min()), float(a.max())) if a.size else (None, None)

    def boundingRect(self) -> QtCore.QRectF:
        if self._rect.isNull() and not self.xData.size:
            return QtCore.QRectF()
        # grow by a few pixels so dots on the edge are not culled
        px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
        return self._rect.adjusted(-3 * px, -3 * py, 3 * px, 3 * py)

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if not self.xData.size:
            return
        t = p.transform()
        if not t.isAffine():
            return
        # to device pixels (the transform is the view's: scale and shift)
        dx = t.m11() * self.xData + t.m21() * self.yData + t.dx()
        dy = t.m12() * self.xData + t.m22() * self.yData + t.dy()
        dev = p.device()
        w, h = (dev.width(), dev.height()) if dev is not None else (1 << 14, 1 << 14)
        m = 2.0 * self._size
        ok = (dx > -m) & (dx < w + m) & (dy > -m) & (dy < h + m)
        if not ok.all():
            dx, dy = dx[ok], dy[ok]
        if not dx.size:
            return
        # points per cell of one dot's size: the layers of translucent dots a cell would show
        cell = (np.floor(dx / self._size).astype(np.int64) << 20) + np.floor(dy / self._size).astype(np.int64)
        _, inv, counts = np.unique(cell, return_inverse=True, return_counts=True)
        layers = np.minimum(counts[inv], self.MAX_LAYERS)
        order = np.argsort(layers, kind="stable")  # light first, dense on top
        layers = layers[order]
        dx, dy = dx[order], dy[order]
        bounds = np.searchsorted(layers, np.arange(1, self.MAX_LAYERS + 2))
        p.save()
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for k in range(self.MAX_LAYERS):
            a, b = bounds[k], bounds[k + 1]
            if b > a:
                p.setPen(self._pens[k])
                p.drawPoints(pg.functions.arrayToQPolygonF(dx[a:b], dy[a:b]))
        p.restore()


class PlotHost(Protocol):
    """What ``ChainItems`` needs from the plots widget: the plots and a way to add items to them."""

    plot_items: dict[str, pg.PlotItem]

    def data_item(self, plot: str, bounds: bool = True, **kw: Any) -> pg.PlotDataItem: ...


class ChainItems:
    """The items one chain owns across the five plots (created once, reused)."""

    def __init__(self, owner: PlotHost, k: int) -> None:
        self.k = k
        p = owner.plot_items
        color = style.chain_color(k)
        self.ellipse1 = owner.data_item("cloud", pen=style.chain_pen(k, 2.5), bounds=False)
        self.ellipse2 = owner.data_item("cloud", pen=style.chain_pen(k, 1.5), bounds=False)
        self.density = owner.data_item("cloud", pen=style.chain_pen(k, 2.5), bounds=False)
        self.center = owner.data_item("cloud", pen=None, symbol="o", symbolSize=11, symbolBrush=color,
                                       symbolPen=pg.mkPen("w", width=1.5), bounds=False)
        self.mean_curves: list[pg.PlotDataItem] = []
        self.eig_curves: list[pg.PlotDataItem] = []
        self.heading = owner.data_item("covariance", pen=None, symbol="t", symbolSize=13,
                                        symbolBrush=color, symbolPen=pg.mkPen("w", width=1))
        self.spectrum = owner.data_item("spectrum", pen=None, symbol="o", symbolSize=10,
                                         symbolBrush=color, symbolPen=pg.mkPen("w", width=1))
        self.kl = owner.data_item("kl", pen=style.chain_pen(k))
        # divergence markers: a vertical line at the failing update on every step axis
        dash = style.chain_pen(k, 2.0, QtCore.Qt.PenStyle.DashLine)
        self.div_lines: dict[str, pg.InfiniteLine] = {}
        for name in ("mean", "covariance", "kl"):
            opts = {}
            if name == "covariance":
                opts = {"label": "", "labelOpts": {
                    "position": 0.9, "color": color, "fill": (255, 255, 255, 215)}}
            line = pg.InfiniteLine(angle=90, pen=dash, movable=False, **opts)
            line.setZValue(5)
            line.hide()
            p[name].addItem(line, ignoreBounds=True)
            self.div_lines[name] = line
        if self.div_lines["covariance"].label is not None:
            font = QtGui.QFont()
            font.setPointSize(style.TICK_POINT_SIZE)
            font.setBold(True)
            self.div_lines["covariance"].label.setFont(font)
        # legend sample: a stand-alone item with the chain's pen
        self.legend_sample = pg.PlotDataItem(pen=style.chain_pen(k, 3.0))
        self.div_key: tuple | None = None
        self.owner = owner

    def all_items(self) -> list[pg.PlotDataItem]:
        return [self.ellipse1, self.ellipse2, self.density, self.center, self.heading, self.spectrum, self.kl,
                *self.mean_curves, *self.eig_curves]

    def curve(self, which: str, i: int) -> pg.PlotDataItem:
        lst = self.mean_curves if which == "mean" else self.eig_curves
        while len(lst) <= i:
            pen = style.component_pen(self.k, len(lst)) if which == "mean" else style.chain_pen(self.k)
            lst.append(self.owner.data_item(which, pen=pen))
        return lst[i]

    def hide_divergence(self) -> None:
        for line in self.div_lines.values():
            line.hide()
        self.div_key = None


__all__ = ["ChainItems", "LogAxis", "PlotHost", "PointCloudItem", "linear_tick_label", "log_tick_label", "put_data",
           "sub"]
