"""Optimizers and averaging (docs/MATH.md "Optimizers"), against an oracle, never a copy of the kernels.

The oracle takes each rule's direction D from central finite differences of
the log-likelihood in the rule's own coordinates (natural: its Fisher-
preconditioned form from the covariance gradient, as in
test_finite_differences), applies the optimizer table of docs/MATH.md in numpy
over several updates, and the compiled kernels must land on the same state.
"""

from __future__ import annotations

import itertools
import math
import zlib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gaussviz.core import BatchEstimator, Estimator
from gaussviz.core import estimator as estimator_module
from gaussviz.core import kernels as kn
from gaussviz.core import optimizers as opt_registry
from gaussviz.core import parameterizations as pz
from gaussviz.core.estimator import sigma_to_stored
from gaussviz.core.forecast import linear_bound, optimizer_bound
from gaussviz.core.presets import ILL_COV

from .test_finite_differences import PAIRS, fd_grad, random_state, sigma_of
from .test_properties import _SCALE, FAST, assert_valid_state, kwargs_of, materialize, run_cases, verdicts

OPTIMIZER_DEFAULTS = opt_registry.DEFAULTS
OPTIMIZERS = {name: spec.code for name, spec in opt_registry.OPTIMIZERS.items()}
UPDATE_RULES = {name: spec.code for name, spec in pz.PARAMETERIZATIONS.items()}
PARAMETERIZATIONS = {name: code for name, code in UPDATE_RULES.items() if name != "riemannian"}
#: every rule that takes every optimizer, and every optimizer (from the registries)
RULES = [name for name, spec in pz.PARAMETERIZATIONS.items() if not spec.sgd_only]
OPTS = list(opt_registry.NAMES)
#: not the defaults, so that a swapped beta1/beta2 or a dropped eps shows
B1, B2, EPS = 0.7, 0.9, 1e-3
ALPHA = 0.01
N_UPDATES = 5
N_OPT_CASES = int(_SCALE * 200)


# ------------------------------------------------------------------ oracle
def fd_direction(param: str, s: float, mu: np.ndarray, theta: np.ndarray, Y: np.ndarray):
    """D of docs/MATH.md (sign included) from finite differences, in the rule's coordinates."""
    if param == "natural":
        g_mu, G = fd_grad("covariance", mu, theta, Y)
        return s * (theta @ g_mu), s * (2 * theta @ G @ theta)
    g_mu, g_th = fd_grad(param, mu, theta, Y)
    return s * g_mu, s * g_th


def optimizer_step(opt: str, x: np.ndarray, D: np.ndarray, m: np.ndarray, u: np.ndarray, a: float, t: int,
                   b1: float = B1, b2: float = B2, eps: float = EPS):
    """One row of the optimizer table of docs/MATH.md: (new x, new first moment, new second moment)."""
    if opt == "sgd":
        return x + a * D, m, u
    if opt == "momentum":
        v = b1 * m + D
        return x + a * v, v, u
    if opt == "nesterov":
        v = b1 * m + D
        return x + a * (b1 * v + D), v, u
    if opt == "rmsprop":
        w = b2 * u + (1 - b2) * D * D
        return x + a * D / (np.sqrt(w) + eps), m, w
    assert opt == "adam"
    m2 = b1 * m + (1 - b1) * D
    w = b2 * u + (1 - b2) * D * D
    return x + a * (m2 / (1 - b1**t)) / (np.sqrt(w / (1 - b2**t)) + eps), m2, w


def inverse_rate(alpha: float, t: int) -> float:
    """The ``inverse`` schedule: a_t = a / (1 + a t), t updates already applied."""
    return alpha / (1 + alpha * t)


class Oracle:
    """A chain advanced by finite differences + the MATH.md optimizer table."""

    def __init__(self, param, opt, s, mu, theta, sym=False):
        self.param, self.opt, self.s, self.sym = param, opt, s, sym
        self.mu, self.theta = mu.copy(), theta.copy()
        d = mu.shape[0]
        self.m_mu, self.u_mu = np.zeros(d), np.zeros(d)
        self.m_th, self.u_th = np.zeros((d, d)), np.zeros((d, d))
        self.t_opt = 0
        self.steps = 0

    def update(self, Yb, alpha):
        a = inverse_rate(alpha, self.steps)
        self.t_opt += 1
        D_mu, D_th = fd_direction(self.param, self.s, self.mu, self.theta, Yb)
        self.mu, self.m_mu, self.u_mu = optimizer_step(self.opt, self.mu, D_mu, self.m_mu, self.u_mu, a, self.t_opt)
        self.theta, self.m_th, self.u_th = optimizer_step(self.opt, self.theta, D_th, self.m_th, self.u_th, a,
                                                          self.t_opt)
        if self.sym:
            self.theta = 0.5 * (self.theta + self.theta.T)
        self.steps += 1


def oracle_state_is_invalid(param: str, theta_old: np.ndarray, theta: np.ndarray) -> bool:
    """Whether the oracle's state breaks one of the divergence tests of docs/MATH.md (numpy's own check)."""
    if not np.all(np.isfinite(theta)):
        return True
    if param == "cholesky" and np.any(np.sign(np.diag(theta)) != np.sign(np.diag(theta_old))):
        return True
    if param in ("covariance", "precision"):
        asym = np.linalg.norm(theta - theta.T) / np.linalg.norm(theta)
        if asym > 1e-6:
            return True
    with np.errstate(all="ignore"):
        sigma = sigma_of(param, theta)
    if not np.all(np.isfinite(sigma)):
        return True
    ev = np.linalg.eigvalsh(0.5 * (sigma + sigma.T))
    return bool(ev[0] <= 0 or ev[-1] > 1e12 or ev[-1] > 1e12 * ev[0])


def _seed(*key) -> int:
    return zlib.crc32(repr(key).encode())


def _div(v):
    return None if v is None else (v.step, v.reason, v.message)


def _close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8, err_msg=what)


# --------------------------------------------------------- every combination
@pytest.mark.parametrize("param,opt,pair,d,n", list(itertools.product(RULES, OPTS, PAIRS, [1, 2, 3], [1, 4])))
def test_optimizer_updates_match_the_finite_difference_oracle(param, opt, pair, d, n):
    objective, direction, s = pair
    rng = np.random.default_rng(_seed(param, opt, objective, direction, d, n))
    mu, sigma = random_state(d, rng)
    Y = rng.standard_normal((N_UPDATES * n, d)) * 1.3 + 0.2
    est = Estimator(mu, sigma, parameterization=param, alpha=ALPHA, objective=objective, direction=direction,
                    schedule="inverse", batch_size=n, optimizer=opt, beta1=B1, beta2=B2, eps=EPS)
    oracle = Oracle(param, opt, s, mu, est.stored)
    for k in range(N_UPDATES):
        applied = est.update(Y[k * n:(k + 1) * n])
        theta_old = oracle.theta
        oracle.update(Y[k * n:(k + 1) * n], ALPHA)
        if not applied:  # a wrong sign walks away: the oracle must agree that this update fails
            assert est.divergence is not None and est.divergence.step == k + 1
            assert oracle_state_is_invalid(param, theta_old, oracle.theta), est.divergence
            assert k >= 2 or s < 0, "diverged too early to test much"
            return
        _close(est.mean, oracle.mu, f"mean after update {k + 1}")
        _close(est.stored, oracle.theta, f"stored parameter after update {k + 1}")
    assert est.divergence is None and est.steps == N_UPDATES
    assert not oracle_state_is_invalid(param, theta_old, oracle.theta)
    state = est.optimizer_state()
    if opt != "sgd":
        assert state["t"] == N_UPDATES
        first = opt in ("momentum", "nesterov", "adam")
        second = opt in ("rmsprop", "adam")
        _close(state["moments_mu"][0], oracle.m_mu if first else 0.0, "first moment of the mean")
        _close(state["moments_stored"][0], oracle.m_th if first else 0.0, "first moment of the stored parameter")
        _close(state["moments_mu"][1], oracle.u_mu if second else 0.0, "second moment of the mean")
        _close(state["moments_stored"][1], oracle.u_th if second else 0.0, "second moment of the stored parameter")
    # the run really moved: a no-op would pass a comparison with a no-op oracle
    assert np.max(np.abs(est.stored - sigma_to_stored(PARAMETERIZATIONS[param], sigma))) > 1e-5


@pytest.mark.parametrize("param", ["covariance", "precision"])
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("d", [2, 3])
def test_symmetrize_symmetrizes_the_step_not_the_state(param, opt, d):
    """With symmetrize on, the updated matrix is symmetrized after the optimizer's step (MATH.md)."""
    rng = np.random.default_rng(_seed(param, opt, d, "sym"))
    mu, sigma = random_state(d, rng)
    Y = rng.standard_normal((N_UPDATES, d)) * 1.3
    est = Estimator(mu, sigma, parameterization=param, alpha=ALPHA, schedule="inverse", optimizer=opt,
                    beta1=B1, beta2=B2, eps=EPS, symmetrize=True)
    oracle = Oracle(param, opt, 1.0, mu, est.stored, sym=True)
    for k in range(N_UPDATES):
        est.update(Y[k:k + 1])
        oracle.update(Y[k:k + 1], ALPHA)
    _close(est.stored, oracle.theta, "stored parameter")
    assert np.array_equal(est.stored, est.stored.T)


def test_the_optimizer_oracle_can_fail():
    """Adam without its bias correction, or momentum with beta1 and beta2 swapped, must not match."""
    rng = np.random.default_rng(1)
    mu, sigma = random_state(2, rng)
    Y = rng.standard_normal((3, 2))
    for opt in ("adam", "momentum"):
        est = Estimator(mu, sigma, parameterization="covariance", alpha=ALPHA, schedule="inverse", optimizer=opt,
                        beta1=B1, beta2=B2, eps=EPS)
        est.update(Y)
        right = Oracle("covariance", opt, 1.0, mu, sigma)
        wrong = Oracle("covariance", opt, 1.0, mu, sigma)
        if opt == "adam":
            wrong.t_opt = 10**9  # 1 - beta^t == 1: no bias correction
        for k in range(3):
            right.update(Y[k:k + 1], ALPHA)
            if opt == "momentum":
                a = inverse_rate(ALPHA, wrong.steps)
                D_mu, D_th = fd_direction("covariance", 1.0, wrong.mu, wrong.theta, Y[k:k + 1])
                wrong.mu, wrong.m_mu, _ = optimizer_step(opt, wrong.mu, D_mu, wrong.m_mu, 0, a, 1, b1=B2)
                wrong.theta, wrong.m_th, _ = optimizer_step(opt, wrong.theta, D_th, wrong.m_th, 0, a, 1, b1=B2)
                wrong.steps += 1
            else:
                wrong.update(Y[k:k + 1], ALPHA)
        _close(est.stored, right.theta, opt)
        assert not np.allclose(est.stored, wrong.theta, rtol=1e-6, atol=1e-8), opt


# ----------------------------------------------- d = 2 path == general path
@pytest.mark.parametrize("param", RULES)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("sym", [False, True])
@pytest.mark.parametrize("n", [1, 5])
def test_d2_optimizer_path_is_bit_identical_to_the_general_path(param, opt, sym, n):
    """d = 2 runs the scalar ``step2_opt``; it must compute exactly what the general kernel computes."""
    code, oc = PARAMETERIZATIONS[param], OPTIMIZERS[opt]
    rng = np.random.default_rng(_seed(param, opt, sym, n))
    d = 2
    sigma, P, G, C, work, work2 = (np.empty((d, d)) for _ in range(6))
    rbar, r, u, vals = (np.empty(d) for _ in range(4))
    piv = np.empty(d, dtype=np.int64)
    n_ok = 0
    for trial in range(200):
        A = rng.standard_normal((d, d))
        th = sigma_to_stored(code, A @ A.T + 0.2 * np.eye(d))
        if not sym and param in ("covariance", "precision"):
            th[0, 1] += 1e-9  # exercise the asymmetric path too
        mu = rng.standard_normal(d)
        Y = rng.standard_normal((n, d)) * 2
        a, s = 10 ** rng.uniform(-3, 0), rng.choice([-1.0, 1.0])
        b1, b2, eps = rng.uniform(0, 0.99), rng.uniform(0, 0.999), 10 ** rng.uniform(-10, -2)
        t = int(rng.integers(1, 10**5)) if trial % 2 else int(rng.integers(1, 5))
        c1, c2 = kn.bias_corrections(oc, b1, b2, t, kn.bias_horizon(b1), kn.bias_horizon(b2))
        sm = rng.standard_normal((2, d)) * 0.1
        st = rng.standard_normal((2, d, d)) * 0.1
        st = 0.5 * (st + st.transpose(0, 2, 1))  # the moments of symmetric directions are symmetric
        sm[1], st[1] = np.abs(sm[1]), np.abs(st[1])  # second moments are >= 0
        if param in ("cholesky", "log-cholesky"):
            st[:, 0, 1] = 0.0  # not a coordinate: never touched
        mu_g, th_g, new_mu, new_th = mu.copy(), th.copy(), np.empty((2, d)), np.empty((2, d, d))
        ok = kn.optimizer_update(code, sym, s, a, oc, b1, b2, eps, c1, c2, mu_g, th_g, Y, 0, n,
                                 sigma, P, G, rbar, C, r, u, work, piv, sm, st, new_mu, new_th)
        st_g = kn.check_state(code, sym, mu_g, th_g, th, work, work2, vals)[0] if ok else kn.NOT_PD
        mu_s, th_s, sm_s, st_s = mu.copy(), th.copy(), sm.copy(), st.copy()
        S = kn.load_state2(sm_s, st_s)
        status, _, _, S2 = kn.step2_opt(code, sym, s, a, oc, b1, b2, eps, c1, c2, mu_s, th_s, S, Y, 0, n)
        kn.store_state2(S2, sm_s, st_s)
        assert status == st_g
        if status == kn.OK:
            n_ok += 1
            assert np.array_equal(mu_s, mu_g) and np.array_equal(th_s, th_g)
            assert np.array_equal(sm_s, new_mu) and np.array_equal(st_s, new_th)
        else:  # a failing update writes nothing
            assert np.array_equal(mu_s, mu) and np.array_equal(th_s, th)
            assert np.array_equal(sm_s, sm) and np.array_equal(st_s, st)
    assert n_ok > 20


def test_bias_horizon_skips_pow_only_where_it_changes_no_bit():
    for b in (0.0, 1e-5, 0.3, 0.9, 0.999, 0.99999):
        h = kn.bias_horizon(b)
        for t in (h, h + 1, 2 * h + 7):
            assert 1.0 - math.pow(b, t) == 1.0
        got = kn.bias_corrections(kn.ADAM, b, b, h, h, h)
        assert got == (1.0, 1.0)
    # below the horizon the correction is computed (as a factor 1 / (1 - beta^t))
    got = kn.bias_corrections(kn.ADAM, 0.9, 0.999, 3, 462, 48498)
    assert got == pytest.approx((1 / (1 - 0.9**3), 1 / (1 - 0.999**3)), rel=1e-14)
    # beta^t from pow at multiples of POW_BLOCK and products in between: pow's value to round-off
    for t in (1, 63, 64, 65, 1000, 40_001):
        got = kn.bias_corrections(kn.ADAM, 0.99, 0.9999, t, 10**9, 10**9)
        assert got == pytest.approx((1 / (1 - 0.99**t), 1 / (1 - 0.9999**t)), rel=1e-12)
    assert kn.bias_corrections(kn.MOMENTUM, 0.9, 0.999, 3, 462, 48498) == (1.0, 1.0)


# ------------------------------------------------ batched, parallel, replay
@pytest.mark.parametrize("d", [2, 3])
def test_batched_parallel_and_single_chains_agree_bit_for_bit(d, monkeypatch):
    K = 64
    rng = np.random.default_rng(d)
    Y = np.ascontiguousarray(rng.standard_normal((400, d)) + 0.1)
    combos = [(p, o) for p in RULES for o in OPTS] + [("riemannian", "sgd")]
    params = [combos[k % len(combos)][0] for k in range(K)]
    opts = [combos[k % len(combos)][1] for k in range(K)]
    kw = dict(parameterization=params, optimizer=opts, alpha=list(np.geomspace(1e-3, 0.05, K)), symmetrize=True,
              averaging=[k % 3 == 0 for k in range(K)], beta1=0.8, beta2=0.99, eps=1e-6, schedule="inverse-sqrt")
    serial = BatchEstimator(np.zeros(d), np.eye(d), n_chains=K, **kw)
    monkeypatch.setattr(estimator_module, "PARALLEL_WORK", 10**12)
    rec_s = serial.advance(Y, record_every=50)
    parallel = BatchEstimator(np.zeros(d), np.eye(d), n_chains=K, **kw)
    monkeypatch.setattr(estimator_module, "PARALLEL_WORK", 0)
    rec_p = parallel.advance(Y, record_every=50)
    for a, b in zip(rec_s, rec_p):
        assert np.array_equal(a, b)
    for name in ("means", "stored", "steps", "averaged_means", "averaged_covs"):
        assert np.array_equal(getattr(serial, name), getattr(parallel, name), equal_nan=True), name
    for k in range(0, K, 7):
        one = Estimator(np.zeros(d), np.eye(d), parameterization=params[k], optimizer=opts[k], alpha=kw["alpha"][k],
                        symmetrize=True, averaging=kw["averaging"][k], beta1=0.8, beta2=0.99, eps=1e-6,
                        schedule="inverse-sqrt")
        one.update(Y)
        assert np.array_equal(one.mean, serial.means[k]) and np.array_equal(one.stored, serial.stored[k])
        assert _div(one.divergence) == _div(serial.divergence(k))
        for x, y in zip(one.optimizer_state().values(), serial.optimizer_state(k).values()):
            assert np.array_equal(x, y)


@pytest.mark.parametrize("opt", OPTS[1:])
@pytest.mark.parametrize("d", [2, 3])
def test_feeding_in_pieces_gives_the_same_result(opt, d):
    """Chunk boundaries (the window's worker) must not change a bit: Adam's t lives in the state."""
    rng = np.random.default_rng(7)
    Y = rng.standard_normal((3000, d))
    whole = Estimator(np.ones(d), np.eye(d), parameterization="log-cholesky", alpha=0.003, optimizer=opt,
                      averaging=True)
    whole.update(Y)
    pieces = Estimator(np.ones(d), np.eye(d), parameterization="log-cholesky", alpha=0.003, optimizer=opt,
                       averaging=True)
    for lo, hi in itertools.pairwise([0, 1, 5, 333, 334, 1800, 3000]):
        pieces.update(Y[lo:hi])
    assert np.array_equal(whole.mean, pieces.mean) and np.array_equal(whole.stored, pieces.stored)
    assert np.array_equal(whole.averaged_mean, pieces.averaged_mean)
    assert np.array_equal(whole.averaged_cov, pieces.averaged_cov)


# ------------------------------------------------------- state and resets
def _fail_then_check(est: Estimator) -> None:
    """Feed ``est`` a sample so far out that r r^T overflows: the update fails (non-finite) for every
    rule and optimizer, and nothing of the state may change."""
    before = (est.mean, est.stored, est.steps, est.optimizer_state(), est.averaged_mean, est.averaged_cov)
    assert est.update(np.full((1, est.d), 1e200)) == 0
    assert est.divergence is not None and est.divergence.step == before[2] + 1
    after = (est.mean, est.stored, est.steps, est.optimizer_state(), est.averaged_mean, est.averaged_cov)
    for x, y in zip(before, after):
        if isinstance(x, dict):
            assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)
        else:
            assert np.array_equal(x, y)


@pytest.mark.parametrize("param", RULES)
@pytest.mark.parametrize("opt", OPTS)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_a_rejected_update_changes_nothing_and_resume_continues_consistently(param, opt, d):
    rng = np.random.default_rng(_seed(param, opt, d, "reject"))
    Y = rng.standard_normal((200, d)) + 0.5
    kw = dict(parameterization=param, alpha=0.002, optimizer=opt, averaging=True, symmetrize=True)
    est = Estimator(np.zeros(d), np.eye(d), **kw)
    est.update(Y[:100])
    assert est.steps == 100
    _fail_then_check(est)
    assert est.divergence.reason == "non-finite"
    # Resume from the last good state: the same as a fresh copy given that state.
    state = est.optimizer_state()
    copy = BatchEstimator(np.zeros(d), np.eye(d), **kw)
    copy.set_state(est.mean, est.stored, est.steps, optimizer_state=state)
    est.resume()
    est.update(Y[100:150])
    copy.update(Y[100:150])
    assert np.array_equal(est.mean, copy.means[0]) and np.array_equal(est.stored, copy.stored[0])
    assert est.steps == copy.steps[0] == 150


@pytest.mark.parametrize("d", [2, 3])
def test_optimizer_state_resets_on_rule_or_optimizer_switch_only(d):
    """Adam's t counts updates since the last reset; the schedule keeps counting every update."""
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((300, d))
    est = BatchEstimator(np.zeros(d), np.eye(d), parameterization="cholesky", alpha=0.01, optimizer="adam",
                         schedule="inverse")
    est.advance(Y[:100])
    assert est.optimizer_state(0)["t"] == 100
    for change in (lambda: est.set_alpha(0.02), lambda: est.set_schedule("inverse-sqrt"),
                   lambda: est.set_sign("neg-loglik", "descent"), lambda: est.set_symmetrize(True),
                   lambda: est.set_averaging(True), lambda: est.resume()):
        change()
        assert est.optimizer_state(0)["t"] == 100  # kept
    assert np.any(est.optimizer_state(0)["moments_stored"] != 0)
    est.set_parameterization("log-cholesky")
    st = est.optimizer_state(0)
    assert st["t"] == 0 and not np.any(st["moments_mu"]) and not np.any(st["moments_stored"])
    # after the reset Adam restarts its bias correction while the schedule goes on at step 100
    fresh = BatchEstimator(np.zeros(d), np.eye(d), parameterization="log-cholesky", alpha=0.02, optimizer="adam",
                           schedule="inverse-sqrt", objective="neg-loglik", direction="descent", symmetrize=True)
    fresh.set_state(est.means[0], est.stored[0], 100)
    est.advance(Y[100:200])
    fresh.advance(Y[100:200])
    assert np.array_equal(est.stored, fresh.stored) and np.array_equal(est.means, fresh.means)
    assert est.optimizer_state(0)["t"] == 100 and est.steps[0] == 200
    est.set_optimizer("adam")  # same optimizer: still a reset (the call says "start here")
    assert est.optimizer_state(0)["t"] == 0
    est.advance(Y[200:210])
    est.set_optimizer("momentum", beta1=0.5)
    assert est.settings(0)["beta1"] == 0.5 and est.settings(0, full=True)["beta2"] == 0.999
    assert "beta2" not in est.settings(0)  # the default: left out
    assert est.optimizer_state(0)["t"] == 0


def test_settings_report_the_optimizer_and_defaults_match_math_md():
    assert OPTIMIZER_DEFAULTS == {"optimizer": "sgd", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                  "averaging": False}
    est = Estimator([0.0], [[1.0]])
    assert (est.optimizer, est.beta1, est.beta2, est.eps, est.averaging) == ("sgd", 0.9, 0.999, 1e-8, False)
    assert est.averaged_mean is None and est.averaged_cov is None
    b = BatchEstimator(np.zeros(2), np.eye(2), n_chains=2, optimizer=["adam", "rmsprop"], beta1=[0.5, 0.6],
                       beta2=0.95, eps=[1e-6, 1e-7], averaging=[True, False])
    s = b.settings(1, full=True)
    assert {k: s[k] for k in OPTIMIZER_DEFAULTS} == {"optimizer": "rmsprop", "beta1": 0.6, "beta2": 0.95,
                                                      "eps": 1e-7, "averaging": False}
    assert "averaging" not in b.settings(1) and b.settings(0)["averaging"] is True
    # a plain sgd chain reads as before the optimizers came (the CLI's JSON compares this dict)
    assert set(Estimator([0.0], [[1.0]])._b.settings(0)) == {"parameterization", "alpha", "objective", "direction",
                                                            "schedule", "batch_size", "symmetrize"}
    assert b.optimizers == ["adam", "rmsprop"] and b.averaging.tolist() == [True, False]
    assert np.all(np.isnan(b.averaged_means[1])) and np.array_equal(b.averaged_means[0], [0.0, 0.0])
    assert list(OPTIMIZERS.values()) == [0, 1, 2, 3, 4]  # codes are part of the session format
    assert UPDATE_RULES["riemannian"] == 5 and list(UPDATE_RULES)[:5] == list(PARAMETERIZATIONS)


# ------------------------------------------------------------- averaging
@pytest.mark.parametrize("param", [*RULES, "riemannian"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_averages_are_the_running_average_of_the_reported_states(param, d):
    rng = np.random.default_rng(_seed(param, d, "avg"))
    Y = np.ascontiguousarray(rng.standard_normal((120, d)) * 0.8 + 0.3)
    opt = "sgd" if param == "riemannian" else "adam"
    be = BatchEstimator(np.zeros(d), np.eye(d), parameterization=param, alpha=0.01, optimizer=opt,
                        averaging=True, symmetrize=True)
    np.testing.assert_array_equal(be.averaged_means[0], np.zeros(d))  # before any update: the start
    np.testing.assert_array_equal(be.averaged_covs[0], np.eye(d))
    _, mus, covs, _ = be.advance(Y, record_every=1)
    assert be.steps[0] == 120 and be.averaged_steps[0] == 120
    np.testing.assert_allclose(be.averaged_means[0], mus[0].mean(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(be.averaged_covs[0], covs[0].mean(axis=0), rtol=1e-12, atol=1e-14)
    # switching the rule keeps the average (it lives in mu/Sigma space) and its count
    if param != "riemannian":
        be.set_parameterization("natural")
        _, mus2, covs2, _ = be.advance(Y[:30], record_every=1)
        np.testing.assert_allclose(be.averaged_means[0], np.concatenate([mus[0], mus2[0]]).mean(axis=0),
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(be.averaged_covs[0], np.concatenate([covs[0], covs2[0]]).mean(axis=0),
                                   rtol=1e-12, atol=1e-14)


def test_averaging_turned_on_later_starts_at_the_current_state():
    rng = np.random.default_rng(4)
    Y = rng.standard_normal((300, 2))
    est = Estimator([1.0, 1.0], np.eye(2), alpha=0.01, parameterization="natural")
    est.update(Y[:200])
    est.averaging = True
    np.testing.assert_array_equal(est.averaged_mean, est.mean)
    np.testing.assert_array_equal(est.averaged_cov, est.cov)
    states = []
    for y in Y[200:]:
        est.update(y[None])
        states.append((est.mean, est.cov))
    np.testing.assert_allclose(est.averaged_mean, np.mean([m for m, _ in states], axis=0), rtol=1e-12)
    np.testing.assert_allclose(est.averaged_cov, np.mean([c for _, c in states], axis=0), rtol=1e-12)
    est.averaging = False
    assert est.averaged_mean is None


# -------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,fragment", [
    (dict(optimizer="Adam"), "optimizer"),
    (dict(optimizer="adamw"), "optimizer"),
    (dict(optimizer=None), "optimizer"),
    (dict(optimizer=3), "optimizer"),
    (dict(beta1=1.0), "beta1"),
    (dict(beta1=-0.1), "beta1"),
    (dict(beta1=float("nan")), "beta1"),
    (dict(beta1="0.9"), "beta1"),
    (dict(beta1=True), "beta1"),
    (dict(beta1=0.5j), "beta1"),
    (dict(beta2=1.5), "beta2"),
    (dict(beta2=float("inf")), "beta2"),
    (dict(beta2=None), "beta2"),
    (dict(eps=0.0), "eps"),
    (dict(eps=-1e-8), "eps"),
    (dict(eps=float("nan")), "eps"),
    (dict(eps=float("inf")), "eps"),
    (dict(eps=[1e-8]), "eps"),
    (dict(averaging=1), "averaging"),
    (dict(averaging="yes"), "averaging"),
    (dict(averaging=None), "averaging"),
    (dict(parameterization="riemannian", optimizer="momentum"), "parallel transport"),
    (dict(parameterization="riemannian", optimizer="adam"), "sgd"),
])
def test_bad_optimizer_settings_raise_clear_value_errors(kwargs, fragment):
    with pytest.raises(ValueError) as e:
        Estimator([0.0, 0.0], np.eye(2), **kwargs)
    assert fragment in str(e.value)
    if not isinstance(kwargs.get("eps"), list):
        with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
            BatchEstimator(np.zeros(2), np.eye(2), n_chains=2, **kwargs)


def test_bad_live_changes_raise_and_change_nothing():
    b = BatchEstimator(np.zeros(2), np.eye(2), n_chains=2, parameterization=["riemannian", "covariance"],
                       optimizer="sgd")
    b.advance(np.random.default_rng(0).standard_normal((10, 2)))
    before = (b.settings(0), b.settings(1), b.stored, b.means)
    with pytest.raises(ValueError, match="riemannian"):
        b.set_optimizer("adam")  # chain 0 is riemannian: nothing changes, not even chain 1
    with pytest.raises(ValueError, match="beta2"):
        b.set_optimizer("adam", beta2=1.0, chains=[1])
    with pytest.raises(ValueError, match="eps"):
        b.set_optimizer("adam", eps=0, chains=[1])
    with pytest.raises(ValueError, match="optimizer"):
        b.set_optimizer("lbfgs", chains=[1])
    with pytest.raises(ValueError, match="averaging"):
        b.set_averaging("on")
    b.set_optimizer("nesterov", chains=[1])
    with pytest.raises(ValueError, match="sgd"):
        b.set_parameterization("riemannian")  # chain 1 now uses nesterov
    assert b.parameterizations == ["riemannian", "covariance"]
    after = (b.settings(0), b.settings(1), b.stored, b.means)
    assert after[0] == before[0] and after[1] == {**before[1], "optimizer": "nesterov"}
    assert b.settings(1, full=True)["optimizer"] == "nesterov"
    assert np.array_equal(after[2], before[2]) and np.array_equal(after[3], before[3])
    with pytest.raises(ValueError, match="stored"):
        b.set_state(np.zeros(2), np.full((2, 2), np.nan), 0)
    with pytest.raises(ValueError, match="steps"):
        b.set_state(np.zeros(2), np.eye(2), -1)
    with pytest.raises(ValueError, match="means"):
        b.set_state(np.zeros(3), np.eye(2), 0)


def test_unknown_codes_stop_the_chain_instead_of_running_as_cholesky():
    """The kernels' last branch is an explicit refusal (status INVALID), for rules and optimizers."""
    d, K = 3, 4
    for dd in (2, d):
        codes = np.array([7, kn.RIEMANNIAN, kn.COVARIANCE, kn.CHOLESKY], dtype=np.int64)
        opts = np.array([kn.SGD, kn.ADAM, 9, kn.SGD], dtype=np.int64)
        mu = np.zeros((K, dd))
        th = np.repeat(np.eye(dd)[None], K, 0)
        status = np.zeros(K, dtype=np.int64)
        fstep, fdet, fval = np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64), np.zeros(K)
        steps = np.zeros(K, dtype=np.int64)
        Y = np.ones((1, 10, dd))
        kn.advance_chains(codes, np.zeros(K, dtype=np.bool_), np.ones(K), np.zeros(K, dtype=np.int64),
                          np.full(K, 0.01), steps, mu, th, opts, np.tile([0.9, 0.999, 1e-8], (K, 1)),
                          np.zeros(K, dtype=np.bool_), np.zeros((K, 2, dd)), np.zeros((K, 2, dd, dd)),
                          np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64), np.zeros((K, 0)),
                          np.zeros((K, 0, 0)), Y, np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64), 1, 10,
                          status, fstep, fdet, fval, 1, np.empty((K, 0)), np.empty((K, 0, dd)),
                          np.empty((K, 0, dd, dd)), np.empty((K, 0)))
        assert status.tolist() == [kn.INVALID, kn.INVALID, kn.INVALID, kn.OK]
        assert fdet[:3].tolist() == [kn.DETAIL_RULE_CODE, kn.DETAIL_OPT_CODE, kn.DETAIL_OPT_CODE]
        assert fval[:3].tolist() == [7.0, float(kn.ADAM), 9.0] and fstep[:3].tolist() == [1, 1, 1]
        assert steps.tolist() == [0, 0, 0, 10]
        assert np.array_equal(th[:3], np.repeat(np.eye(dd)[None], 3, 0)) and not np.any(mu[:3])
    # the building blocks refuse it too
    work = np.empty((d, d))
    piv = np.empty(d, dtype=np.int64)
    out = np.empty((d, d))
    assert not kn.stored_to_sigma(np.eye(d), 7, out, work, piv) and np.all(np.isnan(out))
    assert kn.check_state(7, True, np.zeros(d), np.eye(d), np.eye(d), work, np.empty((d, d)), np.empty(d))[0] \
        == kn.INVALID
    assert kn._step2(7, True, 1.0, 0.1, np.zeros(2), np.eye(2), np.ones((1, 2)), 0, 1)[0] == kn.INVALID
    m, v = np.empty((d, d)), np.empty(d)
    assert not kn.one_update(7, True, 1.0, 0.1, np.zeros(d), np.eye(d), np.ones((1, d)), 0, 1,
                             m, m.copy(), m.copy(), v, m.copy(), v.copy(), v.copy(), v.copy(), m.copy(), piv)
    with pytest.raises(ValueError, match="code"):
        sigma_to_stored(7, np.eye(2))
    msg = estimator_module.divergence_message("covariance", kn.INVALID, 1, kn.DETAIL_RULE_CODE, 7.0)
    assert "code 7" in msg and "update 1" in msg


# ---------------------------------------------------- linearized bounds
def _expected_update_run(param, cov, alpha, opt, beta1, n=6000, eps=1e-3):
    """The real kernels on a batch whose scatter is exactly the truth's (mean r = mu* - mu,
    C = Sigma* + e e^T): the deterministic expected update. (start error, final error, divergence)."""
    d = cov.shape[0]
    L = np.linalg.cholesky(cov)
    batch = np.array([s * math.sqrt(d) * L[:, k] for k in range(d) for s in (1, -1)])
    rng = np.random.default_rng(1)
    A = rng.standard_normal((d, d)) * eps
    m0, c0 = rng.standard_normal(d) * eps, cov + 0.5 * (A + A.T)
    est = BatchEstimator(m0, c0, parameterization=param, alpha=alpha, batch_size=len(batch), symmetrize=True,
                         optimizer=opt, beta1=beta1)
    est.advance(np.ascontiguousarray(np.tile(batch, (n, 1))), n)
    err0 = np.abs(c0 - cov).max() + np.abs(m0).max()
    return err0, np.abs(est.covs[0] - cov).max() + np.abs(est.means[0]).max(), est.divergence(0)


CASES = [(p, o, b) for p in RULES for o, b in (("momentum", 0.5), ("momentum", 0.9), ("nesterov", 0.5),
                                                ("nesterov", 0.9))] + [("riemannian", "sgd", 0.9)]


@pytest.mark.parametrize("param,opt,beta1", CASES)
@pytest.mark.parametrize("cov", [ILL_COV, [[0.3]], np.diag([0.5, 1.0, 3.0])])
def test_optimizer_bounds_separate_stable_from_unstable_expected_updates(param, opt, beta1, cov):
    cov = np.asarray(cov, dtype=float)
    b = optimizer_bound(param, cov, opt, beta1)
    err0, err_below, div_below = _expected_update_run(param, cov, 0.97 * b.alpha_max, opt, beta1)
    _, err_above, _ = _expected_update_run(param, cov, 1.03 * b.alpha_max, opt, beta1)
    assert div_below is None and err_below < 1e-5 * err0, (err0, err_below)  # 3 % below: converges
    assert err_above > 2 * err0  # 3 % above: grows (or diverges)


def test_optimizer_bound_closed_forms():
    base = linear_bound("covariance", ILL_COV)
    edge = min(base.mean_bound, base.cov_bound)
    assert optimizer_bound("covariance", ILL_COV).alpha_max == base.alpha_max
    assert optimizer_bound("covariance", ILL_COV, "momentum", 0.9).alpha_max == pytest.approx(1.9 * edge)
    assert optimizer_bound("covariance", ILL_COV, "nesterov", 0.9).alpha_max == pytest.approx(1.9 / 2.8 * edge)
    assert optimizer_bound("covariance", ILL_COV, "nesterov", 0.0).alpha_max == pytest.approx(edge)  # = sgd
    for o in ("rmsprop", "adam"):
        ob = optimizer_bound("natural", ILL_COV, o)
        assert ob.alpha_max is None and "no closed-form" in ob.text
        assert opt_registry.get(o).bound_rule == "no closed form"
    # natural's PD limit (alpha < 1) belongs to the sgd step only
    assert optimizer_bound("natural", [[1.0]], "momentum", 0.5).alpha_max == pytest.approx(3.0)
    r = linear_bound("riemannian", ILL_COV)
    assert (r.alpha_max, r.pd_limit) == (2.0, math.inf) and "positive definite" in r.text
    for o in ("momentum", "nesterov"):
        assert optimizer_bound("covariance", ILL_COV, o, sign=-1).alpha_max == 0.0
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_bound("covariance", ILL_COV, "adagrad")
    with pytest.raises(ValueError, match="beta1"):
        optimizer_bound("covariance", ILL_COV, "momentum", 1.0)


# ------------------------------------------------------- any input (hypothesis)
def _candidate(param, sym, s, a, opt, b1, b2, eps, t, mu, th, state, Yb):
    """The state the kernels computed for a failing update, before their checks threw it away."""
    d = mu.size
    m = [np.empty((d, d)) for _ in range(5)]
    v = [np.empty(d) for _ in range(3)]
    mu2, th2 = mu.copy(), th.copy()
    c1, c2 = kn.bias_corrections(OPTIMIZERS[opt], b1, b2, t + 1, kn.bias_horizon(b1), kn.bias_horizon(b2))
    ok = kn.optimizer_update(PARAMETERIZATIONS[param], sym, s, a, OPTIMIZERS[opt], b1, b2, eps, c1, c2, mu2, th2,
                             np.ascontiguousarray(Yb), 0, Yb.shape[0], m[0], m[1], m[2], v[0], m[3], v[1], v[2], m[4],
                             np.empty(d, dtype=np.int64), state["moments_mu"], state["moments_stored"],
                             np.empty((2, d)), np.empty((2, d, d)))
    return bool(ok), mu2, th2


@settings(FAST, max_examples=N_OPT_CASES)
@given(run_cases(max_samples=3000), st.sampled_from(OPTS[1:]), st.floats(0, 0.999), st.floats(0, 0.9999),
       st.floats(-12, 0))
def test_optimizers_never_raise_never_lie(case, opt, b1, b2, log_eps):
    """Any start, scale, stream and setting: accepted states are valid (numpy's check) and a stop names
    an update that really fails, for the reason given."""
    # a rule that takes sgd only (riemannian) refuses these optimizers with a ValueError (tested in
    # test_bad_optimizer_settings_raise_clear_value_errors); its own property test is in test_riemannian
    assume(not pz.get(case["param"]).sgd_only)
    mean0, cov0, Y = materialize(case)
    eps = 10.0 ** log_eps
    kw = dict(kwargs_of(case), optimizer=opt, beta1=b1, beta2=b2, eps=eps, averaging=True)
    b = case["batch"]
    n_full = Y.shape[0] // b
    be = BatchEstimator(mean0, cov0, **kw)
    rec_alpha, rec_mu, rec_cov, rec_asym = be.advance(np.ascontiguousarray(Y[: n_full * b]), n_full, record_every=1)
    good = int(be.steps[0])
    for i in range(good):
        assert_valid_state(case["param"], case["symmetrize"], rec_mu[0, i], rec_cov[0, i])
    for arr in (rec_alpha, rec_mu, rec_cov, rec_asym, be.averaged_means, be.averaged_covs):
        assert np.all(np.isfinite(arr))
    div = be.divergence(0)
    if div is None:
        assert good == n_full
        return
    assert div.reason in ("non-finite", "asymmetric", "not-positive-definite", "exploded")
    assert div.step == good + 1
    sgn = 1.0 if (case["sign"][0] == "loglik") == (case["sign"][1] == "ascent") else -1.0
    th_old = be.stored[0]
    ok, mu_new, th_new = _candidate(case["param"], case["symmetrize"], sgn, float(be.alpha_t[0]), opt, b1, b2, eps,
                                    be.optimizer_state(0)["t"], be.means[0], th_old, be.optimizer_state(0),
                                    Y[good * b:(good + 1) * b])
    if not ok:
        assert div.reason == "not-positive-definite"
        return
    with np.errstate(all="ignore"):
        v = verdicts(case["param"], case["symmetrize"], th_old, mu_new, th_new)
    reasons = ("non-finite", "asymmetric", "not-positive-definite", "exploded")
    assert v[div.reason] != "pass", (div, v)
    assert all(v[r] != "fail" for r in reasons[: reasons.index(div.reason)]), (div, v)


# ------------------------------------------------------------ forecast
def test_the_forecast_continues_the_chains_optimizer_state():
    """forecast_chain copies the chain's moments and Adam's t: its copy diverges exactly where a
    hand-made copy given the same state and the same fork of the source does."""
    from gaussviz.core.forecast import empirical_forecast, forecast_chain
    from gaussviz.core.sources import GaussianSource
    from gaussviz.core.targets import fork_source

    src = GaussianSource([0.0, 0.0], ILL_COV, seed=3)
    est = BatchEstimator([1.0, 1.0], np.eye(2), parameterization="covariance", alpha=0.01, optimizer="adam",
                         symmetrize=True, beta1=0.8)
    est.advance(src.sample(300))
    assert est.divergence(0) is None and est.optimizer_state(0)["t"] == 300
    before = (est.means, est.stored, est.steps, est.optimizer_state(0)["moments_stored"])
    alpha = 0.08
    f = forecast_chain(est, 0, src, n_chains=1, n_updates=3000, seed=11, alpha=alpha)
    after = (est.means, est.stored, est.steps, est.optimizer_state(0)["moments_stored"])
    assert all(np.array_equal(x, y) for x, y in zip(before, after))  # the run is left alone
    copy = BatchEstimator(est.means[0], np.eye(2), parameterization="covariance", alpha=alpha, optimizer="adam",
                          symmetrize=True, beta1=0.8)
    copy.set_state(est.means[0], est.stored[0], 300, optimizer_state=est.optimizer_state(0))
    copy.advance(fork_source(src, 11).sample(3000))
    div = copy.divergence(0)
    assert div is not None and f.n_diverged == 1  # an informative alpha: the copy does diverge
    assert f.first_step == div.step - 300
    # settings(k) with its optimizer keys is a valid settings dict for the forecast
    g = empirical_forecast(est.means[0], est.covs[0], est.settings(0), src, n_chains=4, n_updates=200, seed=1)
    assert g.n_chains == 4
