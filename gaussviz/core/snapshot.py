"""The immutable picture of a run that views draw: one ``Snapshot`` per frame.

A snapshot holds read-only copies, so a worker thread can hand it to the GUI
thread without locks, and nothing in it is ever inf (NaN means "no data").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .estimator import Divergence
from .history import HistoryView


@dataclass(frozen=True)
class ChainState:
    """One estimator's state at a snapshot."""

    label: str
    settings: dict
    steps: int
    mean: np.ndarray
    cov: np.ndarray
    eig: np.ndarray
    kl: float
    alpha_t: float
    asymmetry: float
    heldout_loglik: float
    divergence: Divergence | None
    #: the chain's Polyak-Ruppert average (docs/MATH.md) and its KL; None/NaN when it does not average
    avg_mean: np.ndarray | None = None
    avg_cov: np.ndarray | None = None
    avg_kl: float = float("nan")

    @property
    def condition_number(self) -> float:
        lo, hi = float(self.eig[0]), float(self.eig[-1])
        return hi / lo if lo > 0 else float("inf")


@dataclass(frozen=True)
class Snapshot:
    """Everything a view needs to draw one frame; never mutated after creation."""

    step: int
    n_samples: int
    chains: tuple[ChainState, ...]
    true_mean: np.ndarray | None
    true_cov: np.ndarray | None
    ref_mean: np.ndarray
    ref_cov: np.ndarray
    ref_kl: float
    recent: np.ndarray
    history: HistoryView
    extra: dict = field(default_factory=dict)
    #: the session that reproduces this run: settings at step 0, live changes so far, steps run
    #: (a plain dict shared between snapshots: treat it as read-only)
    session: dict | None = None

    @property
    def chain(self) -> ChainState:
        return self.chains[0]


def available(x: float) -> float:
    """A metric for a snapshot: finite, or NaN ("not available"), never inf.

    KL is inf for a singular estimate (e.g. an exact MLE of samples whose noise the
    float resolution swallowed) and can overflow for a collapsed one; plots and
    exports drop NaN but choke on inf.
    """
    x = float(x)
    return x if np.isfinite(x) else float("nan")


__all__ = ["ChainState", "Snapshot", "available"]
