"""Sample sources: where the estimators' data come from.

A source is seeded and draws its samples as one sequential stream, so the
same seed gives the same samples whatever chunk sizes the caller asks for
(the GUI, the CLI and the tests see the same numbers), bit for bit: the
random numbers come from a sequential stream, and each row is turned into a
sample by ``times_transpose``, whose operations on one row do not depend on how many
rows are computed at once (``z @ L.T`` does: BLAS takes another path for one
row than for many, and rounds differently at d >= 2).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from . import jit
from . import kernels as kn
from .validation import as_mean, as_spd, check_truth


def times_transpose(z: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``z @ m.T`` row by row in a fixed order, so a sample never depends on how many are drawn at once.

    (numpy's ``@`` goes to BLAS, whose blocked product rounds a row differently
    depending on the number of rows; then a stream read in other chunk sizes,
    or a sweep split into other tasks, differed in the last bit.)
    """
    z = np.ascontiguousarray(z, dtype=float)
    m = np.ascontiguousarray(m, dtype=float)
    out = np.empty((z.shape[0], m.shape[0]))
    jit.use(kn).times_transpose(z, m, out)
    return out


@runtime_checkable
class SampleSource(Protocol):
    """What the run loop needs from a data source."""

    @property
    def dim(self) -> int: ...

    @property
    def mean(self) -> np.ndarray:
        """The truth the estimate is compared with (the target's own mean)."""
        ...

    @property
    def cov(self) -> np.ndarray:
        """The target's own covariance."""
        ...

    def sample(self, n: int) -> np.ndarray:
        """The next n samples of the stream, shape (n, dim)."""
        ...

    def heldout(self, n: int) -> np.ndarray:
        """A fixed batch independent of the stream, for held-out log-likelihood."""
        ...


class FixedTruthSource:
    """Base of the sources whose truth does not move: ``dim``, ``mean`` and ``cov``
    come from ``_mean`` and ``_cov`` (copies, so a caller cannot change the truth)."""

    _mean: np.ndarray
    _cov: np.ndarray

    @property
    def dim(self) -> int:
        return self._mean.shape[0]

    @property
    def mean(self) -> np.ndarray:
        return self._mean.copy()

    @property
    def cov(self) -> np.ndarray:
        return self._cov.copy()


class GaussianSource(FixedTruthSource):
    """Samples of N(mean, cov) from a seeded PCG64 stream."""

    def __init__(self, mean, cov, seed: int = 0) -> None:
        self._mean = as_mean(mean, "mean")
        self._cov = as_spd(cov, "cov", self._mean.shape[0])
        check_truth(self._mean, self._cov, "gaussian target")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
        self.seed = int(seed)
        self._chol = np.linalg.cholesky(self._cov)
        self._rng = np.random.Generator(np.random.PCG64(self.seed))
        self.drawn = 0

    def sample(self, n: int) -> np.ndarray:
        z = self._rng.standard_normal((int(n), self.dim))
        self.drawn += int(n)
        return times_transpose(z, self._chol) + self._mean

    def heldout(self, n: int) -> np.ndarray:
        # A separate stream (seed sequence spawned from the seed), never the training one.
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(self.seed).spawn(1)[0]))
        return times_transpose(rng.standard_normal((int(n), self.dim)), self._chol) + self._mean
