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

from . import kernels as kn
from . import parameterizations as pz
from .options import DIRECTIONS, OBJECTIVES, SCHEDULES, effective_sign
from .validation import as_mean, as_samples, as_spd, check_alpha, check_batch_size, check_choice, is_complex

#: chain-updates per call above which the chains run on all cores
PARALLEL_WORK = 200_000

REASONS = {
    kn.NON_FINITE: "non-finite",
    kn.ASYMMETRIC: "asymmetric",
    kn.NOT_PD: "not-positive-definite",
    kn.EXPLODED: "exploded",
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
        raise ValueError(f"{name} must be a single value or one per chain ({K}); got {value!r}") from None
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
                raise ValueError(f"symmetrize must be True or False; got {s!r}")
        self._syms = np.array(syms, dtype=np.bool_)
        self._mu = np.ascontiguousarray(m)
        self._th = np.empty((K, d, d))
        for i in range(K):
            self._th[i] = sigma_to_stored(int(self._codes[i]), c[i])
        self._steps = np.zeros(K, dtype=np.int64)
        self._status = np.zeros(K, dtype=np.int64)
        self._fail_step = np.zeros(K, dtype=np.int64)
        self._fail_detail = np.zeros(K, dtype=np.int64)
        self._fail_value = np.zeros(K)
        self._empty_rec = (np.empty((K, 0)), np.empty((K, 0, d)), np.empty((K, 0, d, d)), np.empty((K, 0)))

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
        for i in range(self.K):
            kn.stored_to_sigma(self._th[i], int(self._codes[i]), out[i], work, piv)
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
        return np.array([kn.learning_rate(a, s, int(t)) for a, s, t in
                         zip(self._alphas, self._schedules, self._steps)])

    @property
    def parameterizations(self) -> list[str]:
        return list(self._params)

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
        """Switch the update rule keeping the current mean and covariance."""
        code = pz.get(parameterization).code
        covs = self.covs
        for i in self._chains(chains):
            self._th[i] = sigma_to_stored(code, covs[i])
            self._codes[i] = code
            self._params[i] = parameterization

    def resume(self, chains=None) -> None:
        """Clear a divergence so the chain continues from its last good state."""
        for i in self._chains(chains):
            self._status[i] = kn.OK

    def settings(self, i: int = 0) -> dict:
        return {
            "parameterization": self._params[i],
            "alpha": float(self._alphas[i]),
            "objective": self._objectives[i],
            "direction": self._directions[i],
            "schedule": self._schedule_names[i],
            "batch_size": self.batch_size,
            "symmetrize": bool(self._syms[i]),
        }

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
        kernel = kn.advance_kernel(self.d, parallel)
        kernel(
            self._codes, self._syms, self._signs, self._schedules, self._alphas, self._steps,
            self._mu, self._th, Y, streams, offsets, b, int(n_updates),
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
        self._b = BatchEstimator(m, c, parameterization, alpha, objective, direction,
                                 schedule, batch_size, bool(symmetrize))
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
