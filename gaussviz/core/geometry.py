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
    """``ellipse_points`` for several radii from one eigendecomposition (None if not PD)."""
    first = ellipse_points(mean, cov, 1.0)
    if first is None:
        return None
    m = np.asarray(mean, dtype=float)
    out = []
    for r in radii:
        out.append((m[0] + r * (first[0] - m[0]), m[1] + r * (first[1] - m[1])))
    return out


def gaussian_pdf(x: np.ndarray, mean: float, var: float) -> np.ndarray:
    """The 1-D normal density (the histogram's true, estimated and reference curves)."""
    return np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2.0 * np.pi * var)


__all__ = ["ELLIPSE_POINTS", "ellipse_points", "gaussian_pdf", "sigma_ellipses"]
