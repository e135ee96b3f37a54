"""Issue 10, class 3: the worker cannot die for good.

Whatever goes wrong inside it (in a chunk, in a command, in a snapshot, in the first build),
the window says what (``sig_error``), the thread stays alive and paused, and the next Start,
Step, Resume, Reset or preset builds a fresh run that goes on. Chunks and their memory are
planned from the mini-batch in force at that update (a change from 1 to 100,000, live or
replayed, never runs a chunk sized for the old batch).
"""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core.presets import get_preset
from gaussviz.core.runloop import RunLoop
from gaussviz.core.settings import Settings
from gaussviz.gui import worker as worker_module
from gaussviz.gui.worker import MAX_CHUNK, RunWorker

from .conftest import WAIT_MS

#: (what fails, the exception): injected once into the worker's run
FAILURES = [
    ("advance", RuntimeError("boom in a chunk")),
    ("advance", MemoryError()),
    ("advance", np.linalg.LinAlgError("singular")),
    ("advance", ValueError("a value error inside a chunk")),
    ("advance", ZeroDivisionError("division")),
    ("advance", KeyError("key")),
    ("snapshot", RuntimeError("boom in a snapshot")),
    ("snapshot", OverflowError("overflow")),
    ("apply_change", RuntimeError("boom in a live change")),
]


def _inject(monkeypatch, method: str, exc: BaseException, after: int = 2) -> dict:
    """``RunLoop.<method>`` raises ``exc`` once, on its ``after``-th call."""
    real = getattr(RunLoop, method)
    state = {"calls": 0, "raised": False}

    def failing(self, *a, **k):
        state["calls"] += 1
        if not state["raised"] and state["calls"] >= after:
            state["raised"] = True
            raise exc
        return real(self, *a, **k)

    monkeypatch.setattr(RunLoop, method, failing)
    return state


@pytest.mark.parametrize("method,exc", FAILURES, ids=[f"{m}-{type(e).__name__}" for m, e in FAILURES])
@pytest.mark.parametrize("then", ["start", "reset", "preset", "step", "resume"])
def test_the_worker_survives_and_the_next_action_works(qtbot, make_window, monkeypatch, method, exc, then):
    w = make_window("seed-question", running=False, speed=0)
    errors: list[str] = []
    w.worker.sig_error.connect(errors.append)
    state = _inject(monkeypatch, method, exc)
    w.set_running(True)
    if method == "apply_change":
        qtbot.waitUntil(lambda: w.shown_snapshot.step > 0, timeout=WAIT_MS)
        w.worker.send("alpha", 0.01)  # the first change applies, the second fails
        w.worker.send("alpha", 0.011)
    qtbot.waitUntil(lambda: state["raised"] and bool(errors) and not w.worker.running, timeout=WAIT_MS)
    assert w.worker.is_alive()
    assert any(type(exc).__name__ in e for e in errors), errors
    qtbot.waitUntil(lambda: not w.panel.start_button.text() == "Pause", timeout=WAIT_MS)  # the window follows
    if then == "start":
        w.set_running(True)
    elif then == "reset":
        w.reset()
        w.set_running(True)
    elif then == "preset":
        w.load_preset("ill-conditioned-natural")
        w.panel.speed.setCurrentIndex(w.panel.speed.findData(0.0))  # flat out, not the preset's pace
        w.set_running(True)
    elif then == "step":
        w.step()
        qtbot.waitUntil(lambda: w.shown_snapshot.step == 1, timeout=WAIT_MS)
        w.set_running(True)
    else:
        w.resume()
    qtbot.waitUntil(lambda: w.worker.running and w.shown_snapshot.step > 2000, timeout=WAIT_MS)
    assert w.worker.is_alive()


def test_a_failing_first_build_leaves_a_worker_that_takes_a_rebuild(qtbot, monkeypatch):
    real = worker_module.build_run
    calls = {"n": 0}

    def failing(s, *a, **k):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("cannot build")
        return real(s, *a, **k)

    monkeypatch.setattr(worker_module, "build_run", failing)
    w = RunWorker(get_preset("seed-question"))
    errors: list[str] = []
    w.sig_error.connect(errors.append)
    w.start()
    try:
        qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
        assert w.is_alive() and "cannot build" in errors[0]
        w.send("running", True)  # Start: a fresh build
        qtbot.waitUntil(lambda: w.latest()[1] is not None and w.latest()[1].step > 100, timeout=WAIT_MS)
    finally:
        assert w.stop(5.0)


def test_a_failing_call_command_is_reported(qtbot, make_window):
    w = make_window("seed-question", running=True, speed=0)
    errors: list[str] = []
    w.worker.sig_error.connect(errors.append)

    def bad(run):
        raise RuntimeError("forecast capture failed")

    w.worker.send("call", bad)
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert w.worker.is_alive() and "forecast capture failed" in errors[0]
    w.set_running(True)
    step = w.shown_snapshot.step
    qtbot.waitUntil(lambda: w.shown_snapshot.step > step + 1000, timeout=WAIT_MS)


def test_a_bad_change_that_bypassed_the_reader_does_not_kill_the_worker(qtbot, make_window):
    """Settings built by code (not read from a file) with a bad timeline value: refused on rebuild
    (the old run stays) and the worker goes on."""
    w = make_window("seed-question", running=False, speed=0)
    errors: list[str] = []
    w.worker.sig_error.connect(errors.append)
    s = w.settings.copy()
    s.changes = [{"step": 50, "chain": 0, "field": "batch_size", "value": 10**12}]
    w.worker.send("rebuild", s)
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert "batch_size" in errors[0] and w.worker.is_alive()
    w.set_running(True)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 1000, timeout=WAIT_MS)


# --------------------------------------------------------- chunks follow the batch
def _worker_with_run(settings: Settings) -> RunWorker:
    w = RunWorker(settings)
    w._rebuild(settings)  # the run, without the thread: the plan is checked step by step
    return w


@pytest.mark.parametrize("n_fast", [16, 1000, 100_000, MAX_CHUNK])
@pytest.mark.parametrize("batch", [2, 100, 10_000, 100_000])
def test_a_live_batch_change_replans_the_chunk(batch, n_fast):
    w = _worker_with_run(get_preset("seed-question"))
    w._n_fast, w._fast_batch = n_fast, 1
    assert w._chunk_now() == n_fast
    w._run.apply_change("batch_size", batch)
    n = w._chunk_now()
    assert n * batch <= max(n_fast, batch) and n >= 1


@pytest.mark.parametrize("at", [1, 7, 500])
def test_a_replayed_batch_change_ends_the_chunk_and_replans(at):
    s = get_preset("seed-question")
    s.changes = [{"step": at, "chain": 0, "field": "batch_size", "value": 100_000}]
    w = _worker_with_run(s)
    w._n_fast, w._fast_batch = MAX_CHUNK, 1
    n = w._chunk_now()
    assert n == at  # the chunk stops where the change is due
    w._advance(n)
    assert w._run.step == at
    n = w._chunk_now()  # the change is applied now, and the plan uses it
    assert w._run.estimator.batch_size == 100_000 and n * 100_000 <= MAX_CHUNK


def test_running_worker_after_a_live_batch_change(qtbot, make_window, monkeypatch):
    """Chunks run by the thread itself: after the change every chunk draws few samples."""
    w = make_window("seed-question", running=True, speed=0)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 50_000, timeout=WAIT_MS)
    seen: list[tuple[int, int]] = []
    real = RunLoop.advance

    def recording(self, n):
        seen.append((int(n), self.estimator.batch_size))
        return real(self, n)

    monkeypatch.setattr(RunLoop, "advance", recording)
    w.worker.send("batch_size", 100_000)
    qtbot.waitUntil(lambda: sum(1 for _, b in seen if b == 100_000) >= 5, timeout=WAIT_MS)
    w.set_running(False)
    big = [n * b for n, b in seen if b == 100_000]
    assert big and max(big) <= 4 * MAX_CHUNK, big[:10]


@pytest.mark.parametrize("preset, chains", [("seed-question", 1), ("what-am-i-missing", 5)])
def test_chunks_grow_with_the_chains_they_record(monkeypatch, preset, chains):
    """A chunk is sized to chunk_seconds(K) of CPU: longer with more chains, whose recording is
    Python work with the GIL held around every chunk (CHUNK_SECONDS for one, twice it for five)."""
    assert worker_module.chunk_seconds(1) == worker_module.CHUNK_SECONDS
    assert worker_module.chunk_seconds(5) == 2 * worker_module.CHUNK_SECONDS
    assert worker_module.chunk_seconds(50) == worker_module.chunk_seconds(5)  # capped
    assert worker_module.chunk_seconds(2) < worker_module.chunk_seconds(3) < worker_module.chunk_seconds(5)
    w = _worker_with_run(get_preset(preset))
    assert w._run.estimator.K == chains
    clock = [0.0]
    monkeypatch.setattr(worker_module.time, "thread_time", lambda: clock[0])
    real = w._run.advance

    def advance(n):  # every update costs 1 µs of (fake) CPU
        clock[0] += n * 1e-6
        real(n)

    monkeypatch.setattr(w._run, "advance", advance)
    w._n_fast, w._fast_batch = 100, 1
    for _ in range(8):
        w._advance(w._chunk_now())
    assert w._n_fast == pytest.approx(worker_module.chunk_seconds(chains) / 1e-6, rel=0.01)
