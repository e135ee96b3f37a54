"""Pixels for the live plots: lines, markers and the sample cloud written straight into a 32-bit
image buffer by small numba loops (no Qt here; ``gui/plot_items.Canvas`` shows the buffer).

Why not QPainter: Qt strokes a 2 px line pixel by pixel through its span machinery, ~1 ms for one
noisy 500-point trajectory (a 2 px polyline with joins up to 70 ms), and antialiased ellipses cost
~0.5 ms each; five chains' curves took most of a frame. A trajectory has ascending x, so on screen
it is, column by column, one vertical run of pixels from its lowest to its highest point in that
column (the line between points included): ``draw_curve`` finds the runs and fills them in one
pass over the points and one over the columns, a few microseconds per curve. Dashes, widths and
markers at intervals then cost next to nothing, which lets components and chains differ by more
than a tint. (numpy versions of these loops were measured at 0.1-2.5 ms each: too many small
array operations.)

Coordinates are device pixels: pixel (row i, column j) covers [j, j+1) x [i, i+1), y grows
downwards. Colours are premultiplied ARGB ``uint32`` (``argb``), the layout of
``QImage.Format_ARGB32_Premultiplied`` on little-endian machines. Nothing non-finite is drawn;
coordinates are clamped to +-``FAR`` before they become integers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .jit import lazy_numba as nb  # numba once a kernel is first used

#: device coordinates are clamped to this before integer conversion (no overflow, no inf)
FAR = 1.0e6
#: steps per device pixel along a polyline (ellipses, paths)
PATH_STEP = 0.6

_JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")


def argb(r: int, g: int, b: int, a: int = 255) -> int:
    """A premultiplied ARGB32 pixel value."""
    f = a / 255.0
    return (int(a) << 24) | (round(r * f) << 16) | (round(g * f) << 8) | round(b * f)


def hex_argb(color: str, a: int = 255) -> int:
    """``"#0072B2"`` -> its premultiplied ARGB32 value."""
    c = color.lstrip("#")
    return argb(int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), a)


# ----------------------------------------------------------------------- kernels
@nb.njit(**_JIT)
def _clampf(v):
    if math.isnan(v):
        return 0.0
    return min(max(v, -FAR), FAR)


@nb.njit(**_JIT)
def _map(v, a, b, log):
    """View coordinate -> device pixel: a v + b, or a log10(v) + b on a log axis (NaN if v <= 0)."""
    if log:
        if not v > 0.0:
            return np.nan
        v = math.log10(v)
    return a * v + b


@nb.njit(**_JIT)
def _curve_runs(x, y, ax, bx, ay, by, lx, ly, W, top, bot):
    """Column runs of a polyline with ascending x: top[c]/bot[c] the lowest/highest y over column c
    (inf/-inf where the line does not pass). Points are (ax x + bx, ay y + by). Returns the first
    and one past the last column."""
    for c in range(W):
        top[c] = np.inf
        bot[c] = -np.inf
    n = x.shape[0]
    lo = W
    hi = 0
    prev = -1
    for i in range(n):
        xr = _map(x[i], ax, bx, lx)
        yr = _map(y[i], ay, by, ly)
        if not (math.isfinite(xr) and math.isfinite(yr)):
            continue
        xi = _clampf(xr)
        yi = _clampf(yr)
        c = math.floor(xi)
        if 0 <= c < W:
            top[c] = min(top[c], yi)
            bot[c] = max(bot[c], yi)
            lo = min(lo, c)
            hi = max(hi, c + 1)
        if prev >= 0:
            # the segment from the previous point to this one
            x1, y1 = xi, yi
            xi = _clampf(_map(x[prev], ax, bx, lx))
            yi = _clampf(_map(y[prev], ay, by, ly))
            if x1 > xi:
                # the column edges b with xi < b <= x1: each ends the column on its left
                b0 = max(math.floor(xi) + 1, 0)
                b1 = min(math.floor(x1), W)
                slope = (y1 - yi) / (x1 - xi)
                for b in range(b0, b1 + 1):
                    yb = yi + slope * (b - xi)
                    if b < W:
                        top[b] = min(top[b], yb)
                        bot[b] = max(bot[b], yb)
                        lo = min(lo, b)
                        hi = max(hi, b + 1)
                    if 1 <= b <= W:
                        top[b - 1] = min(top[b - 1], yb)
                        bot[b - 1] = max(bot[b - 1], yb)
                        lo = min(lo, b - 1)
                        hi = max(hi, b)
        prev = i
    if hi <= lo:
        return 0, 0
    return lo, hi


@nb.njit(**_JIT)
def _fill_curve(buf, top, bot, lo, hi, width, dash_on, dash_off, color):
    """Fill each column's run, spread to a square pen ``width`` pixels wide; dashes by column."""
    H = buf.shape[0]
    W = buf.shape[1]
    left = (width - 1) // 2
    right = width - 1 - left
    period = dash_on + dash_off
    for o in range(max(lo - left, 0), min(hi + right, W)):
        if dash_off > 0 and (o % period) >= dash_on:
            continue
        t = np.inf
        b = -np.inf
        for s in range(o - right, o + left + 1):
            if lo <= s < hi:
                t = min(t, top[s])
                b = max(b, bot[s])
        if b < t:
            continue
        r0 = max(math.floor(t) - left, 0)
        r1 = min(math.floor(b) + right, H - 1)
        for r in range(r0, r1 + 1):
            buf[r, o] = color


@nb.njit(**_JIT)
def _path(buf, x, y, ax, bx, ay, by, lx, ly, closed, width, dash_on, dash_off, color):
    """Any polyline (ellipses, trails): stepped every PATH_STEP pixels, each step a width x width
    square; dashes by length along the line."""
    H = buf.shape[0]
    W = buf.shape[1]
    n = x.shape[0]
    left = (width - 1) // 2
    period = dash_on + dash_off
    s = 0.0
    m = n if closed else n - 1
    if n == 1:
        m = 1
    for i in range(m):
        j = (i + 1) % n
        x0 = _map(x[i], ax, bx, lx)
        y0 = _map(y[i], ay, by, ly)
        x1 = _map(x[j], ax, bx, lx)
        y1 = _map(y[j], ay, by, ly)
        if not (math.isfinite(x0) and math.isfinite(y0) and math.isfinite(x1) and math.isfinite(y1)):
            continue
        x0, y0, x1, y1 = _clampf(x0), _clampf(y0), _clampf(x1), _clampf(y1)
        length = math.sqrt((x1 - x0) ** 2 + (y1 - y0) ** 2)
        # a segment far outside the buffer on one side draws nothing
        if max(x0, x1) < -width or min(x0, x1) > W + width or max(y0, y1) < -width or min(y0, y1) > H + width:
            s += length
            continue
        # only the part of the segment inside the buffer (plus a line width) is stepped along: a
        # segment to a point far off screen (a runaway estimate) costs no more than one across it
        f0, f1 = 0.0, 1.0
        dx, dy = x1 - x0, y1 - y0
        for p_, q_ in ((-dx, x0 + width), (dx, W + width - x0), (-dy, y0 + width), (dy, H + width - y0)):
            if p_ == 0.0:
                if q_ < 0.0:
                    f1 = -1.0
            else:
                t = q_ / p_
                if p_ < 0.0:
                    f0 = max(f0, t)
                else:
                    f1 = min(f1, t)
        if f1 < f0:
            s += length
            continue
        k = max(1, math.ceil(length * (f1 - f0) / PATH_STEP))
        for q in range(k + 1):
            f = f0 + (f1 - f0) * q / k
            if dash_off > 0.0 and ((s + f * length) % period) >= dash_on:
                continue
            px = math.floor(x0 + f * (x1 - x0)) - left
            py = math.floor(y0 + f * (y1 - y0)) - left
            for a in range(width):
                r = py + a
                if 0 <= r < H:
                    for bb in range(width):
                        c = px + bb
                        if 0 <= c < W:
                            buf[r, c] = color
        s += length


@nb.njit(**_JIT)
def _cloud(buf, x, y, ax, bx, ay, by, lx, ly, cell, shades, counts):
    """Samples counted per cell of ``cell`` pixels; each cell in the shade of its count."""
    H = buf.shape[0]
    W = buf.shape[1]
    ny = counts.shape[0]
    nx = counts.shape[1]
    for r in range(ny):
        for c in range(nx):
            counts[r, c] = 0
    for i in range(x.shape[0]):
        xi = _map(x[i], ax, bx, lx)
        yi = _map(y[i], ay, by, ly)
        if xi >= 0.0 and xi < W and yi >= 0.0 and yi < H:
            counts[int(yi) // cell, int(xi) // cell] += 1
    L = shades.shape[0]
    for r in range(ny):
        for c in range(nx):
            k = counts[r, c]
            if k == 0:
                continue
            color = shades[min(k, L) - 1]
            for a in range(r * cell, min((r + 1) * cell, H)):
                for b in range(c * cell, min((c + 1) * cell, W)):
                    buf[a, b] = color


@nb.njit(**_JIT)
def _stamp(buf, x, y, ax, bx, ay, by, lx, ly, dy, dx, color):
    H = buf.shape[0]
    W = buf.shape[1]
    for i in range(x.shape[0]):
        xr = _map(x[i], ax, bx, lx)
        yr = _map(y[i], ay, by, ly)
        if not (math.isfinite(xr) and math.isfinite(yr)):
            continue
        cx = math.floor(_clampf(xr))
        cy = math.floor(_clampf(yr))
        for k in range(dy.shape[0]):
            r = cy + dy[k]
            c = cx + dx[k]
            if 0 <= r < H and 0 <= c < W:
                buf[r, c] = color


@nb.njit(**_JIT)
def _vlines(buf, xs, ax, bx, lx, width, dash_on, dash_off, color):
    H = buf.shape[0]
    W = buf.shape[1]
    left = (width - 1) // 2
    period = dash_on + dash_off
    for i in range(xs.shape[0]):
        xr = _map(xs[i], ax, bx, lx)
        if not math.isfinite(xr):
            continue
        c0 = math.floor(_clampf(xr)) - left
        for r in range(H):
            if dash_off > 0 and (r % period) >= dash_on:
                continue
            for c in range(max(c0, 0), min(c0 + width, W)):
                buf[r, c] = color


@nb.njit(**_JIT)
def _grid(buf, xs, ys, ax, bx, ay, by, color):
    H = buf.shape[0]
    W = buf.shape[1]
    for i in range(xs.shape[0]):
        c = math.floor(_clampf(ax * xs[i] + bx))
        if 0 <= c < W:
            for r in range(H):
                buf[r, c] = color
    for i in range(ys.shape[0]):
        r = math.floor(_clampf(ay * ys[i] + by))
        if 0 <= r < H:
            for c in range(W):
                buf[r, c] = color


@nb.njit(**_JIT)
def _frame(buf, color):
    H = buf.shape[0]
    W = buf.shape[1]
    for c in range(W):
        buf[0, c] = color
        buf[H - 1, c] = color
    for r in range(H):
        buf[r, 0] = color
        buf[r, W - 1] = color


@nb.njit(**_JIT)
def _steps(buf, edges, heights, ax, bx, ay, by, fill, line):
    H = buf.shape[0]
    W = buf.shape[1]
    b = math.floor(_clampf(by))
    for i in range(heights.shape[0]):
        c0 = max(math.floor(_clampf(ax * edges[i] + bx)), 0)
        c1 = min(math.floor(_clampf(ax * edges[i + 1] + bx)), W)
        t = math.floor(_clampf(ay * heights[i] + by))
        r0 = max(min(t, b), 0)
        r1 = min(max(t, b), H - 1)
        for c in range(c0, c1):
            for r in range(r0, r1 + 1):
                buf[r, c] = fill
            if 0 <= t < H:
                buf[t, c] = line


@nb.njit(**_JIT)
def _along(top, bot, lo, hi, every, phase, xs, ys):
    """Marker positions every ``every`` columns (fixed to the screen) on runs lo..hi; returns count."""
    k = 0
    first = math.ceil((lo - phase) / every) * every + phase
    c = first
    while c < hi and k < xs.shape[0]:
        ci = int(c)
        if lo <= ci < hi and top[ci] <= bot[ci]:
            xs[k] = ci + 0.5
            ys[k] = 0.5 * (top[ci] + bot[ci])
            k += 1
        c += every
    return k


# ----------------------------------------------------------------------- API
def _f64(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64)


#: the identity map: coordinates already in device pixels. A map is (ax, bx, ay, by, log_x, log_y):
#: device x = ax * x + bx (x replaced by log10 x on a log axis), the same for y.
IDENTITY = (1.0, 0.0, 1.0, 0.0, False, False)


def _unpack(m) -> tuple[float, float, float, float, bool, bool]:
    ax, bx, ay, by = (float(v) for v in m[:4])
    lx, ly = (bool(m[4]), bool(m[5])) if len(m) > 4 else (False, False)
    return ax, bx, ay, by, lx, ly


def curve_columns(x: np.ndarray, y: np.ndarray, width: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The pixel runs of a polyline with ascending ``x`` (device pixels), column by column.

    Returns ``(c0, top, bottom)``: column ``c0 + k`` is covered from ``top[k]`` to ``bottom[k]``
    (floats, y downwards; the lowest and highest point of the line over that column, the line
    between points included; inf/-inf where it does not pass). Columns outside ``[0, width)`` are
    left out.
    """
    W = max(int(width), 1)
    top = np.empty(W)
    bot = np.empty(W)
    x, y = _f64(x), _f64(y)
    if x.size == 0:
        return 0, np.zeros(0), np.zeros(0)
    lo, hi = _curve_runs(x, y, 1.0, 0.0, 1.0, 0.0, False, False, W, top, bot)
    return lo, top[lo:hi], bot[lo:hi]


class Scratch:
    """Reusable work arrays (the canvas keeps one): column runs and cloud cells."""

    def __init__(self) -> None:
        self.top = np.empty(0)
        self.bot = np.empty(0)
        self.counts = np.zeros((0, 0), dtype=np.int32)
        self.mx = np.empty(4096)
        self.my = np.empty(4096)

    def runs(self, W: int) -> tuple[np.ndarray, np.ndarray]:
        if self.top.size < W:
            self.top = np.empty(W)
            self.bot = np.empty(W)
        return self.top, self.bot

    def cells(self, ny: int, nx: int) -> np.ndarray:
        if self.counts.shape != (ny, nx):
            self.counts = np.zeros((ny, nx), dtype=np.int32)
        return self.counts


def draw_curve(buf: np.ndarray, x: np.ndarray, y: np.ndarray, color: int, width: int = 2,
               dash: tuple[int, int] | None = None, scratch: Scratch | None = None,
               affine=IDENTITY,
               markers_every: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A line through points of ascending x, ``width`` pixels wide, optionally dashed along x.

    Points are mapped to device pixels by ``affine`` = (ax, bx, ay, by): (ax x + bx, ay y + by).
    Returns the device positions of markers every ``markers_every`` pixels along it (fixed to
    the screen, so they do not crawl as the data grow), or empty arrays.
    """
    W = buf.shape[1]
    x, y = _f64(x), _f64(y)
    empty = (np.zeros(0), np.zeros(0))
    if x.size == 0:
        return empty
    ax, bx, ay, by, lx, ly = _unpack(affine)
    if x.size > 1 and ax * (x[-1] - x[0]) < 0:
        x, y = x[::-1].copy(), y[::-1].copy()
    sc = scratch or Scratch()
    top, bot = sc.runs(W)
    lo, hi = _curve_runs(x, y, ax, bx, ay, by, lx, ly, W, top, bot)
    if hi <= lo:
        return empty
    on, off = (int(dash[0]), int(dash[1])) if dash else (1, 0)
    _fill_curve(buf, top, bot, lo, hi, max(1, int(width)), on, off, np.uint32(color))
    if markers_every <= 0:
        return empty
    k = _along(top, bot, lo, hi, float(markers_every), float(markers_every) / 2, sc.mx, sc.my)
    return sc.mx[:k].copy(), sc.my[:k].copy()


def draw_path(buf: np.ndarray, x: np.ndarray, y: np.ndarray, color: int, width: int = 2,
              dash: tuple[float, float] | None = None, closed: bool = False,
              affine=IDENTITY) -> None:
    """Any polyline (ellipses, trails), ``width`` pixels wide; ``dash`` (on, off) in pixels of length."""
    x, y = _f64(x), _f64(y)
    if x.size == 0:
        return
    on, off = (float(dash[0]), float(dash[1])) if dash else (1.0, 0.0)
    ax, bx, ay, by, lx, ly = _unpack(affine)
    _path(buf, x, y, ax, bx, ay, by, lx, ly, bool(closed), max(1, int(width)), on, off, np.uint32(color))


def draw_segments(buf: np.ndarray, x: np.ndarray, y: np.ndarray, color: int, width: int = 1,
                  affine=IDENTITY) -> None:
    """Separate lines: points 2i and 2i+1 make one (contours, arrows), ``width`` pixels wide."""
    x, y = _f64(x), _f64(y)
    n = min(x.size, y.size) // 2
    if n == 0:
        return
    # one polyline whose NaN points break it (``_path`` skips a segment with a non-finite end)
    X = np.full(3 * n, np.nan)
    Y = np.full(3 * n, np.nan)
    X[0::3], X[1::3] = x[0:2 * n:2], x[1:2 * n:2]
    Y[0::3], Y[1::3] = y[0:2 * n:2], y[1:2 * n:2]
    draw_path(buf, X, Y, color, width, None, False, affine)


@dataclass(frozen=True)
class Sprite:
    """A marker as pixel offsets from its centre: a fill and an edge (either may be empty)."""

    fill_dy: np.ndarray
    fill_dx: np.ndarray
    edge_dy: np.ndarray
    edge_dx: np.ndarray


def _triangle(xx: np.ndarray, yy: np.ndarray, r: float, down: bool) -> np.ndarray:
    """Inside an (almost) equilateral triangle of circumradius r centred at 0."""
    sy = 1.0 if down else -1.0
    verts = [(-0.87 * r, -0.5 * r * sy), (0.87 * r, -0.5 * r * sy), (0.0, r * sy)]
    inside = np.ones(xx.shape, dtype=bool)
    sign = None
    for (x0, y0), (x1, y1) in zip(verts, verts[1:] + verts[:1]):
        cross = (x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0)
        if sign is None:
            sign = np.sign((x1 - x0) * (0 - y0) - (y1 - y0) * (0 - x0))
        inside &= cross * sign >= 0
    return inside


def sprite(symbol: str, size: float, edge: float = 1.0) -> Sprite:
    """Marker shapes: "o" circle, "s" square, "d" diamond, "t" triangle pointing down, "^" up,
    "x" cross, "+" plus, "_" horizontal bar; ``size`` in pixels across, ``edge`` the width in
    pixels of an outline drawn in its own colour (0: none; for "x", "+" and "_": the stroke)."""
    r = max(1.0, size / 2.0)
    n = int(np.ceil(r)) + 1
    yy, xx = np.mgrid[-n:n + 1, -n:n + 1].astype(float)
    thick = max(1.0, edge)

    def inside(rr: float) -> np.ndarray:
        if symbol == "o":
            return np.hypot(xx, yy) <= rr
        if symbol == "s":
            return np.maximum(np.abs(xx), np.abs(yy)) <= 0.88 * rr
        if symbol == "d":
            return np.abs(xx) + np.abs(yy) <= 1.15 * rr
        if symbol in ("t", "^"):
            return _triangle(xx, yy, 1.15 * rr, symbol == "t")
        if symbol == "x":
            return (np.minimum(np.abs(xx - yy), np.abs(xx + yy)) <= 0.75 * thick) & \
                (np.maximum(np.abs(xx), np.abs(yy)) <= 0.75 * rr)
        if symbol == "+":
            return (np.minimum(np.abs(xx), np.abs(yy)) <= 0.5 * thick) & \
                (np.maximum(np.abs(xx), np.abs(yy)) <= 0.9 * rr)
        if symbol == "_":
            return (np.abs(yy) <= 0.5 * thick) & (np.abs(xx) <= rr)
        raise ValueError(f"unknown marker symbol {symbol!r}")

    outer = inside(r)
    if symbol in ("x", "+", "_") or edge <= 0:
        core, ring = outer, np.zeros_like(outer)
    else:
        core = inside(max(0.0, r - edge))
        ring = outer & ~core
    fy, fx = np.nonzero(core)
    ey, ex = np.nonzero(ring)
    return Sprite(fy - n, fx - n, ey - n, ex - n)


def stamp(buf: np.ndarray, x: np.ndarray, y: np.ndarray, spr: Sprite, fill: int | None,
          edge: int | None, affine=IDENTITY) -> None:
    """Draw the sprite centred on each point."""
    x, y = _f64(x), _f64(y)
    if x.size == 0:
        return
    ax, bx, ay, by, lx, ly = _unpack(affine)
    for dy, dx, color in ((spr.fill_dy, spr.fill_dx, fill), (spr.edge_dy, spr.edge_dx, edge)):
        if color is not None and dy.size:
            _stamp(buf, x, y, ax, bx, ay, by, lx, ly, dy.astype(np.int64), dx.astype(np.int64), np.uint32(color))


def cloud(buf: np.ndarray, x: np.ndarray, y: np.ndarray, cell: int, shades: np.ndarray,
          scratch: Scratch | None = None, affine=IDENTITY) -> None:
    """Samples as dots of ``cell`` pixels on a grid of cells, each cell in the shade of how many
    samples fell in it: ``shades[k - 1]`` for k samples (the last shade for more), which is what
    k overlapping translucent dots would show."""
    H, W = buf.shape
    cell = max(1, int(cell))
    counts = (scratch or Scratch()).cells((H + cell - 1) // cell, (W + cell - 1) // cell)
    ax, bx, ay, by, lx, ly = _unpack(affine)
    _cloud(buf, _f64(x), _f64(y), ax, bx, ay, by, lx, ly, cell, np.ascontiguousarray(shades, dtype=np.uint32),
           counts)


def vlines(buf: np.ndarray, xs, color: int, width: int = 2, dash: tuple[int, int] | None = None,
           affine=IDENTITY) -> None:
    """Vertical lines over the whole height at x (divergence markers)."""
    on, off = (int(dash[0]), int(dash[1])) if dash else (1, 0)
    ax, bx, _, _, lx, _ = _unpack(affine)
    _vlines(buf, _f64(np.atleast_1d(xs)), ax, bx, lx, max(1, int(width)), on, off, np.uint32(color))


def grid(buf: np.ndarray, xs, ys, color: int, affine=IDENTITY) -> None:
    """One-pixel grid lines at ``xs`` and ``ys`` (view coordinates: already log10 on a log axis)."""
    ax, bx, ay, by, _, _ = _unpack(affine)
    _grid(buf, _f64(np.atleast_1d(xs)), _f64(np.atleast_1d(ys)), ax, bx, ay, by, np.uint32(color))


def steps(buf: np.ndarray, edges: np.ndarray, heights: np.ndarray, fill: int, line: int,
          affine=IDENTITY) -> None:
    """A histogram: bars between ``edges`` (ascending) from 0 to ``heights``, filled, with a 1 px
    line along their tops."""
    e, h = _f64(edges), _f64(heights)
    if e.size < 2 or h.size != e.size - 1:
        return
    ax, bx, ay, by, _, _ = _unpack(affine)
    _steps(buf, e, h, ax, bx, ay, by, np.uint32(fill), np.uint32(line))


@nb.njit(**_JIT)
def _image(buf, img, dx0, dx1, dy0, dy1):
    """``img`` (rows from the bottom up) stretched over the device rectangle x in [dx0, dx1), y from
    dy0 (its bottom row) to dy1, nearest pixel; premultiplied source over the buffer."""
    H = buf.shape[0]
    W = buf.shape[1]
    h = img.shape[0]
    w = img.shape[1]
    if not (math.isfinite(dx0) and math.isfinite(dx1) and math.isfinite(dy0) and math.isfinite(dy1)):
        return
    if dx1 == dx0 or dy1 == dy0:
        return
    c0 = max(0, math.floor(min(dx0, dx1)))
    c1 = min(W, math.ceil(max(dx0, dx1)))
    r0 = max(0, math.floor(min(dy0, dy1)))
    r1 = min(H, math.ceil(max(dy0, dy1)))
    for r in range(r0, r1):
        i = math.floor((r + 0.5 - dy0) / (dy1 - dy0) * h)
        if i < 0 or i >= h:
            continue
        for c in range(c0, c1):
            j = math.floor((c + 0.5 - dx0) / (dx1 - dx0) * w)
            if j < 0 or j >= w:
                continue
            s = img[i, j]
            a = s >> np.uint32(24)
            if a == 0:
                continue
            if a == 255:
                buf[r, c] = s
                continue
            d = buf[r, c]
            k = 255 - a
            out = np.uint32(0xFF000000)
            for sh in (16, 8, 0):
                cs = (s >> np.uint32(sh)) & np.uint32(255)
                cd = (d >> np.uint32(sh)) & np.uint32(255)
                v = cs + (cd * k + 127) // 255
                out |= np.uint32(min(v, 255)) << np.uint32(sh)
            buf[r, c] = out


def image(buf: np.ndarray, img: np.ndarray, x: tuple[float, float], y: tuple[float, float],
          affine=IDENTITY) -> None:
    """An image (premultiplied ARGB32, row 0 at the bottom, i.e. at ``y[0]``) over the data rectangle
    ``x`` x ``y`` (data coordinates: log10 taken on a log axis); alpha 0 leaves the buffer as it is."""
    if img.ndim != 2 or img.size == 0:
        return
    ax, bx, ay, by, lx, ly = _unpack(affine)
    dx0 = _map(float(x[0]), ax, bx, lx)
    dx1 = _map(float(x[1]), ax, bx, lx)
    dy0 = _map(float(y[0]), ay, by, ly)
    dy1 = _map(float(y[1]), ay, by, ly)
    _image(buf, np.ascontiguousarray(img, dtype=np.uint32), dx0, dx1, dy0, dy1)


def frame(buf: np.ndarray, color: int) -> None:
    """A one-pixel frame around the buffer (the plot's border)."""
    if buf.shape[0] and buf.shape[1]:
        _frame(buf, np.uint32(color))


__all__ = ["FAR", "IDENTITY", "Scratch", "Sprite", "argb", "cloud", "curve_columns", "draw_curve", "draw_path",
           "draw_segments", "frame",
           "grid", "hex_argb", "image", "sprite", "stamp", "steps", "vlines"]
