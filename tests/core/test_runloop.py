"""Sources, the exact reference, metrics, history and the one run loop."""

import numpy as np
import pytest

from gaussviz.core.history import History
from gaussviz.core.metrics import eig_and_kl, kl_divergence, mean_loglik
from gaussviz.core.presets import PRESETS, get_preset
from gaussviz.core.reference import RunningMLE
from gaussviz.core.session import from_json, to_json
from gaussviz.core.settings import build_run
from gaussviz.core.sources import GaussianSource, SampleSource


def test_source_is_chunk_independent_and_seeded():
    a = GaussianSource([1.0, 2.0], [[2.0, 0.3], [0.3, 1.0]], seed=42)
    b = GaussianSource([1.0, 2.0], [[2.0, 0.3], [0.3, 1.0]], seed=42)
    c = GaussianSource([1.0, 2.0], [[2.0, 0.3], [0.3, 1.0]], seed=43)
    whole = a.sample(1000)
    parts = np.concatenate([b.sample(n) for n in (1, 7, 100, 392, 500)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, c.sample(1000))
    assert isinstance(a, SampleSource)


def test_source_moments_match_truth():
    cov = [[2.0, 0.3], [0.3, 1.0]]
    Y = GaussianSource([1.0, 2.0], cov, seed=1).sample(200_000)
    np.testing.assert_allclose(Y.mean(0), [1.0, 2.0], atol=0.01)
    np.testing.assert_allclose(np.cov(Y.T), cov, atol=0.02)


def test_running_mle_is_exact():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((5000, 3)) * 10 + 1e3  # offset tests numerical stability
    ref = RunningMLE(3)
    ends = np.array([1, 2, 10, 777, 4000])
    means, covs = ref.update_segments(Y[:4000], ends)
    for j, e in enumerate(ends):
        np.testing.assert_allclose(means[j], Y[:e].mean(0), rtol=1e-13)
        np.testing.assert_allclose(covs[j], np.cov(Y[:e].T, bias=True).reshape(3, 3), rtol=1e-9, atol=1e-9)
    ref.update(Y[4000:])
    np.testing.assert_allclose(ref.cov, np.cov(Y.T, bias=True), rtol=1e-10)
    assert ref.n == 5000


def test_kl_and_loglik_against_direct_formulas():
    rng = np.random.default_rng(1)
    for d in (1, 2, 4):
        A = rng.standard_normal((d, d))
        S = A @ A.T + np.eye(d)
        B = rng.standard_normal((d, d))
        T = B @ B.T + 0.5 * np.eye(d)
        m, t = rng.standard_normal(d), rng.standard_normal(d)
        P = np.linalg.inv(S)
        want = 0.5 * (np.trace(P @ T) + (m - t) @ P @ (m - t) - d
                      + np.linalg.slogdet(S)[1] - np.linalg.slogdet(T)[1])
        assert kl_divergence(t, T, m, S) == pytest.approx(want, rel=1e-10)
        eig, _ = eig_and_kl(m[None], S[None], t, T)
        np.testing.assert_allclose(eig[0], np.linalg.eigvalsh(S), rtol=1e-10)
        Y = rng.standard_normal((50, d))
        ll = np.mean([-0.5 * (d * np.log(2 * np.pi) + np.linalg.slogdet(S)[1] + (y - m) @ P @ (y - m))
                      for y in Y])
        assert mean_loglik(m, S, Y) == pytest.approx(ll, rel=1e-10)
    assert kl_divergence([0.0], [[1.0]], [0.0], [[-1.0]]) == np.inf


def test_history_stays_bounded_and_keeps_the_recent_end():
    h = History(1, 2, capacity=256)
    for start in range(0, 100_000, 100):
        steps = np.arange(start + 1, start + 101)
        R = steps.size
        h.append(steps, np.ones((1, R)), np.zeros((1, R, 2)), np.zeros((1, R, 2, 2)),
                 np.zeros((1, R, 2)), steps[None] * 1.0, np.zeros((1, R)),
                 np.zeros((R, 2)), np.zeros((R, 2, 2)), np.zeros(R))
    v = h.view()
    assert v.n <= 256
    assert v.steps[-1] == 100_000
    assert np.all(np.diff(v.steps) > 0)
    np.testing.assert_array_equal(v.kl[0], v.steps)  # values travel with their step
    assert v.steps[0] == 1
    # log-spaced detail survives at the start, linear coverage at the end
    assert np.sum(v.steps < 100) >= 10
    assert np.sum(v.steps > 50_000) >= 30
    with pytest.raises(ValueError):
        v.steps[0] = 5  # read-only


def test_run_loop_snapshots_are_immutable_and_consistent():
    run = build_run(get_preset("ill-conditioned-natural"))
    run.advance(3000)
    run.advance(2000)
    snap = run.snapshot()
    assert snap.step == 5000 and snap.n_samples == 5000
    c = snap.chain
    assert c.steps == 5000 and c.divergence is None
    assert snap.history.steps[-1] == 5000
    np.testing.assert_array_equal(snap.history.mean[0, -1], c.mean)
    assert snap.history.kl[0, -1] == pytest.approx(c.kl)
    assert snap.recent.shape == (5000, 2)
    with pytest.raises(ValueError):
        c.mean[0] = 1.0
    # the reference is the exact MLE of the very same samples
    Y = GaussianSource([0.0, 0.0], get_preset("ill-conditioned-natural").target.cov, seed=1).sample(5000)
    np.testing.assert_allclose(snap.ref_mean, Y.mean(0), rtol=1e-12)
    np.testing.assert_allclose(snap.recent, Y, rtol=0)


def test_run_loop_is_chunk_independent():
    a = build_run(get_preset("seed-question"))
    b = build_run(get_preset("seed-question"))
    a.advance(10_000)
    for n in (1, 99, 900, 9000):
        b.advance(n)
    sa, sb = a.snapshot(), b.snapshot()
    assert np.array_equal(sa.chain.cov, sb.chain.cov)
    np.testing.assert_allclose(sa.ref_cov, sb.ref_cov, rtol=1e-12)  # merge order differs: round-off only


def test_diverged_history_holds_no_fake_data_after_the_failure():
    run = build_run(get_preset("ill-conditioned-covariance"))
    run.advance(5000)
    snap = run.snapshot()
    div = snap.chain.divergence
    assert div is not None
    h = snap.history
    after = h.steps >= div.step
    assert after.any()
    assert np.all(np.isnan(h.kl[0, after]))
    assert np.all(np.isfinite(h.kl[0, ~after]))
    assert np.all(np.isfinite(snap.chain.cov))


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_roundtrip_through_json(name):
    s = get_preset(name)
    assert from_json(to_json(s)) == s


@pytest.mark.parametrize("text,fragment", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"target": {}, "start": {}}', "missing key 'estimator'"),
    ('{"format": 99, "target": {}, "start": {}, "estimator": {}}', "newer"),
    ('{"target": {"dim": "two"}, "start": {}, "estimator": {}}', "target.dim"),
    ('{"target": {}, "start": {}, "estimator": {"alpha": -1}}', "alpha"),
    ('{"target": {}, "start": {}, "estimator": {"colour": 1}}', "colour"),
])
def test_bad_sessions_are_explained(text, fragment):
    with pytest.raises(ValueError) as e:
        from_json(text)
    assert fragment in str(e.value)


def test_the_compiled_heldout_loglik_of_a_stack_matches_scipy_and_fails_safe():
    """metrics.mean_logliks (one compiled loop over the chains, used by every snapshot) against
    scipy's density, and -inf for what has no density or overflows, like mean_loglik."""
    from scipy.stats import multivariate_normal

    from gaussviz.core.metrics import mean_logliks

    rng = np.random.default_rng(7)
    for d in (1, 2, 3, 5):
        K = 4
        means = rng.standard_normal((K, d))
        covs = np.empty((K, d, d))
        for k in range(K):
            A = rng.standard_normal((d, d))
            covs[k] = A @ A.T + 0.3 * np.eye(d)
        covs[1] += 1e-3 * np.triu(np.ones((d, d)), 1)  # a little asymmetric: its symmetric part is used
        Y = rng.standard_normal((200, d))
        got = mean_logliks(means, covs, Y)
        for k in range(K):
            S = 0.5 * (covs[k] + covs[k].T)
            want = float(np.mean(multivariate_normal(means[k], S).logpdf(Y).reshape(-1)))
            assert got[k] == pytest.approx(want, rel=1e-10)
            assert got[k] == pytest.approx(mean_loglik(means[k], covs[k], Y), rel=1e-12)
        bad = covs.copy()
        bad[0] = -np.eye(d)  # not PD
        bad[1, 0, 0] = np.nan
        huge = means.copy()
        huge[2] = 1e200  # overflows
        got = mean_logliks(huge, bad, Y)
        assert got[0] == got[1] == got[2] == -np.inf and np.isfinite(got[3])
        for k in range(3):
            assert mean_loglik(huge[k], bad[k], Y) == -np.inf
