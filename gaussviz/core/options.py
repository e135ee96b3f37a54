"""The estimator's choice tables besides the update rule: sign conventions and schedules.

The update rules themselves live in ``parameterizations.py`` (one spec each).
"""

from __future__ import annotations

from . import kernels as k
from .validation import check_choice

OBJECTIVES = ("loglik", "neg-loglik")
DIRECTIONS = ("ascent", "descent")
SCHEDULES: dict[str, int] = {
    "constant": k.CONSTANT,
    "inverse": k.INVERSE,
    "inverse-sqrt": k.INVERSE_SQRT,
}


def effective_sign(objective: str, direction: str) -> float:
    """+1 for the two pairs that climb the likelihood, -1 for the two that descend it.

    Computed as a product of two exact +-1 factors, so both correct pairs give
    bit-identical trajectories.
    """
    check_choice("objective", objective, OBJECTIVES)
    check_choice("direction", direction, DIRECTIONS)
    obj = 1.0 if objective == "loglik" else -1.0
    dirn = 1.0 if direction == "ascent" else -1.0
    return obj * dirn


def sign_effect(objective: str, direction: str) -> str:
    """Plain words for what a sign pair does."""
    if effective_sign(objective, direction) > 0:
        return "climbs the likelihood"
    return "descends the likelihood: will diverge"
