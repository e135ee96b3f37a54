"""Going back in a run (core/timetravel.py): one update's anatomy, replay from checkpoints, scrubbing
and branching reproduce a fresh replay's state bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core import timetravel as tt
from gaussviz.core.parameterizations import NAMES
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import EstimatorSettings, build_run, from_dict


def _same(a: dict, b: dict) -> None:
    for k, v in a.items():
        assert np.array_equal(v, b[k]), k


def _same_run(r1, r2) -> None:
    """Estimator state bit for bit, the running MLE to round-off (it depends on the chunking)."""
    _same(tt.state_of(r1), tt.state_of(r2))
    np.testing.assert_allclose(r1.reference.mean, r2.reference.mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r1.reference.cov, r2.reference.cov, rtol=1e-12)


def _live_run(preset: str = "seed-question", changes=((300, "alpha", 0.01),)):
    """A run with live changes made along the way (as the window's worker makes them)."""
    run = build_run(get_preset(preset))
    for step, name, value in changes:
        run.advance(step - run.step)
        run.apply_change(name, value)
    return run


@pytest.mark.parametrize("rule", NAMES)
def test_the_anatomy_of_one_update_is_the_rules_formula(rule):
    s = get_preset("seed-question")
    s.estimator.parameterization = rule
    s.estimator.alpha = 0.01
    run = build_run(s)
    run.advance(40)
    a = tt.take_update(run)
    assert a.step == 41 == run.step and a.y.shape == (1, 1) and a.divergence is None
    mu, S, y = float(a.mu_before[0]), float(a.sigma_before[0, 0]), float(a.y[0, 0])
    r = y - mu
    assert a.r[0, 0] == r
    np.testing.assert_array_equal(a.mu_after, run.estimator.means[0])
    dm = float(a.mean_step[0])
    ds = float(a.cov_step[0, 0])
    if rule in ("covariance", "cholesky", "log-cholesky", "precision"):
        assert dm == pytest.approx(0.01 * r / S, rel=1e-9)
    else:
        assert dm == pytest.approx(0.01 * r, rel=1e-9)
    if rule == "covariance":
        assert ds == pytest.approx(0.01 * (r * r - S) / (2 * S * S), rel=1e-9)
    elif rule == "natural":
        assert ds == pytest.approx(0.01 * (r * r - S), rel=1e-9)
    text = a.text()
    assert text.startswith("update 41 · " + rule) and "sample y = " in text and "taken: Σ" in text
    assert "<" not in text  # plain text, no markup


def test_the_anatomy_of_a_failing_update_says_it_was_not_applied():
    run = build_run(get_preset("wrong-sign-descent"))
    run.advance(2021)
    a = tt.take_update(run)
    assert a.divergence is not None and "NOT APPLIED" in a.text()
    np.testing.assert_array_equal(a.sigma_after, a.sigma_before)


def test_d2_anatomy_names_the_rule_and_its_matrices():
    run = build_run(get_preset("ill-conditioned-natural"))
    run.advance(10)
    a = tt.take_update(run)
    assert a.y.shape == (1, 2) and "Σ += α s (C − Σ)" in a.text()
    np.testing.assert_allclose(a.cov_step, 0.02 * (np.outer(a.r[0], a.r[0]) - a.sigma_before), rtol=1e-9)


@pytest.mark.parametrize("target", [0, 1, 99, 100, 101, 357, 1000])
def test_replay_from_checkpoints_is_a_fresh_replay_bit_for_bit(target):
    run = _live_run()
    run.advance(1200 - run.step)
    rw = tt.Rewinder(run.session(), every=100, keep=4)
    fresh = build_run(from_dict(run.session())).run_to(target)
    _same_run(rw.run_at(target), fresh)
    # again, now from the checkpoints the first replay left
    _same_run(rw.run_at(target), fresh)
    assert len(rw._checkpoints) <= 4


def test_going_back_shows_the_same_update_as_going_forward():
    run = _live_run()
    run.advance(500 - run.step)
    rw = tt.Rewinder(run.session(), every=128)
    forward = []
    for _ in range(3):
        forward.append(tt.take_update(run))
    for a in reversed(forward):
        back_run, b = rw.anatomy_at(a.step)
        assert back_run.step == a.step
        for f in ("y", "mu_before", "sigma_before", "mu_after", "sigma_after", "stored_after"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f
        assert a.text() == b.text()


def test_branch_replays_exactly_then_goes_its_own_way_reproducibly():
    run = _live_run(changes=((300, "alpha", 0.01), (700, "alpha", 0.05)))
    run.advance(1000 - run.step)
    rw = tt.Rewinder(run.session(), every=250)
    # scrubbed back to 500 and continued with the same settings: the original's state there
    same = rw.branch(500)
    _same_run(same, build_run(from_dict(run.session())).run_to(500))
    assert [c["step"] for c in same.session()["changes"]] == [300]  # the change at 700 is gone
    # continued with other settings: alpha 0.003 from update 501 on, recorded as a live change
    est = EstimatorSettings(parameterization="covariance", alpha=0.003)
    b = rw.branch(500, est)
    assert b.session()["changes"][-1] == {"step": 500, "chain": 0, "field": "alpha", "value": 0.003}
    b.advance(400)
    again = build_run(from_dict(b.session())).run_to(900)
    _same_run(b, again)
    assert b.estimator.settings(0)["alpha"] == 0.003


def test_snapshot_at_a_recorded_point_shows_that_point():
    run = build_run(get_preset("ill-conditioned-covariance"))
    run.advance(200)
    snap = run.snapshot()
    h = snap.history
    i = int(np.flatnonzero(h.steps == 40)[0])  # before the divergence at update 85
    past = tt.snapshot_at(snap, i)
    assert past.step == int(h.steps[i]) and past.history.n == i + 1 and past.recent.shape[0] == 0
    assert np.array_equal(past.chain.mean, h.mean[0, i]) and np.array_equal(past.chain.cov, h.cov[0, i])
    assert np.array_equal(past.ref_mean, h.ref_mean[i]) and past.extra["scrub"] == i
    with pytest.raises(ValueError, match="history point"):
        tt.snapshot_at(snap, h.n)
    # after the divergence (update 85), a later point shows the last good state and the divergence
    last = tt.snapshot_at(snap, h.n - 1)
    assert last.chain.divergence is not None and np.all(np.isfinite(last.chain.mean))


def test_d2_anatomy_weighs_the_step_against_the_smallest_eigenvalue():
    """d >= 2: the eigenvalues of Σ before and after, and the step's size against the smallest one
    (a step that large can leave the positive-definite cone: the seed's covariance rule)."""
    run = build_run(get_preset("ill-conditioned-natural"))
    run.advance(10)
    a = tt.take_update(run)
    before, after, size, ratio = tt.step_against_spectrum(a)
    np.testing.assert_allclose(before, np.linalg.eigvalsh(a.sigma_before), rtol=1e-12)
    np.testing.assert_allclose(after, np.linalg.eigvalsh(a.sigma_after), rtol=1e-12)
    assert size == pytest.approx(np.linalg.norm(a.cov_step, 2), rel=1e-9)
    assert ratio == pytest.approx(size / before[0], rel=1e-12)
    text = a.text()
    assert "λ(Σ):" in text and "× the smallest λ" in text and "<" not in text
    # the covariance rule nearing the edge (what-am-i-missing fails at update 85): its step grows
    # against the smallest eigenvalue update after update (it scales like inv(Σ)²)
    ratios = []
    for n in (79, 84):
        run = build_run(get_preset("what-am-i-missing"))
        run.advance(n - 1)
        ratios.append(tt.step_against_spectrum(tt.take_update(run))[3])
    assert ratios[1] > 3 * ratios[0] and ratios[1] < 1
    a = tt.take_update(run)  # update 85: not applied, so no step is weighed
    assert a.divergence is not None and a.step == 85
    assert "NOT APPLIED" in a.text() and "step's size" not in a.text() and "λ(Σ):" in a.text()
    # a step as large as the smallest eigenvalue is said to be able to leave the cone
    big = tt.UpdateAnatomy(**{**a.__dict__, "divergence": None, "sigma_before": np.diag([1.0, 0.1]),
                              "sigma_after": np.diag([1.0, -0.05])})
    assert tt.step_against_spectrum(big)[3] == pytest.approx(1.5)
    assert "can leave the positive-definite cone" in big.text()
