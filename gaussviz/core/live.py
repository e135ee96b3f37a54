"""Live changes: the estimator settings a user may change while a run goes on, defined once.

A live change is applied to the running estimators between two updates (the
current mean and covariance carry over), recorded in the run's timeline with
the update it came before, and replayed there by a session. The window turns
an edited setting (a path such as ``estimator.alpha``) into a change, the
worker applies it through ``RunLoop.apply_change``, the session validates its
timeline against ``LIVE_CHANGES``, and the stability forecast refreshes on it.

Adding one: a ``LiveChange`` here (its name, the settings it reads, how it
applies to a ``BatchEstimator``) is all; every other place derives from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .estimator import BatchEstimator
from .validation import MAX_ALPHA, MAX_BATCH, check_alpha, check_batch_size


@dataclass(frozen=True)
class LiveChange:
    """One kind of live change."""

    #: its name in commands and in a session's ``changes`` timeline
    name: str
    #: the attributes of an ``EstimatorSettings`` it sets (several for the sign pair; none for resume)
    fields: tuple[str, ...]
    #: apply ``value`` to chain ``chain`` (or, for shared settings, to all); returns the value
    #: as the timeline records it (plain JSON types); ValueError leaves everything unchanged
    apply: Callable[[BatchEstimator, Any, int], Any]
    #: one setting for every chain (compared estimators share the mini-batch stream)
    shared: bool = False

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


def _alpha(est: BatchEstimator, v: Any, k: int) -> float:
    est.set_alpha(check_alpha(v, hi=MAX_ALPHA), chains=[k])
    return float(est.alphas[k])


def _sign(est: BatchEstimator, v: Any, k: int) -> list[str]:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError(f"sign must be [objective, direction]; got {v!r}")
    objective, direction = v
    est.set_sign(objective, direction, chains=[k])
    return [objective, direction]


def _parameterization(est: BatchEstimator, v: Any, k: int) -> str:
    est.set_parameterization(v, chains=[k])
    return est.parameterizations[k]


def _symmetrize(est: BatchEstimator, v: Any, k: int) -> bool:
    est.set_symmetrize(v, chains=[k])
    return bool(v)


def _schedule(est: BatchEstimator, v: Any, k: int) -> str:
    est.set_schedule(v, chains=[k])
    return str(v)


def _optimizer(est: BatchEstimator, v: Any, k: int) -> list:
    # One change for the optimizer and its three settings: any of them starts the optimizer
    # afresh (docs/MATH.md: switching the optimizer, beta1, beta2 or eps resets its state).
    if not isinstance(v, (list, tuple)) or len(v) != 4:
        raise ValueError(f"optimizer must be [optimizer, beta1, beta2, eps]; got {v!r}")
    name, b1, b2, eps = v
    est.set_optimizer(name, b1, b2, eps, chains=[k])
    s = est.settings(k, full=True)
    return [s["optimizer"], s["beta1"], s["beta2"], s["eps"]]


def _averaging(est: BatchEstimator, v: Any, k: int) -> bool:
    est.set_averaging(v, chains=[k])
    return bool(v)


def _batch_size(est: BatchEstimator, v: Any, k: int) -> int:
    est.set_batch_size(check_batch_size(v, hi=MAX_BATCH))
    return int(est.batch_size)


def _resume(est: BatchEstimator, v: Any, k: int) -> None:
    est.resume()  # every chain: "go on" after a divergence


LIVE_CHANGES: dict[str, LiveChange] = {c.name: c for c in [
    LiveChange("alpha", ("alpha",), _alpha),
    LiveChange("sign", ("objective", "direction"), _sign),
    LiveChange("parameterization", ("parameterization",), _parameterization),
    LiveChange("symmetrize", ("symmetrize",), _symmetrize),
    LiveChange("schedule", ("schedule",), _schedule),
    LiveChange("optimizer", ("optimizer", "beta1", "beta2", "eps"), _optimizer),
    LiveChange("averaging", ("averaging",), _averaging),
    LiveChange("batch_size", ("batch_size",), _batch_size, shared=True),
    LiveChange("resume", (), _resume, shared=True),
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
        raise ValueError(f"unknown live change {name!r}; choose one of {', '.join(LIVE_CHANGES)}")
    return LIVE_CHANGES[name]


__all__ = ["LIVE_CHANGES", "LIVE_PATHS", "LiveChange", "change_of_path", "get"]
