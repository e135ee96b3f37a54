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
- A frame has as many stages as keep each under ``STAGE_MS`` (smoothed), so input, timers and
  the run worker (which needs the GIL between its chunks) are never kept waiting for a whole
  frame. One stage more when the costliest went over it, one fewer when fewer would still
  keep well under it (each stage is a paint pass of its own).
- The frame period is the target (``FRAME_MS``, ~60 frames/s) unless drawing would then take
  more than ``DRAW_BUDGET`` of the GUI thread: slow plots (five chains, a large dimension, a
  4K screen) get fewer frames, never a frozen window.

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
DRAW_BUDGET = 0.6
#: the slowest frame period (a very slow plot still updates 4 times a second)
MAX_FRAME_MS = 250.0
#: a stage (one tick's drawing and painting, GUI-thread CPU) should cost at most this (ms): with a
#: 10 ms timer elsewhere in the GUI, its worst gap stays under 20 ms. A frame is split only above
#: it: every stage is a paint pass of its own, with a fixed cost of ~2 ms.
STAGE_MS = 10.0
#: the plots of each stage, by the number of stages of a frame
FRAME_PLANS: dict[int, tuple[tuple[str, ...], ...]] = {
    1: (("cloud", "mean", "covariance", "spectrum", "kl", "pspace"),),
    2: (("cloud", "spectrum"), ("mean", "covariance", "kl", "pspace")),
    3: (("cloud",), ("mean", "covariance"), ("spectrum", "kl", "pspace")),
    4: (("cloud",), ("mean",), ("covariance", "pspace"), ("spectrum", "kl")),
    5: (("cloud",), ("mean",), ("covariance",), ("spectrum", "kl"), ("pspace",)),
    6: (("cloud",), ("mean",), ("covariance",), ("spectrum",), ("kl",), ("pspace",)),
}
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
        #: frames are started at most once per period; the timer polls twice as often, so a
        #: snapshot published just after a tick waits half a period, not a whole one
        self._period_ms = FRAME_MS
        self._frame_due = 0.0
        self.frame_cost = 0.0  # seconds per frame (drawing and painting), smoothed
        self.stage_max = 0.0  # the costliest stage of a frame, smoothed
        self._frame_sum = self._frame_max = 0.0
        self.frames = 0
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.setInterval(int(FRAME_MS / 2))
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
        if self._staged is None and not complete and time.perf_counter() < self._frame_due:
            return  # a poll between frames: the next frame is not due yet
        if complete or self._staged is None:
            seq, snap = self._latest()
            if snap is not None and seq != self._last_seq:
                self._last_seq = seq
                self._staged, self._stage = snap, 0
                self._frame_parts = None if complete else self.frame_parts(snap)
                # the next frame is due one period after this one began (less half a poll: the
                # timer's ticks are not exact)
                self._frame_due = time.perf_counter() + (self._period_ms - 0.5 * self.timer.interval()) / 1000
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

    def frame_parts(self, snap: Snapshot) -> tuple[str, ...] | None:
        """The plots of the next frame of ``snap``: all of them (None) unless the run is running;
        then the cloud and one trace group, the groups in turn. The window's first frame draws
        them all (the run's start: start estimate, truth, reference, cloud, empty histories)."""
        if not snap.extra.get("running", False) or self.frames == 0:
            return None
        group = TRACE_GROUPS[self._group % len(TRACE_GROUPS)]
        self._group += 1
        return ("cloud", *group)

    def _stages(self, parts: tuple[str, ...] | None) -> tuple[tuple[str, ...], ...]:
        """The stages of a frame of ``parts`` (None: all): the plan for ``n_stages``, without the
        plots this frame leaves out (and the stages left empty)."""
        plan = FRAME_PLANS[self.n_stages]
        if parts is None:
            return plan
        stages = tuple(s for s in (tuple(p for p in st if p in parts) for st in plan) if s)
        return stages or (parts,)

    def _stage_done(self, t0: float) -> None:
        """Adapt stages and period to what drawing costs: slow plots mean fewer frames, not a
        frozen window."""
        cost = time.thread_time() - t0
        n = len(self._plan)
        self._frame_sum += cost
        self._frame_max = max(self._frame_max, cost)
        if self._staged is None:  # the frame is complete: adapt the next one
            self.frame_cost = _smooth(self.frame_cost, self._frame_sum)
            self.stage_max = _smooth(self.stage_max, self._frame_max)
            limit = STAGE_MS / 1000
            if self.stage_max > limit and n < max(FRAME_PLANS):
                self.n_stages = n + 1
            elif n > 1 and self.frame_cost / (n - 1) < 0.75 * limit:
                self.n_stages = n - 1
        if self.frame_cost == 0.0:
            return
        period = min(MAX_FRAME_MS, max(FRAME_MS, 1000 * self.frame_cost / DRAW_BUDGET))
        self._period_ms = period
        interval = max(1, round(period / (2 * n)))
        if interval != self.timer.interval():
            self.timer.setInterval(interval)


__all__ = ["DRAW_BUDGET", "FRAME_MS", "FRAME_PLANS", "GIL_SWITCH_INTERVAL", "STAGE_MS", "TRACE_GROUPS",
           "FramePacer"]
