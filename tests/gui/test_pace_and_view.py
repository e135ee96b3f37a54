"""Time people can see: the window runs a preset at its pace (or as fast as possible when asked),
the step axis follows the controls and the View menu, sessions bring both back, and the
forecast is honest (never green when cut short; a diverged chain shows its divergence)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from gaussviz.core.forecast import ForecastJob, ForecastResult, compute, empirical_forecast, verdict
from gaussviz.core.presets import PRESETS
from gaussviz.core.session import read_session
from gaussviz.core.sources import GaussianSource
from gaussviz.gui.controls import SPEEDS, speed_text
from gaussviz.gui.forecast_view import GREEN, RED, colour_of

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def test_a_preset_runs_at_its_own_pace_and_as_fast_as_possible_on_request(qtbot, make_window):
    w = make_window("seed-question", running=True)
    assert w.settings.speed == PRESETS["seed-question"].pace == 200.0
    assert w.panel.speed.currentText() == speed_text(200.0) == "200 updates/s"
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 0, timeout=WAIT_MS)
    s0, t0 = w.shown_snapshot.step, time.perf_counter()
    qtbot.wait(1500)
    rate = (w.shown_snapshot.step - s0) / (time.perf_counter() - t0)
    assert 100 < rate < 300, rate  # about the pace (a busy machine may lag a little)
    # the viewer may still choose "as fast as possible"
    w.panel.speed.setCurrentIndex(w.panel.speed.findData(0.0))
    assert w.settings.speed == 0.0
    s1 = w.shown_snapshot.step
    qtbot.waitUntil(lambda: w.shown_snapshot.step > s1 + 50_000, timeout=WAIT_MS)


def test_loading_a_preset_brings_its_pace_and_step_axis(qtbot, make_window):
    w = make_window("seed-question")
    w.panel.speed.setCurrentIndex(w.panel.speed.findData(0.0))
    w.load_preset("drifting-target")
    assert w.settings.speed == 300.0 and w.panel.speed.currentData() == 300.0
    assert w.plots.step_axis() == ("window", 3000)
    assert w.panel.step_axis.currentData() == "window" and w.panel.step_window.value() == 3000
    assert w.step_axis_actions["window"].isChecked()
    assert "Watch:" in w.explanation.text() and "3,000" in w.explanation.text()
    assert all(p.pace in [v for _, v in SPEEDS] for p in PRESETS.values())


def test_the_step_axis_follows_the_controls_and_the_view_menu_without_a_restart(qtbot, make_window):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 20_000, timeout=WAIT_MS)
    w.panel.step_axis.setCurrentIndex(w.panel.step_axis.findData("log"))
    assert w.settings.view.step_axis == "log" and w.plots.step_axis()[0] == "log"
    assert w.plots.canvases["mean"].log_mode()[0]
    w.step_axis_actions["window"].trigger()
    assert w.settings.view.step_axis == "window" and w.panel.step_axis.currentData() == "window"
    assert w.panel.step_window.isEnabled()
    w.panel.step_window.setValue(500)
    assert w.settings.view.step_window == 500 and w.plots.step_axis() == ("window", 500)
    step = w.shown_snapshot.step
    qtbot.waitUntil(lambda: w.shown_snapshot.step > step, timeout=WAIT_MS)  # no restart
    snap = w.shown_snapshot
    qtbot.waitUntil(lambda: w.plots._chains[0].kl.xData.size > 0
                    and w.plots._chains[0].kl.xData.min() >= w.shown_snapshot.step - 500, timeout=WAIT_MS)
    assert snap.step > 20_000
    assert "(modified)" not in w.lesson_title.text()  # how it is shown is not the lesson


def test_a_session_brings_back_the_pace_and_the_step_axis(qtbot, make_window, tmp_path):
    w = make_window("ill-conditioned-natural")
    w.panel.speed.setCurrentIndex(w.panel.speed.findData(1000.0))
    w.panel.step_axis.setCurrentIndex(w.panel.step_axis.findData("window"))
    w.panel.step_window.setValue(750)
    path = tmp_path / "s.json"
    assert w.save_session(path)
    s = read_session(path)
    assert s.speed == 1000.0 and (s.view.step_axis, s.view.step_window) == ("window", 750)
    w2 = make_window("seed-question")
    assert w2.open_session(path)
    assert w2.settings.speed == 1000.0 and w2.plots.step_axis() == ("window", 750)
    assert w2.panel.speed.currentData() == 1000.0 and w2.panel.step_window.value() == 750


# ---------------------------------------------------------------- forecast
def _job(**kw) -> ForecastJob:
    base = dict(request=1, mean=np.zeros(2), cov=np.eye(2), stored=np.eye(2), steps=0,
                settings={"parameterization": "natural", "alpha": 0.01}, alpha_t=0.01,
                source=GaussianSource(np.zeros(2), np.eye(2), 0), seed=5, true_cov=np.eye(2),
                diverged=False, n_chains=4)
    base.update(kw)
    return ForecastJob(**base)


def test_a_forecast_cut_short_by_its_time_budget_is_never_green():
    job = _job()
    full = compute(job, time_budget=None, n_updates=200)
    assert full.forecast.n_updates == 200 and not full.forecast.cut_short
    assert verdict(full)[0] == "good"
    short_fc = empirical_forecast(np.zeros(2), np.eye(2), job.settings, job.source, n_chains=4,
                                  n_updates=10**7, seed=1, time_budget=0.02)
    assert short_fc.n_updates < short_fc.requested_updates == 10**7 and short_fc.cut_short
    assert short_fc.n_diverged == 0
    level, text = verdict(ForecastResult(1, job, full.bound, short_fc))
    assert level == "warn" and "time budget" in text and f"{short_fc.n_updates:,}" in text


def test_after_a_divergence_the_forecast_shows_it_not_a_forecast_from_a_dead_chain(qtbot, make_window):
    w = make_window("ill-conditioned-covariance", running=True, speed=0.0)
    qtbot.waitUntil(lambda: w.shown_snapshot.chain.divergence is not None, timeout=WAIT_MS)
    div = w.shown_snapshot.chain.divergence
    qtbot.waitUntil(lambda: w.forecast.result is not None and w.forecast.result.job.divergence is not None,
                    timeout=WAIT_MS)
    r = w.forecast.result
    assert r.forecast is None  # nothing was run from the dead state
    text = w.forecast.text()
    assert colour_of(text) == RED and f"diverged at update {div.step:,}" in text
    assert "no forecast from a dead chain" in text
    # Resume at a people's pace (flat out the chain fails again ~80,000 updates later, within
    # half a second, before any forecast of the living chain could be seen): it lives again and
    # gets a forecast again
    w.panel.speed.setCurrentIndex(w.panel.speed.findData(20.0))
    assert w.settings.speed == 20.0
    w.resume()
    qtbot.waitUntil(lambda: w.forecast.result.job.divergence is None and w.forecast.result.forecast is not None,
                    timeout=WAIT_MS)
    assert colour_of(w.forecast.text()) != GREEN or not w.forecast.result.forecast.cut_short


def _range_changes(w, running: bool, rate: float = 1e6, per_frame: int = 50_000, frames: int = 60,
                   start: int = 200_000, plot: str = "mean", axis: int = 0) -> int:
    """Draw ``frames`` snapshots of a run growing ``per_frame`` updates a frame (20 frames a second
    of a run at ``rate`` updates/s) from update ``start``; how often a plot's step axis (``axis``
    0) or value axis (1) moved."""
    from PySide6 import QtWidgets

    from gaussviz.core.settings import build_run

    run = build_run(w.settings)
    run.advance(start)
    vb = w.plots.plot_items[plot].vb
    ranges = []
    for _ in range(frames):
        run.advance(per_frame)
        snap = run.snapshot(extra={"running": running, "updates_per_s": rate})
        w.plots.show_snapshot(snap)
        QtWidgets.QApplication.processEvents()  # the paint sets the range
        lo, hi = vb.viewRange()[axis]
        ranges.append((round(lo, 9), round(hi, 9)))
        if axis == 0:
            assert hi >= snap.step  # the newest point is always on the axis
    return sum(a != b for a, b in itertools.pairwise(ranges))


def _x_range_changes(w, running: bool, **kw) -> int:
    return _range_changes(w, running, **kw)


def test_a_running_step_axis_moves_about_once_a_second_not_every_few_frames(qtbot, make_window):
    w = make_window("ill-conditioned-natural", show=True)
    w.step_axis_actions["linear"].trigger()
    assert w.settings.view.step_axis == "linear"
    moves_running = _x_range_changes(w, running=True)
    moves_paused = _x_range_changes(w, running=False)
    # 3 s of a run at 1 M updates/s: the axis leaves a second of room and keeps it
    assert moves_running <= 5 < moves_paused


def test_the_room_on_a_running_step_axis_grows_with_the_run(qtbot, make_window):
    """Late in a run the room left is a share of the steps shown (plots.STEP_AXIS_ROOM), so the
    axis moves ever more rarely: none in 5 M updates (5 s of this run) once 10 M are shown."""
    w = make_window("ill-conditioned-natural", show=True)
    w.step_axis_actions["linear"].trigger()
    kw = {"start": 10_000_000, "frames": 100}
    assert _range_changes(w, True, **kw) == 0 < _range_changes(w, False, **kw)


def test_a_running_value_axis_keeps_its_range_while_the_data_fit(qtbot, make_window):
    """A KL wandering inside its range does not move the axis of a running run (each move
    re-lays out the axis); paused, the axis fits the data again."""
    w = make_window("ill-conditioned-natural", show=True)
    running = _range_changes(w, True, plot="kl", axis=1)
    paused = _range_changes(w, False, plot="kl", axis=1)
    assert running <= 1 < paused
