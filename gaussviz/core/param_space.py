"""The space the estimator moves in (docs/MATH.md, "Parameter space").

For d = 1 the whole state is a point (mu, Sigma) of the half-plane Sigma > 0; its edge
Sigma = 0 is where the seed's rule dies. This module computes, without Qt:

- the expected log-likelihood under the target over a (mu, Sigma) grid, in closed form
  (``expected_loglik``); its drop from the best value is KL(true || N(mu, Sigma)) for a
  Gaussian target, so its contours are the KL's;
- contour lines of such a grid (``isolines``, marching squares, as line segments);
- the field of the expected update of a rule, alpha, sign and optimizer
  (``expected_update``), computed by the kernels' own update on a two-point batch
  whose mean and scatter are the expectations E[r] and E[r^2];
- for d >= 2, the plane of Sigma's smallest and largest eigenvalue, whose edge
  lambda_min = 0 is the positive-definite boundary (``extreme_eigenvalues``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import jit
from . import optimizers as opt
from .estimator import BatchEstimator
from .jit import lazy_numba as nb  # numba once a kernel is first used

#: KL levels (expected log-likelihood below its best) of the contour lines
KL_LEVELS: tuple[float, ...] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
#: the field's rate for the linearization, before the per-point scaling (see expected_update)
ALPHA_LIN = 1e-7


def expected_loglik(mu, sigma, true_mean: float, true_var: float) -> np.ndarray:
    """E[log N(y; mu, Sigma)] for y with mean ``true_mean`` and variance ``true_var`` (d = 1):

    ``-1/2 (log(2 pi Sigma) + (true_var + (true_mean - mu)^2) / Sigma)``.

    Exact for any target with these two moments (the log-density is quadratic in y).
    NaN where Sigma <= 0 (no Gaussian there).
    """
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -0.5 * (np.log(2.0 * np.pi * sigma) + (true_var + (true_mean - mu) ** 2) / sigma)
    return np.where(sigma > 0, out, np.nan)


def best_loglik(true_var: float) -> float:
    """The largest expected log-likelihood (at mu = true mean, Sigma = true variance)."""
    return -0.5 * (math.log(2.0 * math.pi * true_var) + 1.0)


@dataclass(frozen=True)
class LoglikGrid:
    """The expected log-likelihood on a grid: ``values[i, j]`` at (``mus[j]``, ``sigmas[i]``);
    ``kl`` is ``best - values`` (NaN where Sigma <= 0)."""

    mus: np.ndarray
    sigmas: np.ndarray
    values: np.ndarray
    kl: np.ndarray
    best: float
    log_sigma: bool


def loglik_grid(mu_range: tuple[float, float], sigma_range: tuple[float, float], true_mean: float,
                true_var: float, n_mu: int = 160, n_sigma: int = 120, log_sigma: bool = False) -> LoglikGrid:
    """The grid over ``mu_range`` x ``sigma_range`` (Sigma log-spaced with ``log_sigma``; then both
    ends must be positive). Points with Sigma <= 0 hold NaN: the forbidden region."""
    if not (true_var > 0 and math.isfinite(true_var) and math.isfinite(true_mean)):
        raise ValueError(f"the target's variance must be positive and finite; got {true_var!r}")
    mus = np.linspace(float(mu_range[0]), float(mu_range[1]), int(n_mu))
    s0, s1 = float(sigma_range[0]), float(sigma_range[1])
    if log_sigma:
        if not (0 < s0 < s1):
            raise ValueError(f"a log Sigma axis needs 0 < low < high; got {sigma_range!r}")
        sigmas = np.geomspace(s0, s1, int(n_sigma))
    else:
        sigmas = np.linspace(s0, s1, int(n_sigma))
    values = expected_loglik(mus[None, :], sigmas[:, None], true_mean, true_var)
    best = best_loglik(true_var)
    return LoglikGrid(mus, sigmas, values, best - values, best, bool(log_sigma))


# ------------------------------------------------------------------ contours
@nb.njit(cache=True)
def _march(z, level, out):
    """Marching squares on z (rows: y, columns: x), in index coordinates; returns the number of
    segments written to ``out`` (n, 4): x0, y0, x1, y1. Cells with a NaN corner are skipped."""
    ny, nx = z.shape
    n = 0
    for i in range(ny - 1):
        for j in range(nx - 1):
            a = z[i, j]
            b = z[i, j + 1]
            c = z[i + 1, j + 1]
            d = z[i + 1, j]
            if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c) and math.isfinite(d)):
                continue
            # crossing points on the four edges: bottom (a-b), right (b-c), top (d-c), left (a-d)
            px = np.empty(4)
            py = np.empty(4)
            k = 0
            if (a < level) != (b < level):
                px[k] = j + (level - a) / (b - a)
                py[k] = i
                k += 1
            if (b < level) != (c < level):
                px[k] = j + 1
                py[k] = i + (level - b) / (c - b)
                k += 1
            if (d < level) != (c < level):
                px[k] = j + (level - d) / (c - d)
                py[k] = i + 1
                k += 1
            if (a < level) != (d < level):
                px[k] = j
                py[k] = i + (level - a) / (d - a)
                k += 1
            if k >= 2 and n < out.shape[0]:
                out[n, 0] = px[0]
                out[n, 1] = py[0]
                out[n, 2] = px[1]
                out[n, 3] = py[1]
                n += 1
            if k == 4 and n < out.shape[0]:  # a saddle: the second pair
                out[n, 0] = px[2]
                out[n, 1] = py[2]
                out[n, 2] = px[3]
                out[n, 3] = py[3]
                n += 1
    return n


@jit.entry  # interpreted while the kernels compile or load (core/jit.py)
def isolines(values: np.ndarray, xs: np.ndarray, ys: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The contour ``values == level`` of a grid (``values[i, j]`` at ``xs[j]``, ``ys[i]``) as line
    segments in data coordinates: points 2i and 2i+1 of the x and y arrays make one segment. Between
    grid points the coordinates are interpolated linearly in index space (``ys`` may be log-spaced:
    the interpolation is then in log Sigma)."""
    z = np.ascontiguousarray(values, dtype=float)
    if z.ndim != 2 or z.shape != (len(ys), len(xs)) or min(z.shape) < 2:
        raise ValueError(f"values must have shape (len(ys), len(xs)) with both >= 2; got {z.shape}")
    out = np.empty((2 * z.size, 4))
    n = _march(z, float(level), out)
    seg = out[:n]
    jx = np.arange(len(xs), dtype=float)
    iy = np.arange(len(ys), dtype=float)
    ys = np.asarray(ys, dtype=float)
    log_y = bool(np.all(ys > 0)) and len(ys) > 2 and np.allclose(np.diff(np.log(ys)), np.log(ys[1] / ys[0]))
    yv = np.log(ys) if log_y else ys
    x0 = np.interp(seg[:, 0], jx, xs)
    x1 = np.interp(seg[:, 2], jx, xs)
    y0 = np.interp(seg[:, 1], iy, yv)
    y1 = np.interp(seg[:, 3], iy, yv)
    if log_y:
        y0, y1 = np.exp(y0), np.exp(y1)
    return np.column_stack([x0, x1]).ravel(), np.column_stack([y0, y1]).ravel()


# ------------------------------------------------------------------- the field
def _linear_rate(sigma: np.ndarray) -> np.ndarray:
    """A rate small enough that every rule's map is linear to ~1e-7 at this Sigma (the covariance
    rule's step grows like 1/Sigma^2, the precision's stored step like Sigma^2)."""
    big = np.maximum(sigma, 1.0 / sigma)
    return ALPHA_LIN / big**2


def expected_update(settings: dict, alpha_t: float, mu, sigma, true_mean: float,
                    true_var: float) -> tuple[np.ndarray, np.ndarray]:
    """The expected update (d mu, d Sigma) of one step at each point (mu, Sigma > 0), d = 1.

    ``settings`` is a chain's settings (``BatchEstimator.settings``): rule, objective and
    direction (the sign), optimizer and its betas and eps. ``alpha_t`` is the rate of the
    next update.

    How: every rule's direction is linear in rbar and C (docs/MATH.md, "Update rules"),
    so its expectation is the direction of a two-sample batch y = true_mean +- sqrt(true_var),
    whose r has mean E[r] = true_mean - mu and mean square E[r^2] = true_var + (true_mean - mu)^2.
    The kernels take that step (``BatchEstimator``, the same code as a run) at a tiny rate,
    and the result is scaled to ``alpha_t``: the expected update to first order in alpha,
    mapped from the rule's stored coordinates to (mu, Sigma). A stateful optimizer
    (momentum, nesterov, rmsprop, adam) is shown as its FIRST step from a fresh state on
    this expected direction (nesterov: (1 + beta1) D; rmsprop: D / (sqrt(1 - beta2)|D| + eps);
    adam: D / (|D| + eps) per stored entry); later steps depend on the path.
    """
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    shape = np.broadcast(mu, sigma).shape
    m = np.broadcast_to(mu, shape).ravel()
    s = np.broadcast_to(sigma, shape).ravel()
    if np.any(~(s > 0)) or not np.all(np.isfinite(m)) or not np.all(np.isfinite(s)):
        raise ValueError("expected_update needs finite mu and Sigma > 0 at every point")
    if not (true_var > 0 and math.isfinite(true_var)):
        raise ValueError(f"the target's variance must be positive and finite; got {true_var!r}")
    K = m.size
    if K == 0:
        return np.zeros(shape), np.zeros(shape)
    rate = _linear_rate(s)
    kw = {k: settings[k] for k in ("beta1", "beta2", "eps") if k in settings}
    est = BatchEstimator(
        m[:, None], s[:, None, None], parameterization=settings.get("parameterization", "covariance"),
        alpha=list(rate), objective=settings.get("objective", "loglik"),
        direction=settings.get("direction", "ascent"), schedule="constant", batch_size=2,
        symmetrize=bool(settings.get("symmetrize", False)),
        optimizer=settings.get("optimizer", opt.DEFAULTS["optimizer"]), **kw)
    sd = math.sqrt(true_var)
    Y = np.array([[true_mean + sd], [true_mean - sd]])
    est.advance(Y, 1)
    dmu = (est.means[:, 0] - m) / rate * alpha_t
    dsig = (est.covs[:, 0, 0] - s) / rate * alpha_t
    # a point whose tiny step still failed a check (it should not happen) shows no arrow
    bad = est.diverged
    dmu[bad] = np.nan
    dsig[bad] = np.nan
    return dmu.reshape(shape), dsig.reshape(shape)


# ---------------------------------------------------------------- d >= 2
def extreme_eigenvalues(eig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(smallest, largest) eigenvalue from ascending eigenvalues along the last axis: a point of
    the plane whose edge lambda_min = 0 is the positive-definite boundary (lambda_min <= lambda_max
    always: the half below the diagonal is empty)."""
    e = np.asarray(eig, dtype=float)
    return e[..., 0], e[..., -1]


__all__ = ["ALPHA_LIN", "KL_LEVELS", "LoglikGrid", "best_loglik", "expected_loglik", "expected_update",
           "extreme_eigenvalues", "isolines", "loglik_grid"]
