"""The update rules (parameterizations): one spec object each, the one place that knows them.

A parameterization is what the estimator stores for the covariance and how
one update moves it (docs/MATH.md, "Update rules"). Everything outside the
compiled kernels learns about the rules from ``PARAMETERIZATIONS``: the CLI's
choices, the window's combo boxes and legends, the sweep's panels, the
stability forecast's linearized bound, divergence messages.

Adding a rule touches three files: its ``Parameterization`` here, its branch
in ``kernels.py`` (``one_update``/``_step2``, by ``code``), and its section in
docs/MATH.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import kernels as kn
from .validation import did_you_mean


@dataclass(frozen=True)
class CovBound:
    """The covariance part of a linearized stability bound (docs/MATH.md, "Linearized bounds").

    ``mean``: bound of the mean's factors; ``cov``: of the covariance
    parameter's; ``pd``: the largest alpha for which one step stays positive
    definite whatever the sample (inf where no such limit applies); ``why``:
    the formula in words, for the forecast's text.
    """

    mean: float
    cov: float
    pd: float
    why: str


@dataclass(frozen=True)
class Parameterization:
    """One update rule: its name, kernel code, what it stores and what users should know."""

    name: str
    #: the kernels' branch (part of the session format: never renumber)
    code: int
    #: one line for tooltips and `gaussviz presets`
    help: str
    #: what the estimator stores, in words
    stored: str
    #: how messages name the stored matrix
    matrix: str
    #: can round-off make the stored matrix asymmetric (then the `symmetrize` switch applies)?
    symmetrizable: bool
    #: the stored parameter for a covariance (symmetric part used)
    to_stored: Callable[[np.ndarray], np.ndarray]
    #: the definition of the coordinates: Sigma as a function of ALL stored entries (numpy; the
    #: kernels' compiled ``stored_to_sigma`` is checked against it, the tests differentiate it)
    from_stored: Callable[[np.ndarray], np.ndarray]
    #: are the coordinates the lower triangle only (the upper one stays 0)?
    lower: bool
    #: the geometry the step follows: "euclidean" (the gradient in the stored coordinates) or
    #: "fisher" (the natural gradient: Sigma g_mu for the mean, 2 Sigma G Sigma for Sigma)
    metric: str
    #: linearized stability at covariance eigenvalues ``ev`` of ``cov`` (docs/MATH.md)
    bound: Callable[[np.ndarray, np.ndarray], CovBound]
    #: the rule's fixed colour in every plot, legend and export (Okabe-Ito: safe for colour-blind eyes)
    color: str
    #: takes optimizer "sgd" only (riemannian: an optimizer's moments would need parallel transport)
    sgd_only: bool = False
    #: is the step alpha times the direction (True), or a map that equals it to first order in
    #: alpha only (riemannian's exponential map)?
    linear_step: bool = True


def _sym(sigma: np.ndarray) -> np.ndarray:
    return 0.5 * (sigma + np.swapaxes(sigma, -1, -2))


def _copy(sigma: np.ndarray) -> np.ndarray:
    return _sym(sigma).copy()


def _precision(sigma: np.ndarray) -> np.ndarray:
    return _sym(np.linalg.inv(_sym(sigma)))


def _cholesky(sigma: np.ndarray) -> np.ndarray:
    return np.linalg.cholesky(_sym(sigma))


def _log_cholesky(sigma: np.ndarray) -> np.ndarray:
    L = np.linalg.cholesky(_sym(sigma))
    idx = np.arange(L.shape[-1])
    L[..., idx, idx] = np.log(L[..., idx, idx])
    return L


def _identity(theta: np.ndarray) -> np.ndarray:
    return np.array(theta, dtype=float)


def _inverse(theta: np.ndarray) -> np.ndarray:
    return np.linalg.inv(theta)


def _from_cholesky(theta: np.ndarray) -> np.ndarray:
    L = np.tril(theta)
    return L @ np.swapaxes(L, -1, -2)


def _from_log_cholesky(theta: np.ndarray) -> np.ndarray:
    L = np.tril(theta).copy()
    idx = np.arange(L.shape[-1])
    L[..., idx, idx] = np.exp(L[..., idx, idx])
    return L @ np.swapaxes(L, -1, -2)


def cholesky_operator(cov: np.ndarray, log_diagonal: bool = False) -> np.ndarray:
    """Matrix of the linearized expected Cholesky update's operator T on the lower-triangle entries.

    The update near the fixed point is ``E -> E - a T(E)`` with
    ``T(E) = tril(P E + L^-T E^T L^-T)``; with ``log_diagonal`` in the
    coordinates of ``log-cholesky`` (diagonal entries scaled by L_kk).
    """
    c = _sym(np.asarray(cov, dtype=float))
    d = c.shape[0]
    L = np.linalg.cholesky(c)
    P = np.linalg.inv(c)
    Linv_T = np.linalg.inv(L).T
    idx = [(i, j) for i in range(d) for j in range(i + 1)]
    scale = np.array([L[i, i] if (log_diagonal and i == j) else 1.0 for i, j in idx])
    M = np.empty((len(idx), len(idx)))
    for col, (i, j) in enumerate(idx):
        E = np.zeros((d, d))
        E[i, j] = scale[col]
        T = np.tril(P @ E + Linv_T @ E.T @ Linv_T)
        M[:, col] = [T[a, b] * scale[row] for row, (a, b) in enumerate(idx)]
    return M


def _bound_covariance(ev: np.ndarray, cov: np.ndarray) -> CovBound:
    lo = float(ev[0])
    return CovBound(2.0 * lo, 4.0 * lo * lo, math.inf, "min(2 l_min, 4 l_min^2)")


def _bound_precision(ev: np.ndarray, cov: np.ndarray) -> CovBound:
    lo, hi = float(ev[0]), float(ev[-1])
    return CovBound(2.0 * lo, 4.0 / (hi * hi), math.inf, "min(2 l_min, 4 / l_max^2)")


def _bound_triangular(log_diagonal: bool) -> Callable[[np.ndarray, np.ndarray], CovBound]:
    def bound(ev: np.ndarray, cov: np.ndarray) -> CovBound:
        t = np.linalg.eigvals(cholesky_operator(cov, log_diagonal)).real
        return CovBound(2.0 * float(ev[0]), 2.0 / float(np.max(t)), math.inf, "min(2 l_min, 2 / t_max)")
    return bound


def _bound_riemannian(ev: np.ndarray, cov: np.ndarray) -> CovBound:
    return CovBound(2.0, 2.0, math.inf, "the expected update is stable for alpha < 2, and the exponential "
                                        "map keeps every step positive definite")


def _bound_natural(ev: np.ndarray, cov: np.ndarray) -> CovBound:
    return CovBound(2.0, 2.0, 1.0, "the expected update is stable for alpha < 2, but one step stays "
                                   "positive definite only for alpha < 1")


PARAMETERIZATIONS: dict[str, Parameterization] = {p.name: p for p in [
    Parameterization(
        "covariance", kn.COVARIANCE,
        "Sigma itself, the seed's update: step ~ inv(Sigma)^2, can leave the PD cone",
        "Sigma", "Sigma", True, _copy, _identity, False, "euclidean", _bound_covariance, "#0072B2"),
    Parameterization(
        "precision", kn.PRECISION,
        "Lambda = inv(Sigma): step ~ Sigma, can leave the PD cone",
        "Lambda = inv(Sigma)", "Lambda (the precision matrix)", True, _precision, _inverse, False, "euclidean",
        _bound_precision, "#D55E00"),
    Parameterization(
        "cholesky", kn.CHOLESKY,
        "Sigma = L L^T: stays PSD, a diagonal entry of L can cross zero",
        "L, lower triangular, Sigma = L L^T", "Sigma", False, _cholesky, _from_cholesky, True, "euclidean",
        _bound_triangular(False), "#009E73"),
    Parameterization(
        "log-cholesky", kn.LOG_CHOLESKY,
        "L with log-diagonal: unconstrained, always PD",
        "L with log(L_kk) on its diagonal", "Sigma", False, _log_cholesky, _from_log_cholesky, True, "euclidean",
        _bound_triangular(True), "#E69F00"),
    Parameterization(
        "natural", kn.NATURAL,
        "Fisher-preconditioned: an exponential moving average, always PD for alpha < 1",
        "Sigma", "Sigma", False, _copy, _identity, False, "fisher", _bound_natural, "#CC79A7"),
    Parameterization(
        "riemannian", kn.RIEMANNIAN,
        "exponential map of the Fisher (SPD) metric: PD for every alpha and both signs; sgd only",
        "Sigma", "Sigma", False, _copy, _identity, False, "fisher", _bound_riemannian, "#56B4E9", sgd_only=True,
        linear_step=False),
]}

#: names in their canonical order (CLI choices, combo boxes, compare mode, sweep panels)
NAMES: tuple[str, ...] = tuple(PARAMETERIZATIONS)


def get(name: object) -> Parameterization:
    """The spec of a rule by name; ValueError listing the names otherwise."""
    if not isinstance(name, str) or name not in PARAMETERIZATIONS:
        hint = did_you_mean(name, NAMES) if isinstance(name, str) else ""
        raise ValueError(f"parameterization must be one of {', '.join(map(repr, NAMES))}; got {name!r}{hint}")
    return PARAMETERIZATIONS[name]


def check_optimizer(name: str, optimizer: str) -> None:
    """Refuse an update rule with an optimizer it cannot take (riemannian: sgd only)."""
    if get(name).sgd_only and optimizer != "sgd":
        raise ValueError(
            f"the {name} update rule takes optimizer 'sgd' only; got optimizer {optimizer!r} "
            "(momentum or moment estimates on the SPD manifold would need parallel transport)")


def by_code(code: int) -> Parameterization:
    """The spec of a kernel code; ValueError for a code no rule has (never a silent fallback)."""
    for p in PARAMETERIZATIONS.values():
        if p.code == code:
            return p
    raise ValueError(f"unknown parameterization code {code!r}")


__all__ = ["NAMES", "PARAMETERIZATIONS", "CovBound", "Parameterization", "by_code", "check_optimizer",
           "cholesky_operator", "get"]
