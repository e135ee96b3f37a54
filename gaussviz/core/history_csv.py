"""The run's history as CSV: what a user can publish, plot elsewhere and read back.

History CSV layout (one file for one chain or for K compared chains): one row
per recorded step per chain, chains one block after another (``chain`` 0 first),
columns

    chain, label, step, alpha_t, mean_0..mean_{d-1}, cov_0_0..cov_{d-1}_{d-1} (row-major),
    eig_0..eig_{d-1} (ascending), asymmetry, kl, [avg_kl,] ref_kl, status

``kl`` is KL(true || estimate), ``ref_kl`` the same for the exact running MLE
of the same samples. ``avg_kl`` (only in a file where some chain keeps a
Polyak-Ruppert average; empty for the chains that do not) is KL(true || the
chain's average), the dotted curve of the KL plot. ``status`` is ``ok`` while a chain runs and
``diverged: <reason> at update <N>`` on the rows after it stopped, whose
numeric cells are empty: a CSV never holds ``nan`` or ``inf``. Numbers are
written with ``repr`` so they read back bit for bit. A text cell (a label, a
status: text that may come from a user or a file) starting with ``= + - @``
(or a tab or carriage return) gets a leading apostrophe, so a spreadsheet
shows it as text instead of running it as a formula (``text_cell``); numbers
are never changed.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .estimator import Divergence
from .fileio import atomic_write_text, read_text
from .history import HistoryView
from .snapshot import Snapshot

STATUS_OK = "ok"
#: columns every history CSV must have besides the mean_/cov_/eig_ blocks
REQUIRED = ("chain", "step", "alpha_t", "kl", "ref_kl", "status")


# ------------------------------------------------------------------ history CSV
def history_header(d: int, averaged: bool = False) -> list[str]:
    """Column names of a history CSV for dimension d (``averaged``: with the avg_kl column)."""
    return (["chain", "label", "step", "alpha_t"]
            + [f"mean_{i}" for i in range(d)]
            + [f"cov_{i}_{j}" for i in range(d) for j in range(d)]
            + [f"eig_{i}" for i in range(d)]
            + ["asymmetry", "kl", *(["avg_kl"] if averaged else []), "ref_kl", "status"])


def _averaged(h: HistoryView) -> bool:
    """Whether some chain of ``h`` keeps an average (its KL recorded somewhere)."""
    avg = getattr(h, "avg_kl", None)
    return avg is not None and bool(np.isfinite(avg).any())


#: first characters that make a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(text: object) -> str:
    """A CSV cell for text from a user or a file: a leading apostrophe when it would start a
    formula in a spreadsheet (and when it already starts with an apostrophe before one, so
    ``read_text_cell`` gives the text back exactly); line breaks as ``\\n`` (quoted by the writer)."""
    t = str(text).replace("\r\n", "\n").replace("\r", "\n")  # a bare CR would not be quoted: a broken row
    if t.startswith(FORMULA_START) or (t.startswith("'") and t[1:].startswith((*FORMULA_START, "'"))):
        return "'" + t
    return t


def read_text_cell(cell: str) -> str:
    """The text ``text_cell`` wrote."""
    if cell.startswith("'") and cell[1:].startswith((*FORMULA_START, "'")):
        return cell[1:]
    return cell


def _num(x: float) -> str:
    x = float(x)
    return repr(x) if math.isfinite(x) else ""


def diverged_status(div: Divergence | None) -> str:
    if div is None:
        return "diverged"
    return f"diverged: {div.reason} at update {div.step}"


def history_rows(
    source: Snapshot | HistoryView,
    labels: Sequence[str] | None = None,
    divergences: Sequence[Divergence | None] | None = None,
) -> list[list[str]]:
    """Rows (as strings) of the history CSV, header excluded.

    A ``Snapshot`` brings its chains' labels and divergences; for a bare
    ``HistoryView`` pass them, or rows after a divergence just say ``diverged``.
    """
    if isinstance(source, Snapshot):
        h = source.history
        labels = labels or [c.label for c in source.chains]
        divergences = divergences or [c.divergence for c in source.chains]
    else:
        h = source
    K, N, d = h.mean.shape
    labels = list(labels) if labels is not None else [f"chain {k}" for k in range(K)]
    divergences = list(divergences) if divergences is not None else [None] * K
    if len(labels) != K or len(divergences) != K:
        raise ValueError(f"history has {K} chains but {len(labels)} labels and {len(divergences)} divergences")
    averaged = _averaged(h)
    rows = []
    for k in range(K):
        dead_status = diverged_status(divergences[k])
        for n in range(N):
            # NaN in the mean marks "no data": the chain had stopped at that step.
            alive = bool(np.all(np.isfinite(h.mean[k, n])))
            row = [str(k), text_cell(labels[k]), str(int(h.steps[n]))]
            if alive:
                row.append(_num(h.alpha[k, n]))
                row += [_num(v) for v in h.mean[k, n]]
                row += [_num(v) for v in h.cov[k, n].ravel()]
                row += [_num(v) for v in h.eig[k, n]]
                row += [_num(h.asym[k, n]), _num(h.kl[k, n])]
                if averaged:
                    row.append(_num(h.avg_kl[k, n]))
            else:
                row += [""] * (1 + d + d * d + d + 2 + averaged)
            row += [_num(h.ref_kl[n]), STATUS_OK if alive else text_cell(dead_status)]
            rows.append(row)
    return rows


def history_csv(source: Snapshot | HistoryView, labels: Sequence[str] | None = None,
                divergences: Sequence[Divergence | None] | None = None) -> str:
    """The whole history CSV as text (layout in the module docstring)."""
    h = source.history if isinstance(source, Snapshot) else source
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(history_header(h.mean.shape[2], _averaged(h)))
    w.writerows(history_rows(source, labels, divergences))
    return buf.getvalue()


def write_history_csv(path: str | os.PathLike, source: Snapshot | HistoryView, force: bool = False,
                      labels: Sequence[str] | None = None,
                      divergences: Sequence[Divergence | None] | None = None) -> Path:
    """Write the history CSV atomically; refuses to overwrite without ``force``."""
    return atomic_write_text(path, history_csv(source, labels, divergences), force=force)


@dataclass(frozen=True)
class HistoryTable:
    """A history CSV read back: one entry per row; empty cells are NaN."""

    columns: tuple[str, ...]
    chain: np.ndarray  # (N,) int
    label: tuple[str, ...]
    step: np.ndarray  # (N,) int
    alpha_t: np.ndarray  # (N,)
    mean: np.ndarray  # (N, d)
    cov: np.ndarray  # (N, d, d)
    eig: np.ndarray  # (N, d)
    asymmetry: np.ndarray  # (N,)
    kl: np.ndarray  # (N,)
    ref_kl: np.ndarray  # (N,)
    status: tuple[str, ...]
    avg_kl: np.ndarray | None = None  # (N,): KL of a chain's average; None: no avg_kl column

    @property
    def d(self) -> int:
        return int(self.mean.shape[1])

    @property
    def n_rows(self) -> int:
        return int(self.step.shape[0])

    def chains(self) -> list[int]:
        return sorted({int(c) for c in self.chain})

    def rows_of(self, k: int) -> np.ndarray:
        """Row indices of chain k, in file order."""
        return np.flatnonzero(self.chain == k)


def _dim_from_header(cols: list[str], where: str) -> int:
    d = 0
    while f"mean_{d}" in cols:
        d += 1
    if d == 0:
        raise ValueError(f"{where}: no mean_0 column; is this a gaussviz history CSV? (columns: {', '.join(cols)})")
    missing = [c for c in REQUIRED if c not in cols]
    missing += [f"eig_{i}" for i in range(d) if f"eig_{i}" not in cols]
    missing += [f"cov_{i}_{j}" for i in range(d) for j in range(d) if f"cov_{i}_{j}" not in cols]
    if missing:
        raise ValueError(f"{where}: missing column(s) {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
    dup = sorted({c for c in cols if cols.count(c) > 1})
    if dup:
        raise ValueError(f"{where}: duplicate column(s) {', '.join(dup)}")
    return d


def parse_history_csv(text: str, where: str = "history CSV") -> HistoryTable:
    """Parse history CSV text; ValueError saying which line and column is wrong."""
    if not text.strip():
        raise ValueError(f"{where} is empty")
    reader = csv.reader(io.StringIO(text))
    try:
        cols = [c.strip() for c in next(reader)]
    except csv.Error as e:
        raise ValueError(f"{where}, line 1: {e}") from None
    d = _dim_from_header(cols, where)
    idx = {c: i for i, c in enumerate(cols)}
    num_cols = (["alpha_t"] + [f"mean_{i}" for i in range(d)]
                + [f"cov_{i}_{j}" for i in range(d) for j in range(d)]
                + [f"eig_{i}" for i in range(d)] + ["asymmetry", "kl", "ref_kl", "avg_kl"])
    num_idx = [idx.get(c, -1) for c in num_cols]
    ncol = len(cols)
    chains: list[int] = []
    steps: list[int] = []
    labels: list[str] = []
    status: list[str] = []
    values: list[list[float]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != ncol:
                raise ValueError(f"{where}, line {line}: {len(row)} cells, expected {ncol} (one per column)")
            chains.append(_int_cell(row[idx["chain"]], "chain", line, where))
            steps.append(_int_cell(row[idx["step"]], "step", line, where))
            labels.append(read_text_cell(row[idx["label"]]) if "label" in idx else f"chain {chains[-1]}")
            status.append(read_text_cell(row[idx["status"]].strip()))
            values.append([_float_cell(row[i], c, line, where) if i >= 0 else math.nan
                           for i, c in zip(num_idx, num_cols)])
    except csv.Error as e:
        raise ValueError(f"{where}, line {reader.line_num}: {e}") from None
    if not steps:
        raise ValueError(f"{where} has a header but no data rows")
    v = np.array(values, dtype=float)
    N = v.shape[0]
    o = 1
    mean = v[:, o:o + d]
    o += d
    cov = v[:, o:o + d * d].reshape(N, d, d)
    o += d * d
    eig = v[:, o:o + d]
    o += d
    return HistoryTable(
        columns=tuple(cols), chain=np.array(chains, dtype=np.int64), label=tuple(labels),
        step=np.array(steps, dtype=np.int64), alpha_t=v[:, 0].copy(), mean=mean.copy(), cov=cov.copy(),
        eig=eig.copy(), asymmetry=v[:, o].copy(), kl=v[:, o + 1].copy(), ref_kl=v[:, o + 2].copy(),
        status=tuple(status), avg_kl=v[:, o + 3].copy() if "avg_kl" in idx else None,
    )


def read_history_csv(path: str | os.PathLike) -> HistoryTable:
    """Read a history CSV written by ``write_history_csv``."""
    return parse_history_csv(read_text(path, "history CSV"), where=str(path))


def _int_cell(cell: str, col: str, line: int, where: str) -> int:
    try:
        return int(cell.strip())
    except ValueError:
        raise ValueError(f"{where}, line {line}, column {col}: {cell!r} is not a whole number") from None


def _float_cell(cell: str, col: str, line: int, where: str) -> float:
    cell = cell.strip()
    if not cell:
        return math.nan
    try:
        x = float(cell)
    except ValueError:
        raise ValueError(f"{where}, line {line}, column {col}: {cell[:40]!r} is not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{where}, line {line}, column {col}: {cell!r} is not finite "
                         "(an empty cell means no data)")
    return x


__all__ = [
    "HistoryTable",
    "history_csv",
    "history_header",
    "history_rows",
    "parse_history_csv",
    "read_history_csv",
    "read_text_cell",
    "text_cell",
    "write_history_csv",
]
