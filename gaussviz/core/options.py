"""Names of the estimator settings, their codes in the kernels, and validation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import kernels as k

PARAMETERIZATIONS: dict[str, int] = {
    "covariance": k.COVARIANCE,
    "precision": k.PRECISION,
    "cholesky": k.CHOLESKY,
    "log-cholesky": k.LOG_CHOLESKY,
    "natural": k.NATURAL,
}
#: every update rule the estimators take: PARAMETERIZATIONS plus the rules the
#: window, CLI, sweeps and session files do not offer yet (their integration
#: widens PARAMETERIZATIONS, which those read). Codes: append, never reorder.
UPDATE_RULES: dict[str, int] = {
    **PARAMETERIZATIONS,
    "riemannian": k.RIEMANNIAN,
}
OBJECTIVES = ("loglik", "neg-loglik")
DIRECTIONS = ("ascent", "descent")
SCHEDULES: dict[str, int] = {
    "constant": k.CONSTANT,
    "inverse": k.INVERSE,
    "inverse-sqrt": k.INVERSE_SQRT,
}
#: parameterizations whose update can drift asymmetric (docs/MATH.md "Asymmetry drift").
SYMMETRIZABLE = ("covariance", "precision")

#: optimizers on top of an update rule (docs/MATH.md "Optimizers"); the codes are
#: part of the session format: append, never reorder.
OPTIMIZERS: dict[str, int] = {
    "sgd": k.SGD,
    "momentum": k.MOMENTUM,
    "nesterov": k.NESTEROV,
    "rmsprop": k.RMSPROP,
    "adam": k.ADAM,
}
#: the optimizer settings and their defaults (docs/MATH.md: beta1 0.9, beta2 0.999, eps 1e-8)
OPTIMIZER_DEFAULTS: dict[str, Any] = {
    "optimizer": "sgd",
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "averaging": False,
}
#: update rules that take optimizer "sgd" only: an optimizer's state lives in one
#: tangent space, and riemannian steps along the SPD manifold (it would need parallel transport).
SGD_ONLY = ("riemannian",)

OPTIMIZER_HELP = {
    "sgd": "theta += alpha_t D: the plain step of the update rule",
    "momentum": "heavy ball: v = beta1 v + D; theta += alpha_t v",
    "nesterov": "v = beta1 v + D; theta += alpha_t (beta1 v + D)",
    "rmsprop": "each entry's step divided by the root mean square of its D (beta2, eps)",
    "adam": "bias-corrected first and second moments of D (beta1, beta2, eps)",
}

PARAMETERIZATION_HELP = {
    "covariance": "Sigma itself, the seed's update: step ~ inv(Sigma)^2, can leave the PD cone",
    "precision": "Lambda = inv(Sigma): step ~ Sigma, can leave the PD cone",
    "cholesky": "Sigma = L L^T: stays PSD, a diagonal entry of L can cross zero",
    "log-cholesky": "L with log-diagonal: unconstrained, always PD",
    "natural": "Fisher-preconditioned: an exponential moving average, always PD for alpha < 1",
    "riemannian": "exponential map of the Fisher (SPD) metric: PD for every alpha and both signs; sgd only",
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


def check_choice(name: str, value: Any, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _is_complex(x: Any) -> bool:
    """True for complex numbers and arrays: numpy would silently drop their imaginary part."""
    try:
        return bool(np.iscomplexobj(x))
    except (TypeError, ValueError):
        return False


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    if isinstance(alpha, (bool, np.bool_)) or _is_complex(alpha) or (
            isinstance(alpha, np.ndarray) and alpha.ndim > 0):
        raise ValueError(f"{name} must be a positive finite number; got {alpha!r}")
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number; got {alpha!r}") from None
    if not math.isfinite(a) or a <= 0.0:
        raise ValueError(f"{name} must be a positive finite number; got {alpha!r}")
    return a


def check_beta(beta: Any, name: str = "beta1") -> float:
    """A decay rate in [0, 1): at 1 the moment never forgets its zero start, above it grows."""
    msg = f"{name} must be a number in [0, 1); got {beta!r}"
    if isinstance(beta, (bool, np.bool_, str)) or _is_complex(beta) or (
            isinstance(beta, np.ndarray) and beta.ndim > 0):
        raise ValueError(msg)
    try:
        b = float(beta)
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    if not (0.0 <= b < 1.0):  # also refuses NaN
        raise ValueError(msg)
    return b


def check_eps(eps: Any, name: str = "eps") -> float:
    """The denominator guard of RMSProp/Adam: positive and finite (0 divides by zero at D = 0)."""
    msg = f"{name} must be a positive finite number; got {eps!r}"
    if isinstance(eps, (bool, np.bool_, str)) or _is_complex(eps) or (
            isinstance(eps, np.ndarray) and eps.ndim > 0):
        raise ValueError(msg)
    try:
        e = float(eps)
    except (TypeError, ValueError):
        raise ValueError(msg) from None
    if not math.isfinite(e) or e <= 0.0:
        raise ValueError(msg)
    return e


def check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_rule_optimizer(parameterization: str, optimizer: str) -> None:
    """Refuse an update rule with an optimizer it cannot take (riemannian: sgd only)."""
    if parameterization in SGD_ONLY and optimizer != "sgd":
        raise ValueError(
            f"the {parameterization} update rule takes optimizer 'sgd' only; got optimizer {optimizer!r} "
            "(momentum or moment estimates on the SPD manifold would need parallel transport)")


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    return int(batch_size)


def as_mean(mean: Any, name: str = "mean", d: int | None = None) -> np.ndarray:
    if _is_complex(mean):
        raise ValueError(f"{name} must be a vector of real numbers; got complex values")
    try:
        m = np.array(mean, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a vector of numbers; got {mean!r}") from None
    if m.ndim == 0:
        m = m.reshape(1)
    if m.ndim != 1 or m.size == 0:
        raise ValueError(f"{name} must be a vector of shape (d,); got shape {m.shape}")
    if d is not None and m.shape[0] != d:
        raise ValueError(f"{name} must have length {d}; got length {m.shape[0]}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} must be finite; got {m.tolist()}")
    return m


def as_spd(cov: Any, name: str = "cov", d: int | None = None, rtol: float = 1e-10) -> np.ndarray:
    """A symmetric positive-definite matrix, or a ValueError that says what is wrong."""
    if _is_complex(cov):
        raise ValueError(f"{name} must be a matrix of real numbers; got complex values")
    try:
        c = np.array(cov, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a matrix of numbers; got {cov!r}") from None
    if c.ndim == 0:
        c = c.reshape(1, 1)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.size == 0:
        raise ValueError(f"{name} must be a square matrix of shape (d, d); got shape {c.shape}")
    if d is not None and c.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d}, {d}); got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise ValueError(f"{name} must be finite; got {c.tolist()}")
    scale = max(np.max(np.abs(c)), np.finfo(float).tiny)
    asym = np.max(np.abs(c - c.T))
    if asym > rtol * scale:
        raise ValueError(f"{name} must be symmetric; |{name} - {name}^T| is {asym:.3g}")
    c = 0.5 * (c + c.T)
    eig = np.linalg.eigvalsh(c)
    if eig[0] <= 0.0:
        raise ValueError(f"{name} must be positive definite; its smallest eigenvalue is {eig[0]:.3g}")
    if eig[-1] > 1e12 or eig[-1] > 1e12 * eig[0]:
        raise ValueError(
            f"{name} is too close to singular or too large (eigenvalues {eig[0]:.3g} to {eig[-1]:.3g})"
        )
    return c


def as_samples(Y: Any, d: int) -> np.ndarray:
    if _is_complex(Y):
        raise ValueError(f"Y must be real numbers of shape (n, {d}); got complex values")
    try:
        y = np.asarray(Y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"Y must be an array of numbers of shape (n, {d})") from None
    if y.ndim == 1 and d == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != d:
        raise ValueError(f"Y must have shape (n, {d}); got shape {y.shape}")
    bad = ~np.isfinite(y)
    if bad.any():
        row = int(np.argwhere(bad)[0, 0])
        raise ValueError(f"Y must be finite; row {row} is {y[row].tolist()}")
    return np.ascontiguousarray(y)
