"""The stability forecast under the alpha slider: off the GUI thread, debounced, and the same numbers as the core."""

from __future__ import annotations

import math
import re
import threading

import numpy as np
import pytest

from gaussviz.core import forecast
from gaussviz.core.forecast import compute, verdict
from gaussviz.core.presets import ILL_COV
from gaussviz.gui import forecast_view
from gaussviz.gui.forecast_view import GREEN, RED, ForecastView, colour_of

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def numbers(text):
    """(bound, diverged, copies, horizon) read from the label, as a user reads them."""
    m = re.search(r"α &lt; ([0-9.e+-]+) · forecast: (\d+)/(\d+) copies diverge within ([\d,]+) updates", text)
    assert m, text
    return float(m[1]), int(m[2]), int(m[3]), int(m[4].replace(",", ""))


def wait_for_alpha(qtbot, view, alpha):
    qtbot.waitUntil(lambda: view.result is not None and view.result.job.settings["alpha"] == alpha,
                    timeout=WAIT_MS)


def test_forecast_label_follows_alpha_and_matches_forecast_chain(qtbot, make_window, monkeypatch):
    # a loaded machine must not cut the horizon short here (that case is never green, and has its
    # own test): the budget is not what this test is about
    monkeypatch.setattr(forecast_view, "TIME_BUDGET", 30.0)
    w = make_window("ill-conditioned-covariance")  # paused at update 0: the state holds still
    view = w.forecast
    qtbot.waitUntil(lambda: view.result is not None, timeout=WAIT_MS)
    for alpha in (0.05, 0.0005):
        w.panel.alpha.slider.setValue(math.log10(alpha))
        wait_for_alpha(qtbot, view, alpha)
        bound, n_div, copies, horizon = numbers(view.text())
        assert bound == pytest.approx(forecast.linear_bound("covariance", np.array(ILL_COV)).alpha_max, rel=1e-2)
        assert copies == 32
        # the same forecast, called directly on the (paused) run with the same seed and horizon
        run = w.worker._run
        direct = forecast.forecast_chain(run.estimator, 0, run.source, n_chains=32, n_updates=horizon,
                                         seed=view.result.job.seed)
        assert direct.n_diverged == n_div == view.result.forecast.n_diverged
        assert direct.alpha == alpha
    # at 0.0005 nothing diverges within the horizon: green; at 0.05 most do: red
    assert colour_of(view.text()) == GREEN and n_div == 0
    w.panel.alpha.slider.setValue(math.log10(0.05))
    wait_for_alpha(qtbot, view, 0.05)
    assert colour_of(view.text()) == RED and view.result.forecast.n_diverged >= 16


def test_a_drag_asks_once_after_it_stops(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    view = w.forecast
    qtbot.waitUntil(lambda: view.result is not None, timeout=WAIT_MS)
    first = view._request
    for a in (0.01, 0.012, 0.015, 0.02, 0.03):
        w.panel.alpha.slider.setValue(math.log10(a))
    wait_for_alpha(qtbot, view, 0.03)
    assert view._request == first + 1  # debounced: one request for five slider moves
    assert "natural, α = 0.03" in view.text()


def test_forecast_runs_off_the_gui_thread_while_the_run_goes_on(qtbot, make_window):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    view = w.forecast
    seen = {}
    original = forecast.empirical_forecast

    def spy(*args, **kwargs):
        seen["thread"] = threading.current_thread().name
        return original(*args, **kwargs)

    forecast.empirical_forecast = spy
    try:
        qtbot.waitUntil(lambda: w.shown_snapshot.step > 0, timeout=WAIT_MS)
        req = view.request()
        qtbot.waitUntil(lambda: view.result is not None and view.result.request >= req, timeout=WAIT_MS)
    finally:
        forecast.empirical_forecast = original
    assert seen["thread"] == "gaussviz-forecast"
    assert view.result.job.steps > 0  # copied from the running chain
    assert w.is_running()


def test_wrong_sign_has_no_bound_and_is_red(qtbot, make_window):
    w = make_window("wrong-sign-descent")
    view = w.forecast
    qtbot.waitUntil(lambda: view.result is not None, timeout=WAIT_MS)
    assert "linear bound: none (wrong sign)" in view.text()
    assert colour_of(view.text()) == RED


def test_compute_reports_a_bad_state_instead_of_raising():
    from gaussviz.core.forecast import ForecastJob
    from gaussviz.core.sources import GaussianSource

    job = ForecastJob(request=1, mean=np.zeros(2), cov=-np.eye(2), stored=-np.eye(2), steps=0,
                      settings={"parameterization": "covariance", "alpha": 0.01}, alpha_t=0.01,
                      source=GaussianSource(np.zeros(2), np.eye(2), 0), seed=5, true_cov=np.eye(2),
                      diverged=True, n_chains=4)
    r = compute(job)
    assert r.forecast is None and "not positive definite" in r.error
    assert r.bound is not None and r.bound.alpha_max == pytest.approx(2.0)
    assert verdict(r)[0] == "warn"  # no forecast, bound not passed: a warning, not a verdict


def test_shutdown_stops_the_forecast_thread(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    view: ForecastView = w.forecast
    view.request()
    assert view.shutdown()
    assert not [t for t in threading.enumerate() if t.name == "gaussviz-forecast"]
    before = view._request
    view.schedule()
    view.request()
    assert view._request == before  # closed: asks no more
