"""Validation of what users and files hand the core: one ValueError that says what is wrong.

Every check names the value (``alpha``, ``target mean``...) so the CLI can print
it in one line and the window can show it under the field.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np


def did_you_mean(word: str, names, quote: bool = True) -> str:
    """``"; did you mean 'natural'?"`` for the closest of ``names`` to a misspelt ``word``, or ``""``."""
    close = difflib.get_close_matches(str(word), [str(n) for n in names], n=1, cutoff=0.6)
    if not close:
        return ""
    return f"; did you mean {close[0]!r}?" if quote else f"; did you mean {close[0]}?"


def check_choice(name: str, value: Any, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}{hint}")
    return value


def is_complex(x: Any) -> bool:
    """True for complex numbers and arrays: numpy would silently drop their imaginary part."""
    try:
        return bool(np.iscomplexobj(x))
    except (TypeError, ValueError):
        return False


#: the largest learning rate a run's settings, a session or a live change may ask for (the core's
#: estimators take any positive rate; the window's slider and the CLI end here)
MAX_ALPHA = 1.0
#: the largest mini-batch a run's settings, a session or a live change may ask for
MAX_BATCH = 100_000


def check_alpha(alpha: Any, name: str = "alpha", hi: float = math.inf) -> float:
    if isinstance(alpha, (bool, np.bool_)) or is_complex(alpha) or (
            isinstance(alpha, np.ndarray) and alpha.ndim > 0):
        raise ValueError(f"{name} must be a positive finite number; got {alpha!r}")
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number; got {alpha!r}") from None
    if not math.isfinite(a) or a <= 0.0:
        raise ValueError(f"{name} must be a positive finite number; got {alpha!r}")
    if a > hi:
        raise ValueError(f"{name} must be at most {hi:g}; got {a:g}")
    return a



def check_beta(beta: Any, name: str = "beta1") -> float:
    """A decay rate in [0, 1): at 1 the moment never forgets its zero start, above it grows."""
    msg = f"{name} must be a number in [0, 1); got {beta!r}"
    if isinstance(beta, (bool, np.bool_, str)) or is_complex(beta) or (
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
    if isinstance(eps, (bool, np.bool_, str)) or is_complex(eps) or (
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
    """True or False (numpy's too), nothing else: 1, "yes" and None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_batch_size(batch_size: Any, hi: int | None = None) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {batch_size!r}")
    if hi is not None and batch_size > hi:
        raise ValueError(f"batch_size must be at most {hi}; got {batch_size}")
    return int(batch_size)


def as_mean(mean: Any, name: str = "mean", d: int | None = None) -> np.ndarray:
    if is_complex(mean):
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
    if is_complex(cov):
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
    if is_complex(Y):
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
