"""The frame pacer's cadences: while a run runs, the cloud is drawn in every frame and the trace
plots in groups on alternate frames; a paused snapshot and a complete redraw draw every plot;
the worker thread runs at a lower CPU priority than the GUI."""

from __future__ import annotations

import os
import sys
import threading
from types import SimpleNamespace

import pytest

from gaussviz.gui import redraw
from gaussviz.gui.plots import PARTS
from gaussviz.gui.redraw import TRACE_GROUPS, FramePacer
from gaussviz.gui.worker import WORKER_NICE, lower_thread_priority


class Fake:
    """A worker's ``latest`` and a window's drawing callbacks, recording what each frame drew."""

    def __init__(self) -> None:
        self.seq = 0
        self.snap = None
        self.frames: list[tuple[str, ...] | None] = []
        self.parts: list[tuple[str, ...]] = []

    def publish(self, running: bool) -> None:
        self.seq += 1
        self.snap = SimpleNamespace(extra={"running": running}, seq=self.seq)

    def latest(self):
        return self.seq, self.snap

    def draw_part(self, snap, parts) -> None:
        self.parts.append(tuple(parts))

    def draw_all(self, snap, parts) -> bool:
        self.frames.append(parts)
        return True


def pacer_and_fake(qapp, monkeypatch) -> tuple[FramePacer, Fake]:
    """A pacer whose clock moves a second on every reading: every tick finds its frame due."""
    fake = Fake()
    pacer = FramePacer(fake.latest, fake.draw_part, fake.draw_all)
    clock = iter(range(1, 10**6))
    monkeypatch.setattr(redraw.time, "perf_counter", lambda: float(next(clock)))
    return pacer, fake


def test_frames_are_started_once_per_period_however_often_the_timer_polls(qapp, monkeypatch):
    fake = Fake()
    pacer = FramePacer(fake.latest, fake.draw_part, fake.draw_all)
    now = [100.0]
    monkeypatch.setattr(redraw.time, "perf_counter", lambda: now[0])
    fake.publish(running=True)
    pacer.tick()
    assert len(fake.frames) == 1
    period = pacer.frame_period_ms() / 1000
    fake.publish(running=True)
    now[0] += 0.25 * period
    pacer.tick()  # a poll: a new snapshot waits for its period
    assert len(fake.frames) == 1
    now[0] += period
    pacer.tick()
    assert len(fake.frames) == 2
    # the timer polls at least twice per period
    assert pacer.timer.interval() <= pacer.frame_period_ms() / 2


def test_running_frames_draw_the_cloud_always_and_the_trace_groups_in_turn(qapp, monkeypatch):
    pacer, fake = pacer_and_fake(qapp, monkeypatch)
    fake.publish(running=True)
    pacer.tick()
    assert fake.frames == [None]  # the window's first frame draws every plot (the run's start)
    for _ in range(6):
        fake.publish(running=True)
        pacer.tick()
    assert len(fake.frames) == 7
    drawn = [set(f) for f in fake.frames[1:]]
    assert all("cloud" in f for f in drawn)
    for i, f in enumerate(drawn):
        assert f == {"cloud", *TRACE_GROUPS[i % len(TRACE_GROUPS)]}
    # every plot is drawn within one round of the groups
    assert set().union(*drawn[:len(TRACE_GROUPS)]) == set(PARTS)
    # the groups cover every trace plot exactly once
    traces = [p for g in TRACE_GROUPS for p in g]
    assert sorted(traces) == sorted(p for p in PARTS if p != "cloud")


def test_a_paused_snapshot_and_a_complete_redraw_draw_every_plot(qapp, monkeypatch):
    pacer, fake = pacer_and_fake(qapp, monkeypatch)
    fake.publish(running=False)
    pacer.tick()
    assert fake.frames == [None]  # None: the window draws all of them
    fake.publish(running=True)
    pacer.tick(complete=True)
    assert fake.frames[-1] is None


def test_a_frame_split_in_stages_keeps_only_its_own_plots(qapp, monkeypatch):
    pacer, fake = pacer_and_fake(qapp, monkeypatch)
    fake.publish(running=True)
    pacer.tick()  # the first frame (every plot)
    fake.parts.clear()
    pacer.n_stages = 3
    fake.publish(running=True)
    for _ in range(3):
        pacer.tick()
    # the stages of this frame draw the cloud and the first group only, nothing else
    drawn = {p for stage in fake.parts for p in stage} | set(fake.frames[-1] or ())
    assert drawn == {"cloud", *TRACE_GROUPS[0]}
    assert len(fake.frames) == 2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_worker_thread_runs_at_a_lower_priority():
    out = {}

    def body() -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        out["done"] = lower_thread_priority()
        out["delta"] = os.getpriority(os.PRIO_PROCESS, tid) - before

    t = threading.Thread(target=body)
    t.start()
    t.join(5)
    assert not t.is_alive()
    assert out["done"] is True and out["delta"] == min(WORKER_NICE, 19 - os.getpriority(os.PRIO_PROCESS, 0))
    # the calling (GUI) thread keeps its priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == os.getpriority(os.PRIO_PROCESS, 0)


def test_late_polls_do_not_add_up_to_fewer_frames(qapp, monkeypatch):
    """Frames are due one period after the last was due: polls that come a little late every
    time still give 1000 / period frames a second."""
    fake = Fake()
    pacer = FramePacer(fake.latest, fake.draw_part, fake.draw_all)
    now = [100.0]
    monkeypatch.setattr(redraw.time, "perf_counter", lambda: now[0])
    period = pacer.frame_period_ms() / 1000
    poll = period / 4
    end = now[0] + 1.0
    while now[0] < end:
        fake.publish(running=False)  # paused snapshots: one stage a frame, no cadences
        pacer.tick()
        now[0] += poll * 1.13  # every poll 13 % late
    rate = len(fake.frames) / 1.0
    assert rate == pytest.approx(1 / period, rel=0.05)


def test_the_next_stage_of_a_frame_waits_for_the_gap(qapp, monkeypatch):
    """After a stage (its paint done), the next stage of the frame waits STAGE_GAP_MS: the GUI's
    other timers and input go first."""
    fake = Fake()
    pacer = FramePacer(fake.latest, fake.draw_part, fake.draw_all)
    now = [100.0]
    monkeypatch.setattr(redraw.time, "perf_counter", lambda: now[0])
    pacer.n_stages = 3
    fake.publish(running=False)
    pacer.tick()  # stage 1 of 3
    assert len(fake.parts) == 1
    pacer._stage_done(redraw.time.thread_time())  # its paint is done now
    now[0] += 0.5 * redraw.STAGE_GAP_MS / 1000
    pacer.tick()
    assert len(fake.parts) == 1  # too soon
    now[0] += redraw.STAGE_GAP_MS / 1000
    pacer.tick()
    assert len(fake.parts) == 2


def test_the_next_frame_waits_for_the_gap_after_a_slow_frame(qtbot, qapp, monkeypatch):
    """Frames of GAP_BEFORE_FRAME_STAGES stages or more (slow plots): a frame's last stage and the
    next frame's first are kept apart by the gap too (back to back, they kept a 10 ms timer
    waiting over 20 ms). After a frame of fewer stages the next starts at once."""
    many = redraw.GAP_BEFORE_FRAME_STAGES
    assert len(redraw.FRAME_PLANS[many]) == many
    for n_stages, waits in ((many, True), (many - 1, False), (1, False)):
        fake = Fake()
        pacer = FramePacer(fake.latest, fake.draw_part, fake.draw_all)
        now = [100.0]
        monkeypatch.setattr(redraw.time, "perf_counter", lambda now=now: now[0])
        pacer.n_stages = n_stages
        fake.publish(running=False)
        while not fake.frames:  # the first frame, every stage of it
            pacer.tick()
            pacer._stage_done(redraw.time.thread_time())
            now[0] += 0.01
        pacer._stage_end = now[0] = max(now[0], pacer._frame_due)  # its paint done; the next is due
        drawn = len(fake.parts) + len(fake.frames)
        fake.publish(running=False)
        pacer.tick()
        assert (len(fake.parts) + len(fake.frames) == drawn) is waits, n_stages
        now[0] += 1.01 * redraw.STAGE_GAP_MS / 1000
        pacer.tick()
        assert len(fake.parts) + len(fake.frames) > drawn


def _frames_with_stage_cost(pacer, fake, monkeypatch, costs_ms):
    """Complete one running frame per cost, each stage reported as costing ``cost`` ms of CPU."""
    cpu = [0.0]
    monkeypatch.setattr(redraw.time, "thread_time", lambda: cpu[0])
    for cost in costs_ms:
        fake.publish(running=True)
        while True:
            before = len(fake.frames)
            t0 = cpu[0]
            pacer.tick()
            cpu[0] += cost / 1000
            pacer._stage_done(t0)
            if len(fake.frames) > before:
                break


def test_frames_are_split_after_long_stages_in_a_row_not_after_one_spike(qapp, monkeypatch):
    pacer, fake = pacer_and_fake(qapp, monkeypatch)
    fake.publish(running=True)
    pacer.tick()  # the first frame draws everything
    start = pacer.n_stages
    long = redraw.STAGE_MS * 1.5
    # one spike per kind of frame, then short stages: no split
    _frames_with_stage_cost(pacer, fake, monkeypatch, [long, long] + [1.0] * 6)
    assert pacer.n_stages == start
    # a kind over the limit in OVER_FRAMES frames in a row: split further
    _frames_with_stage_cost(pacer, fake, monkeypatch, [long] * (2 * redraw.OVER_FRAMES))
    assert pacer.n_stages > start
    split = pacer.n_stages
    # cheap again: back to fewer stages once the plan has held for RESPLIT_FRAMES frames
    _frames_with_stage_cost(pacer, fake, monkeypatch, [0.5] * (redraw.RESPLIT_FRAMES + 4))
    assert pacer.n_stages < split


def test_stages_keep_to_a_column_of_the_wide_grid():
    """A stage repaints the bounding rectangle of what it changed: in the wide (3-column) grid,
    every stage of every plan of 3 or more stages lies within one column."""
    from gaussviz.gui.plots import ARRANGEMENTS

    cells = ARRANGEMENTS[3][0]
    for n, plan in redraw.FRAME_PLANS.items():
        assert sorted(p for st in plan for p in st) == sorted(PARTS)
        if n >= 3:
            for stage in plan:
                assert len({cells[p][1] for p in stage}) == 1, (n, stage)
