"""Bounded history of a run: millions of steps in a fixed number of points.

When the buffer fills, old points are thinned so that what remains is dense
both on a linear step axis (trajectories) and on a log axis (KL on log-log
plots), and the recent end is always kept at full resolution. Memory and
redraw time stay flat however long the run.

Besides it, a small ring (the *tail*) keeps the newest points as finely as
they were recorded (every update when the run is paced for people), so a
rolling window of the last N updates (``HistoryView.last``) shows each step
even after the long-term buffer records only every thousandth.

A moving truth (the drifting target) is recorded with each point
(``true_mean``, ``true_eig``), so plots can draw the path the truth took.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


def frozen_copy(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def frozen_view(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a`` (no copy): for history buffers whose viewed part is never
    written again (appends go past it, thinning writes new buffers)."""
    v = a.view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class HistoryView:
    """An immutable view of the history, safe to hand to another thread.

    Read-only views of the history's buffers, not copies: the part a view shows is never
    written again (new points go after it; thinning and compaction write new buffers), so a
    snapshot costs no copying however long the history (it cost ~2 ms for five chains).

    Per-chain arrays have the chain as first axis; entries after a chain
    diverged are NaN (no data), which plots and exports drop.
    """

    steps: np.ndarray  # (N,) loop step of each point
    alpha: np.ndarray  # (K, N)
    mean: np.ndarray  # (K, N, d)
    cov: np.ndarray  # (K, N, d, d)
    eig: np.ndarray  # (K, N, d)
    kl: np.ndarray  # (K, N)
    asym: np.ndarray  # (K, N)
    ref_mean: np.ndarray  # (N, d)
    ref_cov: np.ndarray  # (N, d, d)
    ref_kl: np.ndarray  # (N,)
    #: a moving truth at each point (N, d), None when the truth holds still
    true_mean: np.ndarray | None = None
    true_eig: np.ndarray | None = None
    #: the newest points at the resolution they were recorded (see ``last``); None: none kept
    tail: HistoryView | None = None
    #: (K, N) KL of each chain's Polyak-Ruppert average (NaN where the chain does not average)
    avg_kl: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.steps.shape[0])

    def take(self, idx: np.ndarray) -> HistoryView:
        """The points ``idx`` (indices or a mask along the step axis), without a tail."""
        out = {}
        for f in fields(self):
            a = getattr(self, f.name)
            if f.name == "tail" or a is None:
                out[f.name] = None
            elif f.name in PER_CHAIN:
                out[f.name] = a[:, idx]
            else:
                out[f.name] = a[idx]
        return HistoryView(**out)

    def last(self, n_updates: int, step: int | None = None) -> HistoryView:
        """The points of the last ``n_updates`` updates before ``step`` (default: the last point),
        as finely as recorded: the tail's points where it reaches, the long-term buffer's before."""
        if self.n == 0:
            return self
        end = int(self.steps[-1]) if step is None else int(step)
        start = end - int(n_updates)
        main = self.take(self.steps >= start)
        t = self.tail
        if t is None or t.n == 0:
            return main
        first = int(t.steps[0])
        early = main.take(main.steps < first)
        late = t.take(t.steps >= start)
        if early.n == 0:
            return late
        return _concat(early, late)


#: the HistoryView fields with the chain as first axis
PER_CHAIN = ("alpha", "mean", "cov", "eig", "kl", "asym", "avg_kl")


def _concat(a: HistoryView, b: HistoryView) -> HistoryView:
    out = {}
    for f in fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "tail" or x is None or y is None:
            out[f.name] = None
        elif f.name in PER_CHAIN:
            out[f.name] = np.concatenate([x, y], axis=1)
        else:
            out[f.name] = np.concatenate([x, y], axis=0)
    return HistoryView(**out)


def default_capacity(d: int) -> int:
    """Points kept: 4096 at small d, fewer when a covariance is large (bounded memory)."""
    return int(min(4096, max(256, 2_000_000 // (d * d + 8 * d))))


def default_tail_capacity(d: int) -> int:
    """Fine points kept for rolling windows: 2048 at small d, fewer at large d."""
    return int(min(2048, max(64, 300_000 // (d * d + 8 * d))))


class History:
    """Append-only, self-thinning record of a run, with a fine tail of the newest points."""

    def __init__(self, n_chains: int, d: int, capacity: int | None = None,
                 tail_capacity: int | None = None) -> None:
        self.K = int(n_chains)
        self.d = int(d)
        self.capacity = int(capacity or default_capacity(d))
        C = self.capacity
        self._steps = np.zeros(C, dtype=np.int64)
        self._alpha = np.zeros((self.K, C))
        self._mean = np.zeros((self.K, C, d))
        self._cov = np.zeros((self.K, C, d, d))
        self._eig = np.zeros((self.K, C, d))
        self._kl = np.zeros((self.K, C))
        self._asym = np.zeros((self.K, C))
        self._avg_kl = np.full((self.K, C), np.nan)
        self._ref_mean = np.zeros((C, d))
        self._ref_cov = np.zeros((C, d, d))
        self._ref_kl = np.zeros(C)
        self._true_mean: np.ndarray | None = None  # allocated on the first moving-truth point
        self._true_eig: np.ndarray | None = None
        self.n = 0
        #: record every this many updates; grows as the run gets long.
        self.stride = 1
        self.tail_capacity = int(tail_capacity if tail_capacity is not None else default_tail_capacity(d))
        self._tail = _Ring(self.K, self.d, self.tail_capacity) if self.tail_capacity > 0 else None

    def _arrays(self):
        return (self._alpha, self._mean, self._cov, self._eig, self._kl, self._asym, self._avg_kl)

    def append(self, steps, alpha, mean, cov, eig, kl, asym, ref_mean, ref_cov, ref_kl,
               true_mean=None, true_eig=None, keep=None, avg_kl=None) -> None:
        """Add R points (per-chain arrays have shape (K, R, ...)).

        All of them go to the fine tail; ``keep`` (bool, R) picks those the long-term buffer
        records (default: all). ``true_mean``/``true_eig`` (R, d): a moving truth at each point.
        ``avg_kl`` (K, R): KL of the chains' averages (None: NaN, no chain averages).
        """
        steps = np.asarray(steps, dtype=np.int64)
        if avg_kl is None:
            avg_kl = np.full((self.K, steps.shape[0]), np.nan)
        if self._tail is not None:
            self._tail.append(steps, alpha, mean, cov, eig, kl, asym, ref_mean, ref_cov, ref_kl,
                              true_mean, true_eig, avg_kl)
        if keep is not None:
            keep = np.asarray(keep, dtype=bool)
            if not keep.all():
                idx = np.flatnonzero(keep)
                steps = steps[idx]
                alpha, mean, cov, eig, kl, asym, avg_kl = (
                    a[:, idx] for a in (alpha, mean, cov, eig, kl, asym, avg_kl))
                ref_mean, ref_cov, ref_kl = ref_mean[idx], ref_cov[idx], ref_kl[idx]
                true_mean = None if true_mean is None else np.asarray(true_mean)[idx]
                true_eig = None if true_eig is None else np.asarray(true_eig)[idx]
        if true_mean is not None and self._true_mean is None:
            self._true_mean = np.full((self.capacity, self.d), np.nan)
            self._true_eig = np.full((self.capacity, self.d), np.nan)
        R = steps.shape[0]
        start = 0
        while start < R:
            if self.n == self.capacity:
                self._thin()
            take = min(R - start, self.capacity - self.n)
            sl = slice(self.n, self.n + take)
            src = slice(start, start + take)
            self._steps[sl] = steps[src]
            for dst, val in zip(self._arrays(), (alpha, mean, cov, eig, kl, asym, avg_kl)):
                dst[:, sl] = val[:, src]
            self._ref_mean[sl] = ref_mean[src]
            self._ref_cov[sl] = ref_cov[src]
            self._ref_kl[sl] = ref_kl[src]
            if self._true_mean is not None:
                self._true_mean[sl] = np.nan if true_mean is None else np.asarray(true_mean)[src]
                self._true_eig[sl] = np.nan if true_eig is None else np.asarray(true_eig)[src]
            self.n += take
            start += take

    def _thin(self) -> None:
        """Keep about half the points: the first in each linear and each log bin, plus the recent tail.

        Into new buffers: snapshots taken so far keep viewing the old ones.
        """
        n = self.n
        steps = self._steps[:n].astype(float)
        last = max(steps[-1], 1.0)
        nbins = self.capacity // 4
        lin = np.floor(steps / last * nbins).astype(np.int64)
        log = np.floor(np.log1p(steps) / np.log1p(last) * nbins).astype(np.int64)
        keep = np.zeros(n, dtype=bool)
        keep[0] = True
        keep[1:] |= lin[1:] != lin[:-1]
        keep[1:] |= log[1:] != log[:-1]
        keep[-self.capacity // 8:] = True
        idx = np.flatnonzero(keep)
        if idx.size > self.capacity * 3 // 4:  # thin harder: keep every other of the old ones
            old = idx[: -self.capacity // 8]
            idx = np.concatenate([old[::2], idx[-self.capacity // 8:]])
        m = idx.size

        def moved(a: np.ndarray, per_chain: bool) -> np.ndarray:
            b = np.zeros_like(a)
            if per_chain:
                b[:, :m] = a[:, idx]
            else:
                b[:m] = a[idx]
            return b

        self._steps = moved(self._steps, False)
        self._alpha, self._mean, self._cov, self._eig, self._kl, self._asym, self._avg_kl = (
            moved(a, True) for a in self._arrays())
        self._ref_mean, self._ref_cov, self._ref_kl = (moved(a, False) for a in (self._ref_mean, self._ref_cov,
                                                                                  self._ref_kl))
        if self._true_mean is not None:
            self._true_mean = moved(self._true_mean, False)
            self._true_eig = moved(self._true_eig, False)
        self.n = m
        # Record more sparsely from now on so the buffer fills at a steady pace.
        self.stride = max(self.stride, int(last) // max(1, self.capacity // 2))

    def view(self) -> HistoryView:
        n = self.n
        tail = self._tail.view() if self._tail is not None else None
        return HistoryView(
            steps=frozen_view(self._steps[:n]),
            alpha=frozen_view(self._alpha[:, :n]),
            mean=frozen_view(self._mean[:, :n]),
            cov=frozen_view(self._cov[:, :n]),
            eig=frozen_view(self._eig[:, :n]),
            kl=frozen_view(self._kl[:, :n]),
            asym=frozen_view(self._asym[:, :n]),
            ref_mean=frozen_view(self._ref_mean[:n]),
            ref_cov=frozen_view(self._ref_cov[:n]),
            ref_kl=frozen_view(self._ref_kl[:n]),
            true_mean=None if self._true_mean is None else frozen_view(self._true_mean[:n]),
            true_eig=None if self._true_eig is None else frozen_view(self._true_eig[:n]),
            tail=tail,
            avg_kl=frozen_view(self._avg_kl[:, :n]),
        )


class _Ring:
    """The newest ``capacity`` points, oldest first (the history's fine tail).

    Stored in a buffer twice as long, appended at its end; when that is full the newest
    ``capacity`` points move to the front (one copy per ``capacity`` points). The view is then
    one contiguous slice: a plain copy, where a wrapped ring needed a gather (~2 ms a snapshot
    for five chains).
    """

    def __init__(self, K: int, d: int, capacity: int) -> None:
        C = self.capacity = int(capacity)
        B = 2 * C
        self.d = d
        self.steps = np.zeros(B, dtype=np.int64)
        self.per_chain = [np.zeros((K, B)), np.zeros((K, B, d)), np.zeros((K, B, d, d)), np.zeros((K, B, d)),
                          np.zeros((K, B)), np.zeros((K, B)), np.full((K, B), np.nan)]
        self.shared = [np.zeros((B, d)), np.zeros((B, d, d)), np.zeros(B)]
        self.truth: list[np.ndarray] | None = None
        self.end = 0  # one past the newest point
        self.n = 0

    def _compact(self) -> None:
        """Move the newest points to the front of new buffers (snapshots keep the old ones)."""
        C, e = self.capacity, self.end
        keep = min(self.n, C)
        src = slice(e - keep, e)

        def moved(a: np.ndarray, per_chain: bool) -> np.ndarray:
            b = np.zeros_like(a)
            if per_chain:
                b[:, :keep] = a[:, src]
            else:
                b[:keep] = a[src]
            return b

        self.steps = moved(self.steps, False)
        self.per_chain = [moved(a, True) for a in self.per_chain]
        self.shared = [moved(a, False) for a in self.shared]
        if self.truth is not None:
            self.truth = [moved(a, False) for a in self.truth]
        self.end = keep
        self.n = keep

    def append(self, steps, alpha, mean, cov, eig, kl, asym, ref_mean, ref_cov, ref_kl, true_mean, true_eig,
               avg_kl):
        R = steps.shape[0]
        C = self.capacity
        first = max(0, R - C)  # more points than the tail holds: the newest C
        m = R - first
        if self.end + m > 2 * C:
            self._compact()
        sl = slice(self.end, self.end + m)
        self.steps[sl] = steps[first:]
        for dst, val in zip(self.per_chain, (alpha, mean, cov, eig, kl, asym, avg_kl)):
            dst[:, sl] = val[:, first:]
        for dst, val in zip(self.shared, (ref_mean, ref_cov, ref_kl)):
            dst[sl] = val[first:]
        if true_mean is not None and self.truth is None:
            self.truth = [np.full((2 * C, self.d), np.nan), np.full((2 * C, self.d), np.nan)]
        if self.truth is not None:
            for dst, val in zip(self.truth, (true_mean, true_eig)):
                dst[sl] = np.nan if val is None else np.asarray(val)[first:]
        self.end += m
        self.n = min(C, self.n + m)

    def view(self) -> HistoryView:
        sl = slice(self.end - self.n, self.end)
        pc = [frozen_view(a[:, sl]) for a in self.per_chain]
        sh = [frozen_view(a[sl]) for a in self.shared]
        tr = [None, None] if self.truth is None else [frozen_view(a[sl]) for a in self.truth]
        return HistoryView(frozen_view(self.steps[sl]), *pc[:6], *sh, true_mean=tr[0], true_eig=tr[1],
                           avg_kl=pc[6])


__all__ = ["History", "HistoryView", "default_capacity", "default_tail_capacity", "frozen_copy", "frozen_view"]
