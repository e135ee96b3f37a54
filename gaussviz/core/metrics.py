"""Distances to the truth: KL, held-out log-likelihood, spectra."""

from __future__ import annotations

import numpy as np

from . import jit
from . import kernels as kn


def eig_and_kl(mu: np.ndarray, sigma: np.ndarray, true_mu: np.ndarray | None,
               true_cov: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending, of the symmetric part) and KL(true || estimate) of a stack.

    ``mu`` (M, d), ``sigma`` (M, d, d). KL is inf where the estimate is not
    positive definite and NaN when there is no truth.
    """
    mu = np.ascontiguousarray(mu, dtype=float)
    sigma = np.ascontiguousarray(sigma, dtype=float)
    M, d = mu.shape
    eig = np.empty((M, d))
    if true_mu is None or true_cov is None:
        jit.use(kn).gaussian_metrics(mu, sigma, np.zeros(d), np.eye(d), 0.0, eig, np.empty(0))
        return eig, np.full(M, np.nan)
    kl = np.empty(M)
    logdet = float(np.linalg.slogdet(true_cov)[1])
    jit.use(kn).gaussian_metrics(mu, sigma, np.ascontiguousarray(true_mu, dtype=float),
                        np.ascontiguousarray(true_cov, dtype=float), logdet, eig, kl)
    return eig, kl


def kl_divergence(true_mu, true_cov, mu, cov) -> float:
    """KL(N(true_mu, true_cov) || N(mu, cov)) (docs/MATH.md); inf if cov is not PD."""
    mu = np.atleast_1d(np.asarray(mu, dtype=float))
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    _, kl = eig_and_kl(mu[None], cov[None], np.atleast_1d(true_mu), np.atleast_2d(true_cov))
    return float(kl[0])


def mean_logliks(means: np.ndarray, covs: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Mean log-likelihood of a held-out batch Y (n, d) under each of a stack of estimates
    (M, d), (M, d, d); -inf where one is not PD or the value overflows. One compiled loop
    without the GIL (numpy per chain while the kernels still compile)."""
    if jit.interpreting():
        return np.array([mean_loglik(m, c, Y) for m, c in zip(means, covs, strict=True)], dtype=float)
    means = np.ascontiguousarray(means, dtype=float)
    covs = np.ascontiguousarray(covs, dtype=float)
    out = np.empty(means.shape[0])
    jit.use(kn).heldout_loglik(means, covs, np.ascontiguousarray(Y, dtype=float), out)
    return out


def mean_loglik(mu: np.ndarray, cov: np.ndarray, Y: np.ndarray) -> float:
    """Mean log-likelihood of a held-out batch; -inf if cov is not PD or the value overflows."""
    s = 0.5 * (cov + cov.T)
    try:
        L = np.linalg.cholesky(s)
    except np.linalg.LinAlgError:
        return float("-inf")
    # A valid but absurd estimate (a wrong-sign run one update before it overflows:
    # |mu| ~ 1e185) overflows here; that is -inf, not a warning.
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.linalg.solve(L, (Y - mu).T)
        d = Y.shape[1]
        logdet = 2.0 * np.sum(np.log(np.diag(L)))
        ll = float(-0.5 * (d * np.log(2 * np.pi) + logdet + np.mean(np.sum(z * z, axis=0))))
    return ll if not np.isnan(ll) else float("-inf")


def condition_number(eig: np.ndarray) -> float:
    """lambda_max / lambda_min of ascending eigenvalues; inf if not PD."""
    lo, hi = float(eig[0]), float(eig[-1])
    return hi / lo if lo > 0 else float("inf")
