"""Live changes: the estimator settings a user may change while a run goes on, defined once.

A live change is applied to the running estimators between two updates (the
current mean and covariance carry over), recorded in the run's timeline with
the update it came before, and replayed there by a session. The window turns
an edited setting (a path such as ``estimator.alpha``) into a change, the
worker applies it through ``RunLoop.apply_change``, the session validates its
timeline against ``LIVE_CHANGES``, and the stability forecast refreshes on it.

Adding one: a ``LiveChange`` here (its name, the settings it reads, how its
value is checked, how it applies to a ``BatchEstimator``) is all; every other
place derives from it. A session's timeline is checked with the same ``check``
when the file is read, so a bad value never reaches a running worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import optimizers as opt
from . import parameterizations as pz
from .estimator import BatchEstimator
from .options import DIRECTIONS, OBJECTIVES, SCHEDULES
from .validation import (
    MAX_ALPHA,
    MAX_BATCH,
    MIN_ALPHA,
    check_alpha,
    check_batch_size,
    check_beta,
    check_choice,
    check_eps,
    check_flag,
    quote,
)


@dataclass(frozen=True)
class LiveChange:
    """One kind of live change."""

    #: its name in commands and in a session's ``changes`` timeline
    name: str
    #: the attributes of an ``EstimatorSettings`` it sets (several for the sign pair; none for resume)
    fields: tuple[str, ...]
    #: the value checked with the same limits as the settings and the CLI, as the timeline records
    #: it (plain JSON types); ValueError naming the change otherwise. A dry run: nothing is applied,
    #: so a session's whole timeline is checked when it is read, not when replay reaches it.
    check: Callable[[Any], Any]
    #: apply a checked value to chain ``k`` (or, for shared settings, to all)
    set: Callable[[BatchEstimator, Any, int], None]
    #: one setting for every chain (compared estimators share the mini-batch stream)
    shared: bool = False

    def apply(self, est: BatchEstimator, value: Any, k: int) -> Any:
        """Check ``value`` and apply it; returns it as the timeline records it. ValueError
        (nothing applied) on a bad value."""
        v = self.check(value)
        self.set(est, v, k)
        return v

    @property
    def paths(self) -> tuple[str, ...]:
        """The settings paths the window binds to this change (``estimator.<field>``)."""
        return tuple(f"estimator.{f}" for f in self.fields)

    def value_of(self, est_settings: Any) -> Any:
        """The change's value as an estimator's settings hold it (the sign pair as a list)."""
        vals = [getattr(est_settings, f) for f in self.fields]
        if not vals:
            return None
        return vals[0] if len(vals) == 1 else vals

    def write(self, est_settings: Any, value: Any) -> None:
        """Put a recorded value back into an estimator's settings (session replay, worker's copy)."""
        if len(self.fields) == 1:
            setattr(est_settings, self.fields[0], value)
        elif self.fields:
            for f, v in zip(self.fields, value):
                setattr(est_settings, f, v)


def _check_alpha(v: Any) -> float:
    return check_alpha(v, hi=MAX_ALPHA, lo=MIN_ALPHA)


def _check_sign(v: Any) -> list[str]:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError(f"sign must be [objective, direction]; got {quote(v)}")
    return [check_choice("objective", v[0], OBJECTIVES), check_choice("direction", v[1], DIRECTIONS)]


def _check_parameterization(v: Any) -> str:
    return pz.get(v).name


def _check_symmetrize(v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"symmetrize must be true or false; got {quote(v)}")
    return bool(v)


def _check_schedule(v: Any) -> str:
    return check_choice("schedule", v, tuple(SCHEDULES))


def _check_batch_size(v: Any) -> int:
    return check_batch_size(v, hi=MAX_BATCH)


def _check_resume(v: Any) -> None:
    if v is not None:
        raise ValueError(f"resume takes no value (null); got {quote(v)}")


def _alpha(est: BatchEstimator, v: float, k: int) -> None:
    est.set_alpha(v, chains=[k])


def _sign(est: BatchEstimator, v: list[str], k: int) -> None:
    est.set_sign(v[0], v[1], chains=[k])


def _parameterization(est: BatchEstimator, v: str, k: int) -> None:
    est.set_parameterization(v, chains=[k])


def _symmetrize(est: BatchEstimator, v: bool, k: int) -> None:
    est.set_symmetrize(v, chains=[k])


def _schedule(est: BatchEstimator, v: str, k: int) -> None:
    est.set_schedule(v, chains=[k])


def _check_optimizer(v: Any) -> list:
    # One change for the optimizer and its three settings: any of them starts the optimizer
    # afresh (docs/MATH.md: switching the optimizer, beta1, beta2 or eps resets its state).
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise ValueError(f"optimizer must be [optimizer, beta1, beta2, eps]; got {quote(v)}")
    name, b1, b2, eps = v
    return [opt.get(name).name, check_beta(b1, "beta1"), check_beta(b2, "beta2"), check_eps(eps)]


def _check_averaging(v: Any) -> bool:
    return check_flag(v, "averaging")


def _optimizer(est: BatchEstimator, v: list, k: int) -> None:
    est.set_optimizer(v[0], v[1], v[2], v[3], chains=[k])  # (an update rule that takes sgd only: ValueError)


def _averaging(est: BatchEstimator, v: bool, k: int) -> None:
    est.set_averaging(v, chains=[k])


def _batch_size(est: BatchEstimator, v: int, k: int) -> None:
    est.set_batch_size(v)


def _resume(est: BatchEstimator, v: None, k: int) -> None:
    est.resume()  # every chain: "go on" after a divergence


LIVE_CHANGES: dict[str, LiveChange] = {c.name: c for c in [
    LiveChange("alpha", ("alpha",), _check_alpha, _alpha),
    LiveChange("sign", ("objective", "direction"), _check_sign, _sign),
    LiveChange("parameterization", ("parameterization",), _check_parameterization, _parameterization),
    LiveChange("symmetrize", ("symmetrize",), _check_symmetrize, _symmetrize),
    LiveChange("schedule", ("schedule",), _check_schedule, _schedule),
    LiveChange("optimizer", ("optimizer", "beta1", "beta2", "eps"), _check_optimizer, _optimizer),
    LiveChange("averaging", ("averaging",), _check_averaging, _averaging),
    LiveChange("batch_size", ("batch_size",), _check_batch_size, _batch_size, shared=True),
    LiveChange("resume", (), _check_resume, _resume, shared=True),
]}

#: every settings path a live change reads: editing one changes the run, not restarts it
LIVE_PATHS: frozenset[str] = frozenset(p for c in LIVE_CHANGES.values() for p in c.paths)


def change_of_path(path: str) -> LiveChange | None:
    """The live change an edited settings path is, or None (a target/start edit restarts the run)."""
    for c in LIVE_CHANGES.values():
        if path in c.paths:
            return c
    return None


def get(name: object) -> LiveChange:
    """A live change by name; ValueError listing the names otherwise."""
    if not isinstance(name, str) or name not in LIVE_CHANGES:
        raise ValueError(f"unknown live change {quote(name)}; choose one of {', '.join(LIVE_CHANGES)}")
    return LIVE_CHANGES[name]


__all__ = ["LIVE_CHANGES", "LIVE_PATHS", "LiveChange", "change_of_path", "get"]
