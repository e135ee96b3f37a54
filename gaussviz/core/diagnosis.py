"""Why a run diverged, in plain words, worked out from the run itself.

The kernels say WHAT failed and WHEN (``Divergence``: "Sigma left the
positive-definite cone at update 85"). This module says WHY, from the chain's
settings, the truth, the start and the state just before the failure, using the
linearized bounds of docs/MATH.md ("Linearized bounds", via ``core.forecast``):

- ``wrong-sign``: the sign pair descends the likelihood; every update walks
  away from the maximum-likelihood estimate;
- ``asymmetry-drift``: covariance or precision without ``symmetrize``: the
  round-off in inv(Sigma) grows by ``1 + alpha / (2 l_i l_j)`` per update;
- ``step-too-large``: alpha is above the linearized bound at the TRUE
  covariance, set by its smallest eigenvalue: no start converges;
- ``start-too-small``: alpha is fine at the truth but far above the bound at
  the START, whose eigenvalues are much smaller than the truth's, and the run
  failed while the estimate was still small;
- ``noise``: alpha is below both bounds, so the EXPECTED update is stable, but
  single samples (heavy-tailed ones especially) push the estimate out.

Nothing here is per preset: the same words come out for any settings that
fail the same way. The CLI's summary and the window's banner show them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import parameterizations as pz
from .forecast import linear_bound
from .options import effective_sign

#: the causes, in the order they are tested (the first that applies is the answer)
CAUSES = ("wrong-sign", "asymmetry-drift", "step-too-large", "start-too-small", "noise")
#: a start counts as small when its smallest eigenvalue is below this fraction of the truth's
SMALL_START = 0.25
#: ... and the failure came while the estimate's smallest eigenvalue was still below this fraction
STILL_SMALL = 0.5


@dataclass(frozen=True)
class Diagnosis:
    """The cause (one of ``CAUSES``), a short headline and the explanation with this run's numbers."""

    cause: str
    headline: str
    detail: str

    @property
    def text(self) -> str:
        return f"{self.headline}: {self.detail}"


def _g(x: float) -> str:
    return f"{x:.3g}"


def _eigs(cov: Any) -> np.ndarray | None:
    if cov is None:
        return None
    c = np.asarray(cov, dtype=float)
    if c.ndim != 2 or c.size == 0 or not np.all(np.isfinite(c)):
        return None
    return np.linalg.eigvalsh(0.5 * (c + c.T))


def diagnose(settings: dict, reason: str, failed_update: int, *, true_cov: Any = None, start_cov: Any = None,
             last_cov: Any = None, alpha_t: float | None = None, target_kind: str = "gaussian") -> Diagnosis:
    """Why a chain diverged.

    ``settings``: the chain's estimator settings (``ChainState.settings``: parameterization, alpha,
    objective, direction, schedule, batch_size, symmetrize); ``reason``: ``Divergence.reason``;
    ``failed_update``: the 1-based update that failed; ``true_cov``: the target's covariance (None
    if unknown); ``start_cov``: Sigma_0; ``last_cov``: the last good estimate; ``alpha_t``: the
    learning rate of the failed update (the schedule's; default ``settings["alpha"]``).
    """
    spec = pz.get(settings["parameterization"])
    alpha = float(settings["alpha"] if alpha_t is None or not math.isfinite(alpha_t) else alpha_t)
    a = _g(alpha)
    sign = effective_sign(settings["objective"], settings["direction"])
    ev_true, ev_start, ev_last = _eigs(true_cov), _eigs(start_cov), _eigs(last_cov)

    if sign < 0:
        moved = ""
        if ev_true is not None and ev_last is not None:
            lo, t = float(ev_last[0]), float(ev_true[0])
            way = "shrank" if lo < t else "grew"
            moved = (f" (the smallest eigenvalue {way} from the truth's {_g(t)} to {_g(lo)} "
                     f"before update {failed_update:,})")
        return Diagnosis(
            "wrong-sign", "the sign is wrong",
            f"{settings['direction']} on {_objective(settings['objective'])} goes DOWN the likelihood, so every "
            f"update walks away from the maximum-likelihood estimate{moved}; use ascent on log L or descent on -log L")

    if reason == "asymmetric":
        growth = ""
        if ev_last is not None and ev_last[0] > 0:
            lo = float(ev_last[0])
            growth = f" (up to {1 + alpha / (2 * lo * lo):.6g} per update at alpha = {a} and l_min = {_g(lo)})"
        return Diagnosis(
            "asymmetry-drift", "round-off made the matrix asymmetric",
            f"{spec.matrix} is updated without symmetrize; inv(Sigma) in floating point is not exactly "
            f"symmetric and every update multiplies that antisymmetric part by 1 + alpha / (2 l_i l_j){growth}, "
            f"until it passed the 1e-6 tolerance at update {failed_update:,}; add --symmetrize")

    bound_true = None
    if ev_true is not None and ev_true[0] > 0:
        bound_true = linear_bound(spec.name, true_cov, sign)
        if alpha >= bound_true.alpha_max:
            return Diagnosis(
                "step-too-large", "the step is too large for the smallest eigenvalue",
                f"alpha = {a} but the {spec.name} update is stable at the true covariance (smallest eigenvalue "
                f"{_g(float(ev_true[0]))}) only for alpha < {_g(bound_true.alpha_max)} ({bound_true.why}); "
                f"no start converges: take alpha below {_g(bound_true.alpha_max)}")

    if ev_start is not None and ev_start[0] > 0 and ev_true is not None and ev_true[0] > 0:
        s0, t0 = float(ev_start[0]), float(ev_true[0])
        still_small = ev_last is None or float(ev_last[0]) < STILL_SMALL * t0
        if s0 < SMALL_START * t0 and still_small:
            bound_start = linear_bound(spec.name, start_cov, sign, basis="start")
            if alpha >= bound_start.alpha_max:
                return Diagnosis(
                    "start-too-small", "the start is too small",
                    f"Sigma_0's smallest eigenvalue {_g(s0)} is far below the truth's {_g(t0)}; the {spec.name} "
                    f"step grows as Sigma shrinks, so at the start it is stable only for alpha < "
                    f"{_g(bound_start.alpha_max)} (at the truth: {_g(bound_true.alpha_max) if bound_true else '?'}), "
                    f"and alpha = {a} threw the estimate out at update {failed_update:,}; start larger "
                    f"(--cov0-scale) or use a rule whose step does not blow up (natural)")

    tails = ""
    if target_kind == "student-t":
        tails = "the target's heavy tails (Student-t) throw single samples far out, and "
    lo_text = f" (its smallest eigenvalue was {_g(float(ev_last[0]))} before update {failed_update:,})" if (
        ev_last is not None) else ""
    below = f"below the linearized bound {_g(bound_true.alpha_max)} at the truth" if bound_true else \
        "below the linearized bound"
    out = {"not-positive-definite": "out of the positive-definite cone", "exploded": "to an explosion",
           "non-finite": "to overflow"}.get(reason, "out")
    others = [n for n in ("natural", "log-cholesky") if n != spec.name]
    return Diagnosis(
        "noise", "sample noise pushed it out",
        f"alpha = {a} is {below}, so the AVERAGE update is stable, but single samples are not the average: "
        f"{tails}one noisy update can move the estimate by about alpha / (2 l_min) and {out}{lo_text}; a "
        f"smaller alpha, a larger --batch-size, or {' or '.join(others)} (positive definite by construction) "
        f"avoids it")


def _objective(name: str) -> str:
    return "log L" if name == "loglik" else "-log L"


def diagnose_chain(chain: Any, true_cov: Any, start_cov: Any, target_kind: str = "gaussian") -> Diagnosis | None:
    """``diagnose`` for a snapshot's ``ChainState`` (None when it did not diverge)."""
    div = chain.divergence
    if div is None:
        return None
    return diagnose(chain.settings, div.reason, div.step, true_cov=true_cov, start_cov=start_cov,
                    last_cov=chain.cov, alpha_t=chain.alpha_t, target_kind=target_kind)


__all__ = ["CAUSES", "Diagnosis", "diagnose", "diagnose_chain"]
