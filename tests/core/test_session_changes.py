"""Live changes are recorded and a session replays them at the same update."""

import json

import numpy as np
import pytest

from gaussviz.core.presets import get_preset
from gaussviz.core.session import from_json, replay, to_json
from gaussviz.core.settings import build_run, from_dict


def live_run():
    run = build_run(get_preset("ill-conditioned-covariance"))
    run.advance(50)
    run.apply_change("alpha", 0.004)
    run.advance(333)
    run.apply_change("parameterization", "natural")
    run.apply_change("schedule", "inverse-sqrt")
    run.advance(1000)
    run.apply_change("parameterization", "covariance")
    run.apply_change("schedule", "constant")
    run.apply_change("sign", ["loglik", "descent"])  # walks away: will diverge
    for _ in range(40):
        run.advance(100)
        if run.all_diverged:
            break
    assert run.all_diverged
    run.apply_change("sign", ["neg-loglik", "descent"])
    run.apply_change("resume")
    run.advance(777)
    return run


def test_changes_are_recorded_with_their_step():
    run = live_run()
    fields = [(c["step"], c["field"]) for c in run.changes]
    assert fields[:6] == [(50, "alpha"), (383, "parameterization"), (383, "schedule"),
                          (1383, "parameterization"), (1383, "schedule"), (1383, "sign")]
    assert fields[-1][1] == "resume" and fields[-2][1] == "sign"
    s = run.session()
    assert s["steps"] == run.step and s["changes"] == run.changes
    assert s["estimator"]["alpha"] == 0.02  # the settings at step 0, not the current ones


def test_session_replays_the_live_changes_exactly():
    run = live_run()
    snap = run.snapshot()
    text = to_json(from_dict(snap.session))
    again = replay(from_json(text), chunk=97)  # chunked differently from the original
    s2 = again.snapshot()
    assert s2.step == snap.step
    assert np.array_equal(s2.chain.mean, snap.chain.mean)
    assert np.array_equal(s2.chain.cov, snap.chain.cov)
    assert s2.chain.settings == snap.chain.settings
    assert again.changes == run.changes
    np.testing.assert_allclose(s2.ref_cov, snap.ref_cov, rtol=1e-12)
    # the history is recorded at chunk-dependent steps: compare where both have a point
    common, i1, i2 = np.intersect1d(snap.history.steps, s2.history.steps, return_indices=True)
    assert common.size >= 5 and common[-1] == snap.step
    np.testing.assert_allclose(s2.history.kl[0][i2], snap.history.kl[0][i1], rtol=1e-12)
    np.testing.assert_array_equal(s2.history.mean[0][i2], snap.history.mean[0][i1])


def test_without_the_timeline_the_replay_differs():
    """The test above can fail: dropping the changes gives other numbers."""
    run = live_run()
    d = run.session()
    d["changes"] = []
    other = replay(from_dict(d))
    assert not np.array_equal(other.snapshot().chain.cov, run.snapshot().chain.cov)


@pytest.mark.parametrize("changes,fragment", [
    ([{"step": 5, "chain": 0, "field": "colour", "value": 1}], "field"),
    ([{"step": -1, "chain": 0, "field": "alpha", "value": 0.1}], "step"),
    ([{"step": 9, "chain": 0, "field": "alpha", "value": 0.1},
      {"step": 3, "chain": 0, "field": "alpha", "value": 0.1}], "in order"),
    ([{"step": 5, "chain": 3, "field": "alpha", "value": 0.1}], "chain"),
    ([{"step": 5, "field": "alpha", "value": 0.1}], "keys"),
    ("often", "list"),
])
def test_bad_timelines_are_explained(changes, fragment):
    d = json.loads(to_json(get_preset("seed-question")))
    d["changes"] = changes
    with pytest.raises(ValueError) as e:
        from_dict(d)
    assert fragment in str(e.value)


def test_a_bad_value_in_the_timeline_names_the_update():
    d = json.loads(to_json(get_preset("seed-question")))
    d["changes"] = [{"step": 10, "chain": 0, "field": "alpha", "value": -1}]
    d["steps"] = 20
    with pytest.raises(ValueError, match="update 10"):
        replay(from_dict(d))


def test_a_rejected_live_change_is_not_recorded():
    run = build_run(get_preset("seed-question"))
    with pytest.raises(ValueError):
        run.apply_change("alpha", 0.0)
    with pytest.raises(ValueError):
        run.apply_change("parameterization", "polar")
    assert run.changes == []
