"""Online maximum-likelihood estimators of a Gaussian: one chain or many at once.

``BatchEstimator`` holds K independent chains in arrays with a leading chain
axis and advances them all with one compiled call; ``Estimator`` is the
single-chain interface (K = 1) with a buffer for a short final batch.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import jit
from . import kernels as kn
from . import optimizers as opt
from . import parameterizations as pz
from .options import DIRECTIONS, OBJECTIVES, SCHEDULES, effective_sign
from .validation import (
    as_mean,
    as_samples,
    as_spd,
    check_alpha,
    check_batch_size,
    check_beta,
    check_choice,
    check_eps,
    check_flag,
    is_complex,
    quote,
)

#: chain-updates per call above which the chains run on all cores
PARALLEL_WORK = 200_000

REASONS = {
    kn.NON_FINITE: "non-finite",
    kn.ASYMMETRIC: "asymmetric",
    kn.NOT_PD: "not-positive-definite",
    kn.EXPLODED: "exploded",
    kn.INVALID: "invalid-settings",
}


@dataclass(frozen=True)
class Divergence:
    """Why and when a chain stopped: ``step`` is the 1-based update that failed."""

    step: int
    reason: str
    message: str
    value: float = float("nan")


def divergence_message(parameterization: str, status: int, step: int, detail: int, value: float) -> str:
    """A sentence a person understands, e.g. for the banner in the window."""
    what = pz.get(parameterization).matrix
    if status == kn.NON_FINITE:
        part = "the mean mu" if detail == kn.DETAIL_MEAN else what
        return f"{part} became non-finite ({value}) at update {step}"
    if status == kn.ASYMMETRIC:
        return (
            f"{what} drifted asymmetric at update {step}: ||A - A^T|| / ||A|| = {value:.4g} > 1e-06 "
            "(floating-point round-off amplified by the update; turn on symmetrize)"
        )
    if status == kn.NOT_PD:
        if detail == kn.DETAIL_CHOL_ZERO:
            return (
                f"Sigma became singular at update {step}: Cholesky diagonal entry "
                f"L[{int(value)},{int(value)}] crossed zero"
            )
        return f"{what} left the positive-definite cone at update {step}: smallest eigenvalue {value:.2g}"
    if status == kn.EXPLODED:
        if detail == kn.DETAIL_COND:
            return f"Sigma exploded at update {step}: condition number {value:.2g} > 1e12"
        return f"Sigma exploded at update {step}: largest eigenvalue {value:.2g} > 1e12"
    if status == kn.INVALID:
        what = "update-rule" if detail == kn.DETAIL_RULE_CODE else "optimizer"
        return (f"stopped before update {step}: {what} code {int(value)} is unknown or not allowed "
                f"with {parameterization} (the compiled kernels refuse it rather than guess)")
    return ""


def sigma_to_stored(code: int, sigma: np.ndarray) -> np.ndarray:
    """Stored parameter of a parameterization (by kernel code) for a given covariance."""
    return pz.by_code(code).to_stored(sigma)


def _per_chain(value: Any, K: int, name: str) -> list:
    if isinstance(value, (str, bool, int, float, complex, np.number, np.bool_)) or value is None or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return [value] * K
    try:
        vals = list(value)
    except TypeError:
        raise ValueError(f"{name} must be a single value or one per chain ({K}); got {quote(value)}") from None
    if len(vals) != K:
        raise ValueError(f"{name} must be a single value or one per chain ({K}); got {len(vals)}")
    return vals


def _float_array(value: Any, name: str) -> np.ndarray:
    """A float array of the argument, or a ValueError naming it (not numpy's own message)."""
    if is_complex(value):
        raise ValueError(f"{name} must be real numbers; got complex values")
    try:
        return np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers; got {value!r}") from None


class BatchEstimator:
    """K independent chains advanced together; a sweep is one compiled pass per chunk.

    Every per-chain setting may be a single value (shared) or a sequence of K.
    All chains share ``batch_size`` (sweeps over batch size use one
    ``BatchEstimator`` per size).

    Optimizers (docs/MATH.md "Optimizers"): ``optimizer`` is one of
    ``OPTIMIZERS`` on top of any update rule (riemannian: sgd only), with
    ``beta1``, ``beta2`` in [0, 1) and ``eps`` > 0. Adam's bias-correction
    counter t counts the updates since the chain's optimizer state was last
    reset (MATH.md's t when it never was). The state is reset by switching the
    update rule (the stored coordinates change) and by ``set_optimizer``
    (a new optimizer, betas or eps); alpha, schedule, sign and symmetrize
    changes keep it.

    Averaging (docs/MATH.md, Polyak-Ruppert): with ``averaging`` on, after each
    update ``mu_bar += (mu - mu_bar)/t`` and ``Sigma_bar += (Sigma - Sigma_bar)/t``
    where t counts the updates averaged: the chain's step count when averaging
    is on from the start. Turning it on later starts a fresh average at the
    current state (the states before it was on are not known). A rule switch
    does not restart it (the average lives in mu/Sigma space).
    """

    def __init__(
        self,
        means: Any,
        covs: Any,
        parameterization: str | Sequence[str] = "covariance",
        alpha: float | Sequence[float] = 0.002,
        objective: str | Sequence[str] = "loglik",
        direction: str | Sequence[str] = "ascent",
        schedule: str | Sequence[str] = "constant",
        batch_size: int = 1,
        symmetrize: bool | Sequence[bool] = False,
        n_chains: int | None = None,
        optimizer: str | Sequence[str] = opt.DEFAULTS["optimizer"],
        beta1: float | Sequence[float] = opt.DEFAULTS["beta1"],
        beta2: float | Sequence[float] = opt.DEFAULTS["beta2"],
        eps: float | Sequence[float] = opt.DEFAULTS["eps"],
        averaging: bool | Sequence[bool] = opt.DEFAULTS["averaging"],
    ) -> None:
        if n_chains is not None and (isinstance(n_chains, bool) or not isinstance(n_chains, (int, np.integer))
                                     or n_chains < 1):
            raise ValueError(f"n_chains must be an integer >= 1; got {n_chains!r}")
        m = _float_array(means, "means")
        c = _float_array(covs, "covs")
        if m.ndim <= 1:
            m = as_mean(m, "means")
            K = n_chains or 1
            m = np.repeat(m[None], K, axis=0)
        if m.ndim != 2 or m.shape[0] == 0:
            raise ValueError(f"means must have shape (d,) or (K, d) with K >= 1; got shape {m.shape}")
        K = m.shape[0]
        d = m.shape[1]
        if c.ndim <= 2:
            c = as_spd(c, "covs")
            if c.shape != (d, d):
                raise ValueError(f"covs must have shape ({d}, {d}) to match means of length {d}; "
                                 f"got shape {c.shape}")
            c = np.repeat(c[None], K, axis=0)
        if c.shape != (K, d, d):
            raise ValueError(f"covs must have shape ({K}, {d}, {d}); got shape {c.shape}")
        for i in range(K):
            as_mean(m[i], "means", d)
            c[i] = as_spd(c[i], "covs", d)
        self.d = d
        self.K = K
        self.batch_size = check_batch_size(batch_size)
        self._params = [pz.get(p).name for p in _per_chain(parameterization, K, "parameterization")]
        self._codes = np.array([pz.get(p).code for p in self._params], dtype=np.int64)
        self._alphas = np.array([check_alpha(a) for a in _per_chain(alpha, K, "alpha")])
        self._objectives = [check_choice("objective", o, OBJECTIVES) for o in _per_chain(objective, K, "objective")]
        self._directions = [check_choice("direction", o, DIRECTIONS) for o in _per_chain(direction, K, "direction")]
        self._signs = np.array([effective_sign(o, r) for o, r in zip(self._objectives, self._directions)])
        self._schedule_names = [check_choice("schedule", s, SCHEDULES) for s in _per_chain(schedule, K, "schedule")]
        self._schedules = np.array([SCHEDULES[s] for s in self._schedule_names], dtype=np.int64)
        syms = _per_chain(symmetrize, K, "symmetrize")
        for s in syms:
            if not isinstance(s, (bool, np.bool_)):
                raise ValueError(f"symmetrize must be True or False; got {quote(s)}")
        self._syms = np.array(syms, dtype=np.bool_)
        self._opt_names = [opt.get(o).name for o in _per_chain(optimizer, K, "optimizer")]
        for p, o in zip(self._params, self._opt_names):
            pz.check_optimizer(p, o)
        self._opt_codes = np.array([opt.get(o).code for o in self._opt_names], dtype=np.int64)
        # (K, 3): beta1, beta2, eps per chain
        self._opt_params = np.array([[check_beta(b, "beta1") for b in _per_chain(beta1, K, "beta1")],
                                     [check_beta(b, "beta2") for b in _per_chain(beta2, K, "beta2")],
                                     [check_eps(e) for e in _per_chain(eps, K, "eps")]]).T.copy()
        self._avg_flags = np.array([check_flag(a, "averaging") for a in _per_chain(averaging, K, "averaging")],
                                   dtype=np.bool_)
        self._mu = np.ascontiguousarray(m)
        self._th = np.empty((K, d, d))
        for i in range(K):
            self._th[i] = sigma_to_stored(int(self._codes[i]), c[i])
        self._steps = np.zeros(K, dtype=np.int64)
        self._status = np.zeros(K, dtype=np.int64)
        self._fail_step = np.zeros(K, dtype=np.int64)
        self._fail_detail = np.zeros(K, dtype=np.int64)
        self._fail_value = np.zeros(K)
        # Optimizer state and averages: zero-size until a chain needs them (sgd without
        # averaging, the common case, carries nothing and the kernels never touch them).
        self._opt_mu = np.zeros((K, 2, 0))
        self._opt_th = np.zeros((K, 2, 0, 0))
        self._opt_t = np.zeros(K, dtype=np.int64)
        self._avg_n = np.zeros(K, dtype=np.int64)
        self._avg_mu = np.zeros((K, 0))
        self._avg_sigma = np.zeros((K, 0, 0))
        self._ensure_optimizer_state()
        self._start_average(np.flatnonzero(self._avg_flags))
        self._empty_rec = (np.empty((K, 0)), np.empty((K, 0, d)), np.empty((K, 0, d, d)), np.empty((K, 0)))

    def _ensure_optimizer_state(self) -> None:
        if self._opt_mu.shape[2] == 0 and np.any(self._opt_codes != kn.SGD):
            self._opt_mu = np.zeros((self.K, 2, self.d))
            self._opt_th = np.zeros((self.K, 2, self.d, self.d))

    def _reset_optimizer(self, chains) -> None:
        """Zero moments and Adam's counter (docs/MATH.md: v = m = u = 0 at the start)."""
        self._ensure_optimizer_state()
        for i in chains:
            self._opt_t[i] = 0
            if self._opt_mu.shape[2]:
                self._opt_mu[i] = 0.0
                self._opt_th[i] = 0.0

    def _start_average(self, chains) -> None:
        """The average of no update yet is the current state."""
        chains = list(chains)
        if not chains:
            return
        if self._avg_mu.shape[1] == 0:
            self._avg_mu = np.zeros((self.K, self.d))
            self._avg_sigma = np.zeros((self.K, self.d, self.d))
        covs = self.covs
        for i in chains:
            self._avg_n[i] = 0
            self._avg_mu[i] = self._mu[i]
            self._avg_sigma[i] = covs[i]

    # ------------------------------------------------------------------ state
    @property
    def means(self) -> np.ndarray:
        return self._mu.copy()

    @property
    def covs(self) -> np.ndarray:
        """Covariances of all chains (the stored parameter converted back), (K, d, d)."""
        out = np.empty_like(self._th)
        work = np.empty((self.d, self.d))
        piv = np.empty(self.d, dtype=np.int64)
        stored_to_sigma = jit.use(kn).stored_to_sigma
        for i in range(self.K):
            stored_to_sigma(self._th[i], int(self._codes[i]), out[i], work, piv)
        return out

    @property
    def stored(self) -> np.ndarray:
        """The raw stored parameters (Sigma, Lambda, L or log-diag L), (K, d, d)."""
        return self._th.copy()

    @property
    def steps(self) -> np.ndarray:
        return self._steps.copy()

    @property
    def alphas(self) -> np.ndarray:
        return self._alphas.copy()

    @property
    def alpha_t(self) -> np.ndarray:
        """Learning rate each chain's next update will use."""
        learning_rate = jit.use(kn).learning_rate
        return np.array([learning_rate(a, s, int(t)) for a, s, t in
                         zip(self._alphas, self._schedules, self._steps)])

    @property
    def parameterizations(self) -> list[str]:
        return list(self._params)

    @property
    def optimizers(self) -> list[str]:
        return list(self._opt_names)

    @property
    def averaging(self) -> np.ndarray:
        """Which chains keep a Polyak-Ruppert average, (K,) bool."""
        return self._avg_flags.copy()

    @property
    def averaged_means(self) -> np.ndarray:
        """Polyak-Ruppert averages of the mean, (K, d); NaN rows ("not available") where averaging is off."""
        out = np.full((self.K, self.d), np.nan)
        on = self._avg_flags
        if on.any():
            out[on] = self._avg_mu[on]
        return out

    @property
    def averaged_covs(self) -> np.ndarray:
        """Polyak-Ruppert averages of Sigma, (K, d, d); NaN where averaging is off."""
        out = np.full((self.K, self.d, self.d), np.nan)
        on = self._avg_flags
        if on.any():
            out[on] = self._avg_sigma[on]
        return out

    @property
    def averaged_steps(self) -> np.ndarray:
        """Updates folded into each chain's average (its t), (K,)."""
        return self._avg_n.copy()

    def optimizer_state(self, i: int) -> dict:
        """Chain i's optimizer state (copies): ``moments_mu`` (2, d) and ``moments_stored`` (2, d, d)
        (first moment at 0, second at 1; zeros for sgd) and ``t``, the updates since its last reset."""
        if self._opt_mu.shape[2]:
            mm, mt = self._opt_mu[i].copy(), self._opt_th[i].copy()
        else:
            mm, mt = np.zeros((2, self.d)), np.zeros((2, self.d, self.d))
        return {"moments_mu": mm, "moments_stored": mt, "t": int(self._opt_t[i])}

    @property
    def diverged(self) -> np.ndarray:
        return self._status != kn.OK

    def divergence(self, i: int) -> Divergence | None:
        st = int(self._status[i])
        if st == kn.OK:
            return None
        step = int(self._fail_step[i])
        val = float(self._fail_value[i])
        msg = divergence_message(self._params[i], st, step, int(self._fail_detail[i]), val)
        return Divergence(step=step, reason=REASONS[st], message=msg, value=val)

    def divergences(self) -> list[Divergence | None]:
        return [self.divergence(i) for i in range(self.K)]

    # --------------------------------------------------------------- settings
    def _chains(self, chains) -> range | list[int]:
        if chains is None:
            return range(self.K)
        try:
            idx = [operator.index(c) for c in np.atleast_1d(chains)]
        except TypeError:
            idx = None
        if idx is None or any(not 0 <= i < self.K for i in idx):
            raise ValueError(f"chains must be chain indices from 0 to {self.K - 1}; got {chains!r}")
        return idx

    def set_alpha(self, alpha: float, chains=None) -> None:
        a = check_alpha(alpha)
        for i in self._chains(chains):
            self._alphas[i] = a

    def set_sign(self, objective: str, direction: str, chains=None) -> None:
        s = effective_sign(objective, direction)
        for i in self._chains(chains):
            self._objectives[i] = objective
            self._directions[i] = direction
            self._signs[i] = s

    def set_schedule(self, schedule: str, chains=None) -> None:
        code = SCHEDULES[check_choice("schedule", schedule, SCHEDULES)]
        for i in self._chains(chains):
            self._schedule_names[i] = schedule
            self._schedules[i] = code

    def set_symmetrize(self, symmetrize: bool, chains=None) -> None:
        if not isinstance(symmetrize, (bool, np.bool_)):
            raise ValueError(f"symmetrize must be True or False; got {symmetrize!r}")
        for i in self._chains(chains):
            self._syms[i] = bool(symmetrize)

    def set_batch_size(self, batch_size: int) -> None:
        self.batch_size = check_batch_size(batch_size)

    def set_parameterization(self, parameterization: str, chains=None) -> None:
        """Switch the update rule keeping the current mean and covariance.

        Resets the chains' optimizer state (the stored coordinates change,
        docs/MATH.md); the averages and the step count carry on.
        """
        code = pz.get(parameterization).code
        idx = list(self._chains(chains))
        for i in idx:
            pz.check_optimizer(parameterization, self._opt_names[i])
        covs = self.covs
        for i in idx:
            self._th[i] = sigma_to_stored(code, covs[i])
            self._codes[i] = code
            self._params[i] = parameterization
        self._reset_optimizer(idx)

    def set_optimizer(self, optimizer: str, beta1: float | None = None, beta2: float | None = None,
                      eps: float | None = None, chains=None) -> None:
        """Choose the optimizer (and its betas and eps; None keeps a chain's current value).

        Resets the chains' optimizer state, even when nothing changed: the call
        says "start the optimizer here". ValueError (nothing changed) for a bad
        value or an optimizer the chain's update rule does not take.
        """
        code = opt.get(optimizer).code
        b1 = None if beta1 is None else check_beta(beta1, "beta1")
        b2 = None if beta2 is None else check_beta(beta2, "beta2")
        e = None if eps is None else check_eps(eps)
        idx = list(self._chains(chains))
        for i in idx:
            pz.check_optimizer(self._params[i], optimizer)
        for i in idx:
            self._opt_names[i] = optimizer
            self._opt_codes[i] = code
            for col, v in enumerate((b1, b2, e)):
                if v is not None:
                    self._opt_params[i, col] = v
        self._reset_optimizer(idx)

    def set_averaging(self, averaging: bool, chains=None) -> None:
        """Keep (or stop keeping) a Polyak-Ruppert average; turning it on starts it at the current state."""
        flag = check_flag(averaging, "averaging")
        idx = list(self._chains(chains))
        start = [i for i in idx if flag and not self._avg_flags[i]]
        for i in idx:
            self._avg_flags[i] = flag
        self._start_average(start)

    def set_state(self, means: Any, stored: Any, steps: Any, chains=None,
                  optimizer_state: dict | None = None) -> None:
        """Overwrite the state of some chains (all by default): what a copy of a run continues from.

        ``means`` (d,) or one per chain, ``stored`` the raw stored parameter
        (as ``stored``, keeping what the covariance cannot show, e.g. an
        asymmetric part) (d, d) or one per chain, ``steps`` the update count
        (continues a decaying schedule). The optimizer state is reset, or set
        from ``optimizer_state`` (a dict as ``optimizer_state(i)`` returns); the
        averages restart at the new state. The divergence status is kept
        (``resume`` clears it). The state is taken as given: the next update's
        divergence checks judge it.
        """
        idx = list(self._chains(chains))
        k, d = len(idx), self.d
        m = _float_array(means, "means")
        th = _float_array(stored, "stored")
        m = np.broadcast_to(m, (k, d)) if m.shape in ((d,), (k, d)) else None
        if m is None or not np.all(np.isfinite(m)):
            raise ValueError(f"means must be finite, of shape ({d},) or ({k}, {d})")
        th = np.broadcast_to(th, (k, d, d)) if th.shape in ((d, d), (k, d, d)) else None
        if th is None or not np.all(np.isfinite(th)):
            raise ValueError(f"stored must be finite, of shape ({d}, {d}) or ({k}, {d}, {d})")
        st = np.asarray(steps)
        if st.dtype == bool or not np.issubdtype(st.dtype, np.integer) or st.shape not in ((), (k,)) \
                or np.any(st < 0):
            raise ValueError(f"steps must be an integer >= 0 or one per chain ({k}); got {steps!r}")
        st = np.broadcast_to(st, (k,))
        opt = None
        if optimizer_state is not None:
            try:
                opt = (np.broadcast_to(_float_array(optimizer_state["moments_mu"], "optimizer_state"), (2, d)),
                       np.broadcast_to(_float_array(optimizer_state["moments_stored"], "optimizer_state"),
                                       (2, d, d)),
                       operator.index(optimizer_state["t"]))
            except (KeyError, TypeError, ValueError):
                raise ValueError("optimizer_state must be a dict like optimizer_state(i) returns") from None
            if not (np.all(np.isfinite(opt[0])) and np.all(np.isfinite(opt[1]))) or opt[2] < 0:
                raise ValueError("optimizer_state must hold finite moments and t >= 0")
        for n, i in enumerate(idx):
            self._mu[i] = m[n]
            self._th[i] = th[n]
            self._steps[i] = st[n]
        self._reset_optimizer(idx)
        if opt is not None and self._opt_mu.shape[2]:
            for i in idx:
                self._opt_mu[i], self._opt_th[i], self._opt_t[i] = opt
        self._start_average([i for i in idx if self._avg_flags[i]])

    def resume(self, chains=None) -> None:
        """Clear a divergence so the chain continues from its last good state."""
        for i in self._chains(chains):
            self._status[i] = kn.OK

    def settings(self, i: int = 0, full: bool = False) -> dict:
        """Chain i's settings as a dict (the keys of ``EstimatorSettings`` plus the optimizer's).

        The optimizer keys (``opt.DEFAULTS``: optimizer, beta1, beta2, eps,
        averaging) appear when they differ from their defaults, or always with
        ``full``: a plain sgd chain reads exactly as before the optimizers came
        (the CLI's JSON and its tests compare this dict). Missing keys mean the
        defaults; ``forecast.empirical_forecast`` fills them in.
        """
        out = {
            "parameterization": self._params[i],
            "alpha": float(self._alphas[i]),
            "objective": self._objectives[i],
            "direction": self._directions[i],
            "schedule": self._schedule_names[i],
            "batch_size": self.batch_size,
            "symmetrize": bool(self._syms[i]),
        }
        optimizer = {
            "optimizer": self._opt_names[i],
            "beta1": float(self._opt_params[i, 0]),
            "beta2": float(self._opt_params[i, 1]),
            "eps": float(self._opt_params[i, 2]),
            "averaging": bool(self._avg_flags[i]),
        }
        out.update(optimizer if full else {k: v for k, v in optimizer.items() if v != opt.DEFAULTS[k]})
        return out

    # ---------------------------------------------------------------- update
    def advance(
        self,
        Y: np.ndarray,
        n_updates: int | None = None,
        streams: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
        record_every: int = 0,
        parallel: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Apply ``n_updates`` batches from ``Y`` to every running chain.

        ``Y`` is (n, d), shared by all chains, or (S, n, d) with ``streams``
        (K,) naming each chain's stream. With ``record_every`` > 0 the state
        every that many updates (and after the last) is returned as
        ``(alpha_t, mu, sigma, asymmetry)`` with shapes (K, R), (K, R, d), (K, R, d, d), (K, R).
        ``Y`` must already be validated and contiguous (the hot path skips checks).
        ``parallel`` spreads the chains over all cores (True) or keeps them on
        one (False; e.g. a Dask worker that is one of several on a machine);
        None chooses by the amount of work. The numbers are the same either way.
        """
        if Y.ndim == 2:
            Y = Y[None]
        if streams is None:
            streams = np.zeros(self.K, dtype=np.int64)
        if offsets is None:
            offsets = np.zeros(self.K, dtype=np.int64)
        b = self.batch_size
        if n_updates is None:
            n_updates = Y.shape[1] // b
        if n_updates <= 0:
            return None if record_every <= 0 else self._empty_rec
        if record_every > 0:
            R = -(-n_updates // record_every)
            rec = (np.empty((self.K, R)), np.empty((self.K, R, self.d)),
                   np.empty((self.K, R, self.d, self.d)), np.empty((self.K, R)))
        else:
            rec = self._empty_rec
            record_every = 1
        # Many chains: spread them over the cores. Few chains (the window): one
        # core, leaving the other to the GUI.
        if parallel is None:
            parallel = self.K * n_updates >= PARALLEL_WORK and self.K >= 64
        entry = kn.advance_kernel(self.d, parallel, kn.needs_optimizers(self._codes, self._opt_codes))
        kernel = getattr(jit.use(kn), entry.__name__)  # compiled, or interpreted while it compiles (core/jit.py)
        kernel(
            self._codes, self._syms, self._signs, self._schedules, self._alphas, self._steps,
            self._mu, self._th,
            self._opt_codes, self._opt_params, self._avg_flags, self._opt_mu, self._opt_th, self._opt_t,
            self._avg_n, self._avg_mu, self._avg_sigma,
            Y, streams, offsets, b, int(n_updates),
            self._status, self._fail_step, self._fail_detail, self._fail_value,
            int(record_every), *rec,
        )
        return rec if rec[0].shape[1] else None

    def update(self, Y: Any) -> int:
        """Feed the same samples to every chain; returns updates applied (max over chains)."""
        y = as_samples(Y, self.d)
        before = self._steps.copy()
        self.advance(y)
        return int(np.max(self._steps - before))


class Estimator:
    """One online estimator of (mu, Sigma): the interface the seed question needs.

    >>> est = Estimator([0.0], [[1.0]], alpha=0.002)
    >>> est.update(np.zeros((3, 1)))
    3
    """

    def __init__(
        self,
        mean: Any,
        cov: Any,
        parameterization: str = "covariance",
        alpha: float = 0.002,
        objective: str = "loglik",
        direction: str = "ascent",
        schedule: str = "constant",
        batch_size: int = 1,
        symmetrize: bool = False,
        optimizer: str = opt.DEFAULTS["optimizer"],
        beta1: float = opt.DEFAULTS["beta1"],
        beta2: float = opt.DEFAULTS["beta2"],
        eps: float = opt.DEFAULTS["eps"],
        averaging: bool = opt.DEFAULTS["averaging"],
    ) -> None:
        m = as_mean(mean, "mean")
        d = m.shape[0]
        c = _float_array(cov, "cov")
        if c.ndim == 2 and c.shape[0] == c.shape[1] and c.shape[0] != d:
            raise ValueError(f"cov must have shape ({d}, {d}) to match mean of length {d}; got shape {c.shape}")
        c = as_spd(c, "cov", d)
        pz.get(parameterization)
        if not isinstance(symmetrize, (bool, np.bool_)):
            # (for rules symmetric by construction the switch changes nothing; it is accepted)
            raise ValueError(f"symmetrize must be True or False; got {symmetrize!r}")
        for name, value in (("optimizer", optimizer), ("beta1", beta1), ("beta2", beta2), ("eps", eps),
                            ("averaging", averaging)):
            if isinstance(value, (list, tuple, np.ndarray)):  # one chain: one value, not one per chain
                raise ValueError(f"{name} must be a single value; got {value!r}")
        self._b = BatchEstimator(m, c, parameterization, alpha, objective, direction,
                                 schedule, batch_size, bool(symmetrize), optimizer=optimizer, beta1=beta1,
                                 beta2=beta2, eps=eps, averaging=averaging)
        self._pending = np.empty((0, m.shape[0]))

    # state
    @property
    def d(self) -> int:
        return self._b.d

    @property
    def mean(self) -> np.ndarray:
        return self._b._mu[0].copy()

    @property
    def cov(self) -> np.ndarray:
        return self._b.covs[0]

    @property
    def stored(self) -> np.ndarray:
        return self._b._th[0].copy()

    @property
    def steps(self) -> int:
        return int(self._b._steps[0])

    @property
    def alpha_t(self) -> float:
        return float(self._b.alpha_t[0])

    @property
    def divergence(self) -> Divergence | None:
        return self._b.divergence(0)

    @property
    def averaged_mean(self) -> np.ndarray | None:
        """The Polyak-Ruppert average of the mean (None when averaging is off)."""
        return self._b.averaged_means[0] if self.averaging else None

    @property
    def averaged_cov(self) -> np.ndarray | None:
        """The Polyak-Ruppert average of Sigma (None when averaging is off)."""
        return self._b.averaged_covs[0] if self.averaging else None

    @property
    def pending(self) -> int:
        """Samples waiting for a full mini-batch."""
        return self._pending.shape[0]

    # settings
    @property
    def alpha(self) -> float:
        return float(self._b._alphas[0])

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._b.set_alpha(value)

    @property
    def parameterization(self) -> str:
        return self._b._params[0]

    @property
    def objective(self) -> str:
        return self._b._objectives[0]

    @property
    def direction(self) -> str:
        return self._b._directions[0]

    @property
    def schedule(self) -> str:
        return self._b._schedule_names[0]

    @schedule.setter
    def schedule(self, value: str) -> None:
        self._b.set_schedule(value)

    @property
    def batch_size(self) -> int:
        return self._b.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self._b.set_batch_size(value)

    @property
    def symmetrize(self) -> bool:
        return bool(self._b._syms[0])

    @symmetrize.setter
    def symmetrize(self, value: bool) -> None:
        self._b.set_symmetrize(value)

    @property
    def optimizer(self) -> str:
        return self._b._opt_names[0]

    @property
    def beta1(self) -> float:
        return float(self._b._opt_params[0, 0])

    @property
    def beta2(self) -> float:
        return float(self._b._opt_params[0, 1])

    @property
    def eps(self) -> float:
        return float(self._b._opt_params[0, 2])

    @property
    def averaging(self) -> bool:
        return bool(self._b._avg_flags[0])

    @averaging.setter
    def averaging(self, value: bool) -> None:
        self._b.set_averaging(value)

    def set_optimizer(self, optimizer: str, beta1: float | None = None, beta2: float | None = None,
                      eps: float | None = None) -> None:
        """See ``BatchEstimator.set_optimizer`` (resets the optimizer state)."""
        self._b.set_optimizer(optimizer, beta1, beta2, eps)

    def optimizer_state(self) -> dict:
        return self._b.optimizer_state(0)

    def set_sign(self, objective: str, direction: str) -> None:
        self._b.set_sign(objective, direction)

    def set_parameterization(self, parameterization: str) -> None:
        self._b.set_parameterization(parameterization)

    def resume(self) -> None:
        self._b.resume()

    def update(self, Y: Any) -> int:
        """Consume samples in order, ``batch_size`` at a time; returns updates applied."""
        y = as_samples(Y, self.d)
        if self.divergence is not None:
            return 0
        if self._pending.shape[0]:
            y = np.concatenate([self._pending, y])
        b = self._b.batch_size
        n = y.shape[0] // b
        self._pending = y[n * b:].copy()
        if n == 0:
            return 0
        before = self.steps
        self._b.advance(np.ascontiguousarray(y[: n * b]), n)
        return self.steps - before
