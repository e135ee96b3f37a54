"""Bounded history of a run: millions of steps in a fixed number of points.

When the buffer fills, old points are thinned so that what remains is dense
both on a linear step axis (trajectories) and on a log axis (KL on log-log
plots), and the recent end is always kept at full resolution. Memory and
redraw time stay flat however long the run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def frozen_copy(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class HistoryView:
    """An immutable copy of the history, safe to hand to another thread.

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

    @property
    def n(self) -> int:
        return int(self.steps.shape[0])


def default_capacity(d: int) -> int:
    """Points kept: 4096 at small d, fewer when a covariance is large (bounded memory)."""
    return int(min(4096, max(256, 2_000_000 // (d * d + 8 * d))))


class History:
    """Append-only, self-thinning record of a run."""

    def __init__(self, n_chains: int, d: int, capacity: int | None = None) -> None:
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
        self._ref_mean = np.zeros((C, d))
        self._ref_cov = np.zeros((C, d, d))
        self._ref_kl = np.zeros(C)
        self.n = 0
        #: record every this many updates; grows as the run gets long.
        self.stride = 1

    def _arrays(self):
        return (self._alpha, self._mean, self._cov, self._eig, self._kl, self._asym)

    def append(self, steps, alpha, mean, cov, eig, kl, asym, ref_mean, ref_cov, ref_kl) -> None:
        """Add R points (per-chain arrays have shape (K, R, ...))."""
        steps = np.asarray(steps, dtype=np.int64)
        R = steps.shape[0]
        start = 0
        while start < R:
            if self.n == self.capacity:
                self._thin()
            take = min(R - start, self.capacity - self.n)
            sl = slice(self.n, self.n + take)
            src = slice(start, start + take)
            self._steps[sl] = steps[src]
            for dst, val in zip(self._arrays(), (alpha, mean, cov, eig, kl, asym)):
                dst[:, sl] = val[:, src]
            self._ref_mean[sl] = ref_mean[src]
            self._ref_cov[sl] = ref_cov[src]
            self._ref_kl[sl] = ref_kl[src]
            self.n += take
            start += take

    def _thin(self) -> None:
        """Keep about half the points: the first in each linear and each log bin, plus the recent tail."""
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
        self._steps[:m] = self._steps[idx]
        for a in self._arrays():
            a[:, :m] = a[:, idx]
        self._ref_mean[:m] = self._ref_mean[idx]
        self._ref_cov[:m] = self._ref_cov[idx]
        self._ref_kl[:m] = self._ref_kl[idx]
        self.n = m
        # Record more sparsely from now on so the buffer fills at a steady pace.
        self.stride = max(self.stride, int(last) // max(1, self.capacity // 2))

    def view(self) -> HistoryView:
        n = self.n
        return HistoryView(
            steps=frozen_copy(self._steps[:n]),
            alpha=frozen_copy(self._alpha[:, :n]),
            mean=frozen_copy(self._mean[:, :n]),
            cov=frozen_copy(self._cov[:, :n]),
            eig=frozen_copy(self._eig[:, :n]),
            kl=frozen_copy(self._kl[:, :n]),
            asym=frozen_copy(self._asym[:, :n]),
            ref_mean=frozen_copy(self._ref_mean[:n]),
            ref_cov=frozen_copy(self._ref_cov[:n]),
            ref_kl=frozen_copy(self._ref_kl[:n]),
        )
