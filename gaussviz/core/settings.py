"""One settings object: what the controls bind to, what a session file stores,
and what ``build_run`` turns into a running ``RunLoop``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np

from .. import __version__
from . import optimizers as opt
from . import parameterizations as pz
from .estimator import BatchEstimator
from .options import DIRECTIONS, OBJECTIVES, SCHEDULES
from .runloop import RunLoop, check_changes
from .sources import GaussianSource
from .validation import (
    MAX_ALPHA,
    MAX_BATCH,
    as_mean,
    as_spd,
    check_alpha,
    check_batch_size,
    check_beta,
    check_choice,
    check_eps,
)

SESSION_FORMAT = 1
MAX_DIM = 50
#: the step axis of the trajectory plots: all steps linear, all steps log, the last N updates
STEP_AXES = ("linear", "log", "window")
#: the parameter-space plot's Sigma axis (d = 1): "auto" is log once a path went far above the truth
PSPACE_SIGMA_SCALES = ("auto", "linear", "log")
#: the rolling window's length in updates: its limits
MIN_STEP_WINDOW, MAX_STEP_WINDOW = 10, 1_000_000_000
#: largest |entry| of a target or start mean: with covariances up to 1e12 (std 1e6)
#: float resolution there (~1e-4) still leaves the samples their noise, and no
#: square in the reference or the metrics can overflow
MAX_ABS_MEAN = 1e12


@dataclass
class EstimatorSettings:
    parameterization: str = "covariance"
    alpha: float = 0.002
    objective: str = "loglik"
    direction: str = "ascent"
    schedule: str = "constant"
    batch_size: int = 1
    symmetrize: bool = False
    #: the optimizer on top of the update rule and its settings (core/optimizers.py, docs/MATH.md
    #: "Optimizers"); a session written before they existed loads with these defaults
    optimizer: str = opt.DEFAULTS["optimizer"]
    beta1: float = opt.DEFAULTS["beta1"]
    beta2: float = opt.DEFAULTS["beta2"]
    eps: float = opt.DEFAULTS["eps"]
    #: keep a Polyak-Ruppert average (its own estimate, ellipse and KL curve)
    averaging: bool = opt.DEFAULTS["averaging"]

    def validate(self) -> None:
        pz.get(self.parameterization)
        opt.get(self.optimizer)
        check_beta(self.beta1, "beta1")
        check_beta(self.beta2, "beta2")
        check_eps(self.eps)
        if not isinstance(self.averaging, bool):
            raise ValueError(f"averaging must be true or false; got {self.averaging!r}")
        pz.check_optimizer(self.parameterization, self.optimizer)
        check_alpha(self.alpha, hi=MAX_ALPHA)
        check_choice("objective", self.objective, OBJECTIVES)
        check_choice("direction", self.direction, DIRECTIONS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_batch_size(self.batch_size, hi=MAX_BATCH)
        if not isinstance(self.symmetrize, bool):
            raise ValueError(f"symmetrize must be true or false; got {self.symmetrize!r}")


@dataclass
class TargetSettings:
    """The distribution samples come from. ``cov`` given explicitly wins over cond/rotation."""

    kind: str = "gaussian"
    dim: int = 2
    mean: list[float] | float = 0.0
    cov: list[list[float]] | None = None
    cond: float = 1.0
    rotation_deg: float = 30.0
    scale: float = 1.0
    seed: int = 0
    params: dict = field(default_factory=dict)

    def mean_vector(self) -> np.ndarray:
        return _mean_vector(self.mean, "target mean", self.dim)

    def cov_matrix(self) -> np.ndarray:
        if self.cov is not None:
            return as_spd(self.cov, "target covariance", self.dim)
        return cov_from_condition(self.dim, self.cond, self.rotation_deg, self.scale)

    def validate(self) -> None:
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or not 1 <= self.dim <= MAX_DIM:
            raise ValueError(f"target dimension must be an integer from 1 to {MAX_DIM}; got {self.dim!r}")
        if not _finite(self.cond) or self.cond < 1 or self.cond > 1e10:
            raise ValueError(f"target condition number must be from 1 to 1e10; got {self.cond!r}")
        if not _finite(self.scale) or self.scale <= 0:
            raise ValueError(f"target scale must be a positive number; got {self.scale!r}")
        if not _finite(self.rotation_deg):
            raise ValueError(f"target rotation must be a finite angle in degrees; got {self.rotation_deg!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {self.seed!r}")
        from . import targets

        if self.kind == "csv":  # the file decides mean, covariance and dim (set here)
            targets.validate(self)
            return
        self.mean_vector()
        self.cov_matrix()
        if self.kind != "gaussian" or self.params:
            targets.validate(self)  # kind and params; errors name the parameter


@dataclass
class StartSettings:
    mean: list[float] | float = 0.0
    cov_scale: float = 1.0

    def mean_vector(self, d: int) -> np.ndarray:
        return _mean_vector(self.mean, "start mean", d)

    def validate(self, d: int) -> None:
        self.mean_vector(d)
        if not _finite(self.cov_scale) or not 1e-12 <= self.cov_scale <= 1e12:
            raise ValueError(f"start covariance scale must be from 1e-12 to 1e12; got {self.cov_scale!r}")


@dataclass
class ViewSettings:
    """How the run is shown (not what it computes): the trajectory plots' step axis.

    With ``speed`` (the pace) it makes a saved session look as it did; a session
    written before these existed loads with the defaults.
    """

    #: one of STEP_AXES
    step_axis: str = "linear"
    #: updates shown by the "window" step axis
    step_window: int = 2000
    #: the parameter-space plot's Sigma axis, one of PSPACE_SIGMA_SCALES
    pspace_sigma: str = "auto"

    def validate(self) -> None:
        check_choice("step axis", self.step_axis, STEP_AXES)
        check_choice("parameter-space Sigma axis", self.pspace_sigma, PSPACE_SIGMA_SCALES)
        w = self.step_window
        if isinstance(w, bool) or not isinstance(w, int) or not MIN_STEP_WINDOW <= w <= MAX_STEP_WINDOW:
            raise ValueError(f"step window must be a whole number of updates from {MIN_STEP_WINDOW} to "
                             f"{MAX_STEP_WINDOW:,}; got {w!r}")


@dataclass
class Settings:
    """Everything that defines a run; a session file is this plus the steps run."""

    target: TargetSettings = field(default_factory=TargetSettings)
    start: StartSettings = field(default_factory=StartSettings)
    estimator: EstimatorSettings = field(default_factory=EstimatorSettings)
    #: extra estimators run on the same stream (compare mode)
    compare: list[EstimatorSettings] = field(default_factory=list)
    preset: str = ""
    steps: int = 0
    #: the pace: updates per second; 0 = as fast as possible (a preset sets its own)
    speed: float = 0.0
    #: how the trajectory plots show the steps
    view: ViewSettings = field(default_factory=ViewSettings)
    #: live changes made during the run, replayed at the same update:
    #: {"step": updates applied before it, "chain": k, "field": name, "value": v}
    changes: list[dict] = field(default_factory=list)

    def validate(self) -> Settings:
        self.target.validate()
        self.start.validate(self.target.dim)
        self.estimator.validate()
        for i, c in enumerate(self.compare):
            try:
                c.validate()
            except ValueError as e:
                raise ValueError(f"compare[{i}].{e}" if str(e).split(" ", 1)[0].isidentifier()
                                 else f"compare[{i}]: {e}") from None
        if any(c.batch_size != self.estimator.batch_size for c in self.compare):
            raise ValueError("compared estimators must share the mini-batch size")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be a non-negative integer; got {self.steps!r}")
        if not _finite(self.speed) or self.speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible); got {self.speed!r}")
        self.view.validate()
        check_changes(self.changes, len(self.compare) + 1)
        return self

    def all_estimators(self) -> list[EstimatorSettings]:
        return [self.estimator, *self.compare]

    def copy(self) -> Settings:
        return from_dict(to_dict(self))


def _mean_vector(mean: Any, name: str, d: int) -> np.ndarray:
    """One number (repeated) or d numbers, finite and within MAX_ABS_MEAN."""
    m = as_mean(mean, name)
    if m.size == 1:
        m = np.full(d, float(m[0]))
    m = as_mean(m, name, d)
    if np.any(np.abs(m) > MAX_ABS_MEAN):
        raise ValueError(f"{name} must be within +-{MAX_ABS_MEAN:g}; got {m.tolist()}")
    return m


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def cov_from_condition(d: int, cond: float, rotation_deg: float, scale: float = 1.0) -> np.ndarray:
    """A covariance with eigenvalues log-spaced from scale/sqrt(cond) to scale*sqrt(cond).

    The eigenbasis is rotated by ``rotation_deg`` in each consecutive pair of
    axes, so a 2-D target's ellipse tilts by that angle.
    """
    if d == 1:
        return np.array([[scale]])
    ev = scale * np.geomspace(1.0 / math.sqrt(cond), math.sqrt(cond), d)[::-1]
    th = math.radians(rotation_deg)
    Q = np.eye(d)
    for i in range(d - 1):
        Rm = np.eye(d)
        c, s = math.cos(th), math.sin(th)
        Rm[i, i], Rm[i, i + 1], Rm[i + 1, i], Rm[i + 1, i + 1] = c, -s, s, c
        Q = Q @ Rm
    S = Q @ np.diag(ev) @ Q.T
    return 0.5 * (S + S.T)


def build_source(t: TargetSettings):
    """The sample source for a target (issue 5 adds more kinds)."""
    if t.kind == "gaussian":
        return GaussianSource(t.mean_vector(), t.cov_matrix(), t.seed)
    from . import targets

    return targets.build(t)


def build_estimator(s: Settings) -> BatchEstimator:
    d = s.target.dim
    ests = s.all_estimators()
    m0 = s.start.mean_vector(d)
    c0 = s.start.cov_scale * np.eye(d)
    return BatchEstimator(
        np.repeat(m0[None], len(ests), 0), np.repeat(c0[None], len(ests), 0),
        parameterization=[e.parameterization for e in ests],
        alpha=[e.alpha for e in ests],
        objective=[e.objective for e in ests],
        direction=[e.direction for e in ests],
        schedule=[e.schedule for e in ests],
        batch_size=s.estimator.batch_size,
        symmetrize=[bool(e.symmetrize) for e in ests],
        optimizer=[e.optimizer for e in ests],
        beta1=[e.beta1 for e in ests],
        beta2=[e.beta2 for e in ests],
        eps=[e.eps for e in ests],
        averaging=[bool(e.averaging) for e in ests],
    )


def build_run(s: Settings, history_capacity: int | None = None) -> RunLoop:
    """The run a settings object describes, at step 0, with its live changes scheduled."""
    s.validate()
    start = s.copy()
    start.changes, start.steps = [], 0
    return RunLoop(build_source(s.target), build_estimator(s), history_capacity=history_capacity,
                   session=to_dict(start), changes=s.changes)


# ---------------------------------------------------------------- sessions
def to_dict(s: Settings) -> dict:
    d = asdict(s)
    d["format"] = SESSION_FORMAT
    d["app"] = "gaussviz"
    d["version"] = __version__
    return d


def _section(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise ValueError(f"session: '{where}' must be an object; got {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"session: unknown key(s) in '{where}': {', '.join(sorted(unknown))}")
    obj = cls(**data)
    for f in fields(cls):
        v = getattr(obj, f.name)
        default = getattr(cls(), f.name)
        if f.name in ("mean", "cov", "params"):
            continue  # vectors and matrices: checked by validate()
        if isinstance(default, float):
            # JSON has no int/float distinction for whole numbers: accept 1 for 1.0.
            if not _finite(v):
                raise ValueError(f"session: '{where}.{f.name}' must be a finite number; got {v!r}")
            setattr(obj, f.name, float(v))
        elif type(v) is not type(default):
            raise ValueError(f"session: '{where}.{f.name}' must be {type(default).__name__}; got {v!r}")
    return obj


def from_dict(data: Any) -> Settings:
    """Settings from a session dict; ValueError naming the bad key otherwise."""
    if not isinstance(data, dict):
        raise ValueError("session: the file must hold a JSON object")
    fmt = data.get("format", SESSION_FORMAT)
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        raise ValueError(f"session: 'format' must be an integer; got {fmt!r}")
    if fmt > SESSION_FORMAT:
        raise ValueError(
            f"session: format {fmt!r} is newer than this gaussviz understands ({SESSION_FORMAT}); "
            "update gaussviz")
    body = {k: v for k, v in data.items() if k not in ("format", "app", "version")}
    for key in ("target", "start", "estimator"):
        if key not in body:
            raise ValueError(f"session: missing key '{key}'")
    unknown = set(body) - {f.name for f in fields(Settings)}
    if unknown:
        raise ValueError(f"session: unknown key(s): {', '.join(sorted(unknown))}")
    comp = body.get("compare", [])
    if not isinstance(comp, list):
        raise ValueError("session: 'compare' must be a list")
    s = Settings(
        target=_section(TargetSettings, body["target"], "target"),
        start=_section(StartSettings, body["start"], "start"),
        estimator=_section(EstimatorSettings, body["estimator"], "estimator"),
        compare=[_section(EstimatorSettings, c, f"compare[{i}]") for i, c in enumerate(comp)],
        preset=body.get("preset", ""),
        steps=body.get("steps", 0),
        speed=body.get("speed", 0.0),
        view=_section(ViewSettings, body.get("view", {}), "view"),
        changes=body.get("changes", []),
    )
    # Validate section by section so the message says where in the file the problem is.
    _in_section("target", s.target.validate)
    _in_section("start", lambda: s.start.validate(s.target.dim))
    _in_section("estimator", s.estimator.validate)
    _in_section("view", s.view.validate)
    for i, c in enumerate(s.compare):
        _in_section(f"compare[{i}]", c.validate)
    _in_section("", s.validate)
    return s


def _in_section(where: str, check) -> None:
    try:
        check()
    except ValueError as e:
        msg = str(e)
        if msg.startswith("session:"):
            raise
        raise ValueError(f"session: '{where}': {msg}" if where else f"session: {msg}") from None


__all__ = [
    "PSPACE_SIGMA_SCALES",
    "STEP_AXES",
    "EstimatorSettings",
    "Settings",
    "StartSettings",
    "TargetSettings",
    "ViewSettings",
    "build_estimator",
    "build_run",
    "build_source",
    "cov_from_condition",
    "from_dict",
    "replace",
    "to_dict",
]
