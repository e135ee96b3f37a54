"""Numbers typed by people: one parser for the CLI's options and the window's fields.

Lists may be separated by commas, semicolons or spaces; every error is a
ValueError that names the field and says what was wrong, in one line.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from .validation import as_mean, as_spd

_SEPARATORS = re.compile(r"[,;\s]+")


def parse_number(text: str, name: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    """One finite number in [lo, hi]."""
    t = str(text).strip()
    if not t:
        raise ValueError(f"{name}: type a number from {lo:g} to {hi:g}")
    try:
        v = float(t)
    except ValueError:
        raise ValueError(f"{name}: {t[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number; got {t[:40]} (allowed: from {lo:g} to {hi:g})")
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be from {lo:g} to {hi:g}; got {v:g}")
    return v


def parse_numbers(text: str, name: str, lo: float = -math.inf, hi: float = math.inf) -> list[float]:
    """One or more finite numbers in [lo, hi], separated by commas, semicolons or spaces."""
    parts = [p for p in _SEPARATORS.split(str(text).strip()) if p]
    if not parts:
        raise ValueError(f"{name}: give at least one number")
    return [parse_number(p, name, lo, hi) for p in parts]


def parse_vector(text: str, name: str, d: int) -> float | list[float]:
    """One number (used for every entry) or d numbers."""
    parts = [p for p in _SEPARATORS.split(str(text).strip()) if p]
    if not parts:
        raise ValueError(f"{name}: type one number or {d} numbers separated by commas")
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{name}: {str(text).strip()[:60]!r} is not a list of numbers") from None
    if len(vals) == 1:
        as_mean([vals[0]] * d, name, d)
        return vals[0]
    if len(vals) != d:
        raise ValueError(f"{name} needs 1 or {d} numbers (the dimension); got {len(vals)}")
    as_mean(vals, name, d)
    return vals


def parse_matrix(text: str, name: str, d: int) -> list[list[float]]:
    """Rows separated by new lines or ';', entries by commas or spaces; must be symmetric PD."""
    rows = [r for r in re.split(r"[;\n]+", str(text).strip()) if r.strip()]
    try:
        m = [[float(x) for x in re.split(r"[,\s]+", r.strip()) if x] for r in rows]
    except ValueError:
        raise ValueError(f"{name}: entries must be numbers (rows on separate lines or split by ';')") from None
    if len(m) != d or any(len(r) != d for r in m):
        raise ValueError(f"{name} must be {d} rows of {d} numbers; got {len(m)} row(s) of "
                         f"{sorted({len(r) for r in m})} number(s)")
    return as_spd(m, name, d).tolist()


def format_vector(v: Any) -> str:
    """A mean as people type it: ``0.5`` or ``1, 2``."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return ", ".join(f"{float(x):g}" for x in v)
    return f"{float(v):g}"


def format_matrix(m: Any) -> str:
    """A matrix as ``parse_matrix`` reads it back: one row per line."""
    return "\n".join(", ".join(f"{float(x):.6g}" for x in row) for row in np.asarray(m, dtype=float))


__all__ = ["format_matrix", "format_vector", "parse_matrix", "parse_number", "parse_numbers", "parse_vector"]
