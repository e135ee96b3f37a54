"""Pacing the window's redraws: the newest snapshot drawn about 60 times a second, in stages
that never hold the GUI thread for long.

How a frame is drawn (measured with ``benchmarks/gui_bench.py`` and py-spy):

- A timer tick takes the worker's newest snapshot (``RunWorker.latest``) and draws one *stage*:
  a few of the six plots (``LivePlots.show_snapshot_part``). Qt paints what changed after the
  slot returns; a zero-timer then measures the stage's cost, paint included, as the GUI
  thread's CPU time: the wall time also counts waits for the GIL and for a core on a busy
  machine, and splitting a frame further because of them only added paint passes (each has a
  fixed cost of ~2 ms: measured, one chain, a frame of 6 stages cost 25 ms of CPU against
  7.5 ms in one pass).
- A frame has as many stages as keep each under ``STAGE_MS``, so input, timers and the run
  worker (which needs the GIL between its chunks) are never kept waiting for a whole frame.
  The two kinds of running frame (one per trace group) are measured apart: one stage more when
  a kind went over ``STAGE_MS`` in ``OVER_FRAMES`` frames in a row (one spike, an axis re-laid
  out, does not split frames for good), one fewer when every kind would still keep well under
  it. A stage keeps to one column of the plot grid where it can (``FRAME_PLANS``): it repaints
  the bounding rectangle of what it changed.
- Between two stages of a frame the GUI gets ``STAGE_GAP_MS`` for everything else: Qt handles a
  stage's paint before timers, and back to back, stages kept a 10 ms timer waiting 20-30 ms.
  When frames take ``GAP_BEFORE_FRAME_STAGES`` stages or more (slow plots: five chains), the
  gap is also kept before the next frame: a frame's last stage and the next one's first, back
  to back, did the same (five chains, six interleaved 10 s runs: timer p99 17.5-22.7 ms
  against 20.0-24.1 without). After a frame of fewer, shorter stages (one chain) the next
  starts at once: there, the wait cost frames.
- The frame period is the target (``FRAME_MS``, ~60 frames/s) unless drawing would then take
  more than ``DRAW_BUDGET`` of the GUI thread: slow plots (five chains, a large dimension, a
  4K screen) get fewer frames, never a frozen window. Frames are due one period after the last
  was due (not after it started), and the timer polls ``POLLS_PER_PERIOD`` times a period, so
  late polls do not add up to fewer frames.

The plots only re-rasterize what changed (each canvas keeps its last image), so a stage that
repaints one plot does not redraw its neighbours.

While the run is running, the plots have two cadences: the sample cloud with its ellipses (the
estimate people watch move) is drawn every frame, the five trace plots in two groups on
alternate frames (``TRACE_GROUPS``), so each trace runs at half the frame rate. Measured at
d = 2 (one chain, drawing alone): a frame of all six plots 9.2 ms of GUI-thread CPU, a frame of
the cloud and one group 5.5-6 ms. A paused run, a step, a screenshot and an export draw all six.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6 import QtCore

from ..core.snapshot import Snapshot

#: the frame period aimed at (ms): ~60 frames/s
FRAME_MS = 16.0
#: drawing may take at most this fraction of the GUI thread; the period stretches beyond it
DRAW_BUDGET = 0.7
#: the timer polls this many times per frame period (per stage of a frame split in stages): a
#: frame starts at the first poll after it is due, so coarse polls lose frames (at 2 per period,
#: 57-59 frames/s of the 62.5 aimed at, measured)
POLLS_PER_PERIOD = 4
#: the slowest frame period (a very slow plot still updates 4 times a second)
MAX_FRAME_MS = 250.0
#: a stage (one tick's drawing and painting, GUI-thread CPU) should cost at most this (ms), so a
#: 10 ms timer elsewhere in the GUI waits under 20 ms even when a stage starts just before its
#: tick and the run worker holds the GIL a moment. A frame is split only above it: every stage is
#: a paint pass of its own, with a fixed cost of ~2 ms. Measured (gui_bench, interleaved 10 s
#: runs): at 10 ms the timer p99 was 19.6-25.2 ms with five chains (4 of 5 runs over 20) and
#: 19.9-21.8 with one; at 8 ms, 17.4-18.7 (five chains, 36.6-41.7 frames/s instead of 44-58) and
#: 16.5-20.1 (one chain, frame rate unchanged). At 7 ms one chain lost frames (54 frames/s).
STAGE_MS = 8.0
#: the plots of each stage, by the number of stages of a frame. A stage repaints the bounding
#: rectangle of what it changed, so a stage keeps to one column of the grid where it can (the
#: wide layout's columns: cloud and pspace, mean and covariance, kl and spectrum): a stage of the
#: cloud and the spectrum repainted the whole window.
FRAME_PLANS: dict[int, tuple[tuple[str, ...], ...]] = {
    1: (("cloud", "mean", "covariance", "spectrum", "kl", "pspace"),),
    2: (("cloud", "pspace", "mean", "covariance"), ("spectrum", "kl")),
    3: (("cloud", "pspace"), ("mean", "covariance"), ("spectrum", "kl")),
    4: (("cloud",), ("pspace",), ("mean", "covariance"), ("spectrum", "kl")),
    5: (("cloud",), ("pspace",), ("mean",), ("covariance",), ("spectrum", "kl")),
    6: (("cloud",), ("pspace",), ("mean",), ("covariance",), ("spectrum",), ("kl",)),
}
#: the least time between the end of a stage (its paint done) and the next stage of its frame,
#: or the next frame after a slow one (ms). Qt handles a stage's paint before timers, and the
#: pacer's own poll was due again by then: back to back, two or three stages kept a 10 ms timer
#: elsewhere in the GUI waiting 20-30 ms (measured with five chains). A poll inside this gap lets
#: everything that waited go first.
STAGE_GAP_MS = 2.0
#: the gap is also kept before the next frame after a frame of this many stages or more (slow
#: plots: five chains' frames take 3, each stage 6-8 ms). After a frame of two short stages (one
#: chain, ~5 ms each) the wait cost frames (one chain, four interleaved 10 s runs: 57.0 frames/s
#: on average with it, 60.3 without) and the timer gaps gained nothing measurable.
GAP_BEFORE_FRAME_STAGES = 3
#: a kind of frame is split further after this many frames in a row with a stage over STAGE_MS
OVER_FRAMES = 3
#: frames a number of stages is kept before fewer are tried ...
RESPLIT_FRAMES = 8
#: ... and fewer are taken only if each stage would then cost at most this share of STAGE_MS
RESPLIT_SHARE = 0.75
#: the trace plots of a running frame, in turn (the cloud is drawn in every frame)
TRACE_GROUPS: tuple[tuple[str, ...], ...] = (("mean", "covariance"), ("spectrum", "kl", "pspace"))
#: Python's GIL switch interval while a window is open (s): the run worker holds the GIL only
#: in short Python stretches between its compiled chunks; at the default 5 ms a GUI tick could
#: wait that long for it.
GIL_SWITCH_INTERVAL = 0.001


def _smooth(old: float, new: float) -> float:
    """Exponential smoothing of a measured cost (the first measurement taken as it is)."""
    return new if old == 0.0 else 0.7 * old + 0.3 * new


class FramePacer(QtCore.QObject):
    """Draws the newest snapshot on a timer, a frame spread over as many stages as it needs.

    ``latest()`` returns (sequence number, snapshot) of the newest snapshot; ``draw_part(snap,
    parts)`` draws some plots of its frame; ``draw_all(snap, parts)`` completes the frame with
    ``parts`` (None: every plot; the window updates its status there and counts the frame).
    """

    def __init__(self, latest: Callable[[], tuple[int, Snapshot | None]],
                 draw_part: Callable[[Snapshot, tuple[str, ...]], None],
                 draw_all: Callable[[Snapshot, tuple[str, ...] | None], bool],
                 before_tick: Callable[[], None] | None = None,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._latest = latest
        self._draw_part = draw_part
        self._draw_all = draw_all
        self._before_tick = before_tick
        self.n_stages = 1  # stages of the next frame
        self._plan = FRAME_PLANS[1]
        self._staged: Snapshot | None = None  # the snapshot whose frame is being drawn
        self._stage = 0
        self._frame_parts: tuple[str, ...] | None = None  # the plots of the staged frame (None: all)
        self._group = 0  # the trace group of the next running frame
        self._last_seq = -1
        #: frames are started at most once per period; the timer polls POLLS_PER_PERIOD times as
        #: often, so a snapshot published just after a tick waits a fraction of a period
        self._period_ms = FRAME_MS
        self._frame_due = 0.0
        self.frame_cost = 0.0  # seconds per frame (drawing and painting), smoothed
        #: per kind of frame (its plots; None: all): [frame cost (smoothed), frames in a row with
        #: a stage over STAGE_MS under this plan, the number of the last such frame]
        self._kinds: dict[tuple[str, ...] | None, list] = {}
        self._completed = 0  # frames completed
        self._held_for = 0  # frames since the number of stages last changed
        self._stage_end = 0.0  # when the last stage's paint was done (perf_counter)
        self._frame_sum = self._frame_max = 0.0
        self.frames = 0
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(round(FRAME_MS / POLLS_PER_PERIOD))
        self.timer.timeout.connect(self.tick)
        self._old_switch = sys.getswitchinterval()

    def start(self) -> None:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        sys.setswitchinterval(self._old_switch)

    def forget(self) -> None:
        """A new run: draw its first snapshot from the start."""
        self._last_seq = -1
        self._staged = None
        self._frame_due = 0.0

    def frame_period_ms(self) -> float:
        """The period frames are drawn at now (ms)."""
        return self._period_ms

    def tick(self, complete: bool = False) -> None:
        """Draw the next stage of the current frame, or start a frame from the newest snapshot if
        there is a new one; ``complete`` draws a whole frame now (screenshots, tests)."""
        if self._before_tick is not None:
            self._before_tick()
        t0 = time.thread_time()
        now = time.perf_counter()
        if not complete:
            if self._staged is None and now < self._frame_due:
                return  # a poll between frames: the next frame is not due yet
            slow = self._staged is not None or len(self._plan) >= GAP_BEFORE_FRAME_STAGES
            if slow and now - self._stage_end < STAGE_GAP_MS / 1000:
                return  # the GUI's other events go first (see STAGE_GAP_MS)
        if complete or self._staged is None:
            seq, snap = self._latest()
            if snap is not None and seq != self._last_seq:
                self._last_seq = seq
                self._staged, self._stage = snap, 0
                self._frame_parts = None if complete else self.frame_parts(snap)
                self._frame_due = self._next_due(time.perf_counter())
                self._plan = self._stages(self._frame_parts)
                self._frame_sum = self._frame_max = 0.0
            if self._staged is None:
                return
        snap = self._staged
        if complete or self._stage >= len(self._plan) - 1:
            self._staged = None
            if not self._draw_all(snap, None if complete else self._frame_parts) or complete:
                return
            self.frames += 1
        else:
            parts = self._plan[self._stage]
            self._stage += 1
            try:
                self._draw_part(snap, parts)
            except Exception:
                self._staged = None
                raise
        # The paint happens after this slot returns; a zero timer fires once it is done.
        # With the pacer as context: dropped if it is deleted first (the window closed).
        QtCore.QTimer.singleShot(0, self, lambda: self._stage_done(t0))

    def _next_due(self, now: float) -> float:
        """When the frame after one started ``now`` is due: one period after the last one was
        due, not after it started, so the lateness of the polls (up to one poll interval, plus
        the GIL) does not add up and frames come at 1000 / period per second on average. A frame
        more than a period late (the machine was busy, the snapshot came late) starts the count
        afresh instead of drawing catch-up frames."""
        period = self._period_ms / 1000
        due = self._frame_due + period
        return due if self._frame_due > 0 and now - self._frame_due < period else now + period

    def frame_parts(self, snap: Snapshot) -> tuple[str, ...] | None:
        """The plots of the next frame of ``snap``: all of them (None) unless the run is running;
        then the cloud and one trace group, the groups in turn. The window's first frame draws
        them all (the run's start: start estimate, truth, reference, cloud, empty histories)."""
        if not snap.extra.get("running", False) or self.frames == 0:
            return None
        group = TRACE_GROUPS[self._group % len(TRACE_GROUPS)]
        self._group += 1
        return ("cloud", *group)

    def _adapt_stages(self) -> None:
        """One stage more when a kind of frame (a running frame alternates the trace groups, so
        there are two) had a stage over STAGE_MS in OVER_FRAMES frames in a row (not for one
        spike: an axis re-laid out, a collection); one fewer when every kind would still keep
        each stage well under it, and the plan has held for RESPLIT_FRAMES frames. Each kind is
        measured apart: smoothed together, a cheap kind hid the other's long stage."""
        limit = STAGE_MS / 1000
        recent = {p: k for p, k in self._kinds.items() if self._completed - k[2] < 2 * len(TRACE_GROUPS)}
        self._held_for += 1
        over = [p for p, k in recent.items() if k[1] >= OVER_FRAMES]
        if over:
            worst = over[0]
            now = len(self._stages(worst))
            more = next((n for n in range(self.n_stages + 1, max(FRAME_PLANS) + 1)
                         if len(self._stages(worst, n)) > now), None)
            if more is not None:
                self._set_stages(more)
            return
        if self.n_stages == 1 or self._held_for < RESPLIT_FRAMES:
            return
        fewer = next((n for n in range(self.n_stages - 1, 0, -1)
                      if any(len(self._stages(p, n)) < len(self._stages(p)) for p in recent)), None)
        if fewer is not None and all(k[0] / len(self._stages(p, fewer)) < RESPLIT_SHARE * limit
                                     for p, k in recent.items()):
            self._set_stages(fewer)

    def _set_stages(self, n: int) -> None:
        self.n_stages = n
        self._held_for = 0
        for k in self._kinds.values():
            k[1] = 0  # the long stages were measured under the old plan

    def _stages(self, parts: tuple[str, ...] | None, n_stages: int | None = None) -> tuple[tuple[str, ...], ...]:
        """The stages of a frame of ``parts`` (None: all): the plan for ``n_stages`` (default: the
        pacer's), without the plots this frame leaves out (and the stages left empty)."""
        plan = FRAME_PLANS[self.n_stages if n_stages is None else n_stages]
        if parts is None:
            return plan
        stages = tuple(s for s in (tuple(p for p in st if p in parts) for st in plan) if s)
        return stages or (parts,)

    def _stage_done(self, t0: float) -> None:
        """Adapt stages and period to what drawing costs: slow plots mean fewer frames, not a
        frozen window."""
        cost = time.thread_time() - t0
        self._stage_end = time.perf_counter()
        n = len(self._plan)
        self._frame_sum += cost
        self._frame_max = max(self._frame_max, cost)
        if self._staged is None:  # the frame is complete: adapt the next one
            self.frame_cost = _smooth(self.frame_cost, self._frame_sum)
            kind = self._kinds.setdefault(self._frame_parts, [0.0, 0, 0])
            kind[0] = _smooth(kind[0], self._frame_sum)
            kind[1] = kind[1] + 1 if self._frame_max > STAGE_MS / 1000 else 0
            self._completed += 1
            kind[2] = self._completed
            self._adapt_stages()
        if self.frame_cost == 0.0:
            return
        period = min(MAX_FRAME_MS, max(FRAME_MS, 1000 * self.frame_cost / DRAW_BUDGET))
        self._period_ms = period
        interval = max(1, round(period / (POLLS_PER_PERIOD * n)))
        if interval != self.timer.interval():
            self.timer.setInterval(interval)


__all__ = ["DRAW_BUDGET", "FRAME_MS", "FRAME_PLANS", "GAP_BEFORE_FRAME_STAGES", "GIL_SWITCH_INTERVAL",
           "OVER_FRAMES", "POLLS_PER_PERIOD", "RESPLIT_FRAMES", "RESPLIT_SHARE", "STAGE_GAP_MS", "STAGE_MS",
           "TRACE_GROUPS", "FramePacer"]
