"""What a plot can draw, computed without Qt: finite points, curves thinned to the screen,
axis ranges that grow in steps, and the cloud's view box.

Nothing non-finite may reach a plot item (pyqtgraph's drawing and autoscale break on
NaN and inf); every array goes through ``finite_xy`` first.
"""

from __future__ import annotations

import math

import numpy as np

from . import jit
from .jit import lazy_numba as nb  # numba once a kernel is first used

#: a linear range grows in steps of about 1/RANGE_QUANTA of its span (log: LOG_RANGE_QUANTUM decades)
RANGE_QUANTA = 8
LOG_RANGE_QUANTUM = 0.25
#: how far (in units of the sample/true extent) a runaway estimate may pull the cloud's view
RUNAWAY_CLAMP = 1.5


def finite_xy(x, y, positive_x: bool = False, positive_y: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The points of (x, y) that a plot can draw: finite, and > 0 on a log axis."""
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    if positive_x:
        ok &= x > 0
    if positive_y:
        ok &= y > 0
    if ok.all():
        return x, y
    return x[ok], y[ok]


_JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")


@nb.njit(**_JIT)
def _valid(x, y, i, pos_x, pos_y):
    xi = x[i]
    yi = y[i]
    if not (math.isfinite(xi) and math.isfinite(yi)):
        return False
    if pos_x and not xi > 0.0:
        return False
    if pos_y and not yi > 0.0:
        return False
    return True


@nb.njit(**_JIT)
def _thin(x, y, nbins, log_x, pos_x, pos_y, out):
    """Indices (into out) of the points kept: finite (positive where asked), and per bin of x the
    lowest and highest, plus the first and last; all of them when there are few. Returns count."""
    n = x.shape[0]
    first = -1
    last = -1
    valid = 0
    for i in range(n):
        if _valid(x, y, i, pos_x, pos_y):
            if first < 0:
                first = i
            last = i
            valid += 1
    if first < 0:
        return 0
    u0 = math.log10(x[first]) if log_x else x[first]
    u1 = math.log10(x[last]) if log_x else x[last]
    k = 0
    if valid <= 2 * nbins + 2 or not u1 > u0 or nbins < 1:
        for i in range(first, last + 1):
            if _valid(x, y, i, pos_x, pos_y):
                out[k] = i
                k += 1
        return k
    scale = nbins / (u1 - u0)
    out[k] = first
    k += 1
    cur = -1
    imin = -1
    imax = -1
    for i in range(first, last + 1):
        if not _valid(x, y, i, pos_x, pos_y):
            continue
        u = math.log10(x[i]) if log_x else x[i]
        b = min(int((u - u0) * scale), nbins - 1)
        if b != cur:
            if cur >= 0:
                a, c = (imin, imax) if imin <= imax else (imax, imin)
                if a != out[k - 1]:
                    out[k] = a
                    k += 1
                if c != out[k - 1]:
                    out[k] = c
                    k += 1
            cur = b
            imin = i
            imax = i
        else:
            if y[i] < y[imin]:
                imin = i
            if y[i] > y[imax]:
                imax = i
    a, c = (imin, imax) if imin <= imax else (imax, imin)
    if a != out[k - 1]:
        out[k] = a
        k += 1
    if c != out[k - 1]:
        out[k] = c
        k += 1
    if out[k - 1] != last:
        out[k] = last
        k += 1
    return k


@jit.entry
def thin(x, y, nbins: int, log_x: bool = False, positive_x: bool = False, positive_y: bool = False
         ) -> tuple[np.ndarray, np.ndarray]:
    """``finite_xy`` and ``envelope`` in one pass (numba): the points of ascending ``x`` a plot
    ``nbins`` bins wide can show."""
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    out = np.empty(min(x.size, 2 * max(int(nbins), 0) + 4) if x.size > 2 * nbins + 2 else x.size, dtype=np.int64)
    k = _thin(x, y, int(nbins), bool(log_x), bool(positive_x), bool(positive_y), out)
    if k == x.size:
        return x, y
    idx = out[:k]
    return x[idx], y[idx]


def envelope(x: np.ndarray, y: np.ndarray, nbins: int, log_x: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """At most ~2 points per bin of x (the lowest and highest y), plus the first and last point.

    ``x`` must be ascending (history steps are). Bins are even on the drawn axis
    (log10 x on a log axis), so a curve keeps its exact peaks and its true x positions
    while the number of points stays about twice the plot's width in pixels, however
    unevenly the history is spaced.
    """
    n = x.size
    if n <= 2 * nbins + 2:
        return x, y
    return thin(x, y, nbins, log_x)


@nb.njit(**_JIT)
def _extent(x, y, pos_x, pos_y, out):
    found = False
    for i in range(x.shape[0]):
        if _valid(x, y, i, pos_x, pos_y):
            if not found:
                out[0] = out[1] = x[i]
                out[2] = out[3] = y[i]
                found = True
            else:
                out[0] = min(out[0], x[i])
                out[1] = max(out[1], x[i])
                out[2] = min(out[2], y[i])
                out[3] = max(out[3], y[i])
    return found


@jit.entry
def extent(x, y, positive_x: bool = False, positive_y: bool = False) -> np.ndarray | None:
    """[xmin, xmax, ymin, ymax] of the drawable points (finite; positive where asked), or None."""
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    if x.size == 0 or x.size != y.size:
        return None
    out = np.empty(4)
    return out if _extent(x, y, bool(positive_x), bool(positive_y), out) else None


def quantile_range(a: np.ndarray, q: float = 0.005) -> tuple[float, float] | None:
    """(lo, hi) between the q and 1 - q quantiles of ``a`` (nearest rank below, no interpolation).

    One partition: cheaper than np.percentile, whose first call in a process also imports
    numpy.ma (~50 ms at the first update of a run whose cloud is a histogram, d = 1)."""
    a = np.asarray(a).ravel()
    if a.size == 0:
        return None
    k = int(q * (a.size - 1))
    p = np.partition(a, (k, a.size - 1 - k))
    return float(p[k]), float(p[a.size - 1 - k])


def quantile_box(x: np.ndarray, y: np.ndarray, q: float = 0.005) -> np.ndarray | None:
    """[x_lo, x_hi, y_lo, y_hi] between the q and 1 - q quantiles of finite x and y."""
    rx, ry = quantile_range(x, q), quantile_range(y, q)
    if rx is None or ry is None:
        return None
    return np.array([*rx, *ry], dtype=float)


def nice_floor(v: float) -> float:
    """The largest 1, 2 or 5 times a power of ten that is <= v (v > 0)."""
    e = 10.0 ** np.floor(np.log10(v))
    m = v / e
    return e * (5.0 if m >= 5 else 2.0 if m >= 2 else 1.0)


def snapped_range(lo: float, hi: float, log: bool = False) -> tuple[float, float]:
    """[lo, hi] widened outwards to whole quanta, so the range of growing data changes in
    steps rather than every frame (each change re-lays out the axis and re-clips every curve).

    Linear: quanta of about 1/RANGE_QUANTA of the span; log: LOG_RANGE_QUANTUM decades.
    """
    if log:
        a, b = np.log10(lo), np.log10(hi)
        q = LOG_RANGE_QUANTUM
        return float(10.0 ** (np.floor(a / q) * q)), float(10.0 ** (np.ceil(b / q) * q))
    span = hi - lo
    scale = span if span > 0 else max(abs(lo), abs(hi))
    if not (np.isfinite(scale) and scale > 0):
        return float(lo), float(hi)
    q = nice_floor(scale / RANGE_QUANTA)
    return float(np.floor(lo / q) * q), float(np.ceil(hi / q) * q)


def window_range(step: int, n: int) -> tuple[float, float]:
    """The x range of a rolling window of the last ``n`` updates at ``step``: it always holds
    [step - n, step], and moves in jumps of about n/8 (a nice number), so the axis is re-laid
    out a few times per window rather than every frame. Before ``n`` updates: [0, n]."""
    n = max(1, int(n))
    q = max(1.0, nice_floor(n / 8))
    x1 = max(float(n), np.ceil(max(step, 0) / q) * q)
    if x1 <= n:
        return 0.0, float(n)
    return float(x1 - n - q), float(x1)


def bbox(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([x.min(), x.max(), y.min(), y.max()])


def union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    if b is None:
        return a
    return np.array([min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])])


def clamp_box(box: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Clip ``box`` to ``base`` grown RUNAWAY_CLAMP times about its centre."""
    cx, cy = 0.5 * (base[0] + base[1]), 0.5 * (base[2] + base[3])
    hx = max(0.5 * (base[1] - base[0]), 1e-12) * RUNAWAY_CLAMP
    hy = max(0.5 * (base[3] - base[2]), 1e-12) * RUNAWAY_CLAMP
    return np.array([max(box[0], cx - hx), min(box[1], cx + hx), max(box[2], cy - hy), min(box[3], cy + hy)])


#: the cloud's view: the pad added on each side of the data's box (a fraction of its span) ...
VIEW_PAD = 0.08
#: ... and how much wider than the data's box the view may be before it shrinks to fit again
VIEW_SNUG = 1.5


class ViewBox:
    """The cloud's target view, with hysteresis so the view does not jitter every frame."""

    def __init__(self) -> None:
        self.box: np.ndarray | None = None  # xmin, xmax, ymin, ymax

    def update(self, want: np.ndarray) -> bool:
        """Adopt ``want`` (padded by VIEW_PAD) unless the current box already fits it well; True
        if changed. The pad is the hysteresis: the 0.5 % quantiles of a fresh cloud of 5,000
        samples wander by a few per cent from frame to frame, and with a 4 % pad the view (and
        both axes, re-laid out at 2-5 ms each) moved about once a second."""
        b = self.box
        if b is not None:
            inside = b[0] <= want[0] and want[1] <= b[1] and b[2] <= want[2] and want[3] <= b[3]
            snug = (b[1] - b[0]) <= VIEW_SNUG * (want[1] - want[0]) and (b[3] - b[2]) <= VIEW_SNUG * (want[3] - want[2])
            if inside and snug:
                return False
        wx = (want[1] - want[0]) * VIEW_PAD
        wy = (want[3] - want[2]) * VIEW_PAD
        self.box = np.array([want[0] - wx, want[1] + wx, want[2] - wy, want[3] + wy])
        return True


__all__ = ["ViewBox", "bbox", "clamp_box", "envelope", "extent", "finite_xy", "nice_floor", "quantile_box",
           "quantile_range", "snapped_range", "thin", "union", "window_range"]
