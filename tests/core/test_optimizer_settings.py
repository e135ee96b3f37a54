"""Optimizers above the kernels: settings, sessions, live changes, the run loop's averaged estimate."""

import json

import numpy as np
import pytest

from gaussviz.core import optimizers as opt
from gaussviz.core.metrics import eig_and_kl
from gaussviz.core.session import SessionError, from_json, read_session, replay, to_json
from gaussviz.core.settings import EstimatorSettings, Settings, build_run, from_dict, to_dict


def adam_settings(**est) -> Settings:
    s = Settings()
    s.estimator = EstimatorSettings(alpha=0.01, optimizer="adam", beta1=0.8, beta2=0.99, eps=1e-6,
                                    averaging=True, **est)
    return s


def test_settings_defaults_are_the_registry_defaults():
    e = EstimatorSettings()
    assert {k: getattr(e, k) for k in opt.DEFAULTS} == opt.DEFAULTS


def test_settings_reach_the_estimator_per_chain():
    s = adam_settings()
    s.compare = [EstimatorSettings(alpha=0.01, optimizer="nesterov", beta1=0.5), EstimatorSettings()]
    est = build_run(s).estimator
    assert est.optimizers == ["adam", "nesterov", "sgd"]
    got = [est.settings(k, full=True) for k in range(3)]
    assert [(g["beta1"], g["beta2"], g["eps"]) for g in got] == [(0.8, 0.99, 1e-6), (0.5, 0.999, 1e-8),
                                                                  (0.9, 0.999, 1e-8)]
    assert est.averaging.tolist() == [True, False, False]


@pytest.mark.parametrize("field,value,fragment", [
    ("optimizer", "adamw", "optimizer must be one of"),
    ("beta1", 1.0, "beta1 must be a number in [0, 1)"),
    ("beta2", -0.1, "beta2 must be a number in [0, 1)"),
    ("eps", 0.0, "eps must be a positive finite number"),
    ("averaging", 1, "averaging' must be bool"),
])
def test_bad_optimizer_settings_name_the_key(field, value, fragment):
    d = to_dict(Settings())
    d["estimator"][field] = value
    with pytest.raises(ValueError) as e:
        from_dict(d)
    assert fragment in str(e.value) and "estimator" in str(e.value)
    d = to_dict(Settings())
    d["compare"] = [dict(d["estimator"], **{field: value})]
    with pytest.raises(ValueError, match=r"compare\[0\]"):
        from_dict(d)


def test_riemannian_with_momentum_is_refused_in_a_session():
    d = to_dict(Settings())
    d["estimator"].update(parameterization="riemannian", optimizer="momentum")
    with pytest.raises(ValueError, match="takes optimizer 'sgd' only"):
        from_dict(d)


def test_an_old_session_without_the_optimizer_keys_loads_with_the_defaults(tmp_path):
    d = to_dict(Settings())
    for k in opt.DEFAULTS:
        del d["estimator"][k]
    p = tmp_path / "old.json"
    p.write_text(json.dumps(d))
    s = read_session(p)
    assert s.estimator.optimizer == "sgd" and s.estimator.averaging is False and s.estimator.eps == 1e-8


def test_a_session_round_trips_the_optimizer_and_a_bad_one_names_file_and_key(tmp_path):
    s = adam_settings()
    again = from_json(to_json(s))
    assert again.estimator == s.estimator
    d = to_dict(s)
    d["estimator"]["beta2"] = 1.5
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(d))
    with pytest.raises(SessionError) as e:
        read_session(p)
    assert "bad.json" in str(e.value) and "beta2" in str(e.value)


def test_optimizer_live_change_resets_the_state_and_replays_exactly():
    run = build_run(adam_settings())
    run.advance(500)
    assert run.estimator.optimizer_state(0)["t"] == 500
    run.apply_change("optimizer", ["momentum", 0.5, 0.99, 1e-8])
    st = run.estimator.optimizer_state(0)
    assert st["t"] == 0 and not np.any(st["moments_mu"]) and not np.any(st["moments_stored"])
    run.advance(300)
    run.apply_change("alpha", 0.005)  # keeps the state (docs/MATH.md)
    assert run.estimator.optimizer_state(0)["t"] == 300
    run.apply_change("averaging", False)
    run.advance(200)
    assert [c["field"] for c in run.changes] == ["optimizer", "alpha", "averaging"]
    assert run.changes[0]["value"] == ["momentum", 0.5, 0.99, 1e-8]
    again = replay(from_json(to_json(from_dict(run.session()))), chunk=77)
    assert again.step == 1000
    np.testing.assert_array_equal(again.estimator.means, run.estimator.means)
    np.testing.assert_array_equal(again.estimator.stored, run.estimator.stored)


def test_bad_optimizer_live_changes_change_nothing():
    run = build_run(adam_settings())
    run.advance(10)
    for v in (["adam", 1.0, 0.9, 1e-8], ["nope", 0.9, 0.9, 1e-8], "adam", ["adam", 0.9, 0.9, -1.0]):
        with pytest.raises(ValueError):
            run.apply_change("optimizer", v)
    with pytest.raises(ValueError):
        run.apply_change("averaging", "yes")
    assert run.changes == [] and run.estimator.optimizer_state(0)["t"] == 10
    s = Settings()
    s.estimator.parameterization = "riemannian"
    run = build_run(s)
    with pytest.raises(ValueError, match="sgd' only"):
        run.apply_change("optimizer", ["adam", 0.9, 0.999, 1e-8])
    assert run.estimator.optimizers == ["sgd"]


def test_the_averaged_estimate_and_its_kl_curve():
    s = adam_settings()
    s.compare = [EstimatorSettings(alpha=0.01)]  # no average: NaN
    run = build_run(s)
    run.run_to(2345, chunk=1000)
    snap = run.snapshot()
    c0, c1 = snap.chains
    est = run.estimator
    np.testing.assert_array_equal(c0.avg_cov, est.averaged_covs[0])
    np.testing.assert_array_equal(c0.avg_mean, est.averaged_means[0])
    kl = eig_and_kl(est.averaged_means[:1], est.averaged_covs[:1], snap.true_mean, snap.true_cov)[1][0]
    assert c0.avg_kl == pytest.approx(kl, rel=1e-12)
    assert c1.avg_cov is None and np.isnan(c1.avg_kl)
    h = snap.history
    assert h.avg_kl.shape == h.kl.shape
    assert np.all(np.isfinite(h.avg_kl[0])) and np.all(np.isnan(h.avg_kl[1]))
    assert h.avg_kl[0, -1] == pytest.approx(kl, rel=1e-12)
    # the average of a noisy constant-rate chain is closer to the truth than the chain itself
    assert c0.avg_kl < c0.kl
    # the recorded states are the same as without averaging (reading the average changes no number)
    s2 = adam_settings()
    s2.estimator.averaging = False
    s2.compare = [EstimatorSettings(alpha=0.01)]
    plain = build_run(s2).run_to(2345, chunk=1000)
    np.testing.assert_array_equal(plain.snapshot().history.kl, h.kl)
    tail = h.last(100)
    assert tail.avg_kl.shape == tail.kl.shape and np.all(np.isfinite(tail.avg_kl[0]))


@pytest.mark.parametrize("optimizer", opt.NAMES)
def test_the_windows_forecast_works_for_every_optimizer(optimizer):
    """capture + compute (the window's route): the bound under the optimizer, or "no closed form";
    the empirical forecast continues the chain's moments (equal to forecast_chain's numbers)."""
    from gaussviz.core.forecast import capture, compute, forecast_chain, forecast_seed, optimizer_bound, verdict

    s = adam_settings()
    s.estimator.optimizer, s.estimator.alpha, s.estimator.symmetrize = optimizer, 0.05, True
    run = build_run(s)
    run.advance(200)
    job = capture(run, 1, n_chains=8)
    assert job.optimizer_state["t"] == (0 if optimizer == "sgd" else 200)
    res = compute(job, n_updates=1500)
    assert res.forecast is not None and res.forecast.n_chains == 8
    want = optimizer_bound("covariance", run.source.cov, optimizer, 0.8)
    assert res.bound.alpha_max == want.alpha_max
    _level, text = verdict(res)
    if opt.get(optimizer).bound_factor is None:
        assert res.bound.alpha_max is None and f"linear bound: no closed form ({optimizer})" in text
    else:
        assert f"linear bound: α < {want.alpha_max:.3g}" in text
    again = forecast_chain(run.estimator, 0, run.source, n_chains=8, n_updates=1500,
                           seed=forecast_seed(run.source))
    assert (again.n_diverged, again.first_step) == (res.forecast.n_diverged, res.forecast.first_step)
