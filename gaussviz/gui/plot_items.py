"""The custom pyqtgraph items of the live plots: readable log/linear axes, and ``Canvas``, which
draws all of one plot's data (curves, ellipses, markers, the sample cloud, grid) in one pass.

Why one canvas per plot instead of a PlotDataItem per curve (profiled, ``benchmarks/gui_bench.py``):

- pyqtgraph's items cost ~0.3 ms of Python each per update (setData, bounds, signals), and
  Qt's stroker ~1 ms per noisy 2 px curve; with 30-80 items a frame took 25-45 ms.
- The grid drawn by the axes (as cached pixmaps the size of each plot) was blended on Qt's
  GUI thread pool every frame; on a busy 2-core machine waiting for that pool was ~40 % of a
  frame. Here the grid is a few rows of pixels in the canvas, the axes have no grid, so a
  frame repaints the data rectangles only: titles, axes and legend are not touched unless
  they change.
- The canvas writes the pixels with numpy (``core/raster.py``) into one image and draws it
  with a single ``drawImage``. Exports (PNG at any width, SVG) and any painter that is not a
  plain screen get the same traces as antialiased vector paths instead.

A ``Trace`` is what plots.py updates: ``setData(x, y)`` with the data as given (log axes: the
canvas takes the log), a ``Look``, and ``xData``/``yData``/``opts["pen"]`` like a PlotDataItem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core import jit, raster
from . import style
from .style import Look

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
            and (x.size == 0 or (ox.flat[-1] == x.flat[-1] and oy.flat[-1] == y.flat[-1])) \
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
    and the labels run into each other. ``grid_values`` gives the tick positions the canvas
    draws its grid at (the axis itself draws no grid).
    """

    _br_key: tuple | None = None
    _br: QtCore.QRectF | None = None

    def boundingRect(self) -> QtCore.QRectF:
        """pyqtgraph's, remembered until the geometry or the tick style changes: Qt asks for it
        several times per repaint, and each ask was ~15 us of Python."""
        if self.grid is not False:
            return super().boundingRect()
        key = (self.geometry(), self.style["tickLength"], self.style["hideOverlappingLabels"])
        if key != self._br_key or self._br is None:
            self._br = super().boundingRect()
            self._br_key = key
        return QtCore.QRectF(self._br)

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

    def grid_values(self, lo: float, hi: float, length_px: float) -> list[float]:
        """Where this axis puts its ticks for the range [lo, hi] over ``length_px`` pixels (in
        view coordinates: log10 on a log axis): the canvas's grid lines."""
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo or length_px <= 0:
            return []
        if self._tickLevels is not None:
            levels = [(None, [v for v, _ in level]) for level in self._tickLevels]
        else:
            levels = self.tickValues(lo, hi, length_px)
        out: list[float] = []
        for _spacing, values in levels[: self.style.get("maxTickLevel", 1) + 1]:
            out.extend(values)
        return out


# --------------------------------------------------------------------------- canvas
KINDS = ("curve", "path", "segments", "symbols", "cloud", "vline", "steps", "image")


class Trace:
    """One thing a ``Canvas`` draws; the plots update it like a PlotDataItem.

    kinds: "curve" (ascending x: trajectories, densities, constant lines; optional markers along
    it), "path" (any polyline: ellipses, the truth's trail), "segments" (separate lines: points
    2i and 2i+1 make one; contours, arrows), "symbols" (a marker at each point),
    "cloud" (samples as density-shaded dots), "vline" (a vertical line at x[0]), "steps"
    (histogram: x holds the len(y) + 1 bin edges), "image" (``set_image``: premultiplied ARGB32
    pixels, row 0 at the bottom, stretched over the data rectangle x[0..1] x y[0..1]).
    """

    def __init__(self, canvas: Canvas, kind: str, look: Look, name: str = "", closed: bool = False,
                 z: float = 0.0, static: bool = False) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown trace kind {kind!r}; expected one of {KINDS}")
        self.canvas = canvas
        self.kind = kind
        self.look = look
        self.name = name
        self.closed = closed
        self.z = float(z)
        #: a layer that rarely changes (drawn below every non-static trace, rastered once and kept)
        self.static = bool(static)
        #: bumped by every change of this trace (the static layer's cache key)
        self.rev = 0
        self.visible = True
        self.xData: np.ndarray = _EMPTY
        self.yData: np.ndarray = _EMPTY
        self.opts: dict[str, Any] = {}
        #: the pixels of an "image" trace
        self.image: np.ndarray | None = None
        self._display_xy: tuple[np.ndarray, np.ndarray] = (_EMPTY, _EMPTY)
        self._sync_opts()

    def _sync_opts(self) -> None:
        lk = self.look
        th = self.canvas.theme
        self.argb = raster.hex_argb(th.color(lk.color))
        self.fill_argb = raster.hex_argb(th.color(lk.fill)) if lk.fill else self.argb
        self.edge_argb = raster.hex_argb(th.color(lk.edge)) if lk.edge else None
        self._display_key: tuple | None = None
        self.rev = getattr(self, "rev", 0) + 1
        line = self.kind in ("curve", "path", "segments", "vline", "steps")
        self.opts = {"pen": lk.pen() if line else None,
                     "symbol": lk.marker, "symbolBrush": lk.fill or lk.color, "symbolSize": lk.size}

    def setData(self, x=_EMPTY, y=_EMPTY) -> None:
        self.xData = np.asarray(x, dtype=float)
        self.yData = np.asarray(y, dtype=float)
        self._display_key = None
        self.rev += 1
        self.canvas.changed()

    def clear(self) -> None:
        if self.xData.size or self.yData.size:
            self.image = None
            self.setData()

    def set_image(self, img: np.ndarray, x: tuple[float, float], y: tuple[float, float]) -> None:
        """An "image" trace's pixels (uint32 premultiplied ARGB, row 0 at y[0]) over x x y."""
        self.image = np.ascontiguousarray(img, dtype=np.uint32)
        self.setData(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    def set_look(self, look: Look) -> None:
        if look != self.look:
            self.look = look
            self._sync_opts()
            self.canvas.changed()

    def setVisible(self, visible: bool) -> None:
        if bool(visible) != self.visible:
            self.visible = bool(visible)
            self.rev += 1
            self.canvas.changed()

    def isVisible(self) -> bool:
        return self.visible


def _qcolor(color: str) -> QtGui.QColor:
    return QtGui.QColor(color)


class Canvas(pg.GraphicsObject):
    """All of one plot's data, drawn in one pass over the plot's view rectangle.

    A child of the plot's ViewBox (so it fills and is clipped to the view); traces are drawn
    in the order they were added. The grid lines come from the plot's axes' ticks.
    """

    #: shades of the sample cloud: 1..8 overlapping dots of the theme's sample colour over its background
    CLOUD_LAYERS = 8

    def __init__(self, plot: pg.PlotItem, grid: bool = True) -> None:
        super().__init__(plot.vb)
        self.plot = plot
        self.vb = plot.vb
        self.grid = grid
        self.traces: list[Trace] = []
        self._img: QtGui.QImage | None = None
        self._buf: np.ndarray | None = None
        self._sprites: dict[tuple, raster.Sprite] = {}
        self._grid_cache: dict[str, tuple] = {}
        self._scratch = raster.Scratch()
        self._bg: np.ndarray | None = None
        self._bg_key: tuple | None = None
        self.theme = style.LIGHT
        self._apply_theme_colors()
        self.paint_count = 0
        self.raster_count = 0
        #: bumped by every change that alters the picture; a repaint without one reuses the image
        self._version = 0
        self._drawn_key: tuple | None = None
        #: the static traces' pixels (with the grid) and what they were drawn from
        self._static: np.ndarray | None = None
        self._static_key: tuple | None = None
        #: the view's rectangle, cached: Qt's scene index must be told before it changes
        self._rect = QtCore.QRectF(self.vb.boundingRect())
        self.setZValue(10)
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, False)
        self.vb.sigResized.connect(self._on_resized)
        self.vb.sigTransformChanged.connect(self._on_view_changed)

    # ------------------------------------------------------------ traces
    def add(self, kind: str, look: Look, name: str = "", closed: bool = False, z: float = 0.0,
            static: bool = False) -> Trace:
        """A new trace, drawn above those of lower ``z`` (and, at equal z, above older ones); ``static``
        traces (a background that rarely changes) are drawn below all others and their pixels kept."""
        t = Trace(self, kind, look, name, closed, z, static)
        self.traces.append(t)
        self.traces.sort(key=lambda tr: (not tr.static, tr.z))  # stable: insertion order within a z
        return t

    def changed(self) -> None:
        self._version += 1
        self.update()

    def _on_resized(self, *_args) -> None:
        rect = QtCore.QRectF(self.vb.boundingRect())
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect
        self.changed()

    def _on_view_changed(self, *_args) -> None:
        self.changed()

    def boundingRect(self) -> QtCore.QRectF:
        return self._rect

    def log_mode(self) -> tuple[bool, bool]:
        lm = self.vb.state["logMode"]
        return bool(lm[0]), bool(lm[1])

    def _apply_theme_colors(self) -> None:
        th = self.theme
        self._background_argb = raster.hex_argb(th.background)
        self._bg_key = None  # the cached background layer is drawn again in these colours
        self._grid_color = raster.hex_argb(th.grid)
        self._frame_color = raster.hex_argb(th.frame)
        self._cloud_shades = self._make_cloud_shades()

    def set_theme(self, theme: style.Theme) -> None:
        """Draw on ``theme``'s background with its grid, frame and ink (style.LIGHT or style.DARK)."""
        if theme == self.theme:
            return
        self.theme = theme
        self._apply_theme_colors()
        for t in self.traces:
            t._sync_opts()
        self.changed()

    def _make_cloud_shades(self) -> np.ndarray:
        r, g, b, a = self.theme.sample
        bg = QtGui.QColor(self.theme.background)
        alpha = a / 255.0
        out = []
        for layers in range(1, self.CLOUD_LAYERS + 1):
            cover = 1.0 - (1.0 - alpha) ** layers  # opacity of `layers` overlapping dots over the background
            out.append(raster.argb(*(round(w + (v - w) * cover)
                                     for v, w in zip((r, g, b), (bg.red(), bg.green(), bg.blue()), strict=True))))
        return np.array(out, dtype=np.uint32)

    # --------------------------------------------------------- coordinates
    def _display(self, t: Trace) -> tuple[np.ndarray, np.ndarray]:
        """A trace's points in view coordinates (log10 on log axes; non-positive dropped there),
        computed once per data and log mode."""
        key = self.log_mode()
        if t._display_key == key:
            return t._display_xy
        xy = self._compute_display(t)
        t._display_key, t._display_xy = key, xy
        return xy

    def _compute_display(self, t: Trace) -> tuple[np.ndarray, np.ndarray]:
        x, y = t.xData, t.yData
        if t.kind == "vline":
            y = np.zeros_like(x)
        if x.size == 0 or (x.shape != y.shape and t.kind != "steps"):
            return _EMPTY, _EMPTY
        lx, ly = self.log_mode()
        if t.kind == "steps":
            if ly:  # bars need a base: not on a log axis
                return _EMPTY, _EMPTY
            return (np.log10(x) if lx and np.all(x > 0) else x), y
        if t.kind == "vline":  # only x matters (a line over the whole height)
            ly = False
        if lx or ly:
            ok = np.ones(x.shape, dtype=bool)
            if lx:
                ok &= x > 0
            if ly:
                ok &= y > 0
            if not ok.all():
                if t.kind == "segments":  # a line with an end off a log axis goes as a whole
                    pair = np.repeat(ok[0::2] & ok[1::2], 2)
                    x, y = x[: pair.size][pair], y[: pair.size][pair]
                else:
                    x, y = x[ok], y[ok]
            with np.errstate(divide="ignore", invalid="ignore"):
                if lx:
                    x = np.log10(x)
                if ly:
                    y = np.log10(y)
        return x, y

    def _view_map(self) -> tuple[float, float, float, float]:
        """(sx, tx, sy, ty): view coordinates -> this item's (the ViewBox's) local coordinates."""
        m = self.vb.childGroup.transform()
        return m.m11(), m.m31(), m.m22(), m.m32()

    # --------------------------------------------------------------- paint
    def paint(self, p: QtGui.QPainter, *args) -> None:
        self.paint_count += 1
        dev = p.device()
        # While the kernels compile (a first start, core/jit.py) the raster loops would run
        # interpreted: the vector path draws the same traces with Qt instead.
        if (self._exportOpts is not False or jit.interpreting()
                or not isinstance(dev, (QtGui.QImage, QtWidgets.QWidget, QtGui.QPixmap))):
            self._paint_vector(p)
            return
        dpr = dev.devicePixelRatioF()
        # item -> device pixels (logical pixels times the screen's pixel ratio); a copy, not the
        # painter's own transform
        dt = QtGui.QTransform(p.transform()) * QtGui.QTransform.fromScale(dpr, dpr)
        if dt.m12() or dt.m21() or dt.m13() or dt.m23():  # rotated or projected: not a pixel grid
            self._paint_vector(p)
            return
        rect = dt.mapRect(self.boundingRect())
        x0, y0 = math.floor(rect.left() + 0.5), math.floor(rect.top() + 0.5)
        W, H = max(1, math.floor(rect.right() + 0.5) - x0), max(1, math.floor(rect.bottom() + 0.5) - y0)
        if W * H > 40_000_000:
            self._paint_vector(p)
            return
        sx, tx, sy, ty = self._view_map()
        lx, ly = self.log_mode()
        # view coordinates -> device pixels of the buffer (the kernels take log10 on log axes)
        m = (dt.m11() * sx, dt.m11() * tx + dt.m31() - x0, dt.m22() * sy, dt.m22() * ty + dt.m32() - y0, lx, ly)
        key = (self._version, W, H, m, self._grid_key())
        if key != self._drawn_key or self._img is None:
            # Only what changed is drawn again: a repaint of the area around this plot (another
            # plot's stage, a title) reuses the last image.
            buf = self._buffer(W, H)
            scale = max(abs(dt.m11()), 1e-9)  # device pixels per logical pixel (high-dpi screens)
            static = [t for t in self.traces if t.static]
            skey = (W, H, m, self._grid_key(), tuple((id(t), t.rev) for t in static))
            if static and self._static_key == skey and self._static is not None:
                buf[:] = self._static  # the background and the static traces as they were: one copy
            else:
                # Opaque (the view's background is white anyway): Qt then copies the image rather
                # than blending it, and draws it straight even where the repaint is not one rectangle.
                # White and the grid are a cached layer, copied in (they change with the range only).
                buf[:] = self._background(W, H, m)
                for t in static:
                    if t.visible:
                        self._raster_trace(buf, t, m, scale)
                if static:
                    self._static = buf.copy()
                    self._static_key = skey
            for t in self.traces:
                if t.visible and not t.static:
                    self._raster_trace(buf, t, m, scale)
            raster.frame(buf, self._frame_color)
            self._drawn_key = key
            self.raster_count += 1
        img = self._img
        img.setDevicePixelRatio(dpr)
        p.save()
        p.resetTransform()
        p.drawImage(QtCore.QPointF(x0 / dpr, y0 / dpr), img)
        p.restore()

    def _buffer(self, W: int, H: int) -> np.ndarray:
        if self._img is None or self._img.width() != W or self._img.height() != H:
            self._img = QtGui.QImage(W, H, QtGui.QImage.Format.Format_RGB32)
            bpl = self._img.bytesPerLine() // 4
            self._buf = np.frombuffer(self._img.bits(), dtype=np.uint32).reshape(H, bpl)[:, :W]
        return self._buf  # type: ignore[return-value]

    def _sprite(self, symbol: str, size: float, edge: float) -> raster.Sprite:
        key = (symbol, round(size, 2), round(edge, 2))
        spr = self._sprites.get(key)
        if spr is None:
            spr = self._sprites[key] = raster.sprite(symbol, size, edge)
        return spr

    def _axis_grid(self, name: str) -> np.ndarray:
        """The grid positions along an axis (view coordinates), computed once per range and size
        (pyqtgraph's tick placement costs ~0.5 ms)."""
        axis = self.plot.getAxis(name)
        if not isinstance(axis, LogAxis) or not axis.isVisible():
            return _EMPTY
        (x0, x1), (y0, y1) = self.vb.viewRange()
        lo, hi, size = (x0, x1, self.vb.width()) if name == "bottom" else (y0, y1, self.vb.height())
        key = (name, lo, hi, round(size), axis.logMode, id(axis._tickLevels))
        cached = self._grid_cache.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        values = np.asarray(axis.grid_values(lo, hi, size), dtype=float)
        self._grid_cache[name] = (key, values)
        return values

    def _grid_key(self) -> tuple:
        """What the grid depends on besides the view: the axes' tick levels (set by setTicks)."""
        return tuple(id(self.plot.getAxis(n)._tickLevels) for n in ("bottom", "left"))

    def _raster_grid(self, buf: np.ndarray, m: tuple) -> None:
        raster.grid(buf, self._axis_grid("bottom"), self._axis_grid("left"), self._grid_color, m)

    def _background(self, W: int, H: int, m: tuple) -> np.ndarray:
        """White with the grid, W x H: the static layer under the data, drawn again only when the
        size, the range or the ticks change (a running plot's range moves in snapped steps)."""
        xs = self._axis_grid("bottom") if self.grid else _EMPTY
        ys = self._axis_grid("left") if self.grid else _EMPTY
        key = (W, H, m, xs.tobytes(), ys.tobytes())
        if self._bg_key != key or self._bg is None:
            bg = np.full((H, W), self._background_argb, dtype=np.uint32)
            if self.grid:
                raster.grid(bg, xs, ys, self._grid_color, m)
            self._bg, self._bg_key = bg, key
        return self._bg

    def _raster_trace(self, buf: np.ndarray, t: Trace, m: tuple, scale: float) -> None:
        lk = t.look
        x, y = t.xData, t.yData
        if x.size == 0:
            return
        kind = t.kind
        if kind != "steps" and kind != "vline" and x.shape != y.shape:
            return
        width = max(1, round(lk.width * scale))
        dash = (max(1, round(lk.dash[0] * scale)), max(1, round(lk.dash[1] * scale))) if lk.dash else None
        if kind == "curve":
            every = lk.every * scale if lk.marker else 0.0
            mx, my = raster.draw_curve(buf, x, y, t.argb, width, dash, self._scratch, m, every)
            if mx.size:
                self._stamp(buf, mx, my, t, scale, raster.IDENTITY)
        elif kind == "path":
            raster.draw_path(buf, x, y, t.argb, width, dash, t.closed, m)
        elif kind == "segments":
            raster.draw_segments(buf, x, y, t.argb, width, m)
        elif kind == "symbols":
            self._stamp(buf, x, y, t, scale, m)
        elif kind == "cloud":
            raster.cloud(buf, x, y, max(1, round(lk.size * scale)), self._cloud_shades, self._scratch, m)
        elif kind == "vline":
            raster.vlines(buf, x, t.argb, width, dash, m)
        elif kind == "steps" and not m[4] and not m[5]:
            raster.steps(buf, x, y, t.fill_argb, t.argb, m)
        elif kind == "image" and t.image is not None and x.size == 2 and y.size == 2:
            raster.image(buf, t.image, (x[0], x[1]), (y[0], y[1]), m)

    def _stamp(self, buf: np.ndarray, x: np.ndarray, y: np.ndarray, t: Trace, scale: float, affine: tuple) -> None:
        lk = t.look
        if not lk.marker:
            return
        stroke = lk.marker in ("x", "+", "_")  # drawn with a stroke of edge_width, in the fill colour
        spr = self._sprite(lk.marker, lk.size * scale, (lk.edge_width if lk.edge or stroke else 0.0) * scale)
        raster.stamp(buf, x, y, spr, t.fill_argb, t.edge_argb, affine)

    # -------------------------------------------------------------- vector
    def _paint_vector(self, p: QtGui.QPainter) -> None:
        """The same traces as antialiased vector paths (exports: PNG at any width, SVG)."""
        sx, tx, sy, ty = self._view_map()
        p.save()
        p.setClipRect(self.boundingRect())
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        if self.grid:
            rect = self.boundingRect()
            pen = pg.mkPen(self.theme.grid, width=1)
            pen.setCosmetic(True)
            p.setPen(pen)
            for v in self._axis_grid("bottom"):
                X = sx * v + tx
                p.drawLine(QtCore.QPointF(X, rect.top()), QtCore.QPointF(X, rect.bottom()))
            for v in self._axis_grid("left"):
                Y = sy * v + ty
                p.drawLine(QtCore.QPointF(rect.left(), Y), QtCore.QPointF(rect.right(), Y))
        for t in self.traces:
            if t.visible:
                self._vector_trace(p, t, sx, tx, sy, ty)
        pen = pg.mkPen(self.theme.frame, width=1)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.drawRect(self.boundingRect())
        p.restore()

    def _vector_trace(self, p: QtGui.QPainter, t: Trace, sx: float, tx: float, sy: float, ty: float) -> None:
        lk = t.look
        xv, yv = self._display(t)
        if xv.size == 0:
            return
        X = np.clip(sx * xv + tx, -1e7, 1e7)
        Y = np.clip(sy * yv + ty, -1e7, 1e7)
        kind = t.kind
        rect = self.boundingRect()
        if kind == "image":
            if t.image is not None and X.size == 2 and Y.size == 2:
                img = np.ascontiguousarray(t.image[::-1])  # QImage rows run top down
                h, w = img.shape
                qimg = QtGui.QImage(img.data, w, h, 4 * w, QtGui.QImage.Format.Format_ARGB32_Premultiplied).copy()
                target = QtCore.QRectF(QtCore.QPointF(min(X), min(Y)), QtCore.QPointF(max(X), max(Y)))
                flip_x, flip_y = X[1] < X[0], Y[1] > Y[0]  # device y grows downwards
                qimg = qimg.mirrored(flip_x, flip_y) if (flip_x or flip_y) else qimg
                p.drawImage(target, qimg)
            return
        if kind in ("curve", "path"):
            pen = lk.pen()
            p.setPen(pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            if t.closed and X.size > 1:
                X, Y = np.append(X, X[0]), np.append(Y, Y[0])
            p.drawPolyline(pg.functions.arrayToQPolygonF(X, Y))
            if kind == "curve" and lk.marker and lk.every > 0 and X.size > 1:
                order = np.argsort(X)
                xs = np.arange(max(X.min(), rect.left()) + lk.every / 2, min(X.max(), rect.right()), lk.every)
                ys = np.interp(xs, X[order], Y[order])
                self._vector_markers(p, xs, ys, lk)
        elif kind == "segments":
            p.setPen(lk.pen())
            n = X.size // 2
            p.drawLines([QtCore.QLineF(X[2 * i], Y[2 * i], X[2 * i + 1], Y[2 * i + 1]) for i in range(n)])
        elif kind == "symbols":
            self._vector_markers(p, X, Y, lk)
        elif kind == "cloud":
            pen = pg.mkPen(style.SAMPLE_COLOR, width=lk.size)
            pen.setCosmetic(True)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
            p.setPen(pen)
            p.drawPoints(pg.functions.arrayToQPolygonF(X, Y))
        elif kind == "vline":
            p.setPen(lk.pen())
            for xi in X:
                p.drawLine(QtCore.QPointF(xi, rect.top()), QtCore.QPointF(xi, rect.bottom()))
        elif kind == "steps":
            base = ty
            path = QtGui.QPainterPath()
            path.moveTo(X[0], base)
            for i in range(Y.size):
                path.lineTo(X[i], Y[i])
                path.lineTo(X[i + 1], Y[i])
            path.lineTo(X[-1], base)
            path.closeSubpath()
            p.setPen(pg.mkPen(lk.color, width=1))
            p.setBrush(pg.mkBrush(lk.fill or style.HIST_FILL))
            p.drawPath(path)

    def _vector_markers(self, p: QtGui.QPainter, X: np.ndarray, Y: np.ndarray, lk: Look) -> None:
        if not lk.marker:
            return
        path = _marker_path(lk.marker, lk.size)
        pen = pg.mkPen(lk.edge, width=lk.edge_width) if lk.edge else QtGui.QPen(QtCore.Qt.PenStyle.NoPen)
        if lk.marker in ("x", "+", "_"):
            pen = pg.mkPen(lk.fill or lk.color, width=max(2.0, lk.edge_width))
            brush = QtGui.QBrush(QtCore.Qt.BrushStyle.NoBrush)
        else:
            brush = pg.mkBrush(lk.fill or lk.color)
        pen.setCosmetic(True)
        p.setPen(pen)
        p.setBrush(brush)
        for x, y in zip(X, Y):
            if np.isfinite(x) and np.isfinite(y):
                p.drawPath(path.translated(float(x), float(y)))

    # ------------------------------------------------------------- queries
    def plotted_arrays(self) -> list[np.ndarray]:
        out = []
        for t in self.traces:
            for a in (t.xData, t.yData):
                if a is not None and a.size:
                    out.append(a)
        return out


def _marker_path(symbol: str, size: float) -> QtGui.QPainterPath:
    r = size / 2.0
    path = QtGui.QPainterPath()
    if symbol == "o":
        path.addEllipse(QtCore.QPointF(0, 0), r, r)
    elif symbol == "s":
        path.addRect(QtCore.QRectF(-0.88 * r, -0.88 * r, 1.76 * r, 1.76 * r))
    elif symbol == "d":
        path.addPolygon(QtGui.QPolygonF([QtCore.QPointF(0, -r), QtCore.QPointF(r, 0), QtCore.QPointF(0, r),
                                         QtCore.QPointF(-r, 0)]))
        path.closeSubpath()
    elif symbol in ("t", "^"):
        s = 1.0 if symbol == "t" else -1.0
        path.addPolygon(QtGui.QPolygonF([QtCore.QPointF(-r, -0.6 * r * s), QtCore.QPointF(r, -0.6 * r * s),
                                         QtCore.QPointF(0, r * s)]))
        path.closeSubpath()
    elif symbol == "x":
        path.moveTo(-0.7 * r, -0.7 * r)
        path.lineTo(0.7 * r, 0.7 * r)
        path.moveTo(-0.7 * r, 0.7 * r)
        path.lineTo(0.7 * r, -0.7 * r)
    elif symbol == "+":
        path.moveTo(-r, 0)
        path.lineTo(r, 0)
        path.moveTo(0, -r)
        path.lineTo(0, r)
    elif symbol == "_":
        path.moveTo(-r, 0)
        path.lineTo(r, 0)
    return path


def legend_sample(look: Look, line: bool = True) -> pg.PlotDataItem:
    """A stand-alone item for a legend entry showing ``look`` (line and/or marker)."""
    kw: dict[str, Any] = {"pen": look.pen() if line else None}
    if look.marker:
        kw.update(symbol={"t": "t", "^": "t1", "_": "_", "x": "x", "+": "+", "o": "o", "s": "s",
                          "d": "d"}.get(look.marker, "o"),
                  symbolSize=look.size + 1, symbolBrush=look.fill or look.color,
                  symbolPen=pg.mkPen(look.edge or look.fill or look.color, width=look.edge_width))
    return pg.PlotDataItem(**kw)


class RangeItem(pg.GraphicsObject):
    """The one item a plot's autorange sees: a box of (x, y) extents we choose (snapped, so the
    range changes in steps). It draws nothing and has no area, so it is never painted (an
    invisible PlotDataItem still cost a paint and pyqtgraph's bookkeeping every frame)."""

    def __init__(self) -> None:
        super().__init__()
        self.xData: np.ndarray = _EMPTY
        self.yData: np.ndarray = _EMPTY
        self._log = (False, False)

    def setData(self, x=_EMPTY, y=_EMPTY) -> None:
        self.xData = np.asarray(x, dtype=float)
        self.yData = np.asarray(y, dtype=float)
        vb = self.getViewBox()
        if vb is not None:
            vb.itemBoundsChanged(self)

    def setLogMode(self, x: bool, y: bool) -> None:  # called by PlotItem.setLogMode
        self._log = (bool(x), bool(y))
        vb = self.getViewBox()
        if vb is not None:
            vb.itemBoundsChanged(self)

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        a = self.xData if ax == 0 else self.yData
        if not a.size:
            return None, None
        lo, hi = float(a.min()), float(a.max())
        if self._log[ax]:
            if not lo > 0:
                return None, None
            lo, hi = np.log10(lo), np.log10(hi)
        return lo, hi

    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF()

    def paint(self, *args) -> None:
        pass


class FlowLegend(pg.GraphicsWidget):
    """The chains' legend: entries (a line sample and a name) placed left to right and wrapped
    to the width it is given, each as wide as its own text. (pyqtgraph's LegendItem is a grid:
    every column as wide as the widest entry, so it needed more rows than the window had.)

    ``items`` holds (sample, label) pairs like LegendItem's; ``sample.item`` is the entry's
    stand-alone PlotDataItem, ``label.text`` its name.
    """

    SAMPLE_W = 24
    GAP = 18

    def __init__(self, text_size: str = style.LEGEND_POINT_SIZE) -> None:
        super().__init__()
        self.items: list[tuple[Any, pg.LabelItem]] = []
        self._text_size = text_size
        self._color = "#000000"
        self._width = 600.0

    def addItem(self, item: pg.PlotDataItem, name: str) -> None:
        from pyqtgraph.graphicsItems.LegendItem import ItemSample

        sample = ItemSample(item)
        sample.setParentItem(self)
        label = pg.LabelItem(name, justify="left", size=self._text_size, color=self._color)
        label.item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        label.setParentItem(self)
        self.items.append((sample, label))
        self._place()

    def set_color(self, color: str) -> None:
        """The entries' text colour (the plots' theme)."""
        self._color = color
        for _sample, label in self.items:
            label.setText(label.text, color=color)

    def clear(self) -> None:
        for sample, label in self.items:
            for it in (sample, label):
                if it.scene() is not None:
                    it.scene().removeItem(it)
                else:
                    it.setParentItem(None)
        self.items = []

    def _entries(self) -> list[tuple[float, float]]:
        return [(label.item.boundingRect().width(), label.item.boundingRect().height()) for _, label in self.items]

    def height_for(self, width: float) -> float:
        """The height the entries need at ``width`` (they wrap)."""
        rows, x = 1, 0.0
        row_h = 0.0
        for w, h in self._entries():
            need = self.SAMPLE_W + w + self.GAP
            if x > 0 and x + need > width:
                rows += 1
                x = 0.0
            x += need
            row_h = max(row_h, h)
        return rows * row_h if self.items else 0.0

    def set_width(self, width: float) -> float:
        """Lay the entries out for ``width``; returns the height they take."""
        self._width = float(width)
        self._place()
        return self.height_for(width)

    def _place(self) -> None:
        x = y = 0.0
        row_h = max((h for _, h in self._entries()), default=0.0)
        for (sample, label), (w, _h) in zip(self.items, self._entries()):
            need = self.SAMPLE_W + w + self.GAP
            if x > 0 and x + need > self._width:
                x = 0.0
                y += row_h
            sample.setPos(x, y + (row_h - 20) / 2)
            label.setPos(x + self.SAMPLE_W, y)
            x += need

    def resizeEvent(self, ev) -> None:
        self.set_width(self.size().width())


class PlotHost:
    """What ``ChainItems`` needs from the plots widget: a canvas per plot."""

    canvases: dict[str, Canvas]


class ChainItems:
    """The traces one chain owns across the plots (created once, reused; restyled when the
    chain's rule changes)."""

    def __init__(self, canvases: dict[str, Canvas], k: int, chain_style: style.ChainStyle,
                 n_components: Callable[[], int] | None = None) -> None:
        self.k = k
        self.canvases = canvases
        self.style = chain_style
        c = chain_style.color
        cv = canvases
        self.ellipse1 = cv["cloud"].add("path", Look(c, 3), f"chain {k} 1σ", closed=True)
        self.ellipse2 = cv["cloud"].add("path", Look(c, 2), f"chain {k} 2σ", closed=True)
        self.density = cv["cloud"].add("curve", Look(c, 3), f"chain {k} density")
        self.center = cv["cloud"].add("symbols", Look(c, marker="o", size=11, edge="#ffffff", edge_width=1.5),
                                      f"chain {k} mean")
        self.mean_curves: list[Trace] = []
        self.eig_curves: list[Trace] = []
        self.heading = cv["covariance"].add("symbols", Look(c, marker="t", size=13, edge="#ffffff"),
                                            f"chain {k} last eigenvalue")
        self.spectrum_line = cv["spectrum"].add("curve", Look(c, 2), f"chain {k} spectrum line")
        self.spectrum = cv["spectrum"].add("symbols", Look(c, marker="o", size=10, edge="#ffffff"),
                                           f"chain {k} spectrum")
        self.kl = cv["kl"].add("curve", Look(c, 2), f"chain {k} KL")
        # the chain's Polyak-Ruppert average (when it keeps one): its own dotted 1σ ellipse
        # (density at d = 1) and KL curve
        self.avg_ellipse = cv["cloud"].add("path", style.avg_look(c), f"chain {k} averaged 1σ", closed=True)
        self.avg_density = cv["cloud"].add("curve", style.avg_look(c), f"chain {k} averaged density")
        self.avg_kl = cv["kl"].add("curve", style.avg_look(c), f"chain {k} averaged KL")
        # divergence markers: a vertical dashed line at the failing update on every step axis
        self.div_lines: dict[str, Trace] = {
            name: cv[name].add("vline", Look(c, 2, (6, 4)), f"chain {k} divergence", z=30)
            for name in ("mean", "covariance", "kl")}
        for line in self.div_lines.values():
            line.visible = False
        self.legend_sample = legend_sample(Look(c, 3))
        self.div_key: tuple | None = None
        self.div_step: float | None = None

    def restyle(self, chain_style: style.ChainStyle) -> None:
        """A new run may put another rule in this slot: its colour follows."""
        if chain_style == self.style:
            return
        self.style = chain_style
        c = chain_style.color
        for t in self.all_items():
            t.set_look(t.look.with_(color=c, edge=(t.look.edge if t.look.edge in (None, "#ffffff") else c)))
        for t in self.div_lines.values():
            t.set_look(t.look.with_(color=c))
        self.legend_sample = legend_sample(Look(c, 3))

    def all_items(self) -> list[Trace]:
        return [self.ellipse1, self.ellipse2, self.density, self.center, self.heading, self.spectrum,
                self.spectrum_line, self.kl, self.avg_ellipse, self.avg_density, self.avg_kl,
                *self.mean_curves, *self.eig_curves]

    def curve(self, which: str, i: int) -> Trace:
        lst = self.mean_curves if which == "mean" else self.eig_curves
        while len(lst) <= i:
            j = len(lst)
            lst.append(self.canvases[which].add("curve", style.component_look(self.style.color, j),
                                                f"chain {self.k} {which} {j}"))
        return lst[i]

    def hide_divergence(self) -> None:
        for line in self.div_lines.values():
            line.clear()
            line.setVisible(False)
        self.div_key = None
        self.div_step = None


__all__ = ["KINDS", "Canvas", "ChainItems", "FlowLegend", "LogAxis", "PlotHost", "RangeItem", "Trace", "legend_sample",
           "linear_tick_label", "log_tick_label", "put_data", "sub"]
