"""Geometry of a Gaussian for drawing: its sigma ellipses and its density (pure numpy)."""

from __future__ import annotations

import numpy as np

ELLIPSE_POINTS = 121
_CIRCLE = np.linspace(0.0, 2.0 * np.pi, ELLIPSE_POINTS)
_UNIT_CIRCLE = np.vstack([np.cos(_CIRCLE), np.sin(_CIRCLE)])


def ellipse_points(mean: np.ndarray, cov: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The radius-sigma ellipse of a 2-D Gaussian, or None if cov is not positive definite.

    Uses the symmetric part: an estimator that drifts asymmetric (docs/MATH.md) still
    has a well-defined quadratic form.
    """
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        return None
    w, v = np.linalg.eigh(0.5 * (cov + cov.T))
    if not w[0] > 0:
        return None
    pts = mean[:, None] + radius * (v * np.sqrt(w)) @ _UNIT_CIRCLE
    if not np.all(np.isfinite(pts)):
        return None
    return pts[0], pts[1]


def sigma_ellipses(mean: np.ndarray, cov: np.ndarray, radii=(1.0, 2.0)
                   ) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """``ellipse_points`` for several radii (None if not PD), with the 2 x 2 eigendecomposition
    in closed form: the live cloud draws ~14 ellipses a frame, and np.linalg.eigh's overhead
    was most of their cost."""
    m = np.asarray(mean, dtype=float)
    c = np.asarray(cov, dtype=float)
    if m.shape != (2,) or c.shape != (2, 2) or not (np.all(np.isfinite(m)) and np.all(np.isfinite(c))):
        return None
    a, d = float(c[0, 0]), float(c[1, 1])
    b = 0.5 * float(c[0, 1] + c[1, 0])  # the symmetric part (docs/MATH.md)
    half_tr, det = 0.5 * (a + d), a * d - b * b
    disc = np.sqrt(max(half_tr * half_tr - det, 0.0))
    l1, l2 = half_tr + disc, half_tr - disc  # l1 >= l2
    if not l2 > 0:
        return None
    # unit eigenvector of l1 (any unit vector when the matrix is a multiple of I)
    if abs(b) > 1e-300 * max(abs(a), abs(d), 1.0):
        vx, vy = l1 - d, b
    else:
        vx, vy = (1.0, 0.0) if a >= d else (0.0, 1.0)
    norm = np.hypot(vx, vy)
    vx, vy = vx / norm, vy / norm
    s1, s2 = np.sqrt(l1), np.sqrt(l2)
    u = _UNIT_CIRCLE
    ex = vx * s1 * u[0] - vy * s2 * u[1]
    ey = vy * s1 * u[0] + vx * s2 * u[1]
    out = [(m[0] + r * ex, m[1] + r * ey) for r in radii]
    if not all(np.all(np.isfinite(x)) and np.all(np.isfinite(y)) for x, y in out):
        return None
    return out


def gaussian_pdf(x: np.ndarray, mean: float, var: float) -> np.ndarray:
    """The 1-D normal density (the histogram's true, estimated and reference curves)."""
    return np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2.0 * np.pi * var)


__all__ = ["ELLIPSE_POINTS", "ellipse_points", "gaussian_pdf", "sigma_ellipses"]
