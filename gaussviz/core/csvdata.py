"""Reading a data file a stranger made: the numeric columns of a CSV, bad lines listed, never fatal.

``load_csv`` turns a file (or the name of a shipped data set such as
``old-faithful``) into a ``CsvData``: the usable rows of the chosen columns,
their names, and every skipped line with its number and reason. Anything that
makes the file unusable is a one-line ValueError naming the file.
"""

from __future__ import annotations

import csv
import gc
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .paths import resource_path

#: data sets shipped in resources/: name -> file
DATASETS = {"old-faithful": "old_faithful.csv"}
#: problems kept for display (the count of skipped lines is always exact)
MAX_PROBLEMS = 1000
#: CSV columns at most (the settings' dimension limit)
MAX_COLUMNS = 50


@dataclass(frozen=True)
class CsvProblem:
    """A skipped line: 1-based line number in the file and why."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class CsvData:
    """The usable rows of a CSV file, the chosen columns and what was skipped."""

    path: str
    data: np.ndarray
    columns: list[str]
    has_header: bool
    problems: list[CsvProblem] = field(default_factory=list)
    n_skipped: int = 0

    def problem_lines(self, cap: int = 20) -> list[str]:
        """Up to ``cap`` problems as text, plus one line with the rest counted."""
        out = [str(p) for p in self.problems[:cap]]
        if self.n_skipped > len(out):
            out.append(f"... {self.n_skipped - len(out)} more skipped line(s) ({self.n_skipped} in all)")
        return out


def resolve_csv_path(path: str) -> Path:
    """A file path, or the name of a shipped data set (e.g. 'old-faithful')."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValueError(f"csv: parameter 'path' must be a file name; got {path!r}")
    p = Path(path).expanduser()
    if p.is_file():
        return p
    key = str(path).strip().lower().replace("_", "-")
    if key.endswith(".csv"):
        key = key[:-4]
    if key in DATASETS and not p.exists():
        return resource_path(DATASETS[key])
    if p.exists():
        raise ValueError(f"csv: {str(path)!r} is not a file")
    raise ValueError(f"csv: file {str(path)!r} not found (shipped data sets: {', '.join(DATASETS)})")


def _delimiter_of(line: str) -> str | None:
    for d in (",", ";", "\t"):
        if d in line:
            return d
    return None  # whitespace


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    if '"' in line:
        fields = next(csv.reader([line], delimiter=delim, skipinitialspace=True))
    else:
        fields = line.split(delim)
    return [f.strip() for f in fields]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_index(key: Any) -> bool:
    if isinstance(key, bool):
        return False
    return isinstance(key, (int, np.integer)) or (isinstance(key, str) and key.lstrip("-").isdigit())


def _column_label(names: list[str] | None, i: int) -> str:
    return f"'{names[i]}'" if names else str(i)


def load_csv(path: Any, columns: Any = None, header: bool | None = None,
             delimiter: str | None = None) -> CsvData:
    """Read the numeric columns of a CSV file; see ``_load_csv``."""
    # A million rows make millions of small lists and tuples, which would run the
    # cyclic garbage collector hundreds of times (3x slower); none can be in a cycle.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_csv(path, columns, header, delimiter)
    finally:
        if was_enabled:
            gc.enable()


def _load_csv(path: Any, columns: Any, header: bool | None, delimiter: str | None) -> CsvData:
    """Read the numeric columns of a CSV file; bad lines are reported and skipped, never fatal.

    ``columns``: None (every numeric column), or a list (or comma-separated
    string) of header names and/or 0-based indices. ``header``: None detects
    one (a first line with no number in it). ``delimiter``: None detects
    ',', ';', tab or whitespace from the first line. A ValueError (never a
    crash) for: a missing or unreadable file, not UTF-8, empty, header only,
    no numeric column, a column that does not exist, fewer than d + 1 usable
    rows, or columns that are constant or linearly dependent.
    """
    p = resolve_csv_path(path)
    where = f"csv file '{p}'"
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {where}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(f"{where} is not UTF-8 text (invalid byte 0x{raw[e.start]:02x} on line {line}); "
                         "save it as UTF-8") from None
    if "\x00" in text:
        raise ValueError(f"{where} is not a text file (it contains NUL bytes)")
    lines = text.split("\n")
    # (line number, text) of the lines that hold something; '#' starts a comment line
    body = [(i + 1, s.strip()) for i, s in enumerate(lines)]
    body = [(n, s) for n, s in body if s and s[0] != "#"]
    if not body:
        raise ValueError(f"{where} is empty")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise ValueError(f"csv: parameter 'delimiter' must be one character; got {delimiter!r}")
    delim = delimiter if delimiter is not None else _delimiter_of(body[0][1])
    first = _split(body[0][1], delim)
    if header is None:
        header = not any(_is_number(f) for f in first)
    names: list[str] | None = [f.strip("\"'") for f in first] if header else None
    rows = body[1:] if header else body
    if not rows:
        raise ValueError(f"{where} has a header but no data rows")
    width = len(first)
    problems: list[CsvProblem] = []
    n_skipped = 0

    def skip(line_no: int, msg: str) -> None:
        nonlocal n_skipped
        n_skipped += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(CsvProblem(line_no, msg))

    if delim is not None and '"' not in text:
        split_rows = [s.split(delim) for _, s in rows]  # fast path: no quoting
    else:
        split_rows = [_split(s, delim) for _, s in rows]
    fields_list: list[list[str]] = []
    line_nos: list[int] = []
    if all(len(f) == width for f in split_rows):
        fields_list = split_rows
        line_nos = [n for n, _ in rows]
    else:
        for (n, _), f in zip(rows, split_rows):
            if len(f) != width:
                skip(n, f"{len(f)} field(s), expected {width}")
                continue
            fields_list.append(f)
            line_nos.append(n)
    if not fields_list:
        raise ValueError(f"{where}: no line has the {width} field(s) of its first line")

    # which columns
    if columns is None or (isinstance(columns, str) and not columns.strip()):
        probe = fields_list[:1000]
        idx = [j for j in range(width) if 2 * sum(_is_number(f[j]) for f in probe) >= len(probe)]
        if not idx:
            raise ValueError(f"{where} has no numeric column")
        if len(idx) > MAX_COLUMNS:
            raise ValueError(f"{where} has {len(idx)} numeric columns; choose at most {MAX_COLUMNS} with columns")
    else:
        items = columns.split(",") if isinstance(columns, str) else list(columns)
        if not items:
            raise ValueError("csv: parameter 'columns' is empty")
        idx = []
        for c in items:
            key = c.strip() if isinstance(c, str) else c
            if names is not None and isinstance(key, str) and key in names:
                idx.append(names.index(key))
            elif _is_index(key):
                j = int(key)
                if not 0 <= j < width:
                    raise ValueError(f"csv: column index {j} is out of range: {where} has {width} column(s) "
                                     f"(indices 0 to {width - 1})")
                idx.append(j)
            else:
                have = f"its columns are {', '.join(names)}" if names else "it has no header: use 0-based indices"
                raise ValueError(f"csv: column {key!r} not found in {where}; {have}")
        if len(set(idx)) != len(idx):
            raise ValueError(f"csv: parameter 'columns' names a column twice: {items!r}")
        if len(idx) > MAX_COLUMNS:
            raise ValueError(f"csv: at most {MAX_COLUMNS} columns; got {len(idx)}")

    labels = [names[j] if names else str(j) for j in idx]
    # convert: a fast vectorized pass, and a line-by-line pass only where it fails
    m = len(fields_list)
    data = np.empty((m, len(idx)))
    good = np.ones(m, dtype=bool)
    for c, j in enumerate(idx):
        col = [f[j] for f in fields_list]
        try:
            data[:, c] = np.array(col, dtype=np.float64)
        except ValueError:
            for r, v in enumerate(col):
                try:
                    data[r, c] = float(v)
                except ValueError:
                    data[r, c] = np.nan
                    good[r] = False
    finite = np.isfinite(data)
    bad_rows = np.flatnonzero(~(good & finite.all(axis=1)))
    for r in bad_rows:
        f = fields_list[r]
        msgs = []
        for j in idx:
            v = f[j].strip()
            label = _column_label(names, j)
            if not v:
                msgs.append(f"column {label} is empty")
            elif not _is_number(v):
                msgs.append(f"column {label} is not a number: {v[:40]!r}")
            elif not math.isfinite(float(v)):
                msgs.append(f"column {label} is not finite: {v!r}")
        skip(line_nos[r], "; ".join(msgs))
    problems.sort(key=lambda q: q.line)
    keep = np.ones(m, dtype=bool)
    keep[bad_rows] = False
    data = np.ascontiguousarray(data[keep])
    d = data.shape[1]
    if data.shape[0] < d + 1:
        extra = f" (skipped {n_skipped} line(s); first: {problems[0]})" if problems else ""
        raise ValueError(f"{where}: only {data.shape[0]} usable row(s) for {d} column(s); "
                         f"need at least {d + 1}{extra}")
    sd = data.std(axis=0)
    for c in range(d):
        if not sd[c] > 0:
            raise ValueError(f"{where}: column {labels[c]!r} is constant; a covariance needs spread in every column")
    corr = np.corrcoef(data.T) if d > 1 else np.ones((1, 1))
    ev = np.linalg.eigvalsh(np.atleast_2d(corr))
    if ev[0] < 1e-10 * ev[-1]:
        raise ValueError(f"{where}: columns {', '.join(labels)} are linearly dependent "
                         "(their covariance is singular); drop one")
    return CsvData(str(p), data, labels, bool(header), problems, n_skipped)


_CACHE: dict[tuple, CsvData] = {}


def load_csv_cached(path: Any, columns: Any = None, header: bool | None = None,
                    delimiter: str | None = None) -> CsvData:
    """``load_csv`` remembered by file path, size and mtime (the window rebuilds often)."""
    p = resolve_csv_path(path)
    st = p.stat()
    cols = tuple(columns.split(",")) if isinstance(columns, str) else (None if columns is None else tuple(columns))
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns, cols, header, delimiter)
    hit = _CACHE.get(key)
    if hit is None:
        hit = load_csv(p, columns, header, delimiter)
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = hit
    return hit


__all__ = ["DATASETS", "CsvData", "CsvProblem", "load_csv", "load_csv_cached", "resolve_csv_path", "resource_path"]
