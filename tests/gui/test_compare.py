"""Compare mode: several estimators on one stream, each with its own colour, each diverging on its own."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gaussviz.core.presets import get_preset
from gaussviz.core.settings import EstimatorSettings, build_run
from gaussviz.gui import style
from gaussviz.gui.compare import compare_settings, mode_of, parse_alphas

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def shown(w):
    return w.shown_snapshot


def labels(w):
    return [c.label for c in shown(w).chains]


def test_parse_alphas_sorts_and_refuses_bad_lists():
    assert parse_alphas("0.05, 0.002 0.01") == [0.002, 0.01, 0.05]
    for text, why in (("", "type one or more"), ("0.1, x", "'x' is not a number"), ("2", "from 1e-05 to 1"),
                      ("0.01, 0.0100", "twice"), ("nan", "from"), (",".join(["0.01"] * 1), None)):
        if why is None:
            assert parse_alphas(text) == [0.01]
            continue
        with pytest.raises(ValueError, match=why):
            parse_alphas(text)
    with pytest.raises(ValueError, match="at most 7"):
        parse_alphas(", ".join(str(0.001 * (k + 1)) for k in range(8)))


def test_compare_settings_keeps_the_main_estimators_other_choices():
    main = EstimatorSettings(parameterization="natural", alpha=0.03, direction="descent", schedule="inverse",
                             batch_size=4, symmetrize=True)
    first, others = compare_settings(main, "params", ["natural", "covariance", "cholesky"])
    assert [e.parameterization for e in [first, *others]] == ["covariance", "cholesky", "natural"]
    assert all(e.alpha == 0.03 and e.direction == "descent" and e.schedule == "inverse" and e.batch_size == 4
               for e in [first, *others])
    first, others = compare_settings(main, "alphas", alphas=[0.1, 0.001])
    assert [e.alpha for e in [first, *others]] == [0.001, 0.1]
    assert {e.parameterization for e in [first, *others]} == {"natural"}
    with pytest.raises(ValueError, match="tick at least one"):
        compare_settings(main, "params", [])
    assert mode_of(get_preset("what-am-i-missing")) == "params"
    assert mode_of(get_preset("drifting-target")) == "mixed"
    assert mode_of(get_preset("seed-question")) == "off"


def test_compared_chains_read_the_same_stream_bit_identically(qtbot, make_window):
    """Each compared chain is exactly the single-estimator run with the same seed: one stream for all."""
    w = make_window("what-am-i-missing")
    w.worker.send("step", 700)
    qtbot.waitUntil(lambda: shown(w).step == 700, timeout=WAIT_MS)
    snap = shown(w)
    s = w.settings
    assert len(snap.chains) == 5
    assert snap.n_samples == 700 * s.estimator.batch_size  # one stream: not 5 x 700
    assert snap.ref_mean.shape == (2,)  # one exact-MLE reference for all chains
    for k, (est, chain) in enumerate(zip(s.all_estimators(), snap.chains)):
        alone = s.copy()
        alone.estimator, alone.compare = est, []
        run = build_run(alone)
        run.advance(700)
        c = run.snapshot().chain
        assert c.label == chain.label
        assert np.array_equal(c.mean, chain.mean) and np.array_equal(c.cov, chain.cov), k
        assert (c.divergence is None) == (chain.divergence is None)
        if c.divergence is not None:
            assert c.divergence.step == chain.divergence.step


def test_each_chain_diverges_on_its_own_while_the_others_run_on(qtbot, make_window):
    w = make_window("what-am-i-missing", running=True, speed=0.0)
    # covariance (chain 0) leaves the PD cone at update 85; the others keep going
    qtbot.waitUntil(lambda: shown(w).chains[0].divergence is not None
                    and min(c.steps for c in shown(w).chains[1:]) > 20_000, timeout=WAIT_MS)
    snap = shown(w)
    assert snap.chains[0].divergence.step == 85 and snap.chains[0].steps == 84  # its last good state
    assert w.is_running() and snap.extra["running"]
    assert "covariance, alpha = 0.02: Sigma left the positive-definite cone at update 85" in w.banner_text()
    legend = w.plots.legend_names()
    assert legend[0].startswith("covariance, alpha = 0.02  ✕ not PD at 85")
    assert legend[4] == "natural, alpha = 0.02"
    assert w.status_state.text() == "running"


def test_the_window_pauses_only_when_every_chain_diverged(qtbot, make_window):
    w = make_window("seed-question", running=True, speed=0.0)
    s = get_preset("ill-conditioned-covariance")
    s.estimator.direction = "descent"  # wrong sign: walks away from the MLE
    s.compare = [EstimatorSettings(parameterization=p, alpha=0.02, direction="descent", symmetrize=True)
                 for p in ("precision", "natural")]
    w.load_settings(s)
    w.set_running(True)
    qtbot.waitUntil(lambda: len(shown(w).chains) == 3 and all(c.divergence for c in shown(w).chains),
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not w.is_running(), timeout=WAIT_MS)
    steps = [c.steps for c in shown(w).chains]
    assert len(set(steps)) > 1  # they failed at different updates, each on its own
    assert w.status_state.text() == "paused"
    assert w.banner_text().count("\n") == 2  # one line per chain


def test_compare_view_parameterizations_apply_and_restart(qtbot, make_window):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 1000, timeout=WAIT_MS)
    view = w.panel.compare
    view.mode.setCurrentIndex(view.mode.findData("params"))
    for p, cb in view.checks.items():
        cb.setChecked(p in ("covariance", "log-cholesky", "natural"))
    assert view.apply()
    assert w.settings.estimator.parameterization == "covariance" and w.settings.estimator.alpha == 0.02
    assert [c.parameterization for c in w.settings.compare] == ["log-cholesky", "natural"]
    want = ["covariance, alpha = 0.02", "log-cholesky, alpha = 0.02", "natural, alpha = 0.02"]
    qtbot.waitUntil(lambda: labels(w) == want and shown(w).step > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: w.plots.legend_names()[:3] == want or
                    w.plots.legend_names()[0].startswith(want[0]), timeout=WAIT_MS)
    assert all(c.steps == shown(w).chains[1].steps for c in shown(w).chains[1:])  # restarted together
    assert "3 estimators on one stream" in view.note.text()
    # the note is read as written: no markup in it; the first rule's colour is the swatch beside it
    assert "<" not in view.note.text() and ">" not in view.note.text()
    assert view.swatch.isVisibleTo(view) and style.rule_color("covariance") in view.swatch.styleSheet()


def test_compare_view_learning_rates_and_a_bad_list(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    view = w.panel.compare
    view.mode.setCurrentIndex(view.mode.findData("alphas"))
    view.alphas.setText("0.1, 0.002, 0.02")
    assert view.apply()
    assert [e.alpha for e in w.settings.all_estimators()] == [0.002, 0.02, 0.1]
    qtbot.waitUntil(lambda: labels(w) == ["natural, alpha = 0.002", "natural, alpha = 0.02",
                                          "natural, alpha = 0.1"], timeout=WAIT_MS)
    before = w.settings.copy()
    view.alphas.setText("0.1, 5")
    assert not view.apply()
    assert "from 1e-05 to 1" in view.error.text() and view.error.isVisibleTo(view)
    assert w.settings.all_estimators() == before.all_estimators()
    # back to one estimator
    view.mode.setCurrentIndex(view.mode.findData("off"))
    assert view.apply()
    qtbot.waitUntil(lambda: len(shown(w).chains) == 1, timeout=WAIT_MS)


def test_live_controls_change_the_first_estimator_only(qtbot, make_window):
    w = make_window("what-am-i-missing")
    w.panel.alpha.slider.setValue(math.log10(0.005))
    w.panel.param.setCurrentIndex(w.panel.param.findData("natural"))
    qtbot.waitUntil(lambda: shown(w).chains[0].settings["alpha"] == 0.005
                    and shown(w).chains[0].settings["parameterization"] == "natural", timeout=WAIT_MS)
    assert [c.settings["alpha"] for c in shown(w).chains[1:]] == [0.02] * 4
    assert [c.parameterization for c in w.settings.compare] == ["precision", "cholesky", "log-cholesky", "natural"]
    # the mini-batch is shared by all chains (one stream): it changes for every one, no error
    w.panel.batch.setValue(3)
    assert w.panel.message.isHidden()
    assert {e.batch_size for e in w.settings.all_estimators()} == {3}
    w.worker.send("step", 10)
    qtbot.waitUntil(lambda: shown(w).step == 10, timeout=WAIT_MS)
    assert shown(w).n_samples == 30


def test_what_am_i_missing_opens_five_rules_side_by_side(qtbot, make_window):
    w = make_window("what-am-i-missing")
    assert w.settings.target.dim == 2
    assert [c.label for c in shown(w).chains] == [f"{p}, alpha = 0.02" for p in
                                                    ("covariance", "precision", "cholesky", "log-cholesky",
                                                     "natural")]
    view = w.panel.compare
    assert view.mode.currentData() == "params"
    assert {p for p, cb in view.checks.items() if cb.isChecked()} == {
        "covariance", "precision", "cholesky", "log-cholesky", "natural"}
    from gaussviz.gui import style

    assert len({style.chain_color(k) for k in range(5)}) == 5
