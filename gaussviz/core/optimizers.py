"""The optimizers on top of any update rule: one spec each (docs/MATH.md, "Optimizers").

An optimizer turns the update rule's direction D into the step actually taken:
plain ``sgd``, heavy-ball ``momentum``, ``nesterov``, ``rmsprop`` and ``adam``.
Their state (moments of D) lives per chain in the compiled kernels; this
registry is what the CLI, the window, sessions, sweeps and the stability
forecast read. Adding one: its spec here, its branch in ``kernels.py``, its
row in docs/MATH.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import kernels as kn


@dataclass(frozen=True)
class Optimizer:
    """One optimizer: its name, kernel code, help and which of beta1, beta2, eps it reads."""

    name: str
    #: the kernels' branch (part of the session format: never renumber)
    code: int
    help: str
    #: the settings it reads ("beta1", "beta2", "eps"); the others are ignored
    uses: tuple[str, ...]
    #: the linearized stability bound as a multiple of sgd's bound, from beta1 (docs/MATH.md);
    #: None: no closed form (the step is not linear in D)
    bound_factor: Callable[[float], float] | None
    #: that bound per mode (sgd's factor 1 - a h), in words
    bound_rule: str


OPTIMIZERS: dict[str, Optimizer] = {o.name: o for o in [
    Optimizer("sgd", kn.SGD, "theta += alpha_t D: the plain step of the update rule", (), lambda b1: 1.0,
              "a h < 2"),
    Optimizer("momentum", kn.MOMENTUM, "heavy ball: v = beta1 v + D; theta += alpha_t v", ("beta1",),
              lambda b1: 1.0 + b1, "a h < 2 (1 + beta1)"),
    Optimizer("nesterov", kn.NESTEROV, "v = beta1 v + D; theta += alpha_t (beta1 v + D)", ("beta1",),
              lambda b1: (1.0 + b1) / (1.0 + 2.0 * b1), "a h < 2 (1 + beta1) / (1 + 2 beta1)"),
    Optimizer("rmsprop", kn.RMSPROP, "each entry's step divided by the root mean square of its D (beta2, eps)",
              ("beta2", "eps"), None, "no closed form"),
    Optimizer("adam", kn.ADAM, "bias-corrected first and second moments of D (beta1, beta2, eps)",
              ("beta1", "beta2", "eps"), None, "no closed form"),
]}
#: names in their canonical order
NAMES: tuple[str, ...] = tuple(OPTIMIZERS)
#: the optimizer settings and their defaults (docs/MATH.md: beta1 0.9, beta2 0.999, eps 1e-8)
DEFAULTS: dict[str, Any] = {"optimizer": "sgd", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "averaging": False}


def get(name: object) -> Optimizer:
    """An optimizer by name; ValueError listing the names otherwise."""
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(map(repr, NAMES))}; got {name!r}")
    return OPTIMIZERS[name]


__all__ = ["DEFAULTS", "NAMES", "OPTIMIZERS", "Optimizer", "get"]
