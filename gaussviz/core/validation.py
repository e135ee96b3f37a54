"""Validation of what users and files hand the core: one ValueError that says what is wrong.

Every check names the value (``alpha``, ``target mean``...) so the CLI can print
it in one line and the window can show it under the field.
"""

from __future__ import annotations

import difflib
import math
import re
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
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {quote(value)}{hint}")
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
#: the smallest learning rate a run's settings, a session, a live change or a sweep may ask for
#: (below it nothing moves in a lifetime of updates, and alpha * gradient can underflow)
MIN_ALPHA = 1e-12
#: the largest mini-batch a run's settings, a session or a live change may ask for
MAX_BATCH = 100_000
#: seeds are int64 (numpy's streams take any non-negative integer; beyond this it is not a seed)
MAX_SEED = 2**63 - 1
#: the most updates a run, a session or a live change's step may name (a year at 30,000 updates/s)
MAX_STEPS = 10**12
#: the fastest pace (updates per second) a session may ask for; 0 = as fast as possible
MAX_SPEED = 1e9
#: the longest wait before the window's --screenshot, in seconds (a day)
MAX_AFTER_S = 86_400.0
#: largest |entry| of a target or start mean: with covariances up to 1e12 (std 1e6)
#: float resolution there (~1e-4) still leaves the samples their noise, and no
#: square in the reference or the metrics can overflow
MAX_ABS_MEAN = 1e12
#: a target's covariance (its truth) has eigenvalues in here: a spread from 1e-6 to 1e6;
#: beyond, the inverse or the squares in KL and the reference overflow or lose every digit
MIN_TRUTH_EIG, MAX_TRUTH_EIG = 1e-12, 1e12
#: characters of a file- or user-given value quoted in a message at most
MAX_QUOTED = 80
#: characters of one message at most (a stranger's file must not make a message box of megabytes)
MAX_MESSAGE = 600


def quote(value: Any, limit: int = MAX_QUOTED) -> str:
    """``repr(value)``, cut to ``limit`` characters (a stranger's value may be megabytes long)."""
    if isinstance(value, (str, bytes)) and len(value) > 4 * limit:
        value = value[: 4 * limit]  # repr of a huge string would copy it all first
    if isinstance(value, (list, tuple, dict)) and len(value) > limit:
        text = f"<{type(value).__name__} of {len(value):,} items>"
    else:
        try:
            text = repr(value)
        except Exception:  # a repr that fails is no reason to fail the message
            text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip(text: str, limit: int = 200) -> str:
    """Text cut to ``limit`` characters (for lists of a stranger's keys or names in a message)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: Any, limit: int = MAX_MESSAGE) -> str:
    """A message as one line of at most ``limit`` characters (control characters and line
    breaks, e.g. in a file name, become spaces)."""
    t = _CONTROL.sub(" ", str(text)).strip()
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _real_scalar(value: Any, msg: str) -> float:
    """``value`` as a float if it is one real number (not a bool, string, complex or array); else
    ValueError(msg). Range checks are the caller's."""
    if isinstance(value, (bool, np.bool_, str, bytes)) or is_complex(value) or (
            isinstance(value, np.ndarray) and value.ndim > 0):
        raise ValueError(msg)
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(msg) from None


def check_alpha(alpha: Any, name: str = "alpha", hi: float = math.inf, lo: float = 0.0) -> float:
    # a float is the common case, taken as it is (a session's timeline may hold millions)
    a = alpha if type(alpha) is float else _real_scalar(alpha, f"{name} must be a positive finite number; "
                                                                f"got {quote(alpha)}")
    if not math.isfinite(a) or a <= 0.0:
        raise ValueError(f"{name} must be a positive finite number; got {quote(alpha)}")
    if a > hi:
        raise ValueError(f"{name} must be at most {hi:g}; got {a:g}")
    if a < lo:
        raise ValueError(f"{name} must be at least {lo:g}; got {a:g}")
    return a



def check_beta(beta: Any, name: str = "beta1") -> float:
    """A decay rate in [0, 1): at 1 the moment never forgets its zero start, above it grows."""
    msg = f"{name} must be a number in [0, 1); got {quote(beta)}"
    b = _real_scalar(beta, msg)
    if not (0.0 <= b < 1.0):  # also refuses NaN
        raise ValueError(msg)
    return b


def check_eps(eps: Any, name: str = "eps") -> float:
    """The denominator guard of RMSProp/Adam: positive and finite (0 divides by zero at D = 0)."""
    msg = f"{name} must be a positive finite number; got {quote(eps)}"
    e = _real_scalar(eps, msg)
    if not math.isfinite(e) or e <= 0.0:
        raise ValueError(msg)
    return e


def check_flag(value: Any, name: str) -> bool:
    """True or False (numpy's too), nothing else: 1, "yes" and None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {quote(value)}")
    return bool(value)


def check_batch_size(batch_size: Any, hi: int | None = None) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1; got {quote(batch_size)}")
    if hi is not None and batch_size > hi:
        raise ValueError(f"batch_size must be at most {hi}; got {batch_size}")
    return int(batch_size)


def check_int(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer (not a bool, not a float) from lo to hi; ValueError naming it otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer from {lo:,} to {hi:,}; got {quote(value)}")
    return int(value)


def check_seed(seed: Any, name: str = "seed") -> int:
    return check_int(seed, name, 0, MAX_SEED)


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


def check_truth(mean: Any, cov: Any, where: str) -> None:
    """A target's truth must be representable: a finite mean within +-MAX_ABS_MEAN and a
    finite covariance with eigenvalues from MIN_TRUTH_EIG to MAX_TRUTH_EIG. ValueError
    starting with ``where`` otherwise (a file's data near 1e308, mixture means of 1e300,
    covariance entries of 5e-324 are messages, never overflows further down)."""
    with np.errstate(all="ignore"):
        m = np.asarray(mean, dtype=float)
        c = np.asarray(cov, dtype=float)
        if not np.all(np.isfinite(m)):
            raise ValueError(f"{where}: the mean is not finite (it overflows); rescale the data or parameters")
        big = float(np.max(np.abs(m))) if m.size else 0.0
        if big > MAX_ABS_MEAN:
            raise ValueError(f"{where}: the mean must be within +-{MAX_ABS_MEAN:g}; it reaches {big:.3g}")
        if not np.all(np.isfinite(c)):
            raise ValueError(f"{where}: the covariance is not finite (it overflows); rescale the data or parameters")
        ev = np.linalg.eigvalsh(0.5 * (c + c.T))
    if not (ev[0] >= MIN_TRUTH_EIG and ev[-1] <= MAX_TRUTH_EIG):
        raise ValueError(f"{where}: the covariance cannot be represented: its eigenvalues run from {ev[0]:.3g} "
                         f"to {ev[-1]:.3g}; they must lie from {MIN_TRUTH_EIG:g} to {MAX_TRUTH_EIG:g} "
                         "(a spread of 1e-6 to 1e6)")
