"""Reading a data file a stranger made: the numeric columns of a CSV, bad lines listed, never fatal.

``load_csv`` turns a file into a ``CsvData``: the usable rows of the chosen
columns, their names, and every skipped line with its number and reason.
Anything that makes the file unusable is a one-line ValueError naming the file.
A shipped data set (``old-faithful``) is named by ``dataset_path``, never by a
file name, so a file of the same name in the working directory cannot stand in
for it.

The file is read as a stream of blocks of lines straight into one array of
floats (its size counted first), so memory stays near the data's own size plus
a block, not many times the file's size; the moments come from the array in
blocks too (``moments``).
"""

from __future__ import annotations

import csv
import gc
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .fileio import MissingFile, NotAFile, open_regular
from .paths import resource_path
from .validation import quote

#: data sets shipped in resources/: name -> file
DATASETS = {"old-faithful": "old_faithful.csv"}
#: problems kept for display (the count of skipped lines is always exact)
MAX_PROBLEMS = 1000
#: CSV columns at most (the settings' dimension limit)
MAX_COLUMNS = 50
#: fields of one line at most (a wide file may have many columns; choose at most MAX_COLUMNS)
MAX_FIELDS = 10_000
#: the largest data file read
MAX_CSV_BYTES = 2**30
#: column names listed in a message at most
MAX_LISTED_NAMES = 20
#: chosen cells converted at once (bounds the memory of the text being converted)
BLOCK_CELLS = 2**14
#: rows per block when the moments are accumulated
MOMENT_BLOCK = 65_536


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


def dataset_name(text: object) -> str | None:
    """The shipped data set a name means ('old-faithful', 'old_faithful', any case), or None.
    A name with a folder part or an extension is a file, never a data set."""
    if not isinstance(text, str):
        return None
    key = text.strip().lower().replace("_", "-")
    return key if key in DATASETS else None


def dataset_path(name: object) -> Path:
    """The file of a shipped data set; ValueError listing them otherwise."""
    key = dataset_name(name)
    if key is None:
        raise ValueError(f"csv: no shipped data set is named {quote(name)} (shipped: {', '.join(DATASETS)})")
    return resource_path(DATASETS[key])


def resolve_csv_path(path: Any) -> Path:
    """A data file's path as given (``~`` expanded). Never a shipped data set: see ``dataset_path``."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip() or "\0" in str(path):
        raise ValueError(f"csv: parameter 'path' must be a file name; got {quote(path)}")
    return Path(path).expanduser()


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


def _names_list(names: list[str]) -> str:
    shown = ", ".join(n[:40] for n in names[:MAX_LISTED_NAMES])
    return shown + (f", ... ({len(names)} columns)" if len(names) > MAX_LISTED_NAMES else "")


def moments(x: np.ndarray, shift: np.ndarray | None = None, scale: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (divided by N) of the rows of ``x`` (each row first mapped to
    ``(row - shift) / scale`` if given), accumulated in blocks: no copy of ``x``."""
    n, d = x.shape
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is the caller's message
        if shift is None:
            mean = x.mean(axis=0)
        else:
            mean = np.zeros(d)
            for i in range(0, n, MOMENT_BLOCK):
                mean += ((x[i:i + MOMENT_BLOCK] - shift) / scale).sum(axis=0)
            mean /= n
        c = np.zeros((d, d))
        for i in range(0, n, MOMENT_BLOCK):
            xb = x[i:i + MOMENT_BLOCK]
            if shift is not None:
                xb = (xb - shift) / scale
            xb = xb - mean
            c += xb.T @ xb
    c /= n
    return mean, 0.5 * (c + c.T)


def load_csv(path: Any, columns: Any = None, header: bool | None = None,
             delimiter: str | None = None) -> CsvData:
    """Read the numeric columns of a CSV file; see ``_load_csv``."""
    # A million rows make millions of small lists and strings, which would run the
    # cyclic garbage collector hundreds of times (3x slower); none can be in a cycle.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load_csv(path, columns, header, delimiter)
    finally:
        if was_enabled:
            gc.enable()


def _count_lines(f: BinaryIO) -> int:
    n, last = 0, b"\n"
    while block := f.read(1 << 20):
        n += block.count(b"\n")
        last = block[-1:]
    f.seek(0)
    return n + (last != b"\n")


def _lines(f: BinaryIO, where: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, stripped text) of every line that holds something ('#' starts a
    comment line); ValueError for bytes that are not UTF-8 text."""
    for i, raw in enumerate(f, 1):
        if i == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if b"\0" in raw:
            raise ValueError(f"{where} is not a text file (it contains NUL bytes)")
        try:
            s = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            raise ValueError(f"{where} is not UTF-8 text (invalid byte 0x{raw[e.start]:02x} on line {i}); "
                             "save it as UTF-8") from None
        if s and s[0] != "#":
            yield i, s


def _load_csv(path: Any, columns: Any, header: bool | None, delimiter: str | None) -> CsvData:
    """Read the numeric columns of a CSV file; bad lines are reported and skipped, never fatal.

    ``columns``: None (every numeric column), or a list (or comma-separated
    string) of header names and/or 0-based indices. ``header``: None detects
    one (a first line with no number in it). ``delimiter``: None detects
    ',', ';', tab or whitespace from the first line. A ValueError (never a
    crash) for: a missing or unreadable file (or one that is not a regular
    file, or larger than MAX_CSV_BYTES), not UTF-8, empty, header only, no
    numeric column, a column that does not exist, fewer than d + 1 usable
    rows, values so large their moments overflow, or columns that are
    constant or linearly dependent.
    """
    p = resolve_csv_path(path)
    where = f"csv file '{p}'"
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1
                                  or delimiter in '\r\n"\0'):
        raise ValueError(f"csv: parameter 'delimiter' must be one character (not a quote or a line end); "
                         f"got {quote(delimiter)}")
    try:
        f, _size = open_regular(p, MAX_CSV_BYTES)
    except MissingFile:
        raise ValueError(f"csv: file '{p}' not found (a shipped data set is named alone: "
                         f"{', '.join(DATASETS)})") from None
    except NotAFile as e:
        raise ValueError(f"csv: '{p}' is not a file ({e})") from None
    except ValueError as e:
        raise ValueError(f"cannot read {where}: {e}") from None
    with f:
        try:
            return _parse(f, p, where, columns, header, delimiter)
        except OSError as e:
            raise ValueError(f"cannot read {where}: {e.strerror or e}") from None


def _parse(f: BinaryIO, p: Path, where: str, columns: Any, header: bool | None,
           delimiter: str | None) -> CsvData:
    n_lines = _count_lines(f)
    lines = _lines(f, where)
    head = next(lines, None)
    if head is None:
        raise ValueError(f"{where} is empty")
    delim = delimiter if delimiter is not None else _delimiter_of(head[1])
    first = _split(head[1], delim)
    width = len(first)
    if width > MAX_FIELDS:
        raise ValueError(f"{where}: line {head[0]} has {width:,} fields; at most {MAX_FIELDS:,}")
    if header is None:
        header = not any(_is_number(x) for x in first)
    names: list[str] | None = [x.strip("\"'") for x in first] if header else None
    fast = delim is not None

    problems: list[CsvProblem] = []
    n_skipped = 0
    pending: list[CsvProblem] = []  # problems of the block being read (sorted when it is done)

    def skip(line_no: int, msg: str) -> None:
        nonlocal n_skipped
        n_skipped += 1
        if len(problems) + len(pending) < MAX_PROBLEMS:
            pending.append(CsvProblem(line_no, msg))

    def rows() -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of every data line with the first line's number of fields."""
        if not header:
            yield head[0], first
        for n, s in lines:
            x = s.split(delim) if fast and '"' not in s else _split(s, delim)
            if len(x) != width:
                skip(n, f"{len(x)} field(s), expected {width}")
                continue
            yield n, x

    stream = rows()
    probe: list[tuple[int, list[str]]] = []
    seen_data = not header
    for item in stream:
        probe.append(item)
        if len(probe) >= 1000:
            break
    seen_data = seen_data or bool(probe) or n_skipped > 0
    if not seen_data:
        raise ValueError(f"{where} has a header but no data rows")
    if not probe:
        raise ValueError(f"{where}: no line has the {width} field(s) of its first line")
    idx = _choose_columns(columns, names, width, probe, where)
    labels = [names[j] if names else str(j) for j in idx]

    d = len(idx)
    data = np.empty((max(n_lines, 1), d))
    m = 0
    block_rows = max(64, BLOCK_CELLS // d)

    def convert(block: list[tuple[int, list[str]]]) -> None:
        """Convert a block's chosen cells into ``data`` (good rows only); problems for the rest."""
        nonlocal m, pending
        k = len(block)
        vals = np.empty((k, d))
        good = np.ones(k, dtype=bool)
        for c, j in enumerate(idx):
            col = [x[j] for _, x in block]
            try:
                vals[:, c] = np.array(col, dtype=np.float64)
            except ValueError:
                for r, v in enumerate(col):
                    try:
                        vals[r, c] = float(v)
                    except ValueError:
                        vals[r, c] = np.nan
                        good[r] = False
        ok = good & np.isfinite(vals).all(axis=1)
        for r in np.flatnonzero(~ok):
            n, x = block[r]
            msgs = []
            for j in idx:
                v = x[j].strip()
                label = _column_label(names, j)
                if not v:
                    msgs.append(f"column {label} is empty")
                elif not _is_number(v):
                    msgs.append(f"column {label} is not a number: {v[:40]!r}")
                elif not math.isfinite(float(v)):
                    msgs.append(f"column {label} is not finite: {v[:40]!r}")
            skip(n, "; ".join(msgs))
        g = int(ok.sum())
        data[m:m + g] = vals[ok]
        m += g
        pending.sort(key=lambda q: q.line)
        problems.extend(pending[: MAX_PROBLEMS - len(problems)])
        pending = []

    block = probe
    for item in stream:
        block.append(item)
        if len(block) >= block_rows:
            convert(block)
            block = []
    convert(block)
    del block, probe

    try:
        data.resize((m, d), refcheck=True)
    except ValueError:  # pragma: no cover - a view still exists
        data = data[:m].copy()
    if m < d + 1:
        extra = f" (skipped {n_skipped} line(s); first: {problems[0]})" if problems else ""
        raise ValueError(f"{where}: only {m} usable row(s) for {d} column(s); "
                         f"need at least {d + 1}{extra}")
    mean, cov = moments(data)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        big = float(np.max(np.abs(data)))
        raise ValueError(f"{where}: the values are too large to use (up to {big:.3g}): their mean or "
                         "variance overflows; rescale the data")
    sd = np.sqrt(np.diag(cov))
    for c in range(d):
        if not sd[c] > 0:
            raise ValueError(f"{where}: column {labels[c]!r} is constant; a covariance needs spread in every column")
    corr = cov / np.outer(sd, sd)
    ev = np.linalg.eigvalsh(0.5 * (corr + corr.T))
    if not np.all(np.isfinite(ev)) or ev[0] < 1e-10 * ev[-1]:
        raise ValueError(f"{where}: columns {', '.join(labels)} are linearly dependent "
                         "(their covariance is singular); drop one")
    return CsvData(str(p), data, labels, bool(header), problems, n_skipped)


def _choose_columns(columns: Any, names: list[str] | None, width: int,
                    probe: list[tuple[int, list[str]]], where: str) -> list[int]:
    """0-based indices of the columns to use: every numeric one, or the ones named."""
    if columns is None or (isinstance(columns, str) and not columns.strip()):
        idx = [j for j in range(width) if 2 * sum(_is_number(x[j]) for _, x in probe) >= len(probe)]
        if not idx:
            raise ValueError(f"{where} has no numeric column")
        if len(idx) > MAX_COLUMNS:
            raise ValueError(f"{where} has {len(idx)} numeric columns; choose at most {MAX_COLUMNS} with columns")
        return idx
    items = columns.split(",") if isinstance(columns, str) else columns
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"csv: parameter 'columns' must be a list of names or 0-based indices; got {quote(columns)}")
    if not items:
        raise ValueError("csv: parameter 'columns' is empty")
    if len(items) > MAX_COLUMNS:
        raise ValueError(f"csv: at most {MAX_COLUMNS} columns; got {len(items)}")
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
        elif not isinstance(key, str):
            raise ValueError(f"csv: parameter 'columns' must list names or 0-based indices; got {quote(key)}")
        else:
            have = f"its columns are {_names_list(names)}" if names else "it has no header: use 0-based indices"
            raise ValueError(f"csv: column {quote(key)} not found in {where}; {have}")
    if len(set(idx)) != len(idx):
        raise ValueError(f"csv: parameter 'columns' names a column twice: {quote(list(items))}")
    return idx


_CACHE: dict[tuple, CsvData] = {}


def _cache_key(columns: Any) -> Any:
    if columns is None:
        return None
    if isinstance(columns, str):
        return tuple(columns.split(","))
    if isinstance(columns, (list, tuple)) and all(isinstance(c, (str, int)) and not isinstance(c, bool)
                                                  for c in columns):
        return tuple(columns)
    return None  # not cacheable (load_csv names the problem)


def load_csv_cached(path: Any, columns: Any = None, header: bool | None = None,
                    delimiter: str | None = None) -> CsvData:
    """``load_csv`` remembered by file path, size and mtime (the window rebuilds often)."""
    p = resolve_csv_path(path)
    cols = _cache_key(columns)
    try:
        st = p.stat()
        hashable = cols is not None or columns is None
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, cols, header, delimiter)
        hash(key)
    except (OSError, TypeError):
        hashable = False
    if not hashable:
        return load_csv(p, columns, header, delimiter)  # names the problem
    hit = _CACHE.get(key)
    if hit is None:
        hit = load_csv(p, columns, header, delimiter)
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = hit
    return hit


__all__ = [
    "DATASETS",
    "MAX_CSV_BYTES",
    "CsvData",
    "CsvProblem",
    "dataset_name",
    "dataset_path",
    "load_csv",
    "load_csv_cached",
    "moments",
    "resolve_csv_path",
    "resource_path",
]
