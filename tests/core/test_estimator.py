"""The seed's scenarios, the sign conventions, streaming and batching."""

import numpy as np
import pytest

from gaussviz.core import BatchEstimator, Estimator
from gaussviz.core.metrics import kl_divergence
from gaussviz.core.parameterizations import NAMES, PARAMETERIZATIONS
from gaussviz.core.presets import ILL_COV
from gaussviz.core.sources import GaussianSource

PARAMS = list(NAMES)  # every update rule in the registry


def ill_samples(n, seed):
    return GaussianSource([0.0, 0.0], ILL_COV, seed).sample(n)


def test_ill_target_has_the_eigenvalues_of_math_md():
    np.testing.assert_allclose(np.linalg.eigvalsh(ILL_COV), [0.21, 1.29], atol=0.005)


def test_seed_question_converges_and_stays_pd():
    Y = GaussianSource([0.0], [[1.0]], seed=0).sample(100_000)
    est = Estimator([0.0], [[1.0]], parameterization="covariance", alpha=0.002)
    assert est.update(Y) == 100_000
    assert est.divergence is None
    assert abs(est.mean[0]) < 0.1
    assert abs(est.cov[0, 0] - 1.0) < 0.1
    assert est.steps == 100_000


@pytest.mark.parametrize("objective,direction", [("loglik", "descent"), ("neg-loglik", "ascent")])
def test_wrong_sign_diverges(objective, direction):
    Y = GaussianSource([0.0], [[1.0]], seed=0).sample(100_000)
    est = Estimator([0.0], [[1.0]], alpha=0.002, objective=objective, direction=direction)
    n = est.update(Y)
    div = est.divergence
    assert div is not None and n < 100_000
    assert div.step == n + 1
    assert div.reason in ("not-positive-definite", "exploded", "non-finite")
    assert f"update {div.step}" in div.message
    # the last good state is kept, finite and PD, and further updates apply nothing
    assert np.all(np.isfinite(est.cov)) and est.cov[0, 0] > 0
    assert est.update(Y[:10]) == 0
    assert est.steps == n


def test_correct_sign_pairs_are_bit_identical_and_wrong_pairs_walk_away():
    Y = ill_samples(3000, 3)
    runs = {}
    for obj, dirn in [("loglik", "ascent"), ("neg-loglik", "descent"), ("loglik", "descent"),
                      ("neg-loglik", "ascent")]:
        est = Estimator([0.5, 0.5], np.eye(2), alpha=0.005, objective=obj, direction=dirn,
                        symmetrize=True)
        traj = []
        for k in range(0, 3000, 100):
            est.update(Y[k:k + 100])
            traj.append((est.mean, est.cov))
        runs[(obj, dirn)] = (est, traj)
    (a, ta), (_, tb) = runs[("loglik", "ascent")], runs[("neg-loglik", "descent")]
    for (ma, ca), (mb, cb) in zip(ta, tb):
        assert np.array_equal(ma, mb) and np.array_equal(ca, cb)
    kl_good = kl_divergence([0, 0], ILL_COV, a.mean, a.cov)
    kl_start = kl_divergence([0, 0], ILL_COV, [0.5, 0.5], np.eye(2))
    assert kl_good < kl_start / 10
    for pair in [("loglik", "descent"), ("neg-loglik", "ascent")]:
        est, traj = runs[pair]
        # away from the MLE: either it diverged or its KL grew from the start
        kl = kl_divergence([0, 0], ILL_COV, est.mean, est.cov)
        assert est.divergence is not None or kl > kl_start


def test_ill_conditioned_covariance_leaves_pd_cone_but_log_cholesky_and_natural_do_not():
    left = {p: 0 for p in ("covariance", "log-cholesky", "natural")}
    for seed in range(8):
        Y = ill_samples(5000, seed)
        for p in left:
            est = Estimator([1.0, 1.0], np.eye(2), parameterization=p, alpha=0.02, symmetrize=True)
            est.update(Y)
            if est.divergence is not None:
                assert est.divergence.reason == "not-positive-definite"
                assert "positive-definite cone" in est.divergence.message
                left[p] += 1
    assert left["covariance"] >= 5, left
    assert left["log-cholesky"] == 0 and left["natural"] == 0, left


def test_asymmetry_drift_stops_without_symmetrize_and_not_with_it():
    Y = ill_samples(30_000, 0)
    est = Estimator([1.0, 1.0], np.eye(2), alpha=0.002, symmetrize=False)
    est.update(Y[:20_000])
    assert est.divergence is not None
    assert est.divergence.reason == "asymmetric"
    assert est.divergence.step <= 20_000
    c = est.cov  # the last good state is still (almost) symmetric
    assert np.linalg.norm(c - c.T) <= 1e-6 * np.linalg.norm(c)
    sym = Estimator([1.0, 1.0], np.eye(2), alpha=0.002, symmetrize=True)
    assert sym.update(Y) == 30_000
    assert sym.divergence is None
    assert np.array_equal(sym.cov, sym.cov.T)
    assert kl_divergence([0, 0], ILL_COV, sym.mean, sym.cov) < 0.05


def test_natural_inverse_schedule_is_the_running_average_with_a_pseudo_sample():
    rng = np.random.default_rng(7)
    d, n = 3, 500
    Y = rng.standard_normal((n, d)) * [1.0, 2.0, 0.5] + [1.0, -1.0, 0.0]
    mu0, S0 = np.array([0.3, 0.1, -0.2]), np.diag([2.0, 1.0, 3.0])
    est = Estimator(mu0, S0, parameterization="natural", alpha=0.5, schedule="inverse")
    mu, S = mu0.copy(), S0.copy()
    sum_y, sum_rr = mu0.copy(), S0.copy()
    for t, y in enumerate(Y, start=1):
        r = y - mu  # residual against the previous mean
        sum_y += y
        sum_rr += np.outer(r, r)
        mu, S = sum_y / (t + 1), sum_rr / (t + 1)
        est.update(y[None])
        np.testing.assert_allclose(est.mean, mu, rtol=0, atol=1e-12)
        np.testing.assert_allclose(est.cov, S, rtol=0, atol=1e-12)
    assert est.alpha_t == pytest.approx(1.0 / (n + 2))


@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("batch", [1, 3])
def test_stream_splitting_gives_the_same_result(param, batch):
    Y = ill_samples(1000, 1)
    whole = Estimator([0.2, 0.1], np.eye(2), parameterization=param, alpha=0.01,
                      batch_size=batch, symmetrize=True)
    whole.update(Y)
    pieces = Estimator([0.2, 0.1], np.eye(2), parameterization=param, alpha=0.01,
                       batch_size=batch, symmetrize=True)
    rng = np.random.default_rng(0)
    cuts = np.sort(rng.choice(np.arange(1, 1000), size=60, replace=False))
    total = 0
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, 1000]):
        total += pieces.update(Y[a:b])
    assert total == whole.steps == 1000 // batch
    assert pieces.pending == 1000 % batch
    assert np.array_equal(whole.mean, pieces.mean)
    assert np.array_equal(whole.cov, pieces.cov)


def test_batched_chains_equal_single_runs():
    alphas = [0.001, 0.01, 0.05, 0.2]
    Y = ill_samples(4000, 2)
    batch = BatchEstimator([1.0, 1.0], np.eye(2), parameterization=PARAMS[:4], alpha=alphas,
                           symmetrize=True, n_chains=4)
    batch.advance(Y)
    for k, (p, a) in enumerate(zip(PARAMS[:4], alphas)):
        single = Estimator([1.0, 1.0], np.eye(2), parameterization=p, alpha=a, symmetrize=True)
        single.update(Y)
        assert batch.steps[k] == single.steps
        assert np.array_equal(batch.means[k], single.mean)
        assert np.array_equal(batch.covs[k], single.cov)
        assert (batch.divergence(k) is None) == (single.divergence is None)
        if single.divergence is not None:
            assert batch.divergence(k) == single.divergence


def test_batched_streams_per_chain_and_per_chain_divergence():
    # two streams, four chains: chain k reads stream k % 2
    Y = np.stack([ill_samples(3000, 10), ill_samples(3000, 11)])
    b = BatchEstimator([1.0, 1.0], np.eye(2), parameterization=["covariance", "natural"] * 2,
                       alpha=0.05, symmetrize=True, n_chains=4)
    b.advance(Y, streams=np.array([0, 0, 1, 1]))
    for k in range(4):
        s = Estimator([1.0, 1.0], np.eye(2), parameterization=b.parameterizations[k], alpha=0.05,
                      symmetrize=True)
        s.update(Y[k // 2])
        assert np.array_equal(b.covs[k], s.cov)
    divs = b.divergences()
    assert divs[1] is None and divs[3] is None  # natural never leaves the cone
    assert divs[0] is not None  # covariance at 0.05 does


def test_live_changes_keep_mean_and_covariance():
    Y = ill_samples(2000, 4)
    est = Estimator([1.0, 1.0], np.eye(2), parameterization="natural", alpha=0.01, symmetrize=True)
    assert est.update(Y[:1000]) == 1000
    m, c = est.mean, est.cov
    for p in PARAMS:
        est.set_parameterization(p)
        np.testing.assert_allclose(est.mean, m, atol=0)
        np.testing.assert_allclose(est.cov, c, rtol=1e-12, atol=1e-12)
    est.alpha = 0.003
    assert est.alpha_t == 0.003
    est.schedule = "inverse"
    assert est.alpha_t == pytest.approx(0.003 / (1 + 0.003 * 1000))
    est.schedule = "inverse-sqrt"
    assert est.alpha_t == pytest.approx(0.003 / np.sqrt(1001))
    est.set_parameterization("log-cholesky")
    est.set_sign("neg-loglik", "descent")
    est.update(Y[1000:])
    assert est.steps == 2000 and est.divergence is None


def test_resume_continues_from_the_last_good_state():
    Y = GaussianSource([0.0], [[1.0]], seed=0).sample(20_000)
    est = Estimator([0.0], [[1.0]], alpha=0.002, direction="descent")
    n = est.update(Y)
    assert est.divergence is not None
    good = est.cov.copy()
    est.set_sign("loglik", "ascent")
    est.resume()
    assert est.divergence is None
    assert np.array_equal(est.cov, good)
    assert est.update(Y[n:]) > 0


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(parameterization="cov"), "parameterization"),
    (dict(objective="likelihood"), "objective"),
    (dict(direction="up"), "direction"),
    (dict(schedule="cosine"), "schedule"),
    (dict(alpha=0.0), "alpha"),
    (dict(alpha=-1e-3), "alpha"),
    (dict(alpha=float("nan")), "alpha"),
    (dict(alpha=float("inf")), "alpha"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(cov=[[1.0, 0.5], [0.4, 1.0]]), "symmetric"),
    (dict(cov=[[1.0, 2.0], [2.0, 1.0]]), "positive definite"),
    (dict(cov=[[1.0, 0.0, 0.0]] * 3), "shape (2, 2)"),
    (dict(mean=[0.0, np.nan]), "mean"),
    (dict(mean=[[0.0, 1.0]]), "mean"),
])
def test_invalid_arguments_raise_clear_value_errors(kwargs, fragment):
    args = dict(mean=[0.0, 0.0], cov=np.eye(2))
    args.update(kwargs)
    with pytest.raises(ValueError) as e:
        Estimator(**args)
    assert fragment in str(e.value)


@pytest.mark.parametrize("Y,fragment", [
    (np.array([[0.0, np.nan]]), "row 0"),
    (np.array([[0.0, 1.0], [np.inf, 1.0]]), "row 1"),
    (np.zeros((3, 3)), "shape (n, 2)"),
    ("abc", "Y"),
])
def test_invalid_samples_raise(Y, fragment):
    est = Estimator([0.0, 0.0], np.eye(2))
    with pytest.raises(ValueError) as e:
        est.update(Y)
    assert fragment in str(e.value)
    assert est.steps == 0


def test_invalid_live_changes_leave_state_alone():
    est = Estimator([0.0], [[1.0]], alpha=0.01)
    with pytest.raises(ValueError, match="alpha"):
        est.alpha = -3
    with pytest.raises(ValueError, match="parameterization"):
        est.set_parameterization("polar")
    assert est.alpha == 0.01 and est.parameterization == "covariance"


def test_d1_accepts_both_shapes():
    a = Estimator([0.0], [[1.0]])
    b = Estimator(0.0, 1.0)
    Y = np.linspace(-1, 1, 11)
    a.update(Y[:, None])
    b.update(Y)
    assert a.mean.shape == (1,) and a.cov.shape == (1, 1)
    assert np.array_equal(a.cov, b.cov)


@pytest.mark.parametrize("param", [p for p in PARAMS if PARAMETERIZATIONS[p].linear_step])  # riemannian: its own
@pytest.mark.parametrize("sym", [False, True])                                                 # 2x2 path, tested in
@pytest.mark.parametrize("n", [1, 5])                                                          # test_riemannian.py
def test_closed_form_2x2_path_is_bit_identical_to_the_general_path(param, sym, n):
    """d = 2 runs a scalar kernel; it must compute exactly what the general d kernel computes."""
    from gaussviz.core import kernels as kn
    from gaussviz.core.estimator import sigma_to_stored
    from gaussviz.core.parameterizations import PARAMETERIZATIONS

    code = PARAMETERIZATIONS[param].code
    rng = np.random.default_rng(n + 10 * sym)
    d = 2
    scratch = [np.empty((d, d)) for _ in range(5)] + [np.empty(d) for _ in range(4)]
    sigma, P, G, C, work = scratch[:5]
    rbar, r, u, w = scratch[5:]
    piv = np.empty(d, dtype=np.int64)
    for _ in range(200):
        A = rng.standard_normal((d, d))
        th = sigma_to_stored(code, A @ A.T + 0.2 * np.eye(d))
        if not sym and param in ("covariance", "precision"):
            th[0, 1] += 1e-9  # exercise the asymmetric path too
        mu = rng.standard_normal(d)
        Y = rng.standard_normal((n, d)) * 2
        a, s = 10 ** rng.uniform(-3, 0), rng.choice([-1.0, 1.0])
        mu_g, th_g = mu.copy(), th.copy()
        ok = kn.one_update(code, sym, s, a, mu_g, th_g, Y, 0, n, sigma, P, G, rbar, C, r, u, w, work, piv)
        st_g = kn.check_state(code, sym, mu_g, th_g, th, work, np.empty((d, d)), np.empty(d))[0] if ok else kn.NOT_PD
        mu_s, th_s = mu.copy(), th.copy()
        st_s = kn._step2(code, sym, s, a, mu_s, th_s, Y, 0, n)[0]
        assert st_s == st_g
        if st_s == kn.OK:
            assert np.array_equal(mu_s, mu_g) and np.array_equal(th_s, th_g)
