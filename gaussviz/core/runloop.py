"""The one run loop: source -> estimators -> reference -> history -> snapshots.

The CLI, the GUI worker, the benchmarks and the tests all drive a run through
``RunLoop.advance``. A snapshot is an immutable copy (read-only arrays), so a
worker thread can hand it to the GUI thread without locks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import jit, live
from . import kernels as kn
from .estimator import BatchEstimator
from .history import History, frozen_copy
from .live import LIVE_CHANGES
from .metrics import eig_and_kl, mean_logliks
from .reference import RunningMLE
from .snapshot import ChainState, Snapshot, available
from .sources import SampleSource
from .validation import MAX_ALPHA, MAX_STEPS, MIN_ALPHA, quote

#: samples kept for the cloud plot
RECENT_SAMPLES = 5000
#: the most history points one chunk may add (a chunk of 1e6 updates records about this many)
MAX_RECORDS_PER_CHUNK = 256
#: history values (d*d + d per chain and point) one chunk may record for the fine tail: at
#: small d every update of a paced run, at large d fewer (each point costs an eigendecomposition)
FINE_RECORD_BUDGET = 4096
#: the most sample values (floats) drawn at once, whatever the mini-batch and dimension (32 MB)
SAMPLE_BUDGET = 4_000_000
#: updates per ``advance`` call of a headless run (between progress reports)
HEADLESS_CHUNK = 50_000


def check_changes(changes: Any, n_chains: int) -> None:
    """A session's change timeline: well-formed, in step order, and every value checked with
    the same limits as a live change (``LiveChange.check``, a dry run), so a bad value is
    reported when the file is read, never when the replay reaches it."""
    if not isinstance(changes, list):
        raise ValueError(f"changes must be a list; got {type(changes).__name__}")
    last = 0
    keys = {"step", "chain", "field", "value"}
    checks = {name: c.check for name, c in LIVE_CHANGES.items()}
    for i, c in enumerate(changes):  # millions in a long session: keep the common path short
        if type(c) is not dict or c.keys() != keys:
            raise ValueError(f"changes[{i}] must have exactly the keys step, chain, field, value; got {quote(c)}")
        step, chain, name, value = c["step"], c["chain"], c["field"], c["value"]
        if type(step) is not int or not last <= step <= MAX_STEPS:
            if isinstance(step, int) and not isinstance(step, bool) and last <= step:
                raise ValueError(f"changes[{i}].step must be at most {MAX_STEPS:,}; got {step}")
            raise ValueError(f"changes[{i}].step must be an integer >= {last} (in order); got {quote(step)}")
        if type(chain) is not int or not 0 <= chain < n_chains:
            raise ValueError(f"changes[{i}].chain must be an estimator index 0..{n_chains - 1}; got {quote(chain)}")
        if name == "alpha" and type(value) is float and MIN_ALPHA <= value <= MAX_ALPHA:
            pass  # the usual change, checked here at once
        else:
            check = checks.get(name) if type(name) is str else None
            if check is None:
                raise ValueError(f"changes[{i}].field must be one of {', '.join(LIVE_CHANGES)}; got {quote(name)}")
            try:
                check(value)
            except ValueError as e:
                raise ValueError(f"changes[{i}] ({name} at update {step}): {e}") from None
        last = step


def chain_label(settings: dict) -> str:
    label = f"{settings['parameterization']}, alpha = {settings['alpha']:.3g}"
    # Compared chains may differ in schedule only (constant vs 1/t): the legend must say so.
    if settings.get("schedule", "constant") != "constant":
        label += f", {settings['schedule']}"
    if settings.get("optimizer", "sgd") != "sgd":
        label += f", {settings['optimizer']}"
    if settings.get("averaging", False):
        label += ", averaged"
    return label


class RunLoop:
    """Drives one sample stream through K estimators (compare mode shares the stream)."""

    def __init__(self, source: SampleSource, estimator: BatchEstimator,
                 history_capacity: int | None = None, heldout_size: int = 1000,
                 labels: list[str] | None = None, session: dict | None = None,
                 changes: list[dict] = ()) -> None:
        if source.dim != estimator.d:
            raise ValueError(f"source dimension {source.dim} != estimator dimension {estimator.d}")
        self.source = source
        self.estimator = estimator
        self.reference = RunningMLE(source.dim)
        self.history = History(estimator.K, estimator.d, history_capacity)
        self.step = 0
        self.n_samples = 0
        self._labels = labels
        #: settings at step 0 (a session dict) and the live changes applied so far
        self._session_start = session
        self.changes: list[dict] = []
        # shared, not copied (a session may hold millions): scheduled changes are only read
        self._scheduled = list(changes)
        #: how many of the scheduled changes have been applied (the window syncs its controls)
        self.replayed = 0
        self._session_cache: dict | None = None
        self._recent = np.zeros((RECENT_SAMPLES, source.dim))
        self._n_recent = 0
        self._recent_pos = 0
        #: the mini-batch of the last update (read by core.timetravel.take_update)
        self.last_batch = np.zeros((0, source.dim))
        self._heldout = source.heldout(heldout_size) if heldout_size else None
        self._record_initial()

    @property
    def d(self) -> int:
        return self.estimator.d

    @property
    def all_diverged(self) -> bool:
        return bool(np.all(self.estimator.diverged))

    def labels(self) -> list[str]:
        if self._labels is not None:
            return list(self._labels)
        return [chain_label(self.estimator.settings(i)) for i in range(self.estimator.K)]

    def _truth(self):
        # Drifting targets change their truth; ask the source each time.
        try:
            return np.asarray(self.source.mean, dtype=float), np.asarray(self.source.cov, dtype=float)
        except (AttributeError, NotImplementedError):
            return None, None

    def _record_initial(self) -> None:
        est = self.estimator
        mu = est.means[:, None]
        cov = est.covs[:, None]
        tm, tc = self._truth()
        eig, kl = eig_and_kl(mu[:, 0], cov[:, 0], tm, tc)
        nan_d = np.full((1, self.d), np.nan)
        true_mean = true_eig = None
        if getattr(self.source, "chunk_truth", None) is not None and tm is not None:
            true_mean = tm[None].astype(float)
            true_eig = np.linalg.eigvalsh(0.5 * (tc + tc.T))[None]
        self.history.append(
            [0], est.alpha_t[:, None], mu, cov, eig[:, None], kl[:, None], np.zeros((est.K, 1)),
            nan_d, np.full((1, self.d, self.d), np.nan), np.array([np.nan]),
            true_mean=true_mean, true_eig=true_eig,
            avg_kl=np.where(est.averaging, np.where(np.isfinite(kl), kl, np.nan), np.nan)[:, None],
        )

    def _remember(self, Y: np.ndarray) -> None:
        n = min(Y.shape[0], RECENT_SAMPLES)
        tail = Y[-n:]
        end = self._recent_pos + n
        if end <= RECENT_SAMPLES:
            self._recent[self._recent_pos:end] = tail
        else:
            k = RECENT_SAMPLES - self._recent_pos
            self._recent[self._recent_pos:] = tail[:k]
            self._recent[: n - k] = tail[k:]
        self._recent_pos = end % RECENT_SAMPLES
        self._n_recent = min(RECENT_SAMPLES, self._n_recent + n)

    def recent(self) -> np.ndarray:
        """The most recent samples, oldest first."""
        if self._n_recent < RECENT_SAMPLES:
            return self._recent[: self._n_recent].copy()
        return np.roll(self._recent, -self._recent_pos, axis=0)

    def apply_change(self, name: str, value: Any = None, chain: int = 0, _scheduled: dict | None = None) -> None:
        """A live change before the next update, recorded so a session replays it at the same step.

        Shared changes (``batch_size``, ``resume``) apply to every chain, the others to ``chain``.
        ValueError (nothing applied, nothing recorded) on a bad value.
        """
        est = self.estimator
        change = live.get(name)
        if not (isinstance(chain, int) and 0 <= chain < est.K):
            raise ValueError(f"chain must be 0..{est.K - 1}; got {chain!r}")
        recorded = change.apply(est, value, chain)
        if _scheduled is not None and _scheduled["step"] == self.step and type(recorded) is type(value) \
                and recorded == value:
            self.changes.append(_scheduled)  # the replayed entry as it is (shared: a timeline is read-only)
        else:
            self.changes.append({"step": self.step, "chain": chain, "field": name, "value": recorded})
        self._session_cache = None

    def session(self) -> dict | None:
        """The session dict that reproduces this run up to now (None for a hand-built run)."""
        if self._session_start is None:
            return None
        if self._session_cache is None:
            d = dict(self._session_start)
            # The recorded changes are never modified after they are appended: share them (a
            # copy of the list of references, not of millions of dicts, per snapshot).
            d["changes"] = list(self.changes)
            self._session_cache = d
        out = dict(self._session_cache)
        out["steps"] = self.step
        return out

    def _next_scheduled(self) -> int | None:
        """The update before which the next scheduled change applies (None: none left)."""
        if self.replayed < len(self._scheduled):
            return self._scheduled[self.replayed]["step"]
        return None

    def _apply_scheduled(self) -> None:
        # An index, not list.pop(0): replaying n changes stays O(n).
        while (at := self._next_scheduled()) is not None and at <= self.step:
            c = self._scheduled[self.replayed]
            try:
                self.apply_change(c["field"], c["value"], c["chain"], _scheduled=c)
            except (ValueError, TypeError) as e:
                raise ValueError(f"session change at update {c['step']} ({c['field']}): {e}") from None
            self.replayed += 1

    def advance(self, n_updates: int) -> None:
        """Run n_updates updates of every running chain on fresh samples of the stream.

        Scheduled changes (a replayed session's) apply exactly at their update:
        the chunk is split there, which changes nothing else (streams and
        kernels are chunk-size independent). Where changes come closer together
        than the history records points (a timeline of millions), the updates
        between them run on one draw of samples and the stretch records one
        point (``_advance_dense``), so replaying n changes costs O(n) with a
        small constant.
        """
        end = self.step + int(n_updates)
        while True:
            self._apply_scheduled()  # a change right after the last update belongs to this step
            if self.step >= end:
                return
            at = self._next_scheduled()
            if at is None or at >= end:
                self._advance(end - self.step)
            elif at - self.step >= self.history.stride:
                self._advance(at - self.step)
            else:
                self._advance_dense(min(end, self.step + self.history.stride))

    def _advance_dense(self, limit: int) -> None:
        """Updates up to ``limit`` (at most one history stride) through the scheduled changes in
        between: one draw of samples, the kernels run piece by piece between the changes
        without recording, and the last piece records as usual. A mini-batch change ends the
        stretch (it changes how many samples an update takes)."""
        est = self.estimator
        b = est.batch_size
        stop = min(limit, self.step + max(1, SAMPLE_BUDGET // (b * self.d)))
        for i in range(self.replayed, len(self._scheduled)):
            c = self._scheduled[i]
            if c["step"] >= stop:
                break
            if c["field"] == "batch_size":
                stop = c["step"]
                break
        n_total = stop - self.step
        Y = np.ascontiguousarray(self.source.sample(n_total * b))
        Y3 = Y[None]  # one stream shared by every chain
        streams = np.zeros(est.K, dtype=np.int64)
        offsets = np.zeros(est.K, dtype=np.int64)
        done = 0
        while (at := self._next_scheduled()) is not None and at < stop:
            n = at - self.step
            if n > 0:
                offsets[:] = done * b
                est.advance(Y3, n, streams=streams, offsets=offsets)
                self.step += n
                done += n
            self._apply_scheduled()
        head = Y[:done * b]
        self.reference.update(head)
        self._remember(head)
        self.n_samples += head.shape[0]
        self._advance_piece(n_total - done, Y[done * b:], head.shape[0])

    def _advance(self, n_updates: int) -> None:
        """Updates in pieces that draw at most SAMPLE_BUDGET sample values each, planned from
        the mini-batch in force now (a replayed change may have made it 1 or 100,000)."""
        per = max(1, SAMPLE_BUDGET // (self.estimator.batch_size * self.d))
        while n_updates > 0:
            n = min(n_updates, per)
            self._advance_piece(n)
            n_updates -= n

    def _advance_averaging(self, Y: np.ndarray, n_updates: int, fine: int):
        """``advance`` in pieces of ``fine`` updates, reading the Polyak-Ruppert averages after each:
        the kernels record the states, not the averages, and the chunking changes no number."""
        est = self.estimator
        b = est.batch_size
        parts, avg_mu, avg_cov = [], [], []
        for i0 in range(0, n_updates, fine):
            n = min(fine, n_updates - i0)
            parts.append(est.advance(Y[i0 * b:(i0 + n) * b], n, record_every=n))
            avg_mu.append(est.averaged_means)
            avg_cov.append(est.averaged_covs)
        rec = tuple(np.concatenate([p[i] for p in parts], axis=1) for i in range(4))
        return (*rec, np.stack(avg_mu, axis=1), np.stack(avg_cov, axis=1))

    def _record_every(self, n_updates: int) -> tuple[int, int]:
        """(fine, every): record every ``fine`` updates for the history's fine tail, of which every
        ``every``-th (``every`` a multiple of ``fine``) also goes to the long-term buffer."""
        every = max(self.history.stride, -(-n_updates // MAX_RECORDS_PER_CHUNK))
        d = self.d
        budget = max(16, min(MAX_RECORDS_PER_CHUNK, FINE_RECORD_BUDGET // (d * d + d)))
        fine = max(1, -(-n_updates // budget))
        if every % fine:
            fine = every
        return fine, every

    def _advance_piece(self, n_updates: int, Y: np.ndarray | None = None, drawn_before: int = 0) -> None:
        """``n_updates`` updates on fresh samples (or on ``Y``, the tail of a draw that began
        ``drawn_before`` samples earlier), recorded in the history."""
        est = self.estimator
        b = est.batch_size
        if Y is None:
            Y = np.ascontiguousarray(self.source.sample(n_updates * b))
        fine, every = self._record_every(n_updates)
        averaging = bool(np.any(est.averaging))
        if averaging:
            rec_alpha, rec_mu, rec_cov, rec_asym, avg_mu, avg_cov = self._advance_averaging(Y, n_updates, fine)
        else:
            rec_alpha, rec_mu, rec_cov, rec_asym = est.advance(Y, n_updates, record_every=fine)
        R = rec_mu.shape[1]
        local = np.minimum(np.arange(1, R + 1) * fine, n_updates)
        keep = (local % every == 0) | (local == n_updates)
        steps = self.step + local
        ref_mu, ref_cov = self.reference.update_segments(Y, local * b)
        tm, tc = self._truth()
        K, d = est.K, est.d
        avg_kl = None
        if averaging:
            avg_kl = np.full((K, R), np.nan)
            for k in np.flatnonzero(est.averaging):
                if tm is not None:
                    avg_kl[k] = eig_and_kl(avg_mu[k], avg_cov[k], tm, tc)[1]
            avg_kl = np.where(np.isfinite(avg_kl), avg_kl, np.nan)
        eig, kl = eig_and_kl(rec_mu.reshape(K * R, d), rec_cov.reshape(K * R, d, d), tm, tc)
        eig = eig.reshape(K, R, d)
        kl = kl.reshape(K, R)
        moving = getattr(self.source, "chunk_truth", None)
        true_mean = true_eig = None
        if moving is not None:
            # A drifting truth: each history point against the truth of its own moment.
            tms, tcs = moving(local * b + drawn_before)
            for j in range(R):
                kl[:, j] = eig_and_kl(rec_mu[:, j], rec_cov[:, j], tms[j], tcs[j])[1]
            true_mean = np.asarray(tms, dtype=float)
            true_eig = np.linalg.eigvalsh(0.5 * (tcs + np.swapaxes(tcs, -1, -2)))
        # Points after a chain's failure hold its frozen last state: mark them "no data".
        for k, div in enumerate(est.divergences()):
            if div is not None:
                dead = steps >= div.step
                if dead.any():
                    for a in (rec_alpha, rec_asym, kl):
                        a[k, dead] = np.nan
                    for a in (rec_mu, rec_cov, eig):
                        a[k, dead] = np.nan
                    if avg_kl is not None:
                        avg_kl[k, dead] = np.nan
        if self.reference.n > d and tm is not None:
            _, ref_kl = eig_and_kl(ref_mu, ref_cov, tm, tc)
            if moving is not None:
                ref_kl = np.array([eig_and_kl(ref_mu[j:j + 1], ref_cov[j:j + 1], tms[j], tcs[j])[1][0]
                                   for j in range(R)])
        else:
            ref_kl = np.full(R, np.nan)
        ref_kl = np.where(np.isfinite(ref_kl), ref_kl, np.nan)
        kl = np.where(np.isfinite(kl), kl, np.nan)
        if averaging and moving is not None:
            for k in np.flatnonzero(est.averaging):
                avg_kl[k] = [eig_and_kl(avg_mu[k, j:j + 1], avg_cov[k, j:j + 1], tms[j], tcs[j])[1][0]
                             for j in range(R)]
            avg_kl = np.where(np.isfinite(avg_kl), avg_kl, np.nan)
        self.history.append(steps, rec_alpha, rec_mu, rec_cov, eig, kl, rec_asym, ref_mu, ref_cov, ref_kl,
                            true_mean=true_mean, true_eig=true_eig, keep=keep, avg_kl=avg_kl)
        self.step += n_updates
        self.n_samples += Y.shape[0]
        self.last_batch = Y[-b:]
        self._remember(Y)

    def drop_scheduled(self) -> None:
        """Forget the scheduled (replayed) changes not applied yet: a branch goes its own way."""
        self._scheduled = self._scheduled[: self.replayed]

    @property
    def next_change_at(self) -> int | None:
        """The update before which the next scheduled (replayed) change applies; None: none left."""
        return self._next_scheduled()

    def apply_due_changes(self) -> None:
        """Apply the scheduled changes due at the current update now (``advance`` would apply them
        first anyway; a caller planning its next chunk wants the batch size they set)."""
        self._apply_scheduled()

    @property
    def pending_changes(self) -> int:
        """Scheduled (replayed) changes not applied yet."""
        return len(self._scheduled) - self.replayed

    def run_to(self, steps: int, progress: Callable[[int], None] | None = None,
               chunk: int = HEADLESS_CHUNK) -> RunLoop:
        """The headless run: advance to ``steps`` updates in chunks (the CLI, render and replays).

        Stops early once every chain has diverged and no replayed change (e.g. a
        Resume) is still to come. ``progress(step)`` is called after each chunk.
        """
        steps, chunk = int(steps), int(chunk)
        if steps < 0:
            raise ValueError(f"steps must be >= 0; got {steps}")
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1; got {chunk}")
        while self.step < steps and not (self.all_diverged and self.pending_changes == 0):
            self.advance(min(chunk, steps - self.step))
            if progress is not None:
                progress(self.step)
        return self

    def snapshot(self, extra: dict | None = None) -> Snapshot:
        """An immutable picture of the run now."""
        est = self.estimator
        means, covs = est.means, est.covs
        tm, tc = self._truth()
        eig, kl = eig_and_kl(means, covs, tm, tc)
        alpha_t = est.alpha_t
        labels = self.labels()
        chains = []
        avg_on = est.averaging
        avg_mu, avg_cov = est.averaged_means, est.averaged_covs
        avg_kl = np.full(est.K, np.nan)
        if avg_on.any() and tm is not None:
            avg_kl[avg_on] = eig_and_kl(avg_mu[avg_on], avg_cov[avg_on], tm, tc)[1]
        lls = mean_logliks(means, covs, self._heldout) if self._heldout is not None else np.full(est.K, np.nan)
        for k in range(est.K):
            c = covs[k]
            asym = float(jit.use(kn).relative_asymmetry(np.ascontiguousarray(c)))  # as the history's (scale-safe)
            ll = float(lls[k])
            chains.append(ChainState(
                label=labels[k], settings=est.settings(k), steps=int(est._steps[k]),
                mean=frozen_copy(means[k]), cov=frozen_copy(c), eig=frozen_copy(eig[k]),
                kl=available(kl[k]), alpha_t=float(alpha_t[k]), asymmetry=asym,
                heldout_loglik=available(ll), divergence=est.divergence(k),
                avg_mean=frozen_copy(avg_mu[k]) if avg_on[k] else None,
                avg_cov=frozen_copy(avg_cov[k]) if avg_on[k] else None,
                avg_kl=available(avg_kl[k]),
            ))
        ref = self.reference
        if ref.n > self.d and tm is not None:
            ref_kl = available(eig_and_kl(ref.mean[None], ref.cov[None], tm, tc)[1][0])
        else:
            ref_kl = float("nan")
        return Snapshot(
            step=self.step, n_samples=self.n_samples, chains=tuple(chains),
            true_mean=None if tm is None else frozen_copy(tm), true_cov=None if tc is None else frozen_copy(tc),
            ref_mean=frozen_copy(ref.mean), ref_cov=frozen_copy(ref.cov), ref_kl=ref_kl,
            recent=frozen_copy(self.recent()), history=self.history.view(), extra=dict(extra or {}),
            session=self.session(),
        )
