"""The Marchenko–Pastur law: what the seed's answer invokes, and where it applies.

For n independent samples in d dimensions from N(0, s^2 I), the eigenvalues of
the sample covariance follow, as d and n grow with q = d/n fixed (docs/MATH.md),

    f(x) = sqrt((l+ - x)(x - l-)) / (2 pi s^2 q x)  on [l-, l+],  l± = s^2 (1 ± sqrt q)^2.

For q > 1 (fewer samples than dimensions) the sample covariance has rank n < d:
a fraction 1 - 1/q of its eigenvalues are exactly 0 (a point mass at 0) and the
rest follow the same formula, whose integral is then 1/q. ``mp_density`` returns
that continuous part only and ``mp_atom`` the mass at 0, so that
``integral(mp_density) + mp_atom == 1`` for every q.

A sample from any target is whitened by the TRUE covariance first
(``z = L^-1 (y - mu)``, ``L L^T = Sigma``), so its sample covariance should
follow the law with s^2 = 1 whatever the target's shape. For a non-Gaussian
target (heavy tails, mixture, real data) the law still holds when the
whitened coordinates are independent with finite fourth moments, and is
visibly violated otherwise: heavy tails stretch the top edge.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _check_q(q: float) -> float:
    q = float(q)
    if not math.isfinite(q) or q <= 0:
        raise ValueError(f"q = d/n must be a positive finite number; got {q!r}")
    return q


def mp_edges(q: float, s2: float = 1.0) -> tuple[float, float]:
    """Support edges (l-, l+) of the continuous part: s^2 (1 ± sqrt q)^2."""
    q = _check_q(q)
    r = math.sqrt(q)
    return s2 * (1.0 - r) ** 2, s2 * (1.0 + r) ** 2


def mp_atom(q: float) -> float:
    """Mass of the point at 0: 1 - 1/q for q > 1 (rank-deficient sample covariance), else 0."""
    q = _check_q(q)
    return max(0.0, 1.0 - 1.0 / q)


def mp_density(x, q: float, s2: float = 1.0) -> np.ndarray:
    """Marchenko–Pastur density of the continuous part at x (0 outside [l-, l+]).

    For q > 1 this part integrates to 1/q; the rest is ``mp_atom(q)`` at 0.
    """
    q = _check_q(q)
    if not math.isfinite(s2) or s2 <= 0:
        raise ValueError(f"s^2 must be a positive finite number; got {s2!r}")
    x = np.asarray(x, dtype=float)
    lo, hi = mp_edges(q, s2)
    inside = (x > lo) & (x < hi)
    safe = np.where(inside, x, 1.0)
    val = np.sqrt(np.clip((hi - safe) * (safe - lo), 0.0, None)) / (2.0 * math.pi * s2 * q * safe)
    return np.where(inside, val, 0.0)


def mp_quantile_edges(q: float, s2: float = 1.0) -> dict[str, float]:
    """Numbers worth printing beside the plot: edges, their ratio and the mean."""
    lo, hi = mp_edges(q, s2)
    return {"lower": lo, "upper": hi, "condition": hi / lo if lo > 0 else float("inf"), "mean": s2,
            "atom": mp_atom(q)}


def whitened_eigs(Y: np.ndarray, true_mean: np.ndarray | None, true_cov: np.ndarray) -> tuple[np.ndarray, float]:
    """Eigenvalues (ascending) of the sample covariance of Y whitened by the true covariance, and q.

    With ``true_mean`` given, samples are centred on it and divided by n
    (q = d/n: the law's exact setting). With ``true_mean=None`` they are
    centred on their own mean, which costs one degree of freedom: divided by
    n - 1 and q = d/(n - 1).
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2:
        raise ValueError(f"samples must be an (n, d) array; got shape {Y.shape}")
    n, d = Y.shape
    cov = np.asarray(true_cov, dtype=float)
    if cov.shape != (d, d):
        raise ValueError(f"true covariance must be ({d}, {d}); got {cov.shape}")
    if not np.all(np.isfinite(Y)):
        raise ValueError("samples must be finite")
    L = np.linalg.cholesky(0.5 * (cov + cov.T))
    if true_mean is None:
        if n < 2:
            raise ValueError("need at least 2 samples to centre on their own mean")
        R = Y - Y.mean(0)
        dof = n - 1
    else:
        if n < 1:
            raise ValueError("need at least 1 sample")
        R = Y - np.asarray(true_mean, dtype=float)
        dof = n
    Z = np.linalg.solve(L, R.T)  # (d, n), whitened
    S = Z @ Z.T / dof
    return np.linalg.eigvalsh(0.5 * (S + S.T)), d / dof


def window_eigs(recent: np.ndarray, n: int, true_mean: np.ndarray | None,
                true_cov: np.ndarray) -> tuple[np.ndarray, float]:
    """Whitened sample-covariance eigenvalues of the LAST n samples of a stream, and q = d/n.

    ``recent`` is the stream's most recent samples, oldest first (e.g.
    ``Snapshot.recent``); n larger than what is there is an error, not a
    silent shortcut.
    """
    recent = np.asarray(recent, dtype=float)
    n = int(n)
    if n < 1:
        raise ValueError(f"window n must be >= 1; got {n}")
    if recent.ndim != 2 or recent.shape[0] < n:
        have = recent.shape[0] if recent.ndim == 2 else 0
        raise ValueError(f"window n = {n} needs {n} recent samples; only {have} are available")
    return whitened_eigs(recent[-n:], true_mean, true_cov)


def natural_memory(alpha: float) -> float:
    """Effective sample count of a constant-rate ``natural`` estimator: (2 - alpha)/alpha.

    The estimate is an exponential moving average with weights a (1 - a)^k;
    the variance of such an average equals that of a plain mean of n iid
    samples with n = 1 / sum of squared weights = (2 - a)/a.
    """
    a = float(alpha)
    if not math.isfinite(a) or not 0 < a < 2:
        raise ValueError(f"alpha must be in (0, 2) for a finite memory; got {alpha!r}")
    return (2.0 - a) / a


def entry_memories(alpha: float, eigs: np.ndarray, parameterization: str) -> tuple[float, float]:
    """Shortest and longest memory (samples) of the covariance entries near the truth.

    Near the truth every update rule is an exponential average of ``C``, entry
    by entry in the eigenbasis of the true Sigma, with its own rate a_ij:
    ``natural`` a; ``covariance`` a / (2 l_i l_j); ``precision`` a l_i l_j / 2
    (docs/MATH.md and ``forecast.linear_bound``); memory (2 - a_ij)/a_ij. Cholesky
    rates mix entries and are not returned here (None -> (nan, nan)).
    """
    ev = np.sort(np.asarray(eigs, dtype=float))
    lo, hi = float(ev[0]), float(ev[-1])
    a = float(alpha)
    if parameterization == "natural":
        rates = (a, a)
    elif parameterization == "covariance":
        rates = (a / (2 * hi * hi), a / (2 * lo * lo))
    elif parameterization == "precision":
        rates = (a * lo * lo / 2, a * hi * hi / 2)
    else:
        return float("nan"), float("nan")
    mems = [(2 - r) / r if 0 < r < 2 else float("nan") for r in rates]
    return min(mems), max(mems)


def explanation(d: int, n: int, alpha: float | None = None, parameterization: str = "natural") -> str:
    """Plain text for the MP panel: what the window n means, and what MP does and does not explain."""
    d, n = int(d), int(n)
    if d < 1 or n < 1:
        raise ValueError(f"need d >= 1 and n >= 1; got d = {d}, n = {n}")
    q = d / n
    lo, hi = mp_edges(q)
    parts = [f"Window of n = {n} samples in d = {d} dimensions: q = d/n = {q:.3g}. "]
    if q < 1:
        parts.append(f"Marchenko–Pastur puts the whitened eigenvalues between {lo:.3g} and {hi:.3g} "
                     f"(condition number up to about {hi / lo:.3g}); ")
        if lo < 0.1:
            parts.append("the smallest is near 0: a sample covariance of this window is close to singular. ")
        else:
            parts.append("far from singular. ")
    elif q == 1:
        parts.append("q = 1: the lower edge is 0, the sample covariance is nearly singular. ")
    else:
        parts.append(f"q > 1: fewer samples than dimensions, a fraction {mp_atom(q):.2g} of the eigenvalues is "
                     "exactly 0 (the sample covariance is singular). ")
    if d < 10:
        parts.append(f"(The law is a large-d limit; with d = {d} read it as a guide to the spread, "
                     "not an exact fit.) ")
    if alpha is not None:
        if parameterization == "natural" and 0 < alpha < 2:
            m = natural_memory(alpha)
            parts.append(f"A constant-rate natural estimator at alpha = {alpha:.3g} remembers about "
                         f"(2 - alpha)/alpha = {m:.0f} samples, so its spread is like this panel's "
                         f"at n = {m:.0f} (q = {d / m:.3g}); its weights decay, so the match is "
                         "approximate. It stays positive definite for alpha < 1 however small "
                         "its eigenvalues get: MP explains its wobble and conditioning, not a divergence. ")
        elif parameterization in ("covariance", "precision"):
            parts.append(
                f"The {parameterization} update does not average a window of samples: it takes steps scaled by "
                + ("inv(Sigma)^2" if parameterization == "covariance" else "Sigma^2 (in Lambda)")
                + ", and it diverges when one noisy step pushes its own smallest eigenvalue through 0 "
                "(about when that eigenvalue nears sqrt(alpha/2) for covariance; docs/MATH.md), which happens even "
                "when n is much larger than d and this panel shows eigenvalues far from 0. "
                "MP does not explain that divergence; the stability forecast does. ")
        else:
            parts.append(f"The {parameterization} update keeps Sigma positive (semi)definite by construction; "
                         "MP describes the spread of a window's sample covariance, not this estimator's failures. ")
    parts.append("The law explains a divergence only when an estimator inverts the sample covariance of "
                 "a window with n not much larger than d (e.g. a mini-batch estimate with q near 1); "
                 "none of the five update rules here does. "
                 "In the seed question d = 1: the sample variance is never singular and MP says nothing; "
                 "the seed's failure is the sign, the start or the step size.")
    return "".join(parts)


# ------------------------------------------------------------- for the tab
#: eigenvalues the pooled histogram aims for
TARGET_EIGS = 2000
HIST_BINS = 40
DENSITY_POINTS = 400
#: the x axis ends at the larger of this times l+ and the eigenvalues' 99.5 % quantile (capped)
X_MARGIN = 1.25
X_CAP = 4.0


@dataclass(frozen=True)
class MPData:
    """What the tab draws for one snapshot and window size (arrays finite)."""

    d: int
    n: int
    q: float
    windows: int
    eigs: np.ndarray
    edges: tuple[float, float]
    hist_x: np.ndarray  # bin edges (len bins + 1)
    hist_y: np.ndarray  # density: count / (all eigenvalues * bin width)
    x: np.ndarray
    density: np.ndarray  # MP density (d > 1) or the exact chi-square density of a variance (d = 1)
    beyond: int  # eigenvalues right of the plotted range


def pooled_eigs(recent: np.ndarray, n: int, true_mean: np.ndarray, true_cov: np.ndarray,
                target: int = TARGET_EIGS) -> tuple[np.ndarray, int]:
    """Eigenvalues of W disjoint windows of the last W n samples, whitened; (eigs, W)."""
    recent = np.asarray(recent, dtype=float)
    m, d = recent.shape
    n = int(n)
    if n < 1 or n > m:
        raise ValueError(f"window n = {n} needs {n} recent samples; {m} are available")
    w = int(max(1, min(m // n, math.ceil(target / d))))
    Y = recent[m - w * n:]
    L = np.linalg.cholesky(0.5 * (true_cov + true_cov.T))
    Z = np.linalg.solve(L, (Y - true_mean).T).T.reshape(w, n, d)  # oldest window first
    S = np.einsum("wni,wnj->wij", Z, Z) / n
    eigs = np.linalg.eigvalsh(0.5 * (S + np.swapaxes(S, 1, 2)))
    return eigs.ravel(), w


def mp_data(recent: np.ndarray, n: int, true_mean: np.ndarray, true_cov: np.ndarray) -> MPData:
    """Histogram and density for the tab (pure numpy: tested without a window)."""
    eigs, w = pooled_eigs(recent, n, true_mean, true_cov)
    d = int(np.asarray(recent).shape[1])
    q = d / n
    lo, hi = mp_edges(q)
    eigs = eigs[np.isfinite(eigs)]
    top = float(np.quantile(eigs, 0.995)) if eigs.size else hi
    xmax = min(max(X_MARGIN * hi, top * 1.05), X_CAP * hi)
    counts, bx = np.histogram(eigs, bins=HIST_BINS, range=(0.0, xmax))
    width = bx[1] - bx[0]
    hy = counts / max(eigs.size, 1) / width
    x = np.union1d(np.linspace(0.0, xmax, DENSITY_POINTS), [lo, hi])
    if d > 1:
        dens = mp_density(x, q)
    else:
        # d = 1: the "eigenvalue" is a sample variance, n s^2 ~ chi^2_n exactly (Gaussian target).
        from scipy.stats import chi2

        dens = n * chi2.pdf(n * x, n)
    dens = np.where(np.isfinite(dens), dens, 0.0)
    return MPData(d, n, q, w, eigs, (lo, hi), bx, hy, x, dens, int(np.sum(eigs > xmax)))


__all__ = [
    "MPData",
    "entry_memories",
    "explanation",
    "mp_atom",
    "mp_data",
    "mp_density",
    "mp_edges",
    "mp_quantile_edges",
    "natural_memory",
    "pooled_eigs",
    "whitened_eigs",
    "window_eigs",
]
