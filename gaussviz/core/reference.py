"""The exact running maximum-likelihood estimate: what every online estimator is compared with."""

from __future__ import annotations

import numpy as np


class RunningMLE:
    """Welford/Chan running mean and covariance, merged a chunk at a time.

    Each chunk's mean and scatter are computed with numpy in one pass and
    merged with Chan's parallel formula, which is exact (no per-sample Python
    loop) and numerically stable (scatter around the chunk's own mean).
    """

    def __init__(self, d: int) -> None:
        self.d = int(d)
        self.n = 0
        self._mean = np.zeros(self.d)
        self._m2 = np.zeros((self.d, self.d))

    @property
    def mean(self) -> np.ndarray:
        return self._mean.copy()

    @property
    def cov(self) -> np.ndarray:
        """The MLE (divide by n); zeros before the first sample."""
        return self._m2 / self.n if self.n else self._m2.copy()

    def update(self, Y: np.ndarray) -> None:
        n_b = Y.shape[0]
        if n_b == 0:
            return
        mean_b = Y.mean(axis=0)
        Yc = Y - mean_b
        m2_b = Yc.T @ Yc
        n_a = self.n
        n = n_a + n_b
        delta = mean_b - self._mean
        self._mean = self._mean + delta * (n_b / n)
        self._m2 = self._m2 + m2_b + np.outer(delta, delta) * (n_a * n_b / n)
        self.n = n

    def update_segments(self, Y: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed Y and return the (mean, cov) after each prefix ``Y[:ends[j]]``.

        ``ends`` is increasing and its last entry is ``len(Y)``; the loop runs
        over segments (a few hundred at most), never over samples.
        """
        means = np.empty((len(ends), self.d))
        covs = np.empty((len(ends), self.d, self.d))
        start = 0
        for j, e in enumerate(ends):
            self.update(Y[start:e])
            start = e
            means[j] = self._mean
            covs[j] = self.cov
        if start < Y.shape[0]:
            self.update(Y[start:])
        return means, covs
