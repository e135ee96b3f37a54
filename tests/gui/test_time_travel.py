"""Step mode's anatomy of one update (Right arrow), going back (Left arrow, by replay), and the
history scrubber with "Continue from here" (a branch replayed exactly)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from gaussviz.core.settings import build_run, from_dict

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _press(qtbot, w, key) -> None:
    qtbot.keyClick(w, key)


def _at(qtbot, w, step: int, anatomy: bool = True) -> None:
    qtbot.waitUntil(lambda: w.shown_snapshot.step == step and (bool(w.anatomy_text()) == anatomy),
                    timeout=WAIT_MS)


def test_right_takes_one_update_apart_and_left_goes_back_to_the_same_update(qtbot, make_window):
    w = make_window("start-too-small", show=True)
    _press(qtbot, w, QtCore.Qt.Key.Key_Right)
    _at(qtbot, w, 1)
    first = w.anatomy_text()
    a = w.shown_snapshot.extra["anatomy"]
    assert first.startswith("update 1 · covariance") and "sample y = " in first and "r = y − μ" in first
    assert a.sigma_before[0, 0] == pytest.approx(1e-4) and a.sigma_after[0, 0] > 100  # the blow-up
    # drawn: the sample and the state before on the cloud, the step as an arrow in parameter space
    plots = w.plots
    qtbot.waitUntil(lambda: plots.anatomy() is a, timeout=WAIT_MS)
    assert plots._anat_sample.xData[0] == a.y[0, 0] and plots._anat_r.xData.size == 2
    assert plots.pspace.anat_step.xData.size == 6 and plots.pspace.anat_before.yData[0] == pytest.approx(1e-4)
    assert "this update's sample y" in plots.key_text()
    after_first = w.shown_snapshot.chain.cov.copy()
    _press(qtbot, w, QtCore.Qt.Key.Key_Right)
    _at(qtbot, w, 2)
    assert w.anatomy_text().startswith("update 2 ·")
    _press(qtbot, w, QtCore.Qt.Key.Key_Left)
    _at(qtbot, w, 1)
    assert w.anatomy_text() == first  # the same update, replayed
    assert np.array_equal(w.shown_snapshot.chain.cov, after_first)
    _press(qtbot, w, QtCore.Qt.Key.Key_Left)
    _at(qtbot, w, 0, anatomy=False)
    assert w.plots.pspace.anat_step.xData.size == 0
    # running again hides the panel
    w.set_running(True)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 10, timeout=WAIT_MS)
    assert not w.anatomy_text()


def test_scrub_shows_a_recorded_point_and_continue_branches_exactly(qtbot, make_window):
    w = make_window("seed-question", show=True)
    w.worker.send("step", 600)
    qtbot.waitUntil(lambda: w.shown_snapshot.step == 600, timeout=WAIT_MS)
    session = w.shown_snapshot.session
    h = w.shown_snapshot.history
    i = int(np.flatnonzero(h.steps == 250)[0]) if np.any(h.steps == 250) else h.n // 2
    step = int(h.steps[i])
    w.scrub_to(i)
    assert w.scrubbing() and "recorded" in w.scrub_label.text()
    v = w.plots.pspace
    assert v._points[0].xData[0] == h.mean[0, i, 0] and v._points[0].yData[0] == h.cov[0, i, 0, 0]
    assert w.plots._snap.step == step
    # the pacer does not draw over it
    for _ in range(5):
        w.redraw()
    qtbot.wait(50)
    assert w.plots._snap.step == step
    # a different rate from here on
    w.model.set("estimator.alpha", 0.01)
    w.continue_from_here()
    qtbot.waitUntil(lambda: w.shown_snapshot.step == step, timeout=WAIT_MS)
    assert not w.scrubbing()
    fresh = build_run(from_dict(session)).run_to(step)
    snap = w.shown_snapshot
    assert np.array_equal(snap.chain.mean, fresh.estimator.means[0])
    assert np.array_equal(snap.chain.cov, fresh.estimator.covs[0])
    assert snap.session["changes"][-1] == {"step": step, "chain": 0, "field": "alpha", "value": 0.01}
    # and the branch goes on reproducibly from its own session
    w.worker.send("step", 100)
    qtbot.waitUntil(lambda: w.shown_snapshot.step == step + 100, timeout=WAIT_MS)
    again = build_run(from_dict(w.shown_snapshot.session)).run_to(step + 100)
    assert np.array_equal(w.shown_snapshot.chain.cov, again.estimator.covs[0])
    assert w.shown_snapshot.chain.settings["alpha"] == 0.01


def test_back_to_now_ends_the_scrub(qtbot, make_window):
    w = make_window("ill-conditioned-natural", show=True)
    w.worker.send("step", 300)
    qtbot.waitUntil(lambda: w.shown_snapshot.step == 300, timeout=WAIT_MS)
    w.scrub_to(3)
    assert w.scrubbing() and w.plots._snap.step < 300
    w.now_button.click()
    assert not w.scrubbing() and w.plots._snap.step == 300 and w.scrub_label.text() == "now"
