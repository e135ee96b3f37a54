"""The optimizers in the window: the controls beside the update rule (live like α), the averaged
estimate drawn dotted, compare mode "optimizers, same rule", the Stability tab's optimizer axis."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core import optimizers as opt
from gaussviz.core.settings import EstimatorSettings
from gaussviz.gui import style
from gaussviz.gui.compare import compare_settings, mode_of
from gaussviz.gui.widgets import select

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def shown(w):
    return w.shown_snapshot


def test_optimizer_controls_are_live_and_reset_only_the_optimizer(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    p = w.panel
    assert [p.optimizer.itemData(i) for i in range(p.optimizer.count())] == list(opt.NAMES)
    assert not p.beta1.isEnabled() and not p.eps.isEnabled()  # sgd reads none of them
    w.worker.send("step", 300)
    qtbot.waitUntil(lambda: shown(w).step == 300, timeout=WAIT_MS)
    p.optimizer.setCurrentIndex(p.optimizer.findData("adam"))
    assert w.settings.estimator.optimizer == "adam"
    assert p.beta1.isEnabled() and p.beta2.isEnabled() and p.eps.isEnabled()
    p.beta1.setText("0.5")
    p.beta1.editingFinished.emit()
    assert w.settings.estimator.beta1 == 0.5
    p.averaging.setChecked(True)
    w.worker.send("step", 200)
    qtbot.waitUntil(lambda: shown(w).step == 500, timeout=WAIT_MS)
    snap = shown(w)
    c = snap.chain
    assert c.settings["optimizer"] == "adam" and c.settings["beta1"] == 0.5 and c.steps == 500
    assert snap.session["steps"] == 500
    fields = [(ch["step"], ch["field"]) for ch in snap.session["changes"]]
    assert fields == [(300, "optimizer"), (300, "optimizer"), (300, "averaging")]
    assert snap.session["changes"][1]["value"] == ["adam", 0.5, 0.999, 1e-8]
    # the estimate carried on (no restart) and the average started where it was turned on
    assert c.avg_cov is not None and np.isfinite(c.avg_kl)
    # a bad beta: a message, the old value stays, the run is not touched
    p.beta2.setText("1.5")
    p.beta2.editingFinished.emit()
    assert w.settings.estimator.beta2 == 0.999 and "beta2 must be a number in [0, 1)" in p.message.text()
    # riemannian refuses adam: the message says why, the rule stays
    p.param.setCurrentIndex(p.param.findData("riemannian"))
    assert w.settings.estimator.parameterization == "natural" and "sgd' only" in p.message.text()


def test_the_averaged_estimate_is_drawn_dotted_in_the_cloud_and_the_kl_plot(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    w.panel.averaging.setChecked(True)
    w.worker.send("step", 2000)
    qtbot.waitUntil(lambda: shown(w).step == 2000, timeout=WAIT_MS)
    snap = shown(w)
    qtbot.waitUntil(lambda: w.plots._chains[0].avg_kl.xData.size > 0, timeout=WAIT_MS)
    ch = w.plots._chains[0]
    assert ch.avg_ellipse.look.dash == style.AVG_DASH and ch.avg_kl.look.dash == style.AVG_DASH
    assert ch.avg_ellipse.look.color == ch.kl.look.color  # the chain's colour
    assert ch.avg_ellipse.xData.size > 0 and np.all(np.isfinite(ch.avg_ellipse.xData))
    # the ellipse is the average's: its centre is the averaged mean
    np.testing.assert_allclose([ch.avg_ellipse.xData.mean(), ch.avg_ellipse.yData.mean()], snap.chain.avg_mean,
                               atol=0.05 * np.sqrt(snap.chain.avg_cov.max()))
    assert np.nanmin(ch.avg_kl.yData) > 0 and "Polyak-Ruppert average" in w.plots.key_text()
    # off again: nothing dotted stays
    w.panel.averaging.setChecked(False)
    w.worker.send("step", 10)
    qtbot.waitUntil(lambda: shown(w).step == 2010 and shown(w).chain.avg_cov is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.plots._chains[0].avg_kl.xData.size == 0, timeout=WAIT_MS)
    assert w.plots._chains[0].avg_ellipse.xData.size == 0


def test_compare_optimizers_same_rule_in_fixed_colours(qtbot, make_window):
    main = EstimatorSettings(parameterization="cholesky", alpha=0.01)
    first, others = compare_settings(main, "optimizers", optimizers=["adam", "sgd", "nesterov"])
    assert [e.optimizer for e in [first, *others]] == ["sgd", "nesterov", "adam"]
    assert {e.parameterization for e in [first, *others]} == {"cholesky"}
    with pytest.raises(ValueError, match="tick at least one optimizer"):
        compare_settings(main, "optimizers", optimizers=[])
    w = make_window("ill-conditioned-covariance")
    view = w.panel.compare
    view.mode.setCurrentIndex(view.mode.findData("optimizers"))
    assert view.optimizer_box.isVisible() or not w.isVisible()
    for o, cb in view.optimizer_checks.items():
        cb.setChecked(o in ("sgd", "momentum", "adam"))
    assert view.apply()
    assert mode_of(w.settings) == "optimizers"
    assert [e.optimizer for e in w.settings.all_estimators()] == ["sgd", "momentum", "adam"]
    w.worker.send("step", 50)
    qtbot.waitUntil(lambda: len(shown(w).chains) == 3 and shown(w).step == 50, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(w.plots.legend_names()) == 3, timeout=WAIT_MS)
    colours = [w.plots._chains[k].kl.look.color for k in range(3)]
    assert colours == [style.optimizer_color(o) for o in ("sgd", "momentum", "adam")]
    assert len(set(colours)) == 3
    assert w.plots.legend_names()[2].startswith("covariance, alpha = 0.02, adam")
    # riemannian cannot take them: a clear error, nothing applied
    select(w.panel.param, "riemannian")
    main = w.settings.estimator
    with pytest.raises(ValueError, match="sgd' only"):
        EstimatorSettings(**{**main.__dict__, "parameterization": "riemannian", "optimizer": "adam"}).validate()


def test_stability_tab_optimizer_axis(qtbot, make_window):
    w = make_window("seed-question")
    tab = w.stability
    tab.axis.setCurrentIndex(tab.axis.findData("optimizer"))
    assert tab.axis_values.text() == ", ".join(opt.NAMES)
    assert not tab.param_boxes["riemannian"].isChecked()
    tab.axis_values.setText("sgd, adam")
    spec = tab.spec()
    assert spec.axis == "optimizer" and [spec.axis_info.format(v) for v in spec.axis_values] == ["sgd", "adam"]
    tab.axis_values.setText("sgd, adamw")
    with pytest.raises(ValueError, match="optimizer values must be names"):
        tab.spec()
    tab.axis.setCurrentIndex(tab.axis.findData("cov0-scale"))
    assert tab.axis_values.text() == "0.1, 1, 10"


def test_an_opened_session_replays_optimizer_changes_and_the_controls_follow(qtbot, make_window, tmp_path):
    import json

    from gaussviz.core.presets import get_preset
    from gaussviz.core.session import to_json

    d = json.loads(to_json(get_preset("ill-conditioned-natural")))
    d["changes"] = [{"step": 300, "chain": 0, "field": "optimizer", "value": ["adam", 0.8, 0.99, 1e-6]},
                    {"step": 300, "chain": 0, "field": "averaging", "value": True},
                    {"step": 900, "chain": 0, "field": "optimizer", "value": ["sgd", 0.8, 0.99, 1e-6]}]
    d["steps"], d["speed"] = 3000, 0.0
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps(d))
    w = make_window("seed-question", running=False)
    assert w.open_session(path)
    w.worker.send("step", 600)
    qtbot.waitUntil(lambda: shown(w).step == 600, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.settings.estimator.optimizer == "adam", timeout=WAIT_MS)
    assert w.panel.optimizer.currentData() == "adam" and w.panel.beta1.text() == "0.8"
    assert w.panel.averaging.isChecked() and shown(w).chain.avg_cov is not None
    w.worker.send("step", 600)
    qtbot.waitUntil(lambda: shown(w).step == 1200, timeout=WAIT_MS)
    # back to sgd: the chain's settings omit the default optimizer, the controls still follow
    qtbot.waitUntil(lambda: w.settings.estimator.optimizer == "sgd", timeout=WAIT_MS)
    assert w.panel.optimizer.currentData() == "sgd" and not w.panel.beta1.isEnabled()
    out = tmp_path / "again.json"
    assert w.save_session(out)
    saved = json.loads(out.read_text())
    assert saved["changes"] == d["changes"]  # replayed once each, no echoes
    assert saved["estimator"]["optimizer"] == "sgd"  # as at step 0
