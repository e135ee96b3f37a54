"""Five chains readable: one colour per update rule everywhere, components told apart by markers,
truth and the running MLE above the cloud, no text over the data, the drifting truth's path, and a
key for every line style and marker. Plus the step axis (linear, log, rolling window) with the
divergence markers visible in each."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from gaussviz.core.parameterizations import PARAMETERIZATIONS
from gaussviz.core.plotdata import window_range
from gaussviz.core.presets import PRESETS, get_preset
from gaussviz.core.settings import EstimatorSettings, build_run
from gaussviz.gui import style
from gaussviz.gui.plots import PARTS, LivePlots

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _run(settings, steps: int, chunk: int = 500, paced: bool = False):
    run = build_run(settings)
    while run.step < steps:
        run.advance(3 if paced else min(chunk, steps - run.step))
    return run.snapshot()


@pytest.fixture
def plots(qtbot):
    w = LivePlots()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    return w


def _colour_of(trace) -> str:
    return trace.look.color.lower()


@pytest.mark.parametrize("preset", [n for n, p in PRESETS.items() if len(p.make().all_estimators()) > 1])
def test_each_rule_has_its_own_colour_in_every_preset(plots, preset):
    snap = _run(get_preset(preset), 600)
    plots.show_snapshot(snap)
    rules = [c.settings["parameterization"] for c in snap.chains]
    seen: dict[str, list[str]] = {}
    for k, (c, rule) in enumerate(zip(snap.chains, rules)):
        ch = plots._chains[k]
        colour = _colour_of(ch.kl)
        for t in (ch.ellipse1, ch.center, ch.spectrum, ch.div_lines["mean"], *ch.mean_curves, *ch.eig_curves):
            assert _colour_of(t) == colour
        seen.setdefault(rule, []).append(colour)
        if rules.index(rule) == k:  # the first chain of a rule: the rule's own colour
            assert colour == PARAMETERIZATIONS[rule].color.lower()
    for rule, colours in seen.items():
        assert len(set(colours)) == len(colours), (rule, colours)  # same rule twice: told apart
    all_colours = [c for cs in seen.values() for c in cs]
    assert len(set(all_colours)) == len(all_colours)


def test_same_rule_chains_are_told_apart_and_the_legend_says_how(plots):
    s = get_preset("ill-conditioned-natural")
    s.compare = [EstimatorSettings(parameterization="natural", alpha=a) for a in (0.005, 0.05)]
    snap = _run(s, 500)
    plots.show_snapshot(snap)
    colours = [_colour_of(ch.kl) for ch in plots._chains[:3]]
    assert colours[0] == style.rule_color("natural").lower() and len(set(colours)) == 3
    names = plots.legend_names()
    assert "darker natural" in names[1] and "lighter natural" in names[2]
    # the legend's samples have the chains' colours
    for k, (sample, _label) in enumerate(plots.legend.items):
        assert sample.item.opts["pen"].color().name().lower() == colours[k]


def test_components_and_eigenvalues_differ_by_markers_not_only_by_tint(plots):
    snap = _run(get_preset("ill-conditioned-natural"), 2000)
    plots.show_snapshot(snap)
    ch = plots._chains[0]
    for curves in (ch.mean_curves, ch.eig_curves):
        first, second = curves[0].look, curves[1].look
        assert first.color == second.color  # the chain's colour ...
        assert first.marker is None and second.marker == "o"  # ... and a marker says which component
    assert "○" in plots.title_text("mean") and "○" in plots.title_text("covariance")
    assert "○ 2nd" in plots.key_text()


def test_truth_and_running_mle_are_drawn_above_the_cloud(plots):
    snap = _run(get_preset("ill-conditioned-natural"), 3000)
    plots.show_snapshot(snap)
    order = plots.canvases["cloud"].traces
    cloud_at = order.index(plots._scatter)
    for t in (*plots._true_ell, *plots._ref_ell, plots._true_center):
        assert order.index(t) > cloud_at
    # and above the chains' ellipses too (thin dashed lines stay visible through them)
    assert order.index(plots._true_ell[0]) > order.index(plots._chains[0].ellipse1)
    # on screen: the dashed true ellipse is black where it is drawn, over the grey samples
    img = plots._glw.grab().toImage()
    x, y = plots._true_ell[0].xData, plots._true_ell[0].yData
    vb = plots.plot_items["cloud"].vb
    black = 0
    for k in range(0, x.size, 3):
        p = plots._glw.mapFromScene(vb.mapViewToScene(QtCore.QPointF(x[k], y[k])))
        c = img.pixelColor(p)
        black += c.lightness() < 60
    assert black >= 5


def test_no_text_is_drawn_over_the_data(plots):
    snap = _run(get_preset("what-am-i-missing"), 3000)
    plots.show_snapshot(snap)
    QtWidgets.QApplication.processEvents()
    scene = plots._glw.scene()
    views = {name: p.vb.sceneBoundingRect() for name, p in plots.plot_items.items()}
    for item in scene.items():
        if isinstance(item, QtWidgets.QGraphicsTextItem) and item.isVisible() and item.toPlainText().strip():
            r = item.mapRectToScene(item.boundingRect())
            m = item.document().documentMargin()
            r = r.adjusted(m, m, -m, -m)
            for name, v in views.items():
                assert not r.intersects(v), (item.toPlainText(), name)
    # the divergence reason is said in the legend (not on the plot), the true values on the right axes
    assert any("✕ not PD at 85" in n for n in plots.legend_names())
    right = plots.plot_items["covariance"].getAxis("right")._tickLevels[0]
    assert [s for _, s in right] == ["λ₁=0.21", "λ₂=1.3"]


def test_the_key_explains_every_marker_and_the_spectrums_numbers(plots):
    snap = _run(get_preset("what-am-i-missing"), 3000)
    plots.show_snapshot(snap)
    key = plots.key_text()
    for words in ("true", "exact running MLE", "○ 2nd", "estimate", "true mean", "true eigenvalue",
                  "λmax/λmin", "divergence", "last λ₁"):
        assert words in key, words
    assert "λmax/λmin" in plots.title_text("spectrum")
    for c in snap.chains:  # the spectrum's numbers: each chain's condition number
        text = f"{c.condition_number:.3g}" if c.condition_number < 100 else f"{c.condition_number:.0f}"
        assert text in plots.title_text("spectrum")


def test_the_drifting_targets_true_path_is_drawn(plots):
    snap = _run(get_preset("drifting-target"), 4000)
    plots.show_snapshot(snap)
    h = snap.history
    assert h.true_mean is not None
    true_mu1 = plots._true_mean[0]
    assert true_mu1.xData.size > 10 and np.ptp(true_mu1.yData) > 0.01  # a path, not a flat line
    assert set(true_mu1.yData) <= set(h.true_mean[:, 0])
    assert plots._true_trail.xData.size > 10  # its path through the cloud
    assert "the truth's path" in plots.key_text()


# ----------------------------------------------------------------- step axis
def test_step_axis_all_linear_all_log_and_a_rolling_window(plots):
    s = get_preset("ill-conditioned-covariance")  # covariance fails at update 85 ...
    s.compare = [EstimatorSettings(parameterization="natural", alpha=0.02)]  # ... natural runs on
    snap = _run(s, 30_000, paced=True)
    div = snap.chains[0].divergence
    assert div is not None and div.step == 85 and snap.chains[1].divergence is None
    plots.show_snapshot(snap)
    for mode in ("linear", "log", "window"):
        plots.set_step_axis(mode, 2000)
        assert plots.step_axis() == (mode, 2000)
        log = {n: plots.canvases[n].log_mode()[0] for n in ("mean", "covariance", "kl")}
        if mode == "log":
            assert all(log.values())
        elif mode == "window":
            assert not any(log.values())
        else:
            assert log == {"mean": False, "covariance": False, "kl": True}  # KL keeps log-log
        kl = plots._chains[1].kl
        if mode == "window":
            x0, x1 = window_range(snap.step, 2000)
            assert x0 <= snap.step - 2000 and x1 >= snap.step
            assert kl.xData.min() >= snap.step - 2000 and kl.xData.max() == snap.step
            _h, steps = plots._history(snap)
            assert np.all(np.diff(steps) == 1)  # every update of the window (the fine tail) ...
            assert set(kl.xData) <= set(steps)  # ... thinned to the plot's width for drawing
            # the divergence long before the window: its marker stays, at the window's left edge
            for name in ("mean", "covariance", "kl"):
                assert plots.divergence_marker_steps(name) == [x0]
                assert plots._chains[0].div_lines[name].isVisible()
        else:
            assert kl.xData.min() <= 10 and kl.xData.max() == snap.step
            for name in ("mean", "covariance", "kl"):
                assert plots.divergence_marker_steps(name) == [div.step]
        assert all(np.all(np.isfinite(a)) for a in plots.plotted_arrays())
    with pytest.raises(ValueError, match="step axis"):
        plots.set_step_axis("sideways")
    with pytest.raises(ValueError, match="at least 10"):
        plots.set_step_axis("window", 3)


def test_every_part_draws_in_every_step_axis_mode(plots):
    snap = _run(get_preset("seed-question"), 5000)
    for mode in ("log", "window", "linear"):
        plots.set_step_axis(mode, 500)
        plots.show_snapshot(snap)
        for name in PARTS:
            assert any(t.xData.size for t in plots.canvases[name].traces), (mode, name)


def test_exports_draw_the_same_traces_including_divergence_lines_on_log_axes(plots):
    from gaussviz.gui.image_export import plot_svg

    snap = _run(get_preset("ill-conditioned-covariance"), 2000)
    plots.show_snapshot(snap)
    cv = plots.canvases["covariance"]
    line = plots._chains[0].div_lines["covariance"]
    x, _ = cv._display(line)
    assert x.tolist() == [85.0]  # the log y axis does not drop a vertical line
    svg = plot_svg(plots, "covariance").decode()
    colour = style.rule_color("covariance").lower()
    assert svg.lower().count(colour) >= 3  # the curves, the marker of the last eigenvalue, the line
