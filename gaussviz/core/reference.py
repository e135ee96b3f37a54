"""The exact running maximum-likelihood estimate: what every online estimator is compared with."""

from __future__ import annotations

import numpy as np

from . import jit
from . import kernels as kn

_NO_ENDS = np.zeros(0, dtype=np.int64)


class RunningMLE:
    """Welford/Chan running mean and covariance, merged a chunk at a time.

    Each segment's mean and scatter are computed in one compiled pass and
    merged with Chan's parallel formula, which is exact (no per-sample Python
    loop) and numerically stable (scatter around the segment's own mean).
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
        self._feed(Y, _NO_ENDS, np.empty((0, self.d)), np.empty((0, self.d, self.d)))

    def update_segments(self, Y: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed Y and return the (mean, cov) after each prefix ``Y[:ends[j]]``.

        ``ends`` is increasing and its last entry is at most ``len(Y)``; one compiled pass
        (``kernels.running_moments``, without the GIL), never a Python loop over samples.
        """
        ends = np.ascontiguousarray(ends, dtype=np.int64)
        means = np.empty((len(ends), self.d))
        covs = np.empty((len(ends), self.d, self.d))
        self._feed(Y, ends, means, covs)
        return means, covs

    def _feed(self, Y: np.ndarray, ends: np.ndarray, means: np.ndarray, covs: np.ndarray) -> None:
        Y = np.ascontiguousarray(Y, dtype=float).reshape(-1, self.d)
        if Y.shape[0] == 0 and ends.size == 0:
            return
        self.n = int(jit.use(kn).running_moments(Y, ends, self.n, self._mean, self._m2, means, covs))
