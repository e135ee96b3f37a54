"""The worker on its own: commands between chunks, snapshots, errors, shutdown."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gaussviz.core.presets import get_preset
from gaussviz.gui.worker import RunWorker

WAIT_MS = 10_000


@pytest.fixture
def worker(qtbot):
    workers: list[RunWorker] = []

    def make(preset: str = "seed-question", running: bool = False) -> RunWorker:
        s = get_preset(preset)
        s.speed = 0.0  # as fast as possible (a preset's own pace is for people watching)
        w = RunWorker(s, running=running)
        workers.append(w)
        w.start()
        qtbot.waitUntil(lambda: w.latest()[1] is not None, timeout=WAIT_MS)
        return w

    yield make
    for w in workers:
        assert w.stop(timeout=5.0)


def snap(w):
    return w.latest()[1]


def test_paused_worker_steps_exactly(qtbot, worker):
    w = worker()
    assert snap(w).step == 0 and not w.running
    w.send("step", 1)
    qtbot.waitUntil(lambda: snap(w).step == 1, timeout=WAIT_MS)
    w.send("step", 5)
    qtbot.waitUntil(lambda: snap(w).step == 6, timeout=WAIT_MS)
    time.sleep(0.05)
    assert snap(w).step == 6 and snap(w).chain.steps == 6


def test_commands_apply_to_the_running_estimator(qtbot, worker):
    w = worker("ill-conditioned-natural", running=True)
    qtbot.waitUntil(lambda: snap(w).step > 10_000, timeout=WAIT_MS)
    seq0, _ = w.latest()
    w.send("alpha", 0.0125)
    w.send("schedule", "inverse")
    w.send("batch_size", 4)
    qtbot.waitUntil(lambda: snap(w).chain.settings["alpha"] == 0.0125, timeout=WAIT_MS)
    st = snap(w).chain.settings
    assert st["schedule"] == "inverse" and st["batch_size"] == 4
    assert w.latest()[0] > seq0
    assert 0 < snap(w).chain.alpha_t < 0.0125  # inverse schedule: a / (1 + a t)
    assert snap(w).extra["running"] is True
    qtbot.waitUntil(lambda: snap(w).extra["updates_per_s"] > 1000, timeout=WAIT_MS)


def test_bad_command_reports_and_the_run_goes_on(qtbot, worker):
    w = worker(running=True)
    with qtbot.waitSignal(w.sig_error, timeout=WAIT_MS) as blocker:
        w.send("alpha", -1.0)
    assert "alpha must be a positive finite number" in blocker.args[0]
    s0 = snap(w).step
    qtbot.waitUntil(lambda: snap(w).step > s0, timeout=WAIT_MS)
    assert snap(w).chain.settings["alpha"] == 0.002
    with pytest.raises(ValueError, match="unknown worker command"):
        w.send("explode")


def test_divergence_pauses_and_signals(qtbot, worker):
    w = worker("ill-conditioned-covariance")
    with qtbot.waitSignal(w.sig_diverged, timeout=WAIT_MS) as blocker:
        w.send("running", True)
    s = blocker.args[0]
    assert s.chain.divergence is not None and s.chain.divergence.step > 0
    assert not w.running and s.extra["running"] is False
    assert np.all(np.isfinite(s.chain.cov))
    with qtbot.waitSignal(w.sig_error, timeout=WAIT_MS) as err:
        w.send("step", 1)  # nothing to step: every chain diverged
    assert "press Resume or Reset" in err.args[0]


def test_rebuild_replaces_the_run(qtbot, worker):
    w = worker(running=True)
    qtbot.waitUntil(lambda: snap(w).step > 1000, timeout=WAIT_MS)
    s = get_preset("ill-conditioned-log-cholesky")
    w.send("running", False)
    w.send("rebuild", s)
    qtbot.waitUntil(lambda: snap(w).step == 0 and snap(w).chain.mean.shape == (2,), timeout=WAIT_MS)
    assert snap(w).chain.settings["parameterization"] == "log-cholesky"


def test_stop_is_quick_while_running_flat_out(qtbot, worker):
    w = worker(running=True)
    qtbot.waitUntil(lambda: snap(w).step > 100_000, timeout=WAIT_MS)
    t = time.perf_counter()
    assert w.stop(timeout=5.0)
    assert time.perf_counter() - t < 0.5
    assert not w.is_alive()
