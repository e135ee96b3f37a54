"""Stability forecast: how large a learning rate the current run can take.

Two answers, shown side by side because they differ by an order of magnitude:

1. ``linear_bound``: the largest alpha for which the linearized EXPECTED
   update is stable at a covariance Sigma (normally the truth). It only sees
   the mean drift of the update, not its noise.
2. ``empirical_forecast`` / ``forecast_chain``: the fraction of a few dozen
   copies of the run, started from its current state with its current
   settings on fresh samples, that diverge within the next N updates. Noise
   drives most divergences (docs/MATH.md "Where divergence comes from"), so this is
   usually far stricter than (1).

Pure numpy and the compiled kernels (no Qt, no global state): safe to call
from a worker thread between two chunks of a run.

Linearized bounds (eigenvalues l of Sigma, rate a, sign s = +1; each
parameterization's update is linearized at its fixed point Sigma, where the
expected batch scatter E[C] = Sigma + e e^T, e = mean error):

- mean, every gradient parameterization: e -> (I - a P) e, factors 1 - a/l_i:
  stable for a < 2 l_min. ``natural``: e -> (1 - a) e: a < 2.
- ``covariance``: D -> D - a/2 P D P, factors 1 - a/(2 l_i l_j): a < 4 l_min^2.
- ``precision``: Lambda = P + E, E -> E - a/2 Sigma E Sigma, factors
  1 - a l_i l_j / 2: a < 4 / l_max^2.
- ``cholesky`` (Sigma = L L^T, L = L* + E): E -> E - a T(E) with
  T(E) = tril(P E + L^-T E^T L^-T), the negative Hessian of the expected
  log-likelihood in the entries of L (symmetric, positive definite):
  a < 2 / t_max, t_max its largest eigenvalue (computed; for d = 1, a < l).
- ``log-cholesky``: the same operator in the coordinates (off-diagonal of L,
  log L_kk): D T D with D = L_kk on the diagonal entries, 1 elsewhere:
  a < 2 / t_max (for d = 1, a < 1 at any scale).
- ``natural``: D -> (1 - a) D: a < 2 in expectation; but one step
  (1 - a) Sigma + a r r^T is positive definite for every sample only when
  a < 1 (for a > 1 and d >= 2 it is indefinite at once), so alpha_max = 1.
- ``riemannian``: to first order in the error it is the natural step,
  X -> (1 - a) X with Sigma = Sigma*^1/2 (I + X) Sigma*^1/2: a < 2; every step
  is positive definite (docs/MATH.md), so there is no PD limit.
- optimizers (``optimizer_bound``): momentum and Nesterov are linear and act
  alike on every coordinate, so each mode h of the sgd linearization (factor
  1 - a h) keeps its own 2 x 2 recursion.
- wrong sign (s = -1): every factor is 1 + a t > 1: unstable at every alpha.

The expected update depends on the data only through their mean and
covariance, so these bounds hold for every target (heavy tails, mixtures,
real data): such targets change the noise, which only the empirical forecast
sees. The mini-batch size changes the noise, not the bound; a decaying
schedule applies the bound to the current rate a_t.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import numpy as np

from . import optimizers as opt
from . import parameterizations as pz
from .estimator import BatchEstimator, Divergence
from .options import effective_sign
from .targets import fork_source
from .validation import as_mean, check_beta

#: chains and horizon of the empirical forecast by default
DEFAULT_CHAINS = 32
DEFAULT_UPDATES = 2000


@dataclass(frozen=True)
class LinearBound:
    """The largest stable alpha of the linearized expected update, and its parts."""

    parameterization: str
    alpha_max: float
    mean_bound: float
    cov_bound: float
    pd_limit: float
    eigs: np.ndarray
    basis: str
    #: the bound's formula in words (from the parameterization's spec)
    why: str = ""

    @property
    def text(self) -> str:
        lo, hi = float(self.eigs[0]), float(self.eigs[-1])
        if self.alpha_max == 0.0:
            return ("wrong sign: the expected update walks away from the MLE at every alpha "
                    "(linearized factors 1 + alpha t > 1)")
        head = f"linearized bound (eigenvalues of the {self.basis}: {lo:.3g} to {hi:.3g}): alpha < {self.alpha_max:.3g}"
        why = self.why
        if math.isinf(self.pd_limit):
            why = f"{why} = min({self.mean_bound:.3g}, {self.cov_bound:.3g})"
        return f"{head}; {why}. Noise makes divergence likely far below this: see the forecast."


def _spd_eigs(cov: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(cov, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be a finite square matrix; got shape {c.shape}")
    c = 0.5 * (c + c.T)
    ev, Q = np.linalg.eigh(c)
    if ev[0] <= 0:
        raise ValueError(f"{name} is not positive definite (smallest eigenvalue {ev[0]:.3g}): no bound")
    return ev, Q


def linear_bound(parameterization: str, cov: Any, sign: float = 1.0, basis: str = "true covariance") -> LinearBound:
    """The linearized bound at covariance ``cov`` (module docstring has the derivations).

    Pass the TRUE covariance: the linearization is about the fixed point the
    run converges to, and it decides whether the run can settle there. Passed
    the current estimate instead it says what step the curvature at the
    estimate tolerates (e.g. after a start far too small), which is a local
    reading, not a convergence criterion; ``basis`` names which one for the text.
    """
    spec = pz.get(parameterization)
    ev, _ = _spd_eigs(cov, basis)
    b = spec.bound(ev, np.asarray(cov, dtype=float))
    alpha_max = 0.0 if sign < 0 else min(b.mean, b.cov, b.pd)
    return LinearBound(spec.name, alpha_max, b.mean, b.cov, b.pd, ev, basis, b.why)


# ------------------------------------------------------------- empirical
@dataclass(frozen=True)
class Forecast:
    """What fraction of copies of the run diverge within ``n_updates`` more updates."""

    fraction: float
    n_diverged: int
    n_chains: int
    n_updates: int
    alpha: float
    parameterization: str
    #: earliest and median divergence, counted in updates from the start state (None: none diverged)
    first_step: int | None
    median_step: float | None
    reasons: dict
    seconds: float
    #: the horizon asked for; more than ``n_updates`` when the time budget cut it short (0: not known)
    requested_updates: int = 0

    @property
    def cut_short(self) -> bool:
        """Did the time budget stop the copies before the horizon asked for?"""
        return 0 < self.n_updates < self.requested_updates

    @property
    def stderr(self) -> float:
        """Binomial standard error of ``fraction``."""
        p = self.fraction
        return math.sqrt(max(p * (1 - p), 0.25 / self.n_chains) / self.n_chains)

    @property
    def text(self) -> str:
        head = (f"{self.n_diverged} of {self.n_chains} copies diverge within {self.n_updates:,} updates "
                f"at alpha = {self.alpha:.3g}")
        if not self.n_diverged:
            return head + ": looks safe for now"
        why = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1]))
        return f"{head} (first after {self.first_step:,}, median {self.median_step:,.0f}; {why})"


def _settings_dict(settings: Any) -> dict:
    if is_dataclass(settings):
        settings = asdict(settings)
    if not isinstance(settings, dict):
        raise ValueError(f"settings must be a dict or EstimatorSettings; got {type(settings).__name__}")
    s = {"parameterization": "covariance", "alpha": 0.002, "objective": "loglik", "direction": "ascent",
         "schedule": "constant", "batch_size": 1, "symmetrize": False, **opt.DEFAULTS}
    unknown = set(settings) - set(s)
    if unknown:
        raise ValueError(f"settings: unknown key(s) {', '.join(sorted(unknown))}")
    s.update(settings)
    return s


def empirical_forecast(mean: Any, cov: Any, settings: Any, source: Any, *,
                       n_chains: int = DEFAULT_CHAINS, n_updates: int = DEFAULT_UPDATES,
                       seed: int | None = None, steps: int = 0, stored: Any = None,
                       alpha: float | None = None, time_budget: float | None = None,
                       optimizer_state: dict | None = None) -> Forecast:
    """Run ``n_chains`` copies of an estimator from (mean, cov) on fresh samples; count divergences.

    ``settings``: an ``EstimatorSettings`` or a dict like ``BatchEstimator.settings(k)``;
    ``alpha`` overrides its rate (the slider being dragged). ``source`` is
    copied, once per chain, onto new streams (``seed + k``; None derives the
    seed from the source's, so repeated forecasts at different alphas see the
    same samples and change smoothly). ``steps`` continues a decaying schedule where the run
    is; ``stored`` (the chain's raw stored parameter) keeps what the
    covariance cannot show, e.g. its asymmetric part. A drifting source
    gives each copy its own future from the current state.
    ``optimizer_state`` (as ``BatchEstimator.optimizer_state(k)``) continues a
    momentum/Adam chain's moments instead of starting them at zero. Averaging
    never changes when a chain diverges, so the copies do not average.
    With ``time_budget`` (seconds) the copies run in slices and stop after
    the slice that crosses it: ``Forecast.n_updates`` is then the horizon
    actually reached (fewer updates at large d, where one costs ~d^2.5).
    """
    t0 = time.perf_counter()
    s = _settings_dict(settings)
    if alpha is not None:
        s["alpha"] = alpha
    K, N = int(n_chains), int(n_updates)
    if K < 1 or N < 1:
        raise ValueError(f"need n_chains >= 1 and n_updates >= 1; got {K}, {N}")
    m = as_mean(mean, "start mean")
    d = m.shape[0]
    c = np.asarray(cov, dtype=float)
    if c.shape != (d, d):
        raise ValueError(f"start covariance must be ({d}, {d}); got {c.shape}")
    c = 0.5 * (c + c.T)  # the stored parameter (below) keeps any asymmetry
    _spd_eigs(c, "start covariance")
    if getattr(source, "dim", d) != d:
        raise ValueError(f"source dimension {source.dim} != state dimension {d}")
    est = BatchEstimator(m, c, parameterization=s["parameterization"], alpha=s["alpha"],
                         objective=s["objective"], direction=s["direction"], schedule=s["schedule"],
                         batch_size=s["batch_size"], symmetrize=bool(s["symmetrize"]), n_chains=K,
                         optimizer=s["optimizer"], beta1=s["beta1"], beta2=s["beta2"], eps=s["eps"])
    # Continue the schedule, the exact stored state and the optimizer's moments of the chain.
    th = est.stored[0]
    if stored is not None:
        th = np.asarray(stored, dtype=float)
        if th.shape != (d, d) or not np.all(np.isfinite(th)):
            raise ValueError(f"stored parameter must be a finite ({d}, {d}) array")
    est.set_state(m, th, int(steps), optimizer_state=optimizer_state)
    b = est.batch_size
    if seed is None:
        seed = forecast_seed(source)
    # One copy of the source per chain, each from the current truth on its own stream:
    # a drifting target gives each copy its own future, and any slicing below reads
    # the same samples (the streams are chunk-independent).
    forks = [fork_source(source, int(seed) + k) for k in range(K)]
    streams = np.arange(K, dtype=np.int64)

    def run(n: int) -> None:
        Y = np.ascontiguousarray(np.stack([f.sample(n * b) for f in forks]))
        est.advance(Y, n, streams=streams)

    if time_budget is None:
        run(N)
        done = N
    else:
        # In slices, stopping once the budget is spent: an update costs ~0.2 us at
        # d = 2 but ~0.6 ms at d = 50 (32 x 2000 updates: about 40 s).
        done, n = 0, min(N, 16)  # a small first slice measures the cost of an update
        t_run = time.perf_counter()
        while done < N:
            run(n)
            done += n
            now = time.perf_counter()
            left = time_budget - (now - t0)
            if left <= 0 or est.diverged.all():
                break
            per_update = (now - t_run) / done
            n = int(min(N - done, max(1, left / max(per_update, 1e-9)), max(16, N // 4)))
    divs = [v for v in est.divergences() if v is not None]
    at = np.array([v.step - int(steps) for v in divs])
    return Forecast(
        fraction=len(divs) / K, n_diverged=len(divs), n_chains=K, n_updates=done, alpha=float(s["alpha"]),
        parameterization=s["parameterization"],
        first_step=int(at.min()) if divs else None, median_step=float(np.median(at)) if divs else None,
        reasons=dict(Counter(v.reason for v in divs)), seconds=time.perf_counter() - t0, requested_updates=N,
    )


def forecast_chain(estimator: BatchEstimator, k: int, source: Any, *, alpha: float | None = None,
                   n_chains: int = DEFAULT_CHAINS, n_updates: int = DEFAULT_UPDATES,
                   seed: int | None = None, time_budget: float | None = None) -> Forecast:
    """The empirical forecast for chain k of a running estimator (its state, settings and step count).

    Call it from the thread that advances the estimator (between chunks): it
    reads the chain's arrays.
    """
    k = int(k)
    if not 0 <= k < estimator.K:
        raise ValueError(f"chain {k} does not exist (0 to {estimator.K - 1})")
    return empirical_forecast(
        estimator.means[k], estimator.covs[k], estimator.settings(k), source,
        n_chains=n_chains, n_updates=n_updates, seed=seed, steps=int(estimator.steps[k]),
        stored=estimator.stored[k], alpha=alpha, time_budget=time_budget,
        optimizer_state=estimator.optimizer_state(k))


def chain_bound(estimator: BatchEstimator, k: int, true_cov: Any | None) -> LinearBound:
    """Linearized bound for chain k: at the true covariance when known, else at the chain's estimate."""
    s = estimator.settings(k)
    sign = effective_sign(s["objective"], s["direction"])
    if true_cov is not None:
        return linear_bound(s["parameterization"], true_cov, sign, "true covariance")
    return linear_bound(s["parameterization"], estimator.covs[k], sign, "current estimate")


# ----------------------------------------------------- with an optimizer
@dataclass(frozen=True)
class OptimizerBound:
    """The linearized bound of an update rule under an optimizer (``alpha_max`` None: no closed form)."""

    parameterization: str
    optimizer: str
    beta1: float
    alpha_max: float | None
    #: alpha_max over the sgd edge min(mean_bound, cov_bound): 1 + beta1 for momentum
    factor: float | None
    #: the sgd bound it scales (its pd_limit only holds for sgd's own step)
    sgd: LinearBound

    @property
    def text(self) -> str:
        o = self.optimizer
        if o == "sgd":
            return self.sgd.text
        if self.sgd.alpha_max == 0.0:
            return f"wrong sign: {o} walks away from the MLE too (at every alpha)"
        if self.alpha_max is None:
            return (f"{o}: no closed-form linearized bound (the step is normalized per entry, not linear "
                    "in the error); see the forecast")
        return (f"linearized bound with {o} (beta1 = {self.beta1:.3g}): alpha < {self.alpha_max:.3g}, "
                f"{self.factor:.3g} x the sgd edge ({opt.get(o).bound_rule} per mode). "
                "Noise makes divergence likely far below this: see the forecast.")


def optimizer_bound(parameterization: str, cov: Any, optimizer: str = "sgd", beta1: float = 0.9,
                    sign: float = 1.0, basis: str = "true covariance") -> OptimizerBound:
    """The linearized expected-update bound of ``linear_bound`` under an optimizer.

    One mode of the sgd linearization: error e, direction D = -h e, factor
    1 - a h. Momentum and Nesterov are linear with the same beta1 on every
    coordinate, so each mode keeps its own recursion in (e, v), stable iff both
    roots of z^2 - T z + Delta lie inside the unit circle, i.e. (Jury)
    |Delta| < 1 and |T| < 1 + Delta. With x = a h and b = beta1 in [0, 1):

    - momentum (heavy ball): v' = b v - h e, e' = e + a v':
      T = 1 + b - x, Delta = b: stable iff 0 < x < 2 (1 + b).
    - nesterov (v' = b v + D, e' = e + a (b v' + D)):
      e' = (1 - x (1 + b)) e + a b^2 v, so T = 1 + b - x (1 + b) and
      Delta = b (1 - x). 1 - T + Delta = x > 0; 1 + T + Delta > 0 iff
      x < 2 (1 + b) / (1 + 2 b); |Delta| < 1 iff x < 1 + 1/b, which is
      larger. Stable iff 0 < x < 2 (1 + b) / (1 + 2 b) (2 at b = 0, as sgd).
    - rmsprop, adam: the step divides by a running root mean square of D,
      so it is not linear in the error: no closed form (``alpha_max`` None).

    The sgd bound of every mode scales by the same factor, so ``alpha_max`` is
    that factor times min(mean_bound, cov_bound). natural's PD limit (alpha < 1)
    is a property of one sgd step and does not carry over: v mixes past
    directions. Averaging does not change stability (it only reads the states).
    With the wrong sign every mode has x < 0: unstable for every optimizer.
    """
    spec = opt.get(optimizer)
    b = check_beta(beta1, "beta1")
    base = linear_bound(parameterization, cov, sign, basis)
    if optimizer == "sgd":
        return OptimizerBound(parameterization, optimizer, b, base.alpha_max, 1.0, base)
    if spec.bound_factor is None:
        return OptimizerBound(parameterization, optimizer, b, None, None, base)
    factor = spec.bound_factor(b)
    edge = min(base.mean_bound, base.cov_bound)
    alpha_max = 0.0 if sign < 0 else factor * edge
    return OptimizerBound(parameterization, optimizer, b, alpha_max, factor, base)


# ------------------------------------------------- a running chain's forecast
def forecast_seed(source: Any) -> int:
    """The forecast's stream seed for a run's source (``empirical_forecast``'s own default)."""
    return (int(getattr(source, "seed", 0)) * 7919 + 104_729) % (2**62)


@dataclass(frozen=True)
class ForecastJob:
    """A copy of chain 0's state, taken in the worker thread between two chunks."""

    request: int
    mean: np.ndarray
    cov: np.ndarray
    stored: np.ndarray
    steps: int
    settings: dict
    alpha_t: float
    source: Any
    seed: int
    true_cov: np.ndarray | None
    diverged: bool
    n_chains: int
    #: why and when the chain stopped (None while it runs): no forecast is made from a dead chain
    divergence: Divergence | None = None
    #: the chain's optimizer moments and Adam's counter (``BatchEstimator.optimizer_state``): the
    #: copies continue them instead of starting the optimizer afresh
    optimizer_state: dict | None = None


@dataclass(frozen=True)
class ForecastResult:
    request: int
    job: ForecastJob
    #: the linearized bound under the chain's optimizer (``alpha_max`` None: no closed form)
    bound: OptimizerBound | None
    forecast: Forecast | None
    error: str = ""


def capture(run: Any, request: int, n_chains: int = DEFAULT_CHAINS) -> ForecastJob:
    """Copy what the forecast needs from a run (call it in the thread that advances the run)."""
    est = run.estimator
    src = run.source
    seed = forecast_seed(src)
    try:
        true_cov = np.asarray(src.cov, dtype=float).copy()
    except (AttributeError, NotImplementedError):
        true_cov = None
    return ForecastJob(
        request=request, mean=est.means[0].copy(), cov=est.covs[0].copy(), stored=est.stored[0].copy(),
        steps=int(est.steps[0]), settings=dict(est.settings(0)), alpha_t=float(est.alpha_t[0]),
        # A fork: the forecast thread must not touch the live source the worker samples from.
        source=fork_source(src, seed), seed=seed, true_cov=true_cov,
        diverged=bool(est.diverged[0]), n_chains=n_chains, divergence=est.divergence(0),
        optimizer_state=est.optimizer_state(0))


def compute(job: ForecastJob, time_budget: float | None = None,
            n_updates: int = DEFAULT_UPDATES) -> ForecastResult:
    """Both numbers for a captured state (any thread; no Qt); a chain that has diverged gets no
    forecast (its result says why it stopped)."""
    s = job.settings
    bound = None
    try:
        if job.true_cov is not None:
            bound = optimizer_bound(s["parameterization"], job.true_cov, s.get("optimizer", "sgd"),
                                    s.get("beta1", opt.DEFAULTS["beta1"]),
                                    effective_sign(s.get("objective", "loglik"), s.get("direction", "ascent")))
        if job.divergence is not None:
            d = job.divergence
            return ForecastResult(job.request, job, bound, None, f"diverged at update {d.step:,}: {d.message}")
        fc = empirical_forecast(
            job.mean, job.cov, s, job.source, n_chains=job.n_chains, n_updates=n_updates, seed=job.seed,
            steps=job.steps, stored=job.stored, time_budget=time_budget, optimizer_state=job.optimizer_state)
    except ValueError as e:  # e.g. a state that is no longer positive definite
        return ForecastResult(job.request, job, bound, None, str(e))
    return ForecastResult(job.request, job, bound, fc)


def verdict(result: ForecastResult) -> tuple[str, str]:
    """(level, one-line text) for a result; level is "bad", "warn" or "good".

    Honest about what it knows: a chain that diverged shows its divergence ("bad"), not a
    forecast from its dead state; a forecast whose time budget ran out before the horizon
    asked for is never "good" (no divergence within fewer updates proves little).
    """
    job, fc, b = result.job, result.forecast, result.bound
    div = job.divergence
    if div is not None:
        return "bad", (f"diverged at update {div.step:,} ({div.reason}): {div.message}. "
                       "Resume goes on from the last good state; Reset starts again")
    a_t = job.alpha_t
    parts = []
    over = False
    if b is not None:
        if b.alpha_max == 0.0:
            parts.append("linear bound: none (wrong sign)")
            over = True
        elif b.alpha_max is None:  # rmsprop, adam: the step is not linear in the error
            parts.append(f"linear bound: no closed form ({b.optimizer})")
        else:
            parts.append(f"linear bound: α < {b.alpha_max:.3g}")
            over = a_t >= b.alpha_max
    if fc is None:
        parts.append(f"forecast unavailable: {result.error}")
        return ("bad" if over else "warn"), " · ".join(parts)
    text = f"forecast: {fc.n_diverged}/{fc.n_chains} copies diverge within {fc.n_updates:,} updates"
    if fc.cut_short:
        text += f" (of the {fc.requested_updates:,} asked for: the time budget ran out; too short to call safe)"
    parts.append(text)
    frac = fc.fraction
    level = "bad" if over or frac >= 0.5 else "warn" if frac > 0 or fc.cut_short else "good"
    return level, " · ".join(parts)


__all__ = [
    "Forecast",
    "ForecastJob",
    "ForecastResult",
    "LinearBound",
    "OptimizerBound",
    "capture",
    "chain_bound",
    "compute",
    "empirical_forecast",
    "forecast_chain",
    "forecast_seed",
    "linear_bound",
    "optimizer_bound",
    "verdict",
]
