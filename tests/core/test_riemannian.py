"""The SPD-manifold rule ``riemannian`` (docs/MATH.md): against scipy's expm of the formula,
first-order agreement with the finite-difference natural step, and its positive-definiteness
promise under hypothesis."""

from __future__ import annotations

import itertools
import math
import os
import zlib

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaussviz.core import BatchEstimator, Estimator
from gaussviz.core import kernels as kn

from .test_finite_differences import PAIRS, fd_grad, random_state

#: GAUSSVIZ_PROPERTY_SCALE=20 multiplies the examples for a deep search (as test_properties)
_SCALE = float(os.environ.get("GAUSSVIZ_PROPERTY_SCALE", "1"))
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                max_examples=int(_SCALE * 150))


def riemannian_oracle(mu, sigma, Y, a, s, root="cholesky"):
    """One step of docs/MATH.md with scipy: Sigma' = R expm(a s (R^-1 C R^-T - I)) R^T, any square root R."""
    R = np.linalg.cholesky(sigma) if root == "cholesky" else np.real(scipy.linalg.sqrtm(sigma))
    r = Y - mu
    C = r.T @ r / len(Y)
    Ri = np.linalg.inv(R)
    A = a * s * (Ri @ C @ Ri.T - np.eye(len(mu)))
    new = R @ scipy.linalg.expm(0.5 * (A + A.T)) @ R.T
    return mu + a * s * r.mean(axis=0), 0.5 * (new + new.T)


def _seed(*key) -> int:
    return zlib.crc32(repr(key).encode())


@pytest.mark.parametrize("pair,d,n,alpha", list(itertools.product(PAIRS, [1, 2, 3, 4], [1, 4], [1e-3, 0.3, 3.0])))
def test_updates_match_scipy_expm_of_the_formula(pair, d, n, alpha):
    objective, direction, s = pair
    rng = np.random.default_rng(_seed(objective, direction, d, n, alpha))
    mu, sigma = random_state(d, rng)
    Y = rng.standard_normal((3 * n, d)) * 1.3 + 0.2
    est = Estimator(mu, sigma, parameterization="riemannian", alpha=alpha, objective=objective,
                    direction=direction, batch_size=n)
    m, S = mu.copy(), sigma.copy()
    for k in range(3):
        Yb = Y[k * n:(k + 1) * n]
        applied = est.update(Yb)
        m, S = riemannian_oracle(m, S, Yb, alpha, s)
        if not applied:  # only an explosion may stop it (a wrong sign at alpha 3)
            assert est.divergence.reason == "exploded"
            ev = np.linalg.eigvalsh(S)  # huge, or so ill-conditioned it rounds to singular
            assert ev[0] <= 0 or ev[-1] > 1e12 * (1 - 1e-6) or ev[-1] > 1e12 * ev[0] * (1 - 1e-6), ev
            return
        scale = np.linalg.norm(S)
        np.testing.assert_allclose(est.mean, m, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(m).max()))
        np.testing.assert_allclose(est.cov, S, rtol=1e-9, atol=1e-12 * scale)
        assert np.array_equal(est.stored, est.stored.T)  # exactly symmetric, every update
    assert est.steps == 3


@pytest.mark.parametrize("d", [2, 3])
def test_any_square_root_gives_the_same_step(d):
    """The formula is independent of the square root (MATH.md); the kernel's Cholesky one is a choice."""
    rng = np.random.default_rng(d)
    mu, sigma = random_state(d, rng)
    Y = rng.standard_normal((2, d))
    for a in (0.01, 1.0, 5.0):
        _, S_chol = riemannian_oracle(mu, sigma, Y, a, 1.0, "cholesky")
        _, S_sqrt = riemannian_oracle(mu, sigma, Y, a, 1.0, "sqrtm")
        np.testing.assert_allclose(S_chol, S_sqrt, rtol=1e-9, atol=1e-12 * np.linalg.norm(S_chol))
        est = Estimator(mu, sigma, parameterization="riemannian", alpha=a, batch_size=2)
        est.update(Y)
        np.testing.assert_allclose(est.cov, S_sqrt, rtol=1e-9, atol=1e-12 * np.linalg.norm(S_chol))


@pytest.mark.parametrize("pair,d,n", list(itertools.product(PAIRS, [1, 2, 3], [1, 4])))
def test_first_order_it_is_the_finite_difference_natural_step(pair, d, n):
    """(Sigma' - Sigma) / a -> the Fisher-preconditioned gradient 2 Sigma G Sigma as a -> 0."""
    objective, direction, s = pair
    rng = np.random.default_rng(_seed(objective, direction, d, n, "first-order"))
    mu, sigma = random_state(d, rng)
    Y = rng.standard_normal((n, d)) * 1.3 + 0.2
    a = 1e-7
    est = Estimator(mu, sigma, parameterization="riemannian", alpha=a, objective=objective, direction=direction,
                    batch_size=n)
    assert est.update(Y) == 1
    g_mu, G = fd_grad("covariance", mu, sigma, Y)
    np.testing.assert_allclose((est.mean - mu) / a, s * sigma @ g_mu, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose((est.cov - sigma) / a, s * 2 * sigma @ G @ sigma, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 5])
def test_d2_fast_path_is_bit_identical_to_the_general_path(n):
    d = 2
    rng = np.random.default_rng(n)
    mats = [np.empty((d, d)) for _ in range(6)]
    sigma, P, G, C, work, work2 = mats
    rbar, r, u, w, vals = (np.empty(d) for _ in range(5))
    piv = np.empty(d, dtype=np.int64)
    n_ok = 0
    for _ in range(300):
        A = rng.standard_normal((d, d))
        th = A @ A.T + 10 ** rng.uniform(-3, 1) * np.eye(d)
        mu = rng.standard_normal(d)
        Y = rng.standard_normal((n, d)) * 10 ** rng.uniform(-1, 1)
        a, s = 10 ** rng.uniform(-3, 1), rng.choice([-1.0, 1.0])
        mu_g, th_g = mu.copy(), th.copy()
        ok = kn.one_update(kn.RIEMANNIAN, False, s, a, mu_g, th_g, Y, 0, n, sigma, P, G, rbar, C, r, u, w, work, piv)
        st_g = kn.check_state(kn.RIEMANNIAN, False, mu_g, th_g, th, work, work2, vals)[0] if ok else kn.NOT_PD
        mu_s, th_s = mu.copy(), th.copy()
        st_s = kn._riemann_step2(s, a, mu_s, th_s, Y, 0, n)[0]
        assert st_s == st_g
        assert st_s in (kn.OK, kn.EXPLODED, kn.NON_FINITE)
        if st_s == kn.OK:
            n_ok += 1
            assert np.array_equal(mu_s, mu_g) and np.array_equal(th_s, th_g)
        else:
            assert np.array_equal(mu_s, mu) and np.array_equal(th_s, th)
    assert n_ok > 100


# ------------------------------------------------------------------ hypothesis
def _random_spd(rng, d, scale, cond):
    if d == 1:
        return np.array([[scale]])
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    ev = scale * np.geomspace(1.0, cond, d) / math.sqrt(cond)
    S = (Q * ev) @ Q.T
    return 0.5 * (S + S.T)


@st.composite
def cases(draw):
    return {
        "d": draw(st.integers(1, 5)),
        "alpha": 10.0 ** draw(st.floats(-4, 1)),  # up to 10
        "sign": draw(st.sampled_from(PAIRS))[:2],
        "batch": draw(st.sampled_from([1, 1, 2, 3, 8])),
        "n_updates": draw(st.integers(1, 150)),
        "start_scale": 10.0 ** draw(st.floats(-3, 3)),
        "start_cond": 10.0 ** draw(st.floats(0, 3)),
        "data_scale": 10.0 ** draw(st.floats(-3, 3)),
        "data_cond": 10.0 ** draw(st.floats(0, 3)),
        "offset": 10.0 ** draw(st.floats(-3, 3)),
        "stream": draw(st.sampled_from(["gauss", "gauss", "cauchy", "outliers", "constant"])),
        "schedule": draw(st.sampled_from(["constant", "inverse", "inverse-sqrt"])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


@settings(FAST)
@given(cases())
def test_every_accepted_state_is_positive_definite_and_failures_are_explosions(case):
    rng = np.random.default_rng(case["seed"])
    d, b = case["d"], case["batch"]
    n = case["n_updates"] * b
    cov = _random_spd(rng, d, case["data_scale"], case["data_cond"])
    center = rng.standard_normal(d) * case["offset"]
    if case["stream"] == "constant":
        Y = np.repeat(center[None], n, axis=0)
    elif case["stream"] == "cauchy":
        Y = rng.standard_cauchy((n, d)) @ np.linalg.cholesky(cov).T + center
    else:
        Y = rng.standard_normal((n, d)) @ np.linalg.cholesky(cov).T + center
        if case["stream"] == "outliers":
            hit = rng.random((n, d)) < 0.02
            Y[hit] = rng.choice([-1.0, 1.0], hit.sum()) * 10.0 ** rng.uniform(3, 300, hit.sum())
    Y = np.ascontiguousarray(np.where(np.isfinite(Y), Y, 0.0))
    start = _random_spd(rng, d, case["start_scale"], case["start_cond"])
    est = BatchEstimator(np.zeros(d), start, parameterization="riemannian", alpha=case["alpha"],
                         objective=case["sign"][0], direction=case["sign"][1], batch_size=b,
                         schedule=case["schedule"], symmetrize=True, averaging=True)
    _, rec_mu, rec_cov, _ = est.advance(Y, record_every=1)
    good = int(est.steps[0])
    for i in range(good):
        c = rec_cov[0, i]
        assert np.all(np.isfinite(c)) and np.all(np.isfinite(rec_mu[0, i]))
        assert np.array_equal(c, c.T)
        ev = np.linalg.eigvalsh(c)
        assert ev[0] > 0, f"accepted a state that is not PD at update {i + 1}: {ev}"
    div = est.divergence(0)
    if div is not None:
        assert div.reason in ("exploded", "non-finite"), div
        assert div.step == good + 1
    else:
        assert good == case["n_updates"]
    # the kept state and the Polyak average of PD states are PD
    assert np.linalg.eigvalsh(est.covs[0])[0] > 0
    if good:
        assert np.linalg.eigvalsh(0.5 * (est.averaged_covs[0] + est.averaged_covs[0].T))[0] > 0


# ------------------------------------------------------------------ behaviour
def test_correct_sign_pairs_are_bit_identical_and_wrong_ones_walk_away():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((2000, 2)) @ np.array([[1.0, 0.0], [0.6, 0.5]]).T
    runs = {}
    for obj, dirn, _ in PAIRS:
        est = Estimator([0.5, 0.5], np.eye(2), parameterization="riemannian", alpha=0.02, objective=obj,
                        direction=dirn)
        est.update(Y)
        runs[(obj, dirn)] = est
    a, b = runs[("loglik", "ascent")], runs[("neg-loglik", "descent")]
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.cov, b.cov) and a.divergence is None
    for pair in [("loglik", "descent"), ("neg-loglik", "ascent")]:
        est = runs[pair]
        assert est.divergence is not None and est.divergence.reason in ("exploded", "non-finite")
        assert np.linalg.eigvalsh(est.cov)[0] > 0  # PD to the end


def test_switching_to_riemannian_keeps_the_state_and_symmetrize_is_accepted():
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((500, 3))
    est = Estimator(np.zeros(3), np.eye(3), parameterization="log-cholesky", alpha=0.01, symmetrize=True)
    est.update(Y[:200])
    m, c = est.mean, est.cov
    est.set_parameterization("riemannian")
    assert est.parameterization == "riemannian" and est.symmetrize
    np.testing.assert_array_equal(est.mean, m)
    np.testing.assert_allclose(est.cov, c, rtol=1e-14)
    assert np.array_equal(est.stored, est.stored.T)
    assert est.update(Y[200:]) == 300 and est.divergence is None
    with pytest.raises(ValueError, match="parallel transport"):
        est.set_optimizer("momentum")
    assert est.optimizer == "sgd"


def test_large_steps_stay_positive_definite_where_natural_leaves_the_cone():
    """alpha = 1.5: natural's one step (1 - a) Sigma + a r r^T is indefinite at once in d = 2;
    the exponential map is PD for every alpha (it may still explode, never go indefinite)."""
    rng = np.random.default_rng(5)
    Y = rng.standard_normal((50, 2))
    nat = Estimator([0.0, 0.0], np.eye(2), parameterization="natural", alpha=1.5)
    nat.update(Y)
    assert nat.divergence is not None and nat.divergence.reason == "not-positive-definite"
    rie = Estimator([0.0, 0.0], np.eye(2), parameterization="riemannian", alpha=1.5)
    rie.update(Y)
    assert rie.divergence is None or rie.divergence.reason == "exploded"
    assert np.linalg.eigvalsh(rie.cov)[0] > 0
