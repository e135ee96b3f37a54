"""What a plot can draw, computed without Qt: finite points, curves thinned to the screen,
axis ranges that grow in steps, and the cloud's view box.

Nothing non-finite may reach a plot item (pyqtgraph's drawing and autoscale break on
NaN and inf); every array goes through ``finite_xy`` first.
"""

from __future__ import annotations

import numpy as np

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
    u = np.log10(x) if log_x else x
    lo, hi = u[0], u[-1]
    if not hi > lo:
        return x, y
    b = np.minimum(((u - lo) * (nbins / (hi - lo))).astype(np.int64), nbins - 1)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(b[1:], b[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    seg = np.cumsum(first) - 1
    keep = (y == np.minimum.reduceat(y, starts)[seg]) | (y == np.maximum.reduceat(y, starts)[seg])
    keep[0] = keep[-1] = True
    return x[keep], y[keep]


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


class ViewBox:
    """The cloud's target view, with hysteresis so the view does not jitter every frame."""

    def __init__(self) -> None:
        self.box: np.ndarray | None = None  # xmin, xmax, ymin, ymax

    def update(self, want: np.ndarray) -> bool:
        """Adopt ``want`` (padded) unless the current box already fits it well; True if changed."""
        b = self.box
        if b is not None:
            inside = b[0] <= want[0] and want[1] <= b[1] and b[2] <= want[2] and want[3] <= b[3]
            snug = (b[1] - b[0]) <= 1.4 * (want[1] - want[0]) and (b[3] - b[2]) <= 1.4 * (want[3] - want[2])
            if inside and snug:
                return False
        wx = (want[1] - want[0]) * 0.04
        wy = (want[3] - want[2]) * 0.04
        self.box = np.array([want[0] - wx, want[1] + wx, want[2] - wy, want[3] + wy])
        return True


__all__ = ["ViewBox", "bbox", "clamp_box", "envelope", "finite_xy", "nice_floor", "snapped_range", "union"]
