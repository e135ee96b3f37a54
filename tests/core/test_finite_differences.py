"""Every update against central finite differences of the log-likelihood in
the parameterization's own coordinates (docs/MATH.md), never against a copy of the formulas."""

import itertools
import zlib

import numpy as np
import pytest

from gaussviz.core import Estimator
from gaussviz.core import parameterizations as pz

PAIRS = [("loglik", "ascent", 1.0), ("neg-loglik", "descent", 1.0),
         ("loglik", "descent", -1.0), ("neg-loglik", "ascent", -1.0)]
PARAMS = list(pz.NAMES)
H = 1e-6
ALPHA = 1e-3


def loglik(mu, sigma, Y):
    """Mean Gaussian log-likelihood, with Sigma treated as a full (possibly asymmetric) matrix."""
    d = Y.shape[1]
    sign, logdet = np.linalg.slogdet(sigma)
    assert sign > 0
    R = Y - mu
    quad = np.einsum("ni,ij,nj->n", R, np.linalg.inv(sigma), R)
    return float(np.mean(-0.5 * (d * np.log(2 * np.pi) + logdet + quad)))


def sigma_of(param, theta):
    """Sigma as a function of the parameterization's own coordinates (its spec defines them)."""
    return pz.get(param).from_stored(theta)


def coords(param, d):
    """The free coordinates: all entries, or the lower triangle for Cholesky factors."""
    if pz.get(param).lower:
        return [(i, j) for i in range(d) for j in range(i + 1)]
    return [(i, j) for i in range(d) for j in range(d)]


def fd_grad(param, mu, theta, Y):
    d = mu.shape[0]
    g_mu = np.zeros(d)
    for i in range(d):
        e = np.zeros(d)
        e[i] = H
        g_mu[i] = (loglik(mu + e, sigma_of(param, theta), Y) - loglik(mu - e, sigma_of(param, theta), Y)) / (2 * H)
    g_th = np.zeros((d, d))
    for i, j in coords(param, d):
        tp, tm = theta.copy(), theta.copy()
        tp[i, j] += H
        tm[i, j] -= H
        g_th[i, j] = (loglik(mu, sigma_of(param, tp), Y) - loglik(mu, sigma_of(param, tm), Y)) / (2 * H)
    return g_mu, g_th


def random_state(d, rng):
    A = rng.standard_normal((d, d))
    sigma = A @ A.T / d + 0.5 * np.eye(d)
    mu = rng.standard_normal(d) * 0.3
    return mu, sigma


@pytest.mark.parametrize("param,pair,d,n", list(itertools.product(PARAMS, PAIRS, [1, 2, 3], [1, 4])))
def test_one_update_matches_finite_differences(param, pair, d, n):
    objective, direction, s = pair
    rng = np.random.default_rng(zlib.crc32(repr((param, objective, direction, d, n)).encode()))
    mu, sigma = random_state(d, rng)
    Y = rng.standard_normal((n, d)) * 1.3 + 0.2
    # A rule whose step is a map (riemannian's exponential) equals its direction to first order
    # in alpha only: take a step small enough that the second order is below the tolerance.
    alpha = ALPHA if pz.get(param).linear_step else 1e-7
    est = Estimator(mu, sigma, parameterization=param, alpha=alpha, objective=objective,
                    direction=direction, batch_size=n)
    theta0 = est.stored
    assert est.update(Y) == 1
    step_mu = (est.mean - mu) / alpha
    step_th = (est.stored - theta0) / alpha
    if pz.get(param).metric == "fisher":
        # Fisher-preconditioned: F^-1 grad = (Sigma g_mu, 2 Sigma G Sigma), G from the covariance coordinates.
        g_mu, G = fd_grad("covariance", mu, sigma, Y)
        want_mu, want_th = sigma @ g_mu, 2 * sigma @ G @ sigma
    else:
        want_mu, want_th = fd_grad(param, mu, theta0, Y)
    # (a map's step at alpha = 1e-7 carries the round-off of the map: a looser tolerance, as in test_riemannian)
    tol = 1e-6 if pz.get(param).linear_step else 1e-4
    np.testing.assert_allclose(step_mu, s * want_mu, rtol=tol, atol=tol)
    np.testing.assert_allclose(step_th, s * want_th, rtol=tol, atol=tol)
    # and the step really moved something: a test that would pass on a no-op would be useless
    assert np.max(np.abs(step_th)) > 1e-3


def test_finite_difference_test_can_fail():
    """A deliberately wrong gradient (the sign of the P C P term flipped) must not match."""
    rng = np.random.default_rng(5)
    mu, sigma = random_state(2, rng)
    Y = rng.standard_normal((1, 2))
    _, G = fd_grad("covariance", mu, sigma, Y)
    P = np.linalg.inv(sigma)
    r = (Y[0] - mu)[:, None]
    wrong = -0.5 * (P + P @ r @ r.T @ P)
    assert not np.allclose(wrong, G, atol=1e-6)
    right = -0.5 * (P - P @ r @ r.T @ P)
    np.testing.assert_allclose(right, G, atol=1e-6)


@pytest.mark.parametrize("param", PARAMS)
def test_the_specs_coordinates_match_the_kernels(param):
    """spec.from_stored (numpy) and the kernels' compiled stored_to_sigma agree, and to_stored inverts them."""
    from gaussviz.core import kernels as kn

    rng = np.random.default_rng(7)
    for d in (1, 2, 3, 5):
        _, sigma = random_state(d, rng)
        spec = pz.get(param)
        theta = spec.to_stored(sigma)
        out, work, piv = np.empty((d, d)), np.empty((d, d)), np.empty(d, dtype=np.int64)
        assert kn.stored_to_sigma(theta, spec.code, out, work, piv)
        np.testing.assert_allclose(spec.from_stored(theta), out, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(out, sigma, rtol=1e-10, atol=1e-12)
