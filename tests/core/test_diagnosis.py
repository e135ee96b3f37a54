"""Why a run diverged (core/diagnosis.py): each cause from a real run, and the words carry the run's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core.diagnosis import CAUSES, diagnose, diagnose_chain
from gaussviz.core.forecast import linear_bound
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import Settings, build_run


def _run(s: Settings, steps: int):
    snap = build_run(s.validate()).run_to(steps).snapshot()
    d = snap.true_cov.shape[0]
    return snap, [diagnose_chain(c, snap.true_cov, s.start.cov_scale * np.eye(d), s.target.kind)
                  for c in snap.chains]


def _preset(name: str, **changes) -> Settings:
    s = get_preset(name)
    for path, v in changes.items():
        section, key = path.split("__")
        setattr(getattr(s, section), key, v)
    return s


def test_wrong_sign():
    for change in ({"estimator__direction": "descent"}, {"estimator__objective": "neg-loglik"}):
        snap, (dg,) = _run(_preset("seed-question", **change), 20_000)
        assert snap.chain.divergence is not None and dg.cause == "wrong-sign"
        assert "the sign is wrong" in dg.text and "walks away" in dg.text
        assert f"before update {snap.chain.divergence.step:,}" in dg.text
        assert "shrank" in dg.text  # Sigma shrank from 1 towards zero: read from the last state


def test_asymmetry_drift():
    snap, (dg,) = _run(get_preset("asymmetry-drift"), 40_000)
    assert snap.chain.divergence.reason == "asymmetric" and dg.cause == "asymmetry-drift"
    assert "--symmetrize" in dg.text and "1 + alpha / (2 l_i l_j)" in dg.text
    lo = float(np.linalg.eigvalsh(snap.chain.cov)[0])
    assert f"{1 + 0.002 / (2 * lo * lo):.6g} per update" in dg.text  # computed from the state at divergence


@pytest.mark.parametrize("param", ["covariance", "cholesky"])
def test_step_too_large_for_the_smallest_eigenvalue(param):
    s = _preset("ill-conditioned-covariance", estimator__alpha=0.6, estimator__parameterization=param)
    snap, (dg,) = _run(s, 5_000)
    assert snap.chain.divergence is not None and dg.cause == "step-too-large"
    bound = linear_bound(param, snap.true_cov).alpha_max
    assert 0 < bound < 0.6
    assert f"only for alpha < {bound:.3g}" in dg.text and "smallest eigenvalue 0.209" in dg.text


def test_step_too_large_from_any_settings_not_a_preset():
    """A 3-D target with condition number 100: the same cause, this run's numbers."""
    s = Settings()
    s.target.dim, s.target.cond, s.estimator.alpha, s.estimator.symmetrize = 3, 100.0, 0.5, True
    snap, (dg,) = _run(s, 5_000)
    assert dg is not None and dg.cause == "step-too-large"
    lo = float(np.linalg.eigvalsh(snap.true_cov)[0])
    assert f"smallest eigenvalue {lo:.3g}" in dg.text


def test_start_too_small():
    """precision from Sigma_0 = 1e-3 I at alpha = 0.02: fine at the truth (bound 2), hopeless at the start."""
    s = _preset("seed-question", estimator__parameterization="precision", estimator__alpha=0.02,
                start__cov_scale=1e-3)
    snap, (dg,) = _run(s, 2_000)
    assert snap.chain.divergence is not None and snap.chain.divergence.step < 10
    assert dg.cause == "start-too-small"
    assert "0.001 is far below the truth's 1" in dg.text and "--cov0-scale" in dg.text
    # the same run from a sensible start converges: the start was the cause
    s.start.cov_scale = 1.0
    snap, (dg,) = _run(s, 2_000)
    assert snap.chain.divergence is None and dg is None


def test_noise_below_the_bound():
    _snap, (dg,) = _run(get_preset("ill-conditioned-covariance"), 5_000)
    assert dg.cause == "noise"
    assert "below the linearized bound 0.174" in dg.text and "AVERAGE update is stable" in dg.text
    assert "heavy tails" not in dg.text


def test_noise_from_heavy_tails_says_so():
    _snap, dgs = _run(get_preset("heavy-tails"), 5_000)
    dg = dgs[0]  # covariance, alpha = 0.005: out within a few thousand updates
    assert dg is not None and dg.cause == "noise" and "heavy tails (Student-t)" in dg.text


def test_converged_chain_has_no_diagnosis():
    snap, (dg,) = _run(get_preset("ill-conditioned-natural"), 2_000)
    assert snap.chain.divergence is None and dg is None


def test_every_cause_is_listed_and_the_order_matters():
    """A wrong sign wins over everything; an unsymmetrized drift over the bound."""
    st = {"parameterization": "covariance", "alpha": 0.5, "objective": "loglik", "direction": "descent",
          "schedule": "constant", "batch_size": 1, "symmetrize": False}
    cov = np.diag([0.2, 1.0])
    assert diagnose(st, "not-positive-definite", 3, true_cov=cov).cause == "wrong-sign"
    st["direction"] = "ascent"
    assert diagnose(st, "asymmetric", 3, true_cov=cov, last_cov=cov).cause == "asymmetry-drift"
    assert diagnose(st, "not-positive-definite", 3, true_cov=cov).cause == "step-too-large"
    st["alpha"] = 0.01
    assert diagnose(st, "not-positive-definite", 3, true_cov=cov, start_cov=1e-4 * np.eye(2),
                    last_cov=1e-3 * np.eye(2)).cause == "start-too-small"
    assert diagnose(st, "exploded", 3, true_cov=cov, start_cov=np.eye(2)).cause == "noise"
    assert diagnose(st, "not-positive-definite", 3).cause == "noise"  # no truth known: still words
    assert set(CAUSES) == {"wrong-sign", "asymmetry-drift", "step-too-large", "start-too-small", "noise"}
