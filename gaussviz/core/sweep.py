"""The stability map: which learning rates and parameterizations converge, crawl or diverge.

A sweep runs a grid of chains, alpha (log-spaced) x parameterization x one
second axis (start covariance scale, target condition number, batch size or
optimizer) x several seeds, for a fixed number of updates, and records for every chain
whether and why it diverged and its final KL(true || estimate).

All chains run batched in the core: one ``BatchEstimator`` per block of at
most ``max_chains`` chains (one block set per batch size, since a
``BatchEstimator`` shares its batch size). Chains with the same seed and target
read the same sample stream (``streams``), so a cell's seeds differ only in
their samples and the parameterizations of one seed see exactly the same data.
Updates run in chunks (about ``chunk_work`` chain-updates each), which bounds
memory and lets a GUI worker report progress and cancel between chunks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from . import optimizers as opt
from . import parameterizations as pz
from .estimator import BatchEstimator
from .metrics import eig_and_kl
from .presets import ILL_COV
from .settings import (
    MAX_DIM,
    EstimatorSettings,
    Settings,
    StartSettings,
    TargetSettings,
    build_source,
    from_dict,
    to_dict,
)
from .targets import get_kind
from .validation import check_alpha, check_choice


@dataclass(frozen=True)
class Axis:
    """A second sweep axis: its option name, CSV column, words for labels, allowed range.

    A categorical axis (``choices``, e.g. the optimizers) holds indices into ``choices`` as its
    values; users, the CSV and the JSON name the choices.
    """

    name: str
    column: str
    label: str
    lo: float
    hi: float
    integer: bool = False
    #: the names of a categorical axis (its values are their indices)
    choices: tuple[str, ...] = ()

    def format(self, v: float) -> str:
        """A value as a row label, e.g. ``0.1``, ``16`` or ``adam``."""
        if self.choices:
            return self.choices[int(v)]
        return str(int(v)) if self.integer else f"{v:g}"

    def value(self, v) -> int | float:
        """A user's value (a number, or a name of a categorical axis) as the axis holds it;
        ValueError naming the axis otherwise."""
        if self.choices:
            if isinstance(v, str) and v.strip() in self.choices:
                return self.choices.index(v.strip())
            raise ValueError(f"{self.name} values must be names from {', '.join(self.choices)}; got {v!r}")
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} values must be numbers; got {v!r}") from None
        if not math.isfinite(x) or not self.lo <= x <= self.hi:
            raise ValueError(f"{self.name} values must be from {self.lo:g} to {self.hi:g}; got {v!r}")
        if self.integer and x != int(x):
            raise ValueError(f"{self.name} values must be whole numbers; got {v!r}")
        return int(x) if self.integer else x


AXES: dict[str, Axis] = {a.name: a for a in [
    Axis("cov0-scale", "cov0_scale", "start covariance scale s (Σ0 = s·I)", 1e-12, 1e12),
    Axis("target-cond", "target_cond", "target condition number", 1.0, 1e10),
    Axis("batch-size", "batch_size", "mini-batch size", 1, 100_000, integer=True),
    Axis("optimizer", "optimizer", "optimizer", 0, len(opt.NAMES) - 1, integer=True, choices=opt.NAMES),
]}

#: chains per BatchEstimator block (memory: a few KB per chain at small d)
MAX_CHAINS = 10_000
#: chain-updates per chunk: 10,000 chains x 256 updates, a fraction of a second
CHUNK_WORK = 10_000 * 256
#: most sample values (floats) drawn per chunk: 32 MB
SAMPLE_BUDGET = 4_000_000
#: final states are kept in the result while chains x d x d stays below this (32 MB)
KEEP_STATES = 4_000_000


class SweepCancelled(Exception):
    """The cancel check returned True; no result."""


def default_base() -> Settings:
    """The 2-D ill-conditioned target of the presets (eigenvalues ~0.21, 1.29), start (1, 1), Σ0 = I."""
    return Settings(
        target=TargetSettings(dim=2, mean=[0.0, 0.0], cov=[list(r) for r in ILL_COV], seed=0),
        start=StartSettings(mean=[1.0, 1.0], cov_scale=1.0),
        estimator=EstimatorSettings(symmetrize=True),
    )


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep. Build it with ``make_spec`` (which validates)."""

    alphas: tuple[float, ...]
    parameterizations: tuple[str, ...]
    axis: str
    axis_values: tuple[float, ...]
    seeds: tuple[int, ...]
    steps: int
    base: Settings = field(default_factory=default_base, compare=False)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(parameterizations, axis values, alphas, seeds): the chain grid."""
        return (len(self.parameterizations), len(self.axis_values), len(self.alphas), len(self.seeds))

    @property
    def n_chains(self) -> int:
        return math.prod(self.shape)

    @property
    def axis_info(self) -> Axis:
        return AXES[self.axis]

    def target(self, v: float, seed: int) -> TargetSettings:
        """The target of a chain: the base's, with the seed and (for target-cond) the condition number."""
        t = replace(self.base.target, seed=int(seed), params=dict(self.base.target.params))
        if self.axis == "target-cond":
            t = replace(t, cov=None, cond=float(v))
        return t

    def start_scale(self, v: float) -> float:
        return float(v) if self.axis == "cov0-scale" else float(self.base.start.cov_scale)

    def batch_size(self, v: float) -> int:
        return int(v) if self.axis == "batch-size" else int(self.base.estimator.batch_size)

    def optimizer(self, v: float) -> str:
        return opt.NAMES[int(v)] if self.axis == "optimizer" else self.base.estimator.optimizer

    def settings(self, p: int, v: int, a: int, s: int = 0) -> Settings:
        """Full settings of one chain of the grid (e.g. to open a cell in the live view)."""
        base = self.base.copy()
        val = self.axis_values[v]
        e = replace(base.estimator, parameterization=self.parameterizations[p], alpha=float(self.alphas[a]),
                    batch_size=self.batch_size(val), optimizer=self.optimizer(val))
        return Settings(target=self.target(val, self.seeds[s]),
                        start=replace(base.start, cov_scale=self.start_scale(val)),
                        estimator=e, compare=[], preset="", steps=int(self.steps), speed=base.speed).validate()

    def describe(self) -> list[str]:
        """What is held fixed, in words (titles, CLI output)."""
        b = self.base
        t, d = b.target, b.target.dim
        if self.axis == "target-cond":
            target = (f"target: d = {d}, condition number swept (eigenvalues log-spaced, "
                      f"rotated {t.rotation_deg:g}°, scale {t.scale:g})")
        else:
            # Non-Gaussian targets: Σ* is the target's own covariance (a CSV file's, not cond's).
            ev = np.linalg.eigvalsh(t.cov_matrix() if t.kind == "gaussian" else build_source(t).cov)
            eig = ", ".join(f"{x:.3g}" for x in ev) if d <= 4 else f"{ev[0]:.3g} to {ev[-1]:.3g}"
            target = f"target: {_kind_name(t)} in d = {d}, eigenvalues of Σ* {eig}"
        m0 = b.start.mean_vector(d)
        mean = ", ".join(f"{x:g}" for x in m0) if d <= 4 else f"{m0[0]:g}, ..."
        cov0 = "s·I (swept)" if self.axis == "cov0-scale" else f"{b.start.cov_scale:g}·I"
        e = b.estimator
        batch = "swept" if self.axis == "batch-size" else str(e.batch_size)
        optimizer = "optimizer swept" if self.axis == "optimizer" else f"optimizer {e.optimizer}"
        used = opt.OPTIMIZERS[e.optimizer].uses if self.axis != "optimizer" else ("beta1", "beta2", "eps")
        if used:
            optimizer += " (" + ", ".join(f"{k} {getattr(e, k):g}" for k in used) + ")"
        return [
            f"{target}; start μ0 = ({mean}), Σ0 = {cov0}",
            f"{e.objective} {e.direction}, {e.schedule} learning rate, batch {batch}, "
            f"symmetrize {'on' if e.symmetrize else 'off'}, {optimizer}; seeds {self.seeds[0]} to {self.seeds[-1]}",
        ]

    def to_dict(self) -> dict:
        return {
            "alphas": list(self.alphas), "parameterizations": list(self.parameterizations),
            "axis": self.axis,
            "axis_values": [self.axis_info.format(v) for v in self.axis_values] if self.axis_info.choices
            else list(self.axis_values),
            "seeds": list(self.seeds),
            "steps": self.steps, "base": to_dict(self.base),
        }


def _kind_name(t: TargetSettings) -> str:
    """A target kind in a few words, for titles."""
    return get_kind(t.kind).title(t.params)


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def make_spec(
    alpha_min: float = 1e-4,
    alpha_max: float = 1.0,
    alpha_count: int = 40,
    parameterizations: Sequence[str] = pz.NAMES,
    axis: str = "cov0-scale",
    axis_values: Sequence[float] | None = None,
    seeds: int = 8,
    steps: int = 5000,
    base: Settings | None = None,
) -> SweepSpec:
    """A validated sweep; ValueError naming the bad option otherwise.

    Alphas are ``alpha_count`` log-spaced values from ``alpha_min`` to
    ``alpha_max``; seeds are ``base.target.seed + 0 .. seeds - 1``. Axis values
    are sorted ascending.
    """
    lo, hi = check_alpha(alpha_min, "alpha-min"), check_alpha(alpha_max, "alpha-max")
    if not _is_int(alpha_count) or not 1 <= alpha_count <= 10_000:
        raise ValueError(f"alpha-count must be an integer from 1 to 10000; got {alpha_count!r}")
    if lo > hi:
        raise ValueError(f"alpha-min ({lo:g}) must not exceed alpha-max ({hi:g})")
    if alpha_count == 1 and lo != hi:
        raise ValueError("alpha-count must be >= 2 for a range (alpha-min < alpha-max)")
    if alpha_count > 1 and lo == hi:
        raise ValueError("alpha-min equals alpha-max: use alpha-count 1")
    alphas = np.geomspace(lo, hi, int(alpha_count)) if lo != hi else np.full(1, lo)
    params = [str(p).strip() for p in parameterizations]
    if not params:
        raise ValueError("choose at least one parameterization")
    for p in params:
        pz.get(p)
    dup = sorted({p for p in params if params.count(p) > 1})
    if dup:
        raise ValueError(f"parameterization listed twice: {', '.join(dup)}")
    check_choice("axis", axis, AXES)
    ax = AXES[axis]
    base = (base or default_base()).copy().validate()
    if base.target.kind != "gaussian" and axis == "target-cond":
        raise ValueError(f"the target-cond axis needs a Gaussian target; the base target is {base.target.kind!r}")
    if axis == "target-cond" and base.target.dim < 2:
        raise ValueError("the target-cond axis needs a target of dimension >= 2")
    if axis_values is None:  # the base's own value: a one-row map
        if axis == "cov0-scale":
            axis_values = [base.start.cov_scale]
        elif axis == "batch-size":
            axis_values = [base.estimator.batch_size]
        elif axis == "optimizer":
            axis_values = [base.estimator.optimizer]
        else:
            ev = np.linalg.eigvalsh(base.target.cov_matrix())
            axis_values = [float(ev[-1] / ev[0])]
    vals = [ax.value(v) for v in axis_values]
    if not vals:
        raise ValueError(f"give at least one {axis} value")
    if len(set(vals)) != len(vals):
        raise ValueError(f"{axis} value listed twice: {sorted(ax.format(v) for v in vals)}")
    # Rules that take sgd only (riemannian) cannot run under another optimizer: say so now.
    optimizers = {opt.NAMES[v] for v in vals} if axis == "optimizer" else {base.estimator.optimizer}
    for p in params:
        for o in sorted(optimizers):
            try:
                pz.check_optimizer(p, o)
            except ValueError as e:
                raise ValueError(f"{e}: leave {p} out of the parameterizations or sweep sgd only") from None
    if not _is_int(seeds) or not 1 <= seeds <= 10_000:
        raise ValueError(f"seeds must be an integer from 1 to 10000; got {seeds!r}")
    if not _is_int(steps) or not 1 <= steps <= 10**9:
        raise ValueError(f"steps must be an integer from 1 to 1e9; got {steps!r}")
    s0 = base.target.seed
    spec = SweepSpec(
        alphas=tuple(float(a) for a in alphas), parameterizations=tuple(params), axis=axis,
        axis_values=tuple(sorted(vals)), seeds=tuple(range(s0, s0 + int(seeds))), steps=int(steps), base=base,
    )
    if base.target.dim > MAX_DIM:
        raise ValueError(f"target dimension must be at most {MAX_DIM}")
    # Build one target per axis value now so a bad combination fails before any work.
    for v in spec.axis_values:
        spec.target(v, s0).validate()
    return spec


def spec_from_dict(data: dict) -> SweepSpec:
    """The inverse of ``SweepSpec.to_dict`` (validated)."""
    if not isinstance(data, dict):
        raise ValueError("sweep: expected an object")
    try:
        alphas = [float(a) for a in data["alphas"]]
        seeds = [int(s) for s in data["seeds"]]
        base = from_dict(data["base"])
        base.target.seed = seeds[0] if seeds else 0
        spec = make_spec(min(alphas), max(alphas), len(alphas), data["parameterizations"], data["axis"],
                         data["axis_values"], len(seeds), data["steps"], base)
    except KeyError as e:
        raise ValueError(f"sweep: missing key {e}") from None
    except TypeError as e:
        raise ValueError(f"sweep: wrong type ({e})") from None
    if seeds != list(spec.seeds):
        raise ValueError("sweep: seeds must be consecutive")
    return replace(spec, alphas=tuple(alphas))


@dataclass(frozen=True)
class ChainOutcome:
    """One chain of a sweep: its settings and what happened."""

    index: int
    parameterization: str
    alpha: float
    axis_value: float
    seed: int
    diverged: bool
    failed_update: int  # 0 when it did not fail
    reason: str  # '' when it did not fail
    message: str
    final_kl: float  # NaN when it diverged


@dataclass(frozen=True)
class SweepResult:
    """Per chain (index order ``(parameterization, axis value, alpha, seed)``) and per cell.

    Per-chain arrays have length ``spec.n_chains``; per-cell aggregates have
    shape ``(parameterizations, axis values, alphas)``.
    """

    spec: SweepSpec
    diverged: np.ndarray  # (K,) bool
    failed_update: np.ndarray  # (K,) int, 0 = did not fail
    reason: tuple[str, ...]
    message: tuple[str, ...]
    final_kl: np.ndarray  # (K,) NaN where diverged
    elapsed: float = 0.0
    #: last good mean and covariance of every chain, (K, d) and (K, d, d); None when too big to keep
    final_mean: np.ndarray | None = None
    final_cov: np.ndarray | None = None

    @property
    def n_chains(self) -> int:
        return int(self.diverged.shape[0])

    def grid_index(self, i: int) -> tuple[int, int, int, int]:
        p, v, a, s = np.unravel_index(int(i), self.spec.shape)
        return int(p), int(v), int(a), int(s)

    def chain(self, i: int) -> ChainOutcome:
        p, v, a, s = self.grid_index(i)
        sp = self.spec
        return ChainOutcome(
            index=int(i), parameterization=sp.parameterizations[p], alpha=sp.alphas[a],
            axis_value=sp.axis_values[v], seed=sp.seeds[s], diverged=bool(self.diverged[i]),
            failed_update=int(self.failed_update[i]), reason=self.reason[i], message=self.message[i],
            final_kl=float(self.final_kl[i]),
        )

    def chains(self) -> list[ChainOutcome]:
        return [self.chain(i) for i in range(self.n_chains)]

    @property
    def diverged_fraction(self) -> np.ndarray:
        """Fraction of a cell's seeds that diverged, (P, V, A)."""
        return self.diverged.reshape(self.spec.shape).mean(axis=-1)

    @property
    def median_kl(self) -> np.ndarray:
        """Median final KL over a cell's seeds that did not diverge; NaN if all did, (P, V, A)."""
        kl = np.where(self.diverged, np.nan, self.final_kl).reshape(self.spec.shape)
        srt = np.sort(kl, axis=-1)  # NaN sorts last
        c = np.sum(np.isfinite(srt), axis=-1)
        lo = np.clip((c - 1) // 2, 0, None)[..., None]
        hi = np.clip(c // 2, 0, None)[..., None]
        med = 0.5 * (np.take_along_axis(srt, lo, -1) + np.take_along_axis(srt, hi, -1))[..., 0]
        return np.where(c > 0, med, np.nan)

    def stable_alpha(self, p: int) -> tuple[float | None, float | None]:
        """(largest alpha with no divergence at it or below, first alpha with one) for panel p.

        Over all axis values; None where there is no such alpha.
        """
        bad = np.flatnonzero((self.diverged_fraction[p] > 0).any(axis=0))
        if bad.size == 0:
            return self.spec.alphas[-1], None
        first = int(bad[0])
        return (self.spec.alphas[first - 1] if first > 0 else None), self.spec.alphas[first]

    def summary_lines(self) -> list[str]:
        """One line per parameterization: where divergence starts, how many chains diverged."""
        out = []
        per = self.diverged.reshape(self.spec.shape[0], -1)
        width = max(map(len, self.spec.parameterizations))
        for p, name in enumerate(self.spec.parameterizations):
            ok, first = self.stable_alpha(p)
            if first is None:
                where = f"no seed diverged at any alpha <= {ok:.3g}"
            elif ok is None:
                where = f"seeds diverged already at alpha = {first:.3g}"
            else:
                where = f"no seed diverged for alpha <= {ok:.3g}; first divergence at alpha = {first:.3g}"
            out.append(f"{name:<{width}}  {where}  ({int(per[p].sum()):,} of {per.shape[1]:,} chains diverged)")
        return out

    def cell_settings(self, p: int, v: int, a: int, s: int = 0) -> Settings:
        return self.spec.settings(p, v, a, s)

    # ------------------------------------------------------------------ CSV
    def csv_header(self) -> list[str]:
        return ["chain", "parameterization", "alpha", self.spec.axis_info.column, "seed", "steps",
                "diverged", "failed_update", "reason", "final_kl", "message"]

    def csv_text(self) -> str:
        """Every chain, one row each: settings, diverged at which update and why, final KL.

        ``final_kl`` is empty for a chain that diverged; ``failed_update`` and
        ``reason`` are empty for one that did not.
        """
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.csv_header())
        ax = self.spec.axis_info
        for c in self.chains():
            w.writerow([
                c.index, c.parameterization, repr(c.alpha),
                ax.format(c.axis_value) if ax.choices else
                str(int(c.axis_value)) if ax.integer else repr(float(c.axis_value)),
                c.seed, self.spec.steps, "true" if c.diverged else "false",
                c.failed_update if c.diverged else "", c.reason,
                repr(c.final_kl) if math.isfinite(c.final_kl) else "", c.message,
            ])
        return buf.getvalue()

    def spec_json(self) -> str:
        """The sweep's settings as JSON: enough to run it again.

        Nothing about the run itself (no time taken): the same sweep gives the
        same bytes whichever route ran it (in-process, a local or a remote Dask cluster).
        """
        return json.dumps({"app": "gaussviz", "sweep": self.spec.to_dict()}, indent=2) + "\n"


# ----------------------------------------------------------------------- run
@dataclass(frozen=True)
class SweepPart:
    """What some chains of a sweep came to: one task's result (``chains`` are grid indices).

    The arrays are per chain in the order of ``chains``; ``final_mean`` and
    ``final_cov`` are None when the sweep does not keep final states.
    """

    chains: np.ndarray  # (n,) int64
    diverged: np.ndarray  # (n,) bool
    failed_update: np.ndarray  # (n,) int64
    reason: tuple[str, ...]
    message: tuple[str, ...]
    final_kl: np.ndarray  # (n,) NaN where diverged
    final_mean: np.ndarray | None = None  # (n, d)
    final_cov: np.ndarray | None = None  # (n, d, d)

    @property
    def n_chains(self) -> int:
        return int(self.chains.shape[0])


def keeps_states(spec: SweepSpec) -> bool:
    """Whether a result keeps every chain's final mean and covariance (chains x d x d <= KEEP_STATES)."""
    d = spec.base.target.dim
    return spec.n_chains * d * d <= KEEP_STATES


def _blocks(spec: SweepSpec, chains: np.ndarray, max_chains: int) -> list[np.ndarray]:
    """The chains split into BatchEstimator blocks: one batch size each, at most ``max_chains``."""
    if spec.axis == "batch-size":
        v_of = np.unravel_index(chains, spec.shape)[1]
        groups = [chains[v_of == v] for v in range(len(spec.axis_values))]
    else:
        groups = [chains]
    return [g[i:i + max_chains] for g in groups for i in range(0, g.size, max_chains)]


def run_chains(
    spec: SweepSpec,
    chains: Sequence[int] | np.ndarray,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    max_chains: int = MAX_CHAINS,
    chunk_work: int = CHUNK_WORK,
    keep_states: bool | None = None,
    parallel: bool | None = None,
) -> SweepPart:
    """Run some chains of ``spec`` (grid indices, e.g. one task's range).

    A chain's outcome depends only on the chain: its settings and its seed's
    sample stream, which every block rebuilds from the start. How chains are
    grouped into calls, blocks and chunks changes nothing, to the last bit, so
    any split of a sweep into tasks gives the sweep's own numbers.

    ``progress(work)`` gets the chain-updates done so far in this call after
    each chunk; ``cancel()`` is checked before each chunk (``SweepCancelled``).
    A block whose chains have all diverged stops early (its remaining work
    counts as done). ``parallel`` forces the kernel to use all cores (True) or
    one (False); None chooses by the amount of work.
    """
    if max_chains < 1 or chunk_work < 1:
        raise ValueError("max_chains and chunk_work must be >= 1")
    chains = np.asarray(chains, dtype=np.int64).reshape(-1)
    K = spec.n_chains
    if chains.size and (chains.min() < 0 or chains.max() >= K):
        raise ValueError(f"chain indices must be from 0 to {K - 1}")
    n_all = chains.size
    pos = {int(c): j for j, c in enumerate(chains)}
    if len(pos) != n_all:
        raise ValueError("a chain is listed twice")
    keep = keeps_states(spec) if keep_states is None else bool(keep_states)
    d = spec.base.target.dim
    diverged = np.zeros(n_all, dtype=bool)
    failed = np.zeros(n_all, dtype=np.int64)
    reason = [""] * n_all
    message = [""] * n_all
    final_kl = np.full(n_all, np.nan)
    final_mean = np.full((n_all, d), np.nan) if keep else None
    final_cov = np.full((n_all, d, d), np.nan) if keep else None
    done_work = 0.0
    e = spec.base.estimator
    m0 = spec.base.start.mean_vector(d)
    for block in _blocks(spec, chains, max_chains):
        if cancel is not None and cancel():
            raise SweepCancelled("sweep cancelled")
        at = np.array([pos[int(c)] for c in block], dtype=np.int64)
        p_i, v_i, a_i, s_i = np.unravel_index(block, spec.shape)
        n = block.size
        b = spec.batch_size(spec.axis_values[v_i[0]])
        # One sample stream per (target, seed): the target differs only along target-cond.
        tkey = v_i if spec.axis == "target-cond" else np.zeros(n, dtype=np.int64)
        keys, streams = np.unique(np.stack([tkey, s_i], axis=1), axis=0, return_inverse=True)
        streams = np.ascontiguousarray(streams.reshape(-1), dtype=np.int64)
        sources = [build_source(spec.target(spec.axis_values[int(tv)], spec.seeds[int(ss)]))
                   for tv, ss in keys]
        scales = np.array([spec.start_scale(spec.axis_values[v]) for v in v_i])
        est = BatchEstimator(
            np.repeat(m0[None], n, axis=0), scales[:, None, None] * np.eye(d)[None],
            parameterization=[spec.parameterizations[p] for p in p_i],
            alpha=[spec.alphas[a] for a in a_i], objective=e.objective, direction=e.direction,
            schedule=e.schedule, batch_size=b, symmetrize=bool(e.symmetrize),
            optimizer=[spec.optimizer(spec.axis_values[v]) for v in v_i], beta1=e.beta1, beta2=e.beta2, eps=e.eps,
        )
        per_chunk = max(1, min(chunk_work // n, SAMPLE_BUDGET // max(1, len(sources) * b * d)))
        ran = 0
        while ran < spec.steps:
            if cancel is not None and cancel():
                raise SweepCancelled("sweep cancelled")
            m = min(per_chunk, spec.steps - ran)
            Y = np.ascontiguousarray(np.stack([src.sample(m * b) for src in sources]))
            est.advance(Y, m, streams=streams, parallel=parallel)
            ran += m
            done_work += float(n) * m
            if progress is not None:
                progress(done_work)
            if est.diverged.all():
                done_work += float(n) * (spec.steps - ran)
                break
        means, covs = est.means, est.covs
        if keep:
            final_mean[at] = means
            final_cov[at] = covs
        for j, div in enumerate(est.divergences()):
            if div is not None:
                k = int(at[j])
                diverged[k] = True
                failed[k] = div.step
                reason[k] = div.reason
                message[k] = div.message
        for si, src in enumerate(sources):
            sel = np.flatnonzero((streams == si) & ~est.diverged)
            if sel.size == 0:
                continue
            try:
                tm, tc = np.asarray(src.mean, dtype=float), np.asarray(src.cov, dtype=float)
            except (AttributeError, NotImplementedError):
                continue  # a target without a known truth: no KL
            _, kl = eig_and_kl(means[sel], covs[sel], tm, tc)
            final_kl[at[sel]] = np.where(np.isfinite(kl), kl, np.nan)
    if progress is not None:
        progress(done_work)
    return SweepPart(chains=chains, diverged=diverged, failed_update=failed, reason=tuple(reason),
                     message=tuple(message), final_kl=final_kl, final_mean=final_mean, final_cov=final_cov)


def assemble(spec: SweepSpec, parts: Sequence[SweepPart], elapsed: float = 0.0) -> SweepResult:
    """The sweep's result from parts that cover every chain exactly once (in any order)."""
    K = spec.n_chains
    d = spec.base.target.dim
    keep = keeps_states(spec) and all(p.final_mean is not None for p in parts)
    seen = np.zeros(K, dtype=bool)
    diverged = np.zeros(K, dtype=bool)
    failed = np.zeros(K, dtype=np.int64)
    reason = [""] * K
    message = [""] * K
    final_kl = np.full(K, np.nan)
    final_mean = np.full((K, d), np.nan) if keep else None
    final_cov = np.full((K, d, d), np.nan) if keep else None
    for part in parts:
        c = part.chains
        if c.size and (c.min() < 0 or c.max() >= K):
            raise ValueError(f"a part names chains outside 0 to {K - 1}")
        if seen[c].any():
            raise ValueError(f"chain {int(c[seen[c]][0])} is in two parts")
        seen[c] = True
        diverged[c] = part.diverged
        failed[c] = part.failed_update
        final_kl[c] = part.final_kl
        for j, k in enumerate(c.tolist()):
            reason[k] = part.reason[j]
            message[k] = part.message[j]
        if keep:
            final_mean[c] = part.final_mean
            final_cov[c] = part.final_cov
    if not seen.all():
        raise ValueError(f"{int((~seen).sum())} of {K} chains have no result (first: {int(np.argmin(seen))})")
    return SweepResult(spec=spec, diverged=diverged, failed_update=failed, reason=tuple(reason),
                       message=tuple(message), final_kl=final_kl, elapsed=elapsed,
                       final_mean=final_mean, final_cov=final_cov)


def run_sweep(
    spec: SweepSpec,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    max_chains: int = MAX_CHAINS,
    chunk_work: int = CHUNK_WORK,
) -> SweepResult:
    """Run every chain of ``spec`` in this process; ``progress(fraction)`` after each chunk,
    ``cancel()`` checked before each.

    Raises ``SweepCancelled`` when ``cancel()`` returns True. Final states are
    kept when chains x d x d <= ``KEEP_STATES``. ``core.cluster.run_tasks`` runs
    the same chains split into tasks (resumable, or on Dask) with the same result.
    """
    t0 = time.perf_counter()
    total = float(spec.n_chains) * spec.steps
    report = None if progress is None else (lambda work: progress(min(1.0, work / total)))
    part = run_chains(spec, np.arange(spec.n_chains), report, cancel, max_chains, chunk_work)
    if progress is not None:
        progress(1.0)
    return assemble(spec, [part], time.perf_counter() - t0)


__all__ = [
    "AXES",
    "ChainOutcome",
    "SweepCancelled",
    "SweepPart",
    "SweepResult",
    "SweepSpec",
    "assemble",
    "default_base",
    "keeps_states",
    "make_spec",
    "run_chains",
    "run_sweep",
    "spec_from_dict",
]
