"""Going back in a run: the anatomy of one update, replay from checkpoints, scrubbing, branching.

A run is deterministic: its session (settings at step 0 and the live changes with the update
they came before) fixes every sample and every update, and streams and kernels do not depend
on how the updates were chunked (docs/ARCHITECTURE.md). So any earlier state can be rebuilt
by replay, bit for bit. ``Rewinder`` replays from the nearest checkpoint (a deep copy of the
run taken on the way) rather than from step 0.

- ``take_update(run)``: one update, with everything it did (``UpdateAnatomy``: the sample,
  r = y - mu, the mean and covariance steps, before and after), and its formula with this
  update's numbers as plain text (``UpdateAnatomy.text``).
- ``Rewinder.run_at(step)`` / ``anatomy_at(step)`` / ``branch(step, estimator)``.
- ``snapshot_at(snap, i)``: the picture of a recorded history point (the scrubber).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from . import live
from .estimator import Divergence
from .runloop import RunLoop
from .settings import from_dict
from .snapshot import Snapshot, available

#: a replay keeps a checkpoint every this many updates (at most CHECKPOINTS of them)
CHECKPOINT_EVERY = 20_000
CHECKPOINTS = 8


@dataclass(frozen=True)
class UpdateAnatomy:
    """What one update of one chain did. ``step`` is the update's 1-based number; arrays are the
    chain's state before and after it (``*_after`` equal ``*_before`` when the update failed)."""

    step: int
    chain: int
    settings: dict
    alpha_t: float
    sign: float
    y: np.ndarray  # (b, d) the mini-batch
    mu_before: np.ndarray
    sigma_before: np.ndarray
    mu_after: np.ndarray
    sigma_after: np.ndarray
    stored_before: np.ndarray
    stored_after: np.ndarray
    divergence: Divergence | None

    @property
    def r(self) -> np.ndarray:
        """r_i = y_i - mu (before the update), (b, d)."""
        return self.y - self.mu_before[None, :]

    @property
    def rbar(self) -> np.ndarray:
        return self.r.mean(axis=0)

    @property
    def scatter(self) -> np.ndarray:
        """C = mean_i r_i r_i^T."""
        r = self.r
        return r.T @ r / r.shape[0]

    @property
    def mean_step(self) -> np.ndarray:
        return self.mu_after - self.mu_before

    @property
    def cov_step(self) -> np.ndarray:
        return self.sigma_after - self.sigma_before

    def text(self) -> str:
        """The update in plain text: the sample, r, and the rule's formula with this update's numbers."""
        return anatomy_text(self)


def _f(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.4g}"
    return f"{v:.4f}".rstrip("0").rstrip(".") if abs(v) >= 1 else f"{v:.5f}".rstrip("0").rstrip(".")


def _s(v: float) -> str:
    return ("+" if v >= 0 else "−") + _f(abs(v))


def _vec(a: np.ndarray) -> str:
    return "(" + ", ".join(_f(float(v)) for v in np.ravel(a)) + ")"


def _mat(a: np.ndarray) -> str:
    return "[" + "; ".join(" ".join(_f(float(v)) for v in row) for row in np.atleast_2d(a)) + "]"


#: each rule's update in words (docs/MATH.md, "Update rules"), for d >= 2
RULE_FORMULAS = {
    "covariance": ("μ += α s P r̄", "Σ += α s ½ (P C P − P)"),
    "precision": ("μ += α s Λ r̄", "Λ += α s ½ (Σ − C)"),
    "cholesky": ("μ += α s P r̄", "L += α s tril(2 G L)"),
    "log-cholesky": ("μ += α s P r̄", "L (log diagonal) += α s tril(2 G L) (diagonal × L_kk)"),
    "natural": ("μ += α s r̄", "Σ += α s (C − Σ)"),
    "riemannian": ("μ += α s r̄", "Σ = L expm(α s (L⁻¹ C L⁻ᵀ − I)) Lᵀ"),
}


def _formula_1d(a: UpdateAnatomy) -> list[str]:
    """d = 1: the rule's two lines with the numbers of this update (sgd's step a s D; the step
    actually taken is shown beside it, measured, so an optimizer's own step is honest too)."""
    rule = a.settings.get("parameterization", "covariance")
    al, s = a.alpha_t, a.sign
    S = float(a.sigma_before[0, 0])
    rb = float(a.rbar[0])
    C = float(a.scatter[0, 0])
    dm = float(a.mean_step[0])
    ds = float(a.cov_step[0, 0])
    th0, th1 = float(a.stored_before[0, 0]), float(a.stored_after[0, 0])
    sa = f"{_f(al)}·({'+1' if s > 0 else '−1'})"
    csym = "r²" if a.y.shape[0] == 1 else "C"
    rsym = "r" if a.y.shape[0] == 1 else "r̄"
    if rule in ("covariance", "cholesky", "log-cholesky"):
        mean = f"μ += α s {rsym}/Σ = {sa}·{_f(rb)}/{_f(S)} = {_s(al * s * rb / S)}"
    elif rule == "precision":
        mean = f"μ += α s Λ {rsym} = {sa}·{_f(1 / S)}·{_f(rb)} = {_s(al * s * rb / S)}"
    else:
        mean = f"μ += α s {rsym} = {sa}·{_f(rb)} = {_s(al * s * rb)}"
    G = (C - S) / (2 * S * S)
    if rule == "covariance":
        cov = f"Σ += α s ({csym} − Σ)/(2Σ²) = {sa}·({_f(C)} − {_f(S)})/(2·{_f(S)}²) = {_s(al * s * G)}"
    elif rule == "precision":
        cov = (f"Λ += α s (Σ − {csym})/2 = {sa}·({_f(S)} − {_f(C)})/2 = {_s(al * s * (S - C) / 2)}"
               f"  → Λ = {_f(th1)}, Σ = 1/Λ")
    elif rule == "cholesky":
        L = th0
        cov = (f"L += α s 2 G L, G = ({csym} − Σ)/(2Σ²): {sa}·2·{_f(G)}·{_f(L)} = {_s(al * s * 2 * G * L)}"
               f"  → L = {_f(th1)}, Σ = L²")
    elif rule == "log-cholesky":
        L = math.exp(th0)
        cov = (f"log L += α s 2 G L², G = ({csym} − Σ)/(2Σ²): {sa}·2·{_f(G)}·{_f(L * L)} = "
               f"{_s(al * s * 2 * G * L * L)}  → Σ = L²")
    elif rule == "natural":
        cov = f"Σ += α s ({csym} − Σ) = {sa}·({_f(C)} − {_f(S)}) = {_s(al * s * (C - S))}"
    else:
        cov = (f"Σ = Σ·exp(α s ({csym}/Σ − 1)) = {_f(S)}·exp({sa}·({_f(C)}/{_f(S)} − 1))"
               f" = {_f(S * math.exp(al * s * (C / S - 1)))}")
    return [f"mean:  {mean}   taken: μ {_f(float(a.mu_before[0]))} → {_f(float(a.mu_after[0]))} ({_s(dm)})",
            f"var:   {cov}   taken: Σ {_f(S)} → {_f(float(a.sigma_after[0, 0]))} ({_s(ds)})"]


def step_against_spectrum(a: UpdateAnatomy) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(eigenvalues of Σ before, after, the step's size ‖ΔΣ‖₂, that size over the smallest
    eigenvalue before) of the symmetric parts, or None when a value is not finite. A step as
    large as the smallest eigenvalue can carry Σ out of the positive-definite cone (docs/MATH.md)."""
    def sym(m: np.ndarray) -> np.ndarray:
        return 0.5 * (m + m.T)

    mats = (a.sigma_before, a.sigma_after, a.cov_step)
    if not all(np.all(np.isfinite(m)) for m in mats):
        return None
    before = np.linalg.eigvalsh(sym(a.sigma_before))
    after = np.linalg.eigvalsh(sym(a.sigma_after))
    size = float(np.max(np.abs(np.linalg.eigvalsh(sym(a.cov_step)))))
    low = float(before[0])
    ratio = size / low if low > 0 else math.inf
    return before, after, size, ratio


def _spectrum_lines(a: UpdateAnatomy) -> list[str]:
    """d >= 2: the eigenvalues of Σ before and after, and the step against the smallest."""
    got = step_against_spectrum(a)
    if got is None:
        return []
    before, after, size, ratio = got
    if a.divergence is not None:  # not applied: no step to weigh (the next line says what failed)
        return [f"λ(Σ):  {_vec(before)}"]
    line = (f"λ(Σ):  {_vec(before)} → {_vec(after)}; the step's size ‖ΔΣ‖₂ = {_f(size)} is "
            + (f"{_f(ratio)} × the smallest λ" if math.isfinite(ratio) else "not measured against λ ≤ 0"))
    if math.isfinite(ratio) and ratio >= 1:
        line += " (a step this large can leave the positive-definite cone)"
    return [line]


def anatomy_text(a: UpdateAnatomy) -> str:
    """Plain text (never rich text: nothing from user data is interpreted)."""
    st = a.settings
    rule = st.get("parameterization", "covariance")
    optimizer = st.get("optimizer", "sgd")
    sign = "+1 (climbs log L)" if a.sign > 0 else "−1 (descends log L)"
    d = a.mu_before.shape[0]
    head = f"update {a.step:,} · {rule}" + (f" + {optimizer}" if optimizer != "sgd" else "") + \
        f" · α_t = {_f(a.alpha_t)} · s = {sign}"
    lines = [head]
    if d == 1:
        ys = ", ".join(_f(float(v)) for v in a.y[:4, 0]) + (" …" if a.y.shape[0] > 4 else "")
        rs = ", ".join(_f(float(v)) for v in a.r[:4, 0]) + (" …" if a.y.shape[0] > 4 else "")
        lines.append(f"sample y = {ys}   r = y − μ = {rs}" + (f"   r̄ = {_f(float(a.rbar[0]))}, C = "
                                                              f"{_f(float(a.scatter[0, 0]))}" if a.y.shape[0] > 1
                                                              else ""))
        lines += _formula_1d(a)
        if optimizer != "sgd":
            lines.append(f"({optimizer} turns the direction into its own step: 'taken' is what it did)")
    else:
        lines.append(f"sample y = {_vec(a.y[0])}" + (f" (+{a.y.shape[0] - 1} more)" if a.y.shape[0] > 1 else "")
                     + f"   r̄ = {_vec(a.rbar)}")
        fm, fc = RULE_FORMULAS.get(rule, ("", ""))
        lines.append(f"mean:  {fm}: μ {_vec(a.mu_before)} → {_vec(a.mu_after)}, step {_vec(a.mean_step)}")
        lines.append(f"cov:   {fc}: Σ step {_mat(a.cov_step)} → Σ = {_mat(a.sigma_after)}")
        lines += _spectrum_lines(a)
    if a.divergence is not None:
        lines.append(f"NOT APPLIED: {a.divergence.message}")
    return "\n".join(lines)


def take_update(run: RunLoop, chain: int = 0) -> UpdateAnatomy:
    """Apply one update to ``run`` and return what it did to ``chain``."""
    est = run.estimator
    mu0, cov0, th0 = est.means[chain], est.covs[chain], est.stored[chain]
    alpha_t = float(est.alpha_t[chain])
    settings = est.settings(chain)
    sign = float(est._signs[chain])
    run.advance(1)
    return UpdateAnatomy(
        step=run.step, chain=chain, settings=settings, alpha_t=alpha_t, sign=sign,
        y=np.array(run.last_batch, dtype=float), mu_before=mu0, sigma_before=cov0,
        mu_after=est.means[chain], sigma_after=est.covs[chain], stored_before=th0,
        stored_after=est.stored[chain], divergence=est.divergence(chain),
    )


def session_before(session: dict, step: int) -> dict:
    """A session whose live changes stop at ``step`` (a branch from there)."""
    out = dict(session)
    out["changes"] = [dict(c) for c in session.get("changes", []) if c["step"] <= step]
    out["steps"] = int(step)
    return out


class Rewinder:
    """Rebuilds a run (its session dict, ``RunLoop.session()``) at any step, from checkpoints."""

    def __init__(self, session: dict, every: int = CHECKPOINT_EVERY, keep: int = CHECKPOINTS) -> None:
        self.session = {k: v for k, v in session.items() if k != "steps"}
        self.every = int(every)
        self.keep = int(keep)
        from .settings import build_run

        s = from_dict(self.session)
        self._checkpoints: dict[int, RunLoop] = {0: build_run(s)}

    def matches(self, session: dict | None) -> bool:
        """Does this rewinder replay ``session`` (the same start and live changes)?"""
        if session is None:
            return False
        return {k: v for k, v in session.items() if k != "steps"} == self.session

    def run_at(self, step: int) -> RunLoop:
        """A new run at ``step`` (its own copy: the checkpoints stay as they are)."""
        step = int(step)
        if step < 0:
            raise ValueError(f"step must be >= 0; got {step}")
        base = max(s for s in self._checkpoints if s <= step)
        run = copy.deepcopy(self._checkpoints[base])
        while run.step < step:
            nxt = (run.step // self.every + 1) * self.every
            run.advance(min(step, nxt) - run.step)
            if run.step % self.every == 0 and run.step not in self._checkpoints:
                self._remember(run)
        return run

    def _remember(self, run: RunLoop) -> None:
        self._checkpoints[run.step] = copy.deepcopy(run)
        while len(self._checkpoints) > self.keep:
            # keep step 0 and the newest; drop the oldest in between
            del self._checkpoints[sorted(self._checkpoints)[1]]

    def anatomy_at(self, step: int, chain: int = 0) -> tuple[RunLoop, UpdateAnatomy]:
        """The run at ``step`` and the anatomy of update ``step`` (>= 1)."""
        if step < 1:
            raise ValueError(f"update numbers start at 1; got {step}")
        run = self.run_at(step - 1)
        return run, take_update(run, chain)

    def branch(self, step: int, estimator: Any = None) -> RunLoop:
        """A new run from ``step``: replayed exactly to there, later live changes dropped, then chain
        0 brought to the settings of ``estimator`` (an ``EstimatorSettings``; None keeps them) by live
        changes recorded at ``step`` (so the new run's session reproduces the branch)."""
        run = self.run_at(step)
        run.drop_scheduled()
        if estimator is not None:
            now = run.estimator.settings(0, full=True)
            for name, change in live.LIVE_CHANGES.items():
                if not change.fields:
                    continue
                want = change.value_of(estimator)
                have = [now[f] for f in change.fields]
                have = have[0] if len(have) == 1 else have
                if want != have:
                    run.apply_change(name, want, chain=0)
        return run


def snapshot_at(snap: Snapshot, i: int) -> Snapshot:
    """The picture of recorded history point ``i`` of ``snap``: each chain's state, eigenvalues and
    KL there, the running MLE there, the history up to it; no samples (those shown now came later)."""
    h = snap.history
    n = h.n
    if not 0 <= i < n:
        raise ValueError(f"history point must be 0..{n - 1}; got {i}")
    step = int(h.steps[i])
    chains = []
    for k, c in enumerate(snap.chains):
        div = c.divergence if c.divergence is not None and step >= c.divergence.step else None
        mean, cov, eig = h.mean[k, i], h.cov[k, i], h.eig[k, i]
        if not np.all(np.isfinite(mean)):  # after a failure the history holds no data: its last state
            ok = np.flatnonzero(np.isfinite(h.mean[k, : i + 1, 0]))
            j = int(ok[-1]) if ok.size else 0
            mean, cov, eig = h.mean[k, j], h.cov[k, j], h.eig[k, j]
        chains.append(replace(c, steps=min(step, c.steps), mean=mean, cov=cov, eig=eig,
                              kl=available(float(h.kl[k, i])), alpha_t=float(h.alpha[k, i]),
                              divergence=div))
    past = h.take(np.arange(i + 1))
    return Snapshot(
        step=step, n_samples=step * max(1, snap.n_samples // max(1, snap.step)), chains=tuple(chains),
        true_mean=snap.true_mean if h.true_mean is None else h.true_mean[i], true_cov=snap.true_cov,
        ref_mean=h.ref_mean[i], ref_cov=h.ref_cov[i], ref_kl=available(float(h.ref_kl[i])),
        recent=np.zeros((0, snap.recent.shape[1])), history=past,
        extra={"running": False, "scrub": i}, session=snap.session,
    )


def state_of(run: RunLoop) -> dict[str, np.ndarray]:
    """The estimators' numerical state, which a replay reproduces bit for bit: means, stored
    parameters, update counts, rates, optimizer moments, divergence status. (The running MLE is
    equal to round-off only: it depends on how the updates were chunked; docs/MATH.md.)"""
    est = run.estimator
    return {"mu": est.means, "stored": est.stored, "steps": est.steps, "alpha_t": est.alpha_t,
            "opt_mu": est._opt_mu.copy(), "opt_th": est._opt_th.copy(), "opt_t": est._opt_t.copy(),
            "status": est._status.copy(), "samples": np.array([run.n_samples, run.step])}


__all__ = ["CHECKPOINTS", "CHECKPOINT_EVERY", "RULE_FORMULAS", "Rewinder", "UpdateAnatomy", "anatomy_text",
           "session_before", "snapshot_at", "state_of", "step_against_spectrum", "take_update"]
