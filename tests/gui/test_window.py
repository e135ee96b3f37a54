"""The live window: worker, controls bound to the settings, divergence, shortcuts, shutdown."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from gaussviz.core.options import sign_effect
from gaussviz.core.presets import PRESETS, get_preset

from .conftest import WAIT_MS

# The offscreen platform warns about size hints whenever a window with a layout is shown.
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def shown(w):
    return w.shown_snapshot


def wait_paused(qtbot, w):
    qtbot.waitUntil(lambda: not w.is_running() and not shown(w).extra.get("running", True), timeout=WAIT_MS)


def commit(edit: QtWidgets.QLineEdit, text: str) -> None:
    """Type into a line edit and press Enter, as a user does."""
    edit.setText(text)
    edit.editingFinished.emit()


def select(combo: QtWidgets.QComboBox, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_start_receives_growing_snapshots(qtbot, make_window):
    w = make_window()
    assert shown(w).step == 0 and not w.is_running()
    w.panel.start_button.click()
    qtbot.waitUntil(lambda: shown(w).step > 0, timeout=WAIT_MS)
    first = shown(w).step
    qtbot.waitUntil(lambda: shown(w).step > first, timeout=WAIT_MS)
    assert w.panel.start_button.text() == "Pause"
    assert w.status_updates.text().startswith("updates applied: ")
    assert "α_t = 0.002" in w.status_alpha.text()
    w.panel.start_button.click()
    wait_paused(qtbot, w)
    assert w.panel.start_button.text() == "Start"


def test_alpha_slider_reaches_the_running_worker(qtbot, make_window):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 1000, timeout=WAIT_MS)
    w.panel.alpha.slider.setValue(math.log10(0.05))  # what a drag ends with
    assert w.settings.estimator.alpha == 0.05
    assert w.panel.alpha.edit.text() == "0.05"
    step_at_change = shown(w).step
    qtbot.waitUntil(lambda: shown(w).chain.settings["alpha"] == 0.05, timeout=WAIT_MS)
    c = shown(w).chain
    assert c.alpha_t == 0.05  # constant schedule: the rate the next update uses
    assert shown(w).step > step_at_change  # the run went on, no restart
    hist = shown(w).history
    assert hist.alpha[0, -1] == 0.05 and hist.alpha[0, 0] == 0.02  # recorded rates before/after


def test_typed_alpha(qtbot, make_window):
    w = make_window()
    commit(w.panel.alpha.edit, "0.0123")
    assert w.settings.estimator.alpha == 0.0123
    qtbot.waitUntil(lambda: shown(w).chain.settings["alpha"] == 0.0123, timeout=WAIT_MS)
    assert w.panel.alpha.slider.value() == pytest.approx(math.log10(0.0123))


@pytest.mark.parametrize(("text", "why"), [
    ("abc", "'abc' is not a number"),
    ("0", "alpha must be from 1e-05 to 1; got 0"),
    ("-1", "alpha must be from 1e-05 to 1; got -1"),
    ("1e9", "alpha must be from 1e-05 to 1; got 1e+09"),
    ("nan", "alpha must be a finite number"),
])
def test_bad_typed_alpha_keeps_the_previous_value(qtbot, make_window, text, why):
    w = make_window()
    commit(w.panel.alpha.edit, text)
    assert w.settings.estimator.alpha == 0.002
    assert w.panel.alpha.edit.text() == "0.002"
    assert w.panel.message.isVisibleTo(w) and why in w.panel.message.text()
    assert shown(w).chain.settings["alpha"] == 0.002
    commit(w.panel.alpha.edit, "0.003")  # a good value clears the message
    assert w.settings.estimator.alpha == 0.003 and not w.panel.message.isVisibleTo(w)


def test_parameterization_switch_carries_mean_and_covariance(qtbot, make_window):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 5000, timeout=WAIT_MS)
    w.set_running(False)
    wait_paused(qtbot, w)
    before = shown(w)
    for p in ("log-cholesky", "cholesky", "precision", "covariance"):
        select(w.panel.param, p)
        assert w.settings.estimator.parameterization == p
        qtbot.waitUntil(lambda p=p: shown(w).chain.settings["parameterization"] == p, timeout=WAIT_MS)
        after = shown(w)
        assert after.step == before.step
        np.testing.assert_array_equal(after.chain.mean, before.chain.mean)
        np.testing.assert_allclose(after.chain.cov, before.chain.cov, rtol=1e-10, atol=1e-14)
    assert w.panel.symmetrize.isEnabled()  # covariance can drift asymmetric
    select(w.panel.param, "natural")
    assert not w.panel.symmetrize.isEnabled() and not w.panel.symmetrize.isChecked()
    assert w.settings.estimator.symmetrize  # kept for when it applies again
    select(w.panel.param, "precision")
    assert w.panel.symmetrize.isEnabled() and w.panel.symmetrize.isChecked()
    w.panel.symmetrize.setChecked(False)
    assert w.settings.estimator.symmetrize is False
    qtbot.waitUntil(lambda: shown(w).chain.settings["symmetrize"] is False, timeout=WAIT_MS)
    # ... and it runs on from there.
    w.set_running(True)
    qtbot.waitUntil(lambda: shown(w).step > before.step, timeout=WAIT_MS)


def test_sign_choice_and_indicator(qtbot, make_window):
    w = make_window()
    assert w.panel.sign_label.text() == "climbs the likelihood"
    select(w.panel.direction, "descent")
    assert w.panel.sign_label.text() == sign_effect("loglik", "descent") == "descends the likelihood: will diverge"
    qtbot.waitUntil(lambda: shown(w).chain.settings["direction"] == "descent", timeout=WAIT_MS)
    select(w.panel.objective, "neg-loglik")  # the other correct pair: climbs again
    assert w.panel.sign_label.text() == "climbs the likelihood"
    qtbot.waitUntil(lambda: shown(w).chain.settings["objective"] == "neg-loglik", timeout=WAIT_MS)
    assert (w.settings.estimator.objective, w.settings.estimator.direction) == ("neg-loglik", "descent")


@pytest.mark.parametrize("preset", ["ill-conditioned-covariance", "wrong-sign-descent"])
def test_divergence_pauses_shows_the_message_and_resumes(qtbot, make_window, preset):
    w = make_window(preset, running=True, speed=0.0)
    qtbot.waitUntil(lambda: w.banner_text() != "", timeout=WAIT_MS)
    div = shown(w).chain.divergence
    assert div is not None and div.reason == "not-positive-definite"
    assert w.banner_text() == div.message
    assert div.message.startswith("Sigma left the positive-definite cone at update ")
    wait_paused(qtbot, w)
    assert w.panel.start_button.text() == "Start" and w.panel.resume_button.isEnabled()
    assert w.status_state.text() == "diverged: paused"
    assert shown(w).chain.steps == div.step - 1  # the last good state
    arrays = w.plots.plotted_arrays()
    assert arrays and all(np.all(np.isfinite(a)) for a in arrays)
    assert all(np.all(np.isfinite(a)) for a in (shown(w).chain.mean, shown(w).chain.cov))
    # Change a setting, resume from the last good state: the run goes on past the failure.
    select(w.panel.param, "natural")
    select(w.panel.direction, "ascent")
    w.panel.resume_button.click()
    qtbot.waitUntil(lambda: shown(w).chain.steps > div.step + 1000, timeout=WAIT_MS)
    assert w.banner_text() == "" and w.is_running()
    assert shown(w).chain.divergence is None


def test_asymmetry_is_shown_live(qtbot, make_window):
    w = make_window("asymmetry-drift", running=True, speed=0.0)
    qtbot.waitUntil(lambda: w.banner_text() != "", timeout=WAIT_MS)
    assert "drifted asymmetric" in w.banner_text()
    value = float(w.panel.asymmetry.text())
    assert value == pytest.approx(shown(w).chain.asymmetry, rel=0.06)
    assert 1e-9 < value < 1e-5


def test_reset_and_step(qtbot, make_window):
    w = make_window()
    w.step()
    qtbot.waitUntil(lambda: shown(w).step == 1, timeout=WAIT_MS)
    w.panel.step_button.click()
    qtbot.waitUntil(lambda: shown(w).step == 2, timeout=WAIT_MS)
    assert shown(w).chain.steps == 2 and not w.is_running()
    w.set_running(True)
    qtbot.waitUntil(lambda: shown(w).step > 1000, timeout=WAIT_MS)
    w.step()  # pauses, then exactly one update
    wait_paused(qtbot, w)
    a = shown(w).step
    w.step()
    qtbot.waitUntil(lambda: shown(w).step == a + 1, timeout=WAIT_MS)
    w.panel.reset_button.click()
    qtbot.waitUntil(lambda: shown(w).step == 0, timeout=WAIT_MS)
    assert shown(w).chain.steps == 0 and shown(w).history.n == 1 and not w.is_running()


def test_changing_the_dimension_rebuilds_the_run(qtbot, make_window):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 100, timeout=WAIT_MS)
    w.panel.dim.setValue(3)
    assert w.settings.target.dim == 3 and w.settings.target.cov is None  # the typed 2x2 no longer applies
    assert w.settings.start.mean == [1.0, 1.0, 0.0]
    qtbot.waitUntil(lambda: shown(w).chain.mean.shape == (3,), timeout=WAIT_MS)
    assert shown(w).true_cov.shape == (3, 3) and shown(w).recent.shape[1] == 3
    assert w.panel.axes_row.isVisibleTo(w)
    w.panel.axis_y.setValue(3)
    assert w.panel.cloud_axes() == (0, 2)
    qtbot.waitUntil(lambda: w.plots.cloud_axes() == (0, 2), timeout=WAIT_MS)
    w.panel.axis_y.setValue(1)  # the same axis twice: refused with a message
    assert "two different axes" in w.panel.message.text() and w.plots.cloud_axes() == (0, 2)
    w.panel.dim.setValue(1)
    qtbot.waitUntil(lambda: shown(w).chain.mean.shape == (1,), timeout=WAIT_MS)
    assert not w.panel.axes_row.isVisibleTo(w)
    qtbot.waitUntil(lambda: shown(w).step > 100, timeout=WAIT_MS)  # still running
    assert all(np.all(np.isfinite(a)) for a in w.plots.plotted_arrays())


def test_target_and_start_fields_validate(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    commit(w.panel.target_mean, "1, 2, 3")
    assert "needs 1 or 2 numbers" in w.panel.message.text() and w.settings.target.mean == [0.0, 0.0]
    commit(w.panel.target_mean, "1, -2")
    assert w.settings.target.mean == [1.0, -2.0]
    qtbot.waitUntil(lambda: list(shown(w).true_mean) == [1.0, -2.0], timeout=WAIT_MS)
    w.panel.cov_text.setPlainText("1, 0.9\n0.2, 1")
    w.panel.cov_apply.click()
    assert "must be symmetric" in w.panel.message.text()
    w.panel.cov_text.setPlainText("1, 2\n2, 1")
    w.panel.cov_apply.click()
    assert "must be positive definite" in w.panel.message.text()
    assert w.settings.target.cov == [[1.0, 0.48], [0.48, 0.5]]
    w.panel.cov_text.setPlainText("2, 0.5\n0.5, 1")
    w.panel.cov_apply.click()
    assert w.settings.target.cov == [[2.0, 0.5], [0.5, 1.0]]
    qtbot.waitUntil(lambda: shown(w).true_cov[0, 0] == 2.0, timeout=WAIT_MS)
    select(w.panel.cov_mode, "cond")
    commit(w.panel.cond, "0.5")
    assert "condition number must be from 1" in w.panel.message.text()
    commit(w.panel.cond, "100")
    assert w.settings.target.cov is None and w.settings.target.cond == 100.0
    qtbot.waitUntil(lambda: np.linalg.cond(shown(w).true_cov) == pytest.approx(100.0), timeout=WAIT_MS)
    commit(w.panel.cov_scale, "0")
    assert "start covariance scale must be from 1e-12" in w.panel.message.text()
    commit(w.panel.cov_scale, "1e-3")
    qtbot.waitUntil(lambda: shown(w).chain.cov[0, 0] == 1e-3, timeout=WAIT_MS)


def test_preset_combo_loads_settings_and_explanation(qtbot, make_window):
    w = make_window()
    i = w.panel.preset.findData("start-too-large")
    w.panel.preset.setCurrentIndex(i)
    w.panel.preset.activated.emit(i)
    expected = get_preset("start-too-large")
    assert w.settings.start.cov_scale == expected.start.cov_scale == 100.0
    assert w.settings.estimator == expected.estimator and w.settings.preset == "start-too-large"
    assert "Sigma is still about 99" in w.explanation.text()
    assert w.panel.cov_scale.text() == "100"
    qtbot.waitUntil(lambda: shown(w).chain.cov[0, 0] == 100.0 and shown(w).step == 0, timeout=WAIT_MS)
    commit(w.panel.alpha.edit, "0.01")
    assert "(modified)" in w.explanation.text()
    assert set(PRESETS) <= {w.panel.preset.itemData(k) for k in range(w.panel.preset.count())}


def test_compare_preset_runs_all_chains(qtbot, make_window):
    w = make_window("what-am-i-missing", running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 5000, timeout=WAIT_MS)
    snap = shown(w)
    assert [c.settings["parameterization"] for c in snap.chains] == [
        "covariance", "precision", "cholesky", "log-cholesky", "natural"]
    commit(w.panel.alpha.edit, "0.001")  # the controls drive the main (first) estimator
    qtbot.waitUntil(lambda: shown(w).chains[0].settings["alpha"] == 0.001, timeout=WAIT_MS)
    assert all(c.settings["alpha"] == 0.02 for c in shown(w).chains[1:])


def test_slow_speed_is_paced(qtbot, make_window):
    w = make_window(running=True, speed=100.0)
    assert w.panel.speed.currentData() == 100.0
    qtbot.waitUntil(lambda: shown(w).step >= 20, timeout=WAIT_MS)
    qtbot.wait(300)
    s0 = shown(w).step
    qtbot.wait(500)
    assert 10 <= shown(w).step - s0 <= 120  # about 50 in 0.5 s
    select(w.panel.speed, 0.0)
    assert w.settings.speed == 0.0
    qtbot.waitUntil(lambda: shown(w).step > 100_000, timeout=WAIT_MS)


def test_keyboard_shortcuts_work_while_a_slider_has_focus(qtbot, make_window):
    w = make_window(show=True)
    w.activateWindow()
    w.panel.alpha.slider.setFocus()
    qtbot.waitUntil(lambda: w.panel.alpha.slider.hasFocus(), timeout=WAIT_MS)
    slider = w.panel.alpha.slider
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.is_running() and shown(w).step > 0, timeout=WAIT_MS)
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_Space)
    wait_paused(qtbot, w)
    a = shown(w).step
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: shown(w).step == a + 1, timeout=WAIT_MS)
    assert w.settings.estimator.alpha == 0.002  # the key stepped the run, not the slider
    qtbot.keyClick(slider, QtCore.Qt.Key.Key_R)
    qtbot.waitUntil(lambda: shown(w).step == 0, timeout=WAIT_MS)


def test_close_while_running_stops_the_thread(qtbot, make_window):
    w = make_window(running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 1000, timeout=WAIT_MS)
    assert any(t.name == "gaussviz-worker" for t in threading.enumerate())
    w.close()
    assert not w.worker.is_alive()
    assert not any(t.name == "gaussviz-worker" and t.is_alive() for t in threading.enumerate())


def test_session_open_and_save(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window()
    warnings: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a: warnings.append(a[2]))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not w.open_session(bad)
    assert "not valid JSON" in warnings[0] and w.settings.preset == "seed-question"
    s = get_preset("ill-conditioned-log-cholesky")
    s.estimator.alpha = 0.0042
    good = tmp_path / "good.json"
    from gaussviz.core.session import to_json

    good.write_text(to_json(s))
    assert w.open_session(good)
    assert w.settings.estimator.alpha == 0.0042 and w.settings.target.dim == 2
    assert w.panel.alpha.edit.text() == "0.0042"
    qtbot.waitUntil(lambda: shown(w).chain.settings["parameterization"] == "log-cholesky", timeout=WAIT_MS)
    out = tmp_path / "saved.json"
    assert w.save_session(out)
    from gaussviz.core.session import from_json

    again = from_json(out.read_text())
    assert again.estimator.alpha == 0.0042 and again.target.cov == s.target.cov
