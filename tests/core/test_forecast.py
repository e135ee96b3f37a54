"""Stability forecast: the linearized bounds hold where docs/MATH.md says, and the empirical
forecast agrees with independent full runs."""

import math

import numpy as np
import pytest

from gaussviz.core import BatchEstimator
from gaussviz.core.forecast import (
    chain_bound,
    empirical_forecast,
    forecast_chain,
    linear_bound,
)
from gaussviz.core.parameterizations import NAMES, cholesky_operator
from gaussviz.core.presets import ILL_COV, get_preset
from gaussviz.core.settings import build_run, build_source
from gaussviz.core.targets import DriftingSource

PARAMS = list(NAMES)  # every update rule in the registry


def test_covariance_bound_on_the_ill_conditioned_target_matches_math_md():
    b = linear_bound("covariance", ILL_COV)
    l_min = np.linalg.eigvalsh(ILL_COV)[0]
    assert l_min == pytest.approx(0.209, abs=1e-3)
    assert b.cov_bound == pytest.approx(4 * l_min**2) and b.mean_bound == pytest.approx(2 * l_min)
    assert b.alpha_max == pytest.approx(0.1744, abs=1e-4)  # docs/MATH.md: 4 l_min^2 = 0.174
    assert "min(2 l_min, 4 l_min^2)" in b.text and "0.174" in b.text


def test_closed_forms_for_one_dimension():
    s2 = 2.0
    assert linear_bound("covariance", [[s2]]).alpha_max == pytest.approx(min(2 * s2, 4 * s2**2))
    assert linear_bound("precision", [[s2]]).alpha_max == pytest.approx(min(2 * s2, 4 / s2**2))
    assert linear_bound("cholesky", [[s2]]).cov_bound == pytest.approx(s2)
    assert linear_bound("log-cholesky", [[s2]]).cov_bound == pytest.approx(1.0)  # scale-free
    nat = linear_bound("natural", [[s2]])
    assert (nat.mean_bound, nat.cov_bound, nat.pd_limit, nat.alpha_max) == (2.0, 2.0, 1.0, 1.0)
    assert linear_bound("covariance", ILL_COV, sign=-1).alpha_max == 0.0


def test_cholesky_operator_is_a_symmetric_positive_definite_hessian():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((4, 4))
    cov = A @ A.T + 0.3 * np.eye(4)
    for log in (False, True):
        M = cholesky_operator(cov, log_diagonal=log)
        np.testing.assert_allclose(M, M.T, atol=1e-10)
        assert np.linalg.eigvalsh(M)[0] > 0


def _expected_update_run(param, cov, alpha, n=10_000, eps=1e-3):
    """Run the real kernels on a batch whose scatter is exactly the truth's:
    the points mu* +- sqrt(d) L e_k give mean r = mu* - mu and C = Sigma* + e e^T,
    which is the expected update. Returns the start and final distances to the truth."""
    d = cov.shape[0]
    L = np.linalg.cholesky(cov)
    batch = np.array([s * math.sqrt(d) * L[:, k] for k in range(d) for s in (1, -1)])
    rng = np.random.default_rng(1)
    A = rng.standard_normal((d, d)) * eps
    m0, c0 = rng.standard_normal(d) * eps, cov + 0.5 * (A + A.T)
    est = BatchEstimator(m0, c0, parameterization=param, alpha=alpha, batch_size=len(batch), symmetrize=True)
    est.advance(np.ascontiguousarray(np.tile(batch, (n, 1))), n)
    err0 = np.abs(c0 - cov).max() + np.abs(m0).max()
    return err0, np.abs(est.covs[0] - cov).max() + np.abs(est.means[0]).max(), est.divergence(0)


@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("cov", [ILL_COV, [[2.0]], [[0.3]], np.diag([0.5, 1.0, 3.0]),
                                 [[1.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 2.0]]])
def test_bounds_separate_stable_from_unstable_expected_updates(param, cov):
    cov = np.asarray(cov, dtype=float)
    b = linear_bound(param, cov)
    edge = min(b.mean_bound, b.cov_bound)  # the linear bound itself (natural: 2, not its PD limit)
    err0, err_below, div_below = _expected_update_run(param, cov, 0.97 * edge)
    _, err_above, _ = _expected_update_run(param, cov, 1.03 * edge)
    assert div_below is None and err_below < 1e-5 * err0  # 3 % below the bound: converges
    assert err_above > 2 * err0  # 3 % above: grows (or diverges)


def test_chain_bound_uses_the_truth_when_known():
    est = BatchEstimator([0.0, 0.0], np.eye(2) * 4.0, parameterization="covariance")
    assert chain_bound(est, 0, ILL_COV).basis == "true covariance"
    assert chain_bound(est, 0, ILL_COV).alpha_max == pytest.approx(linear_bound("covariance", ILL_COV).alpha_max)
    local = chain_bound(est, 0, None)
    assert local.basis == "current estimate" and local.alpha_max == pytest.approx(min(8.0, 64.0))


# ------------------------------------------------------------- empirical
def _full_runs(alpha, n_runs, n_updates):
    diverged = 0
    for r in range(n_runs):
        s = get_preset("ill-conditioned-covariance")
        s.estimator.alpha = alpha
        s.target.seed = 10_000 + r
        run = build_run(s, history_capacity=64)
        run.advance(n_updates)
        diverged += int(run.estimator.diverged[0])
    return diverged / n_runs


@pytest.mark.parametrize("alpha", [0.005, 0.01])
def test_forecast_agrees_with_independent_full_runs(alpha):
    """Ill-conditioned 2-D target, covariance, start (1, 1) and I: forecast from the start state
    vs the fraction of 200 independent runs (own seeds, the whole run loop) that diverge."""
    n, N = 200, 2000
    s = get_preset("ill-conditioned-covariance")
    f = empirical_forecast([1.0, 1.0], np.eye(2), s.estimator, build_source(s.target),
                           n_chains=n, n_updates=N, seed=77, alpha=alpha)
    p_full = _full_runs(alpha, n, N)
    p = 0.5 * (f.fraction + p_full)
    sigma = math.sqrt(2 * p * (1 - p) / n)
    assert 0.03 < p < 0.97  # an informative alpha, not all-or-nothing
    assert abs(f.fraction - p_full) < 3 * sigma, (f.fraction, p_full)
    assert f.n_chains == n and f.n_updates == N and set(f.reasons) == {"not-positive-definite"}
    assert 1 <= f.first_step <= f.median_step <= N


def test_forecast_is_far_stricter_than_the_linear_bound():
    s = get_preset("ill-conditioned-covariance")
    bound = linear_bound("covariance", ILL_COV).alpha_max
    f = empirical_forecast([1.0, 1.0], np.eye(2), s.estimator, build_source(s.target), alpha=bound / 8, seed=1)
    assert f.fraction > 0.5  # noise: most copies leave the PD cone at an eighth of the bound
    nat = empirical_forecast([1.0, 1.0], np.eye(2), {"parameterization": "natural"}, build_source(s.target),
                             alpha=bound / 8, seed=1)
    assert nat.fraction == 0.0


def test_forecast_continues_the_schedule_and_the_stored_state():
    s = get_preset("ill-conditioned-covariance")
    s.estimator.schedule = "inverse"
    src = build_source(s.target)
    early = empirical_forecast([1.0, 1.0], np.eye(2), s.estimator, src, alpha=0.5, steps=0, seed=2)
    late = empirical_forecast([1.0, 1.0], np.eye(2), s.estimator, src, alpha=0.5, steps=10**6, seed=2)
    assert early.fraction > 0.1 and late.fraction == 0.0  # a_t = 0.5 / (1 + 0.5 t) is tiny by then
    # the asymmetric part of a drifting covariance is in the stored parameter only
    run = build_run(get_preset("asymmetry-drift"))
    run.advance(5000)
    assert not run.estimator.diverged[0]
    with_state = forecast_chain(run.estimator, 0, run.source, n_chains=8, n_updates=4000, seed=3)
    est = run.estimator
    without = empirical_forecast(est.means[0], est.covs[0], est.settings(0), run.source,
                                 n_chains=8, n_updates=4000, seed=3)
    assert with_state.fraction == 1.0 and with_state.reasons == {"asymmetric": 8}
    assert without.fraction == 0.0


def test_forecast_leaves_the_run_alone():
    a = DriftingSource([0.0, 0.0], ILL_COV, drift_rate=0.01, rotation_rate=0.1, seed=4)
    b = DriftingSource([0.0, 0.0], ILL_COV, drift_rate=0.01, rotation_rate=0.1, seed=4)
    a.sample(500)
    b.sample(500)
    f = empirical_forecast(a.mean, a.cov, {"parameterization": "natural", "alpha": 0.02}, a,
                           n_chains=4, n_updates=300, seed=5)
    assert f.fraction == 0.0
    np.testing.assert_array_equal(a.sample(100), b.sample(100))
    run = build_run(get_preset("ill-conditioned-covariance"))
    run.advance(50)
    before = (run.estimator.means.copy(), run.estimator.stored.copy(), run.estimator.steps.copy())
    forecast_chain(run.estimator, 0, run.source, n_chains=4, n_updates=100, seed=1)
    after = (run.estimator.means, run.estimator.stored, run.estimator.steps)
    for x, y in zip(before, after):
        np.testing.assert_array_equal(x, y)


def test_same_seed_same_samples_so_the_forecast_is_smooth_in_alpha():
    s = get_preset("ill-conditioned-covariance")
    src = build_source(s.target)
    f1 = empirical_forecast([1.0, 1.0], np.eye(2), s.estimator, src, alpha=0.01)
    f2 = empirical_forecast([1.0, 1.0], np.eye(2), s.estimator, src, alpha=0.01)
    assert (f1.n_diverged, f1.first_step) == (f2.n_diverged, f2.first_step)


def test_forecast_rejects_bad_input():
    s = get_preset("ill-conditioned-covariance")
    src = build_source(s.target)
    with pytest.raises(ValueError, match="not positive definite"):
        empirical_forecast([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], s.estimator, src)
    with pytest.raises(ValueError, match="n_chains"):
        empirical_forecast([0.0, 0.0], np.eye(2), s.estimator, src, n_chains=0)
    with pytest.raises(ValueError, match="unknown key"):
        empirical_forecast([0.0, 0.0], np.eye(2), {"alpah": 0.1}, src)
    with pytest.raises(ValueError, match="dimension"):
        empirical_forecast([0.0], np.eye(1), s.estimator, src)


def test_time_budget_stops_early_and_reports_the_horizon_reached():
    from gaussviz.core.sources import GaussianSource

    d = 12
    src = GaussianSource(np.zeros(d), np.eye(d), seed=0)
    settings = {"parameterization": "log-cholesky", "alpha": 0.01}
    full = empirical_forecast(np.zeros(d), np.eye(d), settings, src, n_chains=4, n_updates=300, seed=1)
    short = empirical_forecast(np.zeros(d), np.eye(d), settings, src, n_chains=4, n_updates=10**6, seed=1,
                               time_budget=0.05)
    assert full.n_updates == 300 and full.fraction == 0.0
    assert 16 <= short.n_updates < 10**6 and short.seconds < 5.0
