"""The parameter-space view's numbers (core/param_space.py): the expected log-likelihood against a
direct numeric expectation, its contours, and the field of the expected update against the
kernels' own updates averaged over samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from gaussviz.core import param_space as ps
from gaussviz.core.estimator import BatchEstimator
from gaussviz.core.parameterizations import NAMES

STATES = [(0.5, 1.6), (-1.0, 0.3), (0.2, 4.0), (2.0, 0.05)]


def _hermite(n: int = 40):
    """Nodes and weights for E[f(y)], y ~ N(0, 1) (probabilists' Gauss-Hermite)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / w.sum()


@pytest.mark.parametrize("tm, tv", [(0.0, 1.0), (1.5, 0.25), (-3.0, 9.0)])
def test_expected_loglik_is_the_numeric_expectation(tm, tv):
    x, w = _hermite()
    y = tm + math.sqrt(tv) * x
    mus = np.array([tm, tm + 1.0, tm - 2.5, 0.3])
    sigmas = np.array([tv, 0.1 * tv, 3.0 * tv, 0.7])
    for m, s in zip(mus, sigmas):
        quad = float(np.sum(w * stats.norm.logpdf(y, m, math.sqrt(s))))
        assert ps.expected_loglik(m, s, tm, tv) == pytest.approx(quad, rel=1e-10, abs=1e-10)
    # and a plain Monte Carlo average agrees within its error
    rng = np.random.default_rng(5)
    ys = rng.normal(tm, math.sqrt(tv), 400_000)
    for m, s in zip(mus, sigmas):
        vals = stats.norm.logpdf(ys, m, math.sqrt(s))
        err = 4 * vals.std() / math.sqrt(ys.size)
        assert abs(float(vals.mean()) - float(ps.expected_loglik(m, s, tm, tv))) < err


def test_grid_kl_is_the_gaussian_kl_and_the_forbidden_region_is_nan():
    g = ps.loglik_grid((-2.0, 2.0), (-0.5, 3.0), 0.3, 1.2, n_mu=21, n_sigma=15)
    assert g.values.shape == (15, 21)
    neg = g.sigmas <= 0
    assert neg.any() and np.all(np.isnan(g.values[neg])) and np.all(np.isnan(g.kl[neg]))
    i, j = 10, 4
    m, s = g.mus[j], g.sigmas[i]
    kl = 0.5 * (1.2 / s + (m - 0.3) ** 2 / s - 1 + math.log(s / 1.2))
    assert g.kl[i, j] == pytest.approx(kl, rel=1e-12)
    assert np.nanmin(g.kl) >= -1e-12
    lg = ps.loglik_grid((-2.0, 2.0), (1e-3, 1e3), 0.0, 1.0, log_sigma=True, n_sigma=7)
    assert np.allclose(lg.sigmas, [1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3])
    with pytest.raises(ValueError, match="log Sigma"):
        ps.loglik_grid((-1, 1), (-1.0, 2.0), 0.0, 1.0, log_sigma=True)


@pytest.mark.parametrize("log_sigma", [False, True])
def test_isolines_lie_on_their_level(log_sigma):
    rng = (0.05, 6.0) if log_sigma else (-0.5, 4.0)
    g = ps.loglik_grid((-3.0, 3.0), rng, 0.0, 1.0, n_mu=200, n_sigma=160, log_sigma=log_sigma)
    for level in (0.03, 0.3, 3.0):
        x, y = ps.isolines(g.kl, g.mus, g.sigmas, level)
        assert x.size > 30 and x.size % 2 == 0 and y.size == x.size
        pts = np.isfinite(x)
        assert pts.all() and np.all(np.isfinite(y))
        kl = g.best - ps.expected_loglik(x[pts], y[pts], 0.0, 1.0)
        # (linear interpolation within a cell)
        assert np.all(np.abs(kl - level) < 0.03 * level + 1e-3), (level, np.abs(kl - level).max())
        assert np.all(y[pts] > 0)  # never into the forbidden region


def _kernel_average(settings: dict, alpha: float, mu: float, sigma: float, tm: float, tv: float):
    """The kernels' own single-sample update, averaged exactly over y ~ N(tm, tv) (Gauss-Hermite:
    exact for the polynomial stored-coordinate step) at a small alpha: (E d mu, E d Sigma) / alpha."""
    x, w = _hermite(30)
    y = tm + math.sqrt(tv) * x
    K = y.size
    est = BatchEstimator(np.full((K, 1), mu), np.full((K, 1, 1), sigma),
                         parameterization=settings["parameterization"], alpha=alpha,
                         direction=settings.get("direction", "ascent"), objective=settings.get("objective", "loglik"))
    est.advance(y.reshape(K, 1, 1).copy(), 1, streams=np.arange(K))
    assert not est.diverged.any()
    dmu = (est.means[:, 0] - mu) / alpha
    ds = (est.covs[:, 0, 0] - sigma) / alpha
    return float(np.sum(w * dmu)), float(np.sum(w * ds))


@pytest.mark.parametrize("rule", NAMES)
@pytest.mark.parametrize("direction", ["ascent", "descent"])
def test_the_field_is_the_kernels_expected_update(rule, direction):
    settings = {"parameterization": rule, "direction": direction}
    for mu, sigma in STATES:
        alpha = 1e-6 * min(sigma, 1 / sigma) ** 2
        kmu, ks = _kernel_average(settings, alpha, mu, sigma, 0.0, 1.0)
        fmu, fs = ps.expected_update(settings, 1.0, mu, sigma, 0.0, 1.0)
        a, b = np.array([kmu, ks]), np.array([float(fmu), float(fs)])
        cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
        assert cos > 1 - 1e-6, (rule, mu, sigma, a, b)
        assert np.linalg.norm(a - b) <= 1e-3 * np.linalg.norm(a), (rule, mu, sigma, a, b)


@pytest.mark.parametrize("rule", ["covariance", "natural", "log-cholesky"])
def test_the_field_matches_a_monte_carlo_average_of_kernel_updates(rule):
    """Independent of the quadrature: random samples, many chains, one update each."""
    rng = np.random.default_rng(11)
    mu, sigma, tm, tv, alpha = 0.8, 2.0, 0.0, 1.0, 1e-6
    y = rng.normal(tm, math.sqrt(tv), 20_000)
    y = np.concatenate([y, 2 * tm - y])  # antithetic: halves the noise of the mean step
    K = y.size
    est = BatchEstimator(np.full((K, 1), mu), np.full((K, 1, 1), sigma), parameterization=rule, alpha=alpha)
    est.advance(y.reshape(K, 1, 1).copy(), 1, streams=np.arange(K))
    dmu = (est.means[:, 0] - mu) / alpha
    ds = (est.covs[:, 0, 0] - sigma) / alpha
    fmu, fs = ps.expected_update({"parameterization": rule}, 1.0, mu, sigma, tm, tv)
    assert abs(dmu.mean() - fmu) < 4 * dmu.std() / math.sqrt(K) + 1e-9
    assert abs(ds.mean() - fs) < 4 * ds.std() / math.sqrt(K)


def test_the_wrong_sign_points_away_and_the_covariance_rule_blows_up_near_zero():
    mus = np.array([-1.0, 1.0, 0.0, 0.0, 0.7])
    sig = np.array([1.0, 1.0, 0.5, 2.0, 1.5])
    for rule in NAMES:
        up = ps.expected_update({"parameterization": rule}, 0.01, mus, sig, 0.0, 1.0)
        down = ps.expected_update({"parameterization": rule, "direction": "descent"}, 0.01, mus, sig, 0.0, 1.0)
        # ascent climbs the expected log-likelihood, descent goes down it (first order)
        h = 1e-6
        gm = (ps.expected_loglik(mus + h, sig, 0, 1) - ps.expected_loglik(mus - h, sig, 0, 1)) / (2 * h)
        gs = (ps.expected_loglik(mus, sig + h, 0, 1) - ps.expected_loglik(mus, sig - h, 0, 1)) / (2 * h)
        assert np.all(up[0] * gm + up[1] * gs > 0), rule
        assert np.all(down[0] * gm + down[1] * gs < 0), rule
        assert np.allclose(down[0], -up[0]) and np.allclose(down[1], -up[1])
    near = ps.expected_update({"parameterization": "covariance"}, 0.002, 0.0, np.array([0.02, 0.1, 2.0]), 0.0, 1.0)[1]
    assert near[0] > 20 * near[1] > 0 > near[2]  # 1/Sigma^2: huge steps next to the edge
    nat = ps.expected_update({"parameterization": "natural"}, 0.002, 0.0, np.array([0.02, 0.1]), 0.0, 1.0)[1]
    assert nat[0] < 0.003  # natural's step at the edge is at most alpha (1 - Sigma)


def test_stateful_optimizers_are_shown_as_their_first_step():
    mus, sig = np.array([0.5, -1.0]), np.array([1.6, 0.4])
    sgd = ps.expected_update({"parameterization": "covariance"}, 0.01, mus, sig, 0.0, 1.0)
    mom = ps.expected_update({"parameterization": "covariance", "optimizer": "momentum"}, 0.01, mus, sig, 0.0, 1.0)
    nes = ps.expected_update({"parameterization": "covariance", "optimizer": "nesterov", "beta1": 0.5}, 0.01,
                             mus, sig, 0.0, 1.0)
    adam = ps.expected_update({"parameterization": "covariance", "optimizer": "adam"}, 0.01, mus, sig, 0.0, 1.0)
    assert np.allclose(mom, sgd, rtol=1e-6)
    assert np.allclose(np.array(nes), 1.5 * np.array(sgd), rtol=1e-6)
    # Adam's first step is alpha times the sign of each stored entry's direction (stored = Sigma here)
    assert np.allclose(np.abs(adam[0]), 0.01, rtol=1e-4) and np.allclose(np.abs(adam[1]), 0.01, rtol=1e-4)
    assert np.all(np.sign(adam[0]) == np.sign(sgd[0])) and np.all(np.sign(adam[1]) == np.sign(sgd[1]))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="Sigma > 0"):
        ps.expected_update({"parameterization": "covariance"}, 0.01, 0.0, np.array([1.0, -0.1]), 0.0, 1.0)
    with pytest.raises(ValueError, match="variance"):
        ps.loglik_grid((-1, 1), (0.1, 2), 0.0, 0.0)
    with pytest.raises(ValueError, match="shape"):
        ps.isolines(np.zeros((3, 4)), np.arange(3.0), np.arange(3.0), 0.5)


def test_the_eigenvalue_plane():
    lo, hi = ps.extreme_eigenvalues(np.array([[[0.2, 0.5, 1.3], [-0.1, 1.0, 2.0]]]))
    assert np.array_equal(lo, [[0.2, -0.1]]) and np.array_equal(hi, [[1.3, 2.0]])
