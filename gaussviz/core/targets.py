"""Targets beyond one Gaussian: heavy tails, a mixture, drift, and real data.

Every source here follows the ``SampleSource`` protocol of ``sources.py``:
``mean`` and ``cov`` are the target's OWN first two moments (the "truth" that
KL and the ellipses compare with, even when the target is not Gaussian),
``sample(n)`` reads one seeded sequential stream (any chunking gives the same
samples) and ``heldout(n)`` reads an independent stream.

The linearized expected update of every parameterization depends only on the
first two moments of the data (docs/MATH.md), so these targets change the noise an
estimator sees, not where it converges to: the Student-t's rare huge samples
throw the seed's ``covariance`` update out of the positive-definite cone, the
mixture is a misspecified model whose best Gaussian fit is still its moments,
and the drifting target is where a constant learning rate (finite memory) beats
``1/t`` (infinite memory).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .csvdata import DATASETS, CsvData, CsvProblem, dataset_name, dataset_path, load_csv_cached, moments
from .sources import FixedTruthSource, times_transpose
from .validation import MAX_ABS_MEAN, as_mean, as_spd, check_truth, quote


def _streams(seed: int, k: int) -> list[np.random.Generator]:
    """k independent PCG64 streams of one seed (0 = the heldout stream)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return [np.random.Generator(np.random.PCG64(s)) for s in np.random.SeedSequence(int(seed)).spawn(k)]


# ----------------------------------------------------------------- Student-t
class StudentTSource(FixedTruthSource):
    """Multivariate Student-t with ``df`` degrees of freedom: heavy tails, same moments.

    ``y = mean + sqrt(df / w) L z`` with ``w ~ chi2(df)``, ``z ~ N(0, I)`` and
    ``L L^T = cov (df - 2) / df`` (the scale matrix), so ``Cov y = cov``.
    z and w come from two separate streams so chunking cannot change them.
    """

    name = "student-t"

    def __init__(self, mean: Any, cov: Any, df: float, seed: int = 0) -> None:
        self._mean = as_mean(mean, "mean")
        self._cov = as_spd(cov, "cov", self._mean.shape[0])
        df = float(df)
        if not math.isfinite(df) or df <= 2.0:
            raise ValueError(f"student-t: parameter 'df' (degrees of freedom) must be > 2 "
                             f"so the covariance exists; got {df!r}")
        check_truth(self._mean, self._cov, "student-t target")
        self.df = df
        self.seed = int(seed)
        self._chol = np.linalg.cholesky(self._cov * (df - 2.0) / df)
        _, self._rz, self._rw = _streams(seed, 3)  # stream 0 is left unused: heldout uses 3 and 4
        self.drawn = 0


    def _draw(self, rz: np.random.Generator, rw: np.random.Generator, n: int) -> np.ndarray:
        z = rz.standard_normal((n, self.dim))
        w = rw.chisquare(self.df, n)
        return self._mean + times_transpose(z, self._chol) * np.sqrt(self.df / w)[:, None]

    def sample(self, n: int) -> np.ndarray:
        n = int(n)
        self.drawn += n
        return self._draw(self._rz, self._rw, n)

    def heldout(self, n: int) -> np.ndarray:
        rz, rw = _streams(self.seed, 5)[3:]
        return self._draw(rz, rw, int(n))

    def fork(self, seed: int) -> StudentTSource:
        """The same target on a fresh stream (for forecasts)."""
        return StudentTSource(self._mean, self._cov, self.df, seed)


# ------------------------------------------------------------------- mixture
def mixture_from_moments(mean: np.ndarray, cov: np.ndarray, separation: float,
                         weight: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two Gaussians with the given overall mean and covariance, split along the widest axis.

    ``separation`` is the distance between the component means in units of a
    component's standard deviation along that axis (for equal weights the
    mixture is bimodal above 2). Both components share one covariance ``W``;
    with ``delta = m1 - m2``, ``W + w (1 - w) delta delta^T = cov``.
    Returns (weights (2,), means (2, d), covs (2, d, d)).
    """
    if not 0.0 < weight < 1.0:
        raise ValueError(f"mixture: parameter 'weight' must be strictly between 0 and 1; got {weight!r}")
    if not math.isfinite(separation) or separation < 0 or separation > 100:
        raise ValueError(f"mixture: parameter 'separation' must be from 0 to 100; got {separation!r}")
    ev, Q = np.linalg.eigh(cov)
    u, lam = Q[:, -1], ev[-1]
    ww = weight * (1.0 - weight)
    v = 1.0 / (1.0 + ww * separation**2)  # a component's variance along u, as a fraction of lam
    delta = separation * math.sqrt(v * lam) * u
    W = cov - ww * np.outer(delta, delta)
    W = 0.5 * (W + W.T)
    means = np.stack([mean + (1.0 - weight) * delta, mean - weight * delta])
    return np.array([weight, 1.0 - weight]), means, np.stack([W, W])


class MixtureSource(FixedTruthSource):
    """A two-component Gaussian mixture: a model the Gaussian family cannot fit.

    The truth is the mixture's overall mean and covariance (the best Gaussian
    fit in KL(true || model)). Component labels and normal draws come from two
    separate streams so chunking cannot change them.
    """

    name = "mixture"

    def __init__(self, weights: Any, means: Any, covs: Any, seed: int = 0) -> None:
        try:
            w = np.asarray(weights, dtype=float).ravel()
        except (TypeError, ValueError, OverflowError):
            w = np.full(0, np.nan)
        if w.shape != (2,) or not np.all(np.isfinite(w)) or np.any(w <= 0) or abs(w.sum() - 1.0) > 1e-9:
            raise ValueError(f"mixture: parameter 'weights' must be two positive numbers summing to 1; "
                             f"got {quote(weights)}")
        try:
            m = np.array(means, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"mixture: parameter 'means' must be two vectors; got {quote(means)}") from None
        if m.ndim != 2 or m.shape[0] != 2:
            raise ValueError(f"mixture: parameter 'means' must have shape (2, d); got shape {m.shape}")
        d = m.shape[1]
        m = np.stack([as_mean(m[k], f"mixture: parameter 'means[{k}]'", d) for k in range(2)])
        if np.any(np.abs(m) > MAX_ABS_MEAN):
            raise ValueError(f"mixture: parameter 'means' must be within +-{MAX_ABS_MEAN:g}; "
                             f"it reaches {float(np.max(np.abs(m))):.3g}")
        try:
            c = np.array(covs, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"mixture: parameter 'covs' must be two matrices; got {quote(covs)}") from None
        if c.shape != (2, d, d):
            raise ValueError(f"mixture: parameter 'covs' must have shape (2, {d}, {d}); got shape {c.shape}")
        c = np.stack([as_spd(c[k], f"mixture: parameter 'covs[{k}]'", d) for k in range(2)])
        self.weights, self.means, self.covs = w, m, c
        self.seed = int(seed)
        self._chols = np.linalg.cholesky(c)
        self._mean = w @ m
        dm = m - self._mean
        tot = np.einsum("k,kij->ij", w, c) + np.einsum("k,ki,kj->ij", w, dm, dm)
        self._cov = 0.5 * (tot + tot.T)
        check_truth(self._mean, self._cov, "mixture target")
        _, self._ru, self._rz = _streams(seed, 3)
        self.drawn = 0


    def _draw(self, ru: np.random.Generator, rz: np.random.Generator, n: int) -> np.ndarray:
        first = ru.random(n) < self.weights[0]
        z = rz.standard_normal((n, self.dim))
        y0 = times_transpose(z, self._chols[0]) + self.means[0]
        y1 = times_transpose(z, self._chols[1]) + self.means[1]
        return np.where(first[:, None], y0, y1)

    def sample(self, n: int) -> np.ndarray:
        n = int(n)
        self.drawn += n
        return self._draw(self._ru, self._rz, n)

    def heldout(self, n: int) -> np.ndarray:
        ru, rz = _streams(self.seed, 5)[3:]
        return self._draw(ru, rz, int(n))

    def fork(self, seed: int) -> MixtureSource:
        return MixtureSource(self.weights, self.means, self.covs, seed)


# ------------------------------------------------------------------ drifting
class DriftingSource:
    """A Gaussian whose mean walks and whose covariance turns, sample by sample.

    Sample i (0-based over the whole stream) comes from N(mu_i, R(i w) Sigma_0 R(i w)^T):
    ``mu_{i+1} = mu_i + drift_rate * L_0 xi_i`` with ``xi_i ~ N(0, I)`` and
    ``L_0 L_0^T = Sigma_0`` (so ``drift_rate`` is in units of the target's own
    spread per sample), and R rotates the plane of the first two axes by
    ``rotation_rate`` degrees per sample (d = 1: no rotation). ``mean`` and
    ``cov`` are the CURRENT truth: the distribution of the next sample. The run
    loop asks for them at every chunk. An estimator with a constant learning
    rate forgets (memory ~ 1/alpha samples) and tracks it; a 1/t schedule
    averages the whole past and falls behind.
    """

    name = "drifting"

    def __init__(self, mean: Any, cov: Any, drift_rate: float = 0.0, rotation_rate: float = 0.0,
                 seed: int = 0, start_index: int = 0) -> None:
        self._mean0 = as_mean(mean, "mean")
        self._cov0 = as_spd(cov, "cov", self._mean0.shape[0])
        check_truth(self._mean0, self._cov0, "drifting target")
        for key, v in (("drift_rate", drift_rate), ("rotation_rate", rotation_rate)):
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(v) or v < 0:
                raise ValueError(f"drifting: parameter '{key}' must be a finite number >= 0; got {v!r}")
        if drift_rate > 1.0:
            raise ValueError(f"drifting: parameter 'drift_rate' must be at most 1 (target spreads per sample); "
                             f"got {drift_rate!r}")
        if rotation_rate > 180.0:
            raise ValueError(f"drifting: parameter 'rotation_rate' must be at most 180 degrees per sample; "
                             f"got {rotation_rate!r}")
        self.drift_rate = float(drift_rate)
        self.rotation_rate = float(rotation_rate)
        self.seed = int(seed)
        self._chol0 = np.linalg.cholesky(self._cov0)
        _, self._rxi, self._rz = _streams(seed, 3)
        self._mu = self._mean0.copy()
        self._start = int(start_index)
        self.drawn = 0

    @property
    def dim(self) -> int:
        return self._mean0.shape[0]

    @property
    def index(self) -> int:
        """Index of the next sample (its angle is index * rotation_rate)."""
        return self._start + self.drawn

    def _angles(self, idx: np.ndarray) -> np.ndarray:
        return np.radians(self.rotation_rate) * idx

    def _rotate(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        if self.dim < 2 or self.rotation_rate == 0.0:
            return x
        c, s = np.cos(theta), np.sin(theta)
        out = x.copy()
        out[:, 0] = c * x[:, 0] - s * x[:, 1]
        out[:, 1] = s * x[:, 0] + c * x[:, 1]
        return out

    def _cov_at(self, index: int) -> np.ndarray:
        if self.dim < 2 or self.rotation_rate == 0.0:
            return self._cov0.copy()
        th = float(self._angles(np.array([index]))[0])
        R = np.eye(self.dim)
        c, s = math.cos(th), math.sin(th)
        R[0, 0], R[0, 1], R[1, 0], R[1, 1] = c, -s, s, c
        S = R @ self._cov0 @ R.T
        return 0.5 * (S + S.T)

    @property
    def mean(self) -> np.ndarray:
        return self._mu.copy()

    @property
    def cov(self) -> np.ndarray:
        return self._cov_at(self.index)


    def sample(self, n: int) -> np.ndarray:
        n = int(n)
        d = self.dim
        steps = times_transpose(self.drift_rate * self._rxi.standard_normal((n, d)), self._chol0)
        # cumsum from the current mean is sequential, so chunking cannot change the path
        path = np.cumsum(np.concatenate([self._mu[None], steps]), axis=0)
        z = times_transpose(self._rz.standard_normal((n, d)), self._chol0)
        theta = self._angles(np.arange(self.index, self.index + n, dtype=float))
        y = path[:n] + self._rotate(z, theta)
        self._mu = path[n].copy()
        self._last = (self.index, path)
        self.drawn += n
        return y

    def chunk_truth(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The truth after each of ``counts`` samples of the last chunk drawn.

        The run loop records history points inside a chunk; with a moving truth
        each point must be compared with the truth of its own moment, not the
        chunk's end (which would show spikes that are not there).
        """
        start, path = self._last
        counts = np.asarray(counts, dtype=np.int64)
        covs = np.stack([self._cov_at(int(start + c)) for c in counts])
        return path[counts].copy(), covs

    def heldout(self, n: int) -> np.ndarray:
        """Samples of the START distribution (the run loop asks once, at step 0)."""
        rz = _streams(self.seed, 4)[3]
        return times_transpose(rz.standard_normal((int(n), self.dim)), self._chol0) + self._mean0

    def fork(self, seed: int) -> DriftingSource:
        """The target as it is now (current mean and angle), drifting on from here on a fresh stream."""
        src = DriftingSource(self._mu, self._cov0, self.drift_rate, self.rotation_rate, seed,
                             start_index=self.index)
        return src


class CsvSource(FixedTruthSource):
    """Rows of a data file streamed in a shuffled order, reshuffled every pass (seeded).

    The truth is the mean and covariance (divided by N: the file is the whole
    population) of every usable row. With ``standardize`` each column is
    shifted and scaled to mean 0 and variance 1 (truth: 0 and the correlation
    matrix), which puts columns on very different scales (Old Faithful: 1.3 vs
    185 min^2) within reach of one learning rate. The rows are shared with the
    loaded file (read-only, never copied) and standardized as they are drawn,
    row by row, so a standardized source costs no second copy of the data.
    """

    name = "csv"

    def __init__(self, data: Any, seed: int = 0, columns: list[str] | None = None,
                 standardize: bool = False, problems: list[CsvProblem] | None = None,
                 path: str = "", n_skipped: int = 0) -> None:
        try:
            x = np.asarray(data, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("csv: data must be an (N, d) array of numbers") from None
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] < x.shape[1] + 1:
            raise ValueError(f"csv: need an (N, d) array with N >= d + 1; got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("csv: data must be finite")
        x = x.view()
        x.flags.writeable = False
        self.standardize = bool(standardize)
        self.data = x
        self.columns = list(columns) if columns else [str(j) for j in range(x.shape[1])]
        self.problems = list(problems or [])
        self.n_skipped = int(n_skipped)
        self.path = path
        self.seed = int(seed)
        where = f"csv: the data of {Path(path).name}" if path else "csv: the data"
        mean, cov = moments(x)
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
            raise ValueError(f"{where} are too large to use (their mean or variance overflows); rescale them")
        self._shift: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        if self.standardize:
            sd = np.sqrt(np.diag(cov))
            if not np.all(sd > 0):
                raise ValueError(f"{where}: a column is constant; it cannot be standardized")
            self._shift, self._scale = mean, sd
            mean, cov = moments(x, mean, sd)
        try:
            check_truth(mean, cov, where + (" (standardized)" if self.standardize else ""))
        except ValueError as e:
            if self.standardize:
                raise
            raise ValueError(f"{e}; standardize (--standardize, or the check box) shifts and scales each "
                             "column to mean 0 and variance 1") from None
        self._mean, self._cov = mean, cov
        self._rng = _streams(seed, 2)[1]
        self._order = self._rng.permutation(x.shape[0])
        self._pos = 0
        self.epoch = 0
        self.drawn = 0

    @classmethod
    def from_file(cls, path: Any, columns: Any = None, seed: int = 0, standardize: bool = False,
                  header: bool | None = None, delimiter: str | None = None) -> CsvSource:
        f = load_csv_cached(path, columns, header, delimiter)
        return cls(f.data, seed, f.columns, standardize, f.problems, f.path, f.n_skipped)

    @property
    def n_rows(self) -> int:
        return self.data.shape[0]

    def _rows(self, idx: np.ndarray) -> np.ndarray:
        """The rows of ``idx``, standardized if asked (elementwise, so row by row the same)."""
        y = self.data[idx]
        if self._scale is not None:
            y = (y - self._shift) / self._scale
        return y

    def sample(self, n: int) -> np.ndarray:
        n = int(n)
        out = np.empty((n, self.dim))
        k = 0
        while k < n:
            take = min(n - k, self.n_rows - self._pos)
            out[k:k + take] = self._rows(self._order[self._pos:self._pos + take])
            k += take
            self._pos += take
            if self._pos == self.n_rows:
                self._order = self._rng.permutation(self.n_rows)
                self._pos = 0
                self.epoch += 1
        self.drawn += n
        return out

    def heldout(self, n: int) -> np.ndarray:
        """Rows drawn with replacement on a separate stream (the file is the population)."""
        rng = _streams(self.seed, 3)[2]
        return self._rows(rng.integers(0, self.n_rows, int(n)))

    def fork(self, seed: int) -> CsvSource:
        src = CsvSource.__new__(CsvSource)
        src.__dict__.update(self.__dict__)
        _, src._rng = _streams(seed, 2)
        src.seed = int(seed)
        src._order = src._rng.permutation(self.n_rows)
        src._pos, src.epoch, src.drawn = 0, 0, 0
        return src


# ------------------------------------------------------------------ CSV params
#: the keys of a CSV target's params: where the data are (exactly one of path, dataset) and how to read them
CSV_KEYS = ("path", "dataset", "columns", "standardize", "header", "delimiter")
#: characters of a file path in a session at most
MAX_PATH_CHARS = 4096


def csv_source(text: str, base_dir: str | os.PathLike | None = None) -> dict:
    """What a user typed for a CSV target (``--csv``, the window's file field) as params: a shipped
    data set's name alone (``old-faithful``) is ``{"dataset": name}``; anything else is a file,
    ``{"path": absolute path}`` (relative to ``base_dir``, default the working directory), so a
    session written later replays from any folder."""
    key = dataset_name(text)
    if key is not None:
        return {"dataset": key}
    p = Path(str(text)).expanduser()
    if not p.is_absolute():
        p = Path(base_dir or os.getcwd()) / p
    return {"path": os.path.normpath(p)}


def csv_params_read(params: Any, base_dir: str | os.PathLike | None) -> Any:
    """A CSV target's params as a session file holds them, made usable here: a relative path is
    relative to the session file's folder (``base_dir``); an older session's ``"path":
    "old-faithful"`` (a data set's name alone, no such key as ``dataset`` yet) is the shipped
    data set. Anything else is returned as it is (``validate`` names what is wrong)."""
    if not isinstance(params, dict) or "dataset" in params or not isinstance(params.get("path"), str):
        return params
    path = params["path"]
    out = dict(params)
    if dataset_name(path) is not None and Path(path).name == path:
        del out["path"]
        out["dataset"] = dataset_name(path)
    elif base_dir is not None and path and "\0" not in path and not Path(path).expanduser().is_absolute():
        out["path"] = os.path.normpath(Path(base_dir) / path)
    return out


def csv_params_written(params: Any) -> Any:
    """A CSV target's params as a session file stores them: the path absolute (the working
    directory's now), so the session replays from any folder."""
    if not isinstance(params, dict) or not isinstance(params.get("path"), str) or not params["path"]:
        return params
    p = Path(params["path"]).expanduser()
    return {**params, "path": os.path.normpath(p if p.is_absolute() else Path.cwd() / p)}


def _csv_args(params: dict) -> dict:
    has_path, has_set = "path" in params, "dataset" in params
    if has_path == has_set:
        what = "both" if has_path else "neither"
        raise ValueError(f"csv: parameter 'path' (a file) or 'dataset' (a shipped data set: "
                         f"{', '.join(DATASETS)}): give exactly one; got {what}")
    if has_set:
        location = dataset_path(params["dataset"])
    else:
        path = params["path"]
        if not isinstance(path, str) or not path.strip() or len(path) > MAX_PATH_CHARS or "\0" in path:
            raise ValueError(f"csv: parameter 'path' must be a file name; got {quote(path)}")
        location = Path(path).expanduser()
    std = params.get("standardize", False)
    if not isinstance(std, bool):
        raise ValueError(f"csv: parameter 'standardize' must be true or false; got {quote(std)}")
    header = params.get("header")
    if header is not None and not isinstance(header, bool):
        raise ValueError(f"csv: parameter 'header' must be true, false or null (detect); got {quote(header)}")
    cols = params.get("columns")
    if cols is not None:
        ok = isinstance(cols, str) and len(cols) <= 10_000
        if isinstance(cols, list):
            ok = 0 < len(cols) <= 50 and all(
                (isinstance(c, str) and len(c) <= 1000) or (type(c) is int and 0 <= c < 10**6) for c in cols)
        if not ok:
            raise ValueError("csv: parameter 'columns' must be a list of up to 50 column names or 0-based "
                             f"indices; got {quote(cols)}")
    delim = params.get("delimiter")
    if delim is not None and (not isinstance(delim, str) or len(delim) != 1 or delim in '\r\n"\0'):
        raise ValueError(f"csv: parameter 'delimiter' must be one character (not a quote or a line end), "
                         f"or null (detect); got {quote(delim)}")
    return dict(path=location, columns=cols, header=header, delimiter=delim, standardize=std)


# ------------------------------------------------------------- the target kinds
@dataclass(frozen=True)
class TargetParam:
    """A number a target kind takes: its key in ``TargetSettings.params``, range and words."""

    key: str
    #: the CLI option that sets it (``--df``)
    option: str
    #: what messages and the window call it
    label: str
    default: float
    lo: float
    hi: float
    help: str

    def value(self, params: dict, kind: str) -> float:
        """The parameter from a target's params (its default if absent), checked."""
        v = params.get(self.key, self.default)
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise ValueError(f"{kind}: parameter '{self.key}' must be a finite number; got {v!r}")
        return float(v)


@dataclass(frozen=True)
class TargetKind:
    """One kind of target: its numbers (shown in the CLI and the window), the other keys a
    session may hold, how to build its source, and a few words for titles."""

    name: str
    label: str
    params: tuple[TargetParam, ...]
    build: Callable[[Any], Any]
    title: Callable[[dict], str]
    #: further keys of ``params`` (set by files or sessions, not by a number field)
    extra: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.params) + self.extra


def csv_file(params: dict) -> CsvData:
    """The data file a CSV target's params name, read (and remembered) with its options."""
    a = _csv_args(params)
    return load_csv_cached(a["path"], a["columns"], a["header"], a["delimiter"])


def _gaussian(t: Any) -> Any:
    from .sources import GaussianSource

    return GaussianSource(t.mean_vector(), t.cov_matrix(), t.seed)


def _student_t(t: Any) -> StudentTSource:
    return StudentTSource(t.mean_vector(), t.cov_matrix(), _DF.value(t.params, "student-t"), t.seed)


def _mixture(t: Any) -> MixtureSource:
    p = t.params
    if any(k in p for k in ("weights", "means", "covs")):
        missing = [k for k in ("weights", "means", "covs") if k not in p]
        if missing:
            raise ValueError(f"mixture: explicit components need 'weights', 'means' and 'covs'; "
                             f"missing {', '.join(missing)}")
        src = MixtureSource(p["weights"], p["means"], p["covs"], t.seed)
        if src.dim != t.dim:
            raise ValueError(f"mixture: parameter 'means' has dimension {src.dim}, target dimension is {t.dim}")
        return src
    weights, means, covs = mixture_from_moments(t.mean_vector(), t.cov_matrix(), _SEP.value(p, "mixture"),
                                                _WEIGHT.value(p, "mixture"))
    return MixtureSource(weights, means, covs, t.seed)


def _drifting(t: Any) -> DriftingSource:
    return DriftingSource(t.mean_vector(), t.cov_matrix(), _DRIFT.value(t.params, "drifting"),
                          _TURN.value(t.params, "drifting"), t.seed)


def _csv(t: Any) -> CsvSource:
    a = _csv_args(t.params)
    return CsvSource.from_file(a["path"], a["columns"], t.seed, a["standardize"], a["header"], a["delimiter"])


def _file_name(params: dict) -> str:
    if "dataset" in params:
        return str(params["dataset"])
    return str(params.get("path", "")).replace("\\", "/").rsplit("/", 1)[-1]


_DF = TargetParam("df", "--df", "degrees of freedom df", 5.0, 2.000001, 1e6,
                  "degrees of freedom, > 2 (smaller: heavier tails; 3: infinite fourth moment)")
_SEP = TargetParam("separation", "--mixture-sep", "mixture separation", 3.0, 0.0, 100.0,
                   "distance between the two cluster means, in cluster standard deviations (bimodal above 2)")
_WEIGHT = TargetParam("weight", "--mixture-weight", "mixture weight", 0.5, 1e-6, 1 - 1e-6,
                      "weight of the first cluster (0 to 1)")
_DRIFT = TargetParam("drift_rate", "--drift-rate", "drift rate", 0.002, 0.0, 1.0,
                     "mean random-walk step per sample, in target spreads (0 to 1)")
_TURN = TargetParam("rotation_rate", "--rotation-rate", "rotation rate", 0.005, 0.0, 180.0,
                    "covariance rotation, degrees per sample (0 to 180)")

TARGET_KINDS: dict[str, TargetKind] = {k.name: k for k in [
    TargetKind("gaussian", "Gaussian", (), _gaussian, lambda p: "Gaussian"),
    TargetKind("student-t", "Student-t (heavy tails)", (_DF,), _student_t,
               lambda p: f"Student-t (df {_DF.value(p, 'student-t'):g})"),
    TargetKind("mixture", "two-Gaussian mixture", (_SEP, _WEIGHT), _mixture,
               lambda p: f"two-Gaussian mixture (separation {_SEP.value(p, 'mixture'):g})",
               extra=("weights", "means", "covs")),
    TargetKind("drifting", "drifting Gaussian", (_DRIFT, _TURN), _drifting, lambda p: "drifting Gaussian"),
    TargetKind("csv", "CSV file…", (), _csv, lambda p: f"data {_file_name(p)}",
               extra=CSV_KEYS),
]}
#: target kinds, in the order the window lists them
KINDS = tuple(TARGET_KINDS)


def get_kind(name: object) -> TargetKind:
    """A target kind by name; ValueError listing the kinds otherwise."""
    if not isinstance(name, str) or name not in TARGET_KINDS:
        raise ValueError(f"target kind must be one of {', '.join(map(repr, KINDS))}; got {name!r}")
    return TARGET_KINDS[name]


def validate(t: Any) -> None:
    """Check a TargetSettings' kind and params (ValueError naming the bad parameter).

    For a CSV target the file decides the dimension: ``t.dim`` is set to the
    number of chosen columns.
    """
    kind = get_kind(t.kind)
    if not isinstance(t.params, dict):
        raise ValueError(f"target params must be an object (a dict); got {t.params!r}")
    unknown = set(t.params) - set(kind.keys)
    if unknown:
        allowed = ", ".join(kind.keys) or "none"
        raise ValueError(f"{t.kind}: unknown parameter(s) {', '.join(sorted(map(str, unknown)))} "
                         f"(allowed: {allowed})")
    for p in kind.params:
        v = p.value(t.params, t.kind)
        if not p.lo <= v <= p.hi:
            raise ValueError(f"{t.kind}: parameter '{p.key}' ({p.label}) must be from {p.lo:g} to {p.hi:g}; got {v:g}")
    if t.kind == "csv":
        t.dim = csv_file(t.params).data.shape[1]
        return
    build(t)  # the constructors check every number and name the parameter


def build(t: Any):
    """The sample source a TargetSettings describes (``settings.build_source`` calls this)."""
    if not isinstance(t.params, dict):
        raise ValueError(f"target params must be an object (a dict); got {t.params!r}")
    return get_kind(t.kind).build(t)


def fork_source(source: Any, seed: int):
    """A copy of a source on a fresh stream with its current truth (used by the forecast)."""
    if hasattr(source, "fork"):
        return source.fork(seed)
    from .sources import GaussianSource

    return GaussianSource(np.asarray(source.mean, dtype=float), np.asarray(source.cov, dtype=float), seed)


__all__ = [
    "CSV_KEYS",
    "KINDS",
    "TARGET_KINDS",
    "CsvSource",
    "DriftingSource",
    "MixtureSource",
    "StudentTSource",
    "TargetKind",
    "TargetParam",
    "build",
    "csv_file",
    "csv_params_read",
    "csv_params_written",
    "csv_source",
    "fork_source",
    "get_kind",
    "mixture_from_moments",
    "validate",
]
