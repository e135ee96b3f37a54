"""The parameter-space plot (gui/pspace_view.py) on snapshots of real runs: contours, the forbidden
region, truth and running MLE, paths, and a field that points the way the rule goes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtGui

from gaussviz.core.presets import get_preset
from gaussviz.core.settings import EstimatorSettings, Settings, StartSettings, TargetSettings, build_run
from gaussviz.gui import pspace_view as pv
from gaussviz.gui.image_export import render_item
from gaussviz.gui.plots import LivePlots

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _snap(settings: Settings, steps: int):
    run = build_run(settings)
    run.advance(steps)
    return run.snapshot()


@pytest.fixture(scope="module")
def snaps():
    return {
        "seed": _snap(get_preset("seed-question"), 3000),
        "wrong": _snap(get_preset("wrong-sign-descent"), 3000),
        "small": _snap(get_preset("start-too-small"), 3000),
        "d3": _snap(Settings(target=TargetSettings(dim=3, cond=10.0, seed=3),
                             start=StartSettings(mean=1.0, cov_scale=1.0),
                             estimator=EstimatorSettings(parameterization="natural", alpha=0.01)).validate(), 2000),
    }


@pytest.fixture
def plots(qtbot):
    w = LivePlots()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    qtbot.waitExposed(w)
    return w


def _shafts(view: pv.ParamSpaceView, kx: float, ky: float):
    """Each arrow's start and its direction in pixels (the first of its three lines)."""
    out = []
    for t in (view.arrows, view.clipped):
        x, y = t.xData.reshape(-1, 6), t.yData.reshape(-1, 6)
        ylog = view.log_sigma
        dy = (np.log10(y[:, 1]) - np.log10(y[:, 0])) if ylog else (y[:, 1] - y[:, 0])
        out.append(np.column_stack([x[:, 0], y[:, 0], (x[:, 1] - x[:, 0]) * kx, dy * ky]))
    return np.concatenate(out)


def _toward_truth(plots: LivePlots, snap) -> np.ndarray:
    """cos of the angle between each arrow and the way to the truth, in pixels."""
    view = plots.pspace
    (x0, x1), (y0, y1) = plots.plot_items["pspace"].vb.viewRange()
    kx = plots.plot_items["pspace"].vb.width() / (x1 - x0)
    ky = plots.plot_items["pspace"].vb.height() / (y1 - y0)
    a = _shafts(view, kx, ky)
    tm, tv = float(snap.true_mean[0]), float(snap.true_cov[0, 0])
    ty = np.log10(tv) if view.log_sigma else tv
    py = np.log10(a[:, 1]) if view.log_sigma else a[:, 1]
    to = np.column_stack([(tm - a[:, 0]) * kx, (ty - py) * ky])
    return np.sum(to * a[:, 2:], axis=1) / (np.linalg.norm(to, axis=1) * np.linalg.norm(a[:, 2:], axis=1))


def test_d1_contours_forbidden_region_truth_mle_and_path(plots, snaps):
    snap = snaps["seed"]
    plots.show_snapshot(snap)
    v = plots.pspace
    assert "KL contours" in plots.title_text("pspace") and not v.log_sigma
    assert v.contours.xData.size > 100 and v.arrow_count == pv.ARROWS[0] * pv.ARROWS[1]
    assert v.forbidden.image is not None and v.forbidden.yData[1] == 0.0 and v.forbidden.yData[0] < 0
    assert np.array_equal(v.edge.yData, [0.0, 0.0])
    assert v.background.image is not None and v.background.yData[0] >= 0  # the shading stops at Sigma = 0
    assert np.allclose([v.truth.xData[0], v.truth.yData[0]], [0.0, 1.0])
    assert np.allclose([v.mle.xData[0], v.mle.yData[0]], [snap.ref_mean[0], snap.ref_cov[0, 0]])
    c = snap.chains[0]
    assert np.allclose([v._points[0].xData[0], v._points[0].yData[0]], [c.mean[0], c.cov[0, 0]])
    assert sum(t.xData.size for t in v._paths[0]) >= snap.history.steps.size
    assert np.allclose([v._starts[0].xData[0], v._starts[0].yData[0]], [0.0, 1.0])  # the preset's start
    for a in plots.plotted_arrays():
        assert np.all(np.isfinite(a))
    # the right sign: the arrows point towards the truth (every one a little, nearly all clearly)
    cos = _toward_truth(plots, snap)
    assert np.mean(cos > 0) > 0.95, cos


def test_the_wrong_sign_field_points_away_and_the_path_ends_at_the_edge(plots, snaps):
    snap = snaps["wrong"]
    assert snap.chains[0].divergence is not None
    plots.show_snapshot(snap)
    cos = _toward_truth(plots, snap)
    assert np.mean(cos < 0) > 0.95, cos
    # the path ran from the truth down to the edge Sigma = 0
    v = plots.pspace
    assert v._points[0].yData[0] < 0.15 and v.clipped_count > 0  # 1/Sigma^2: the arrows blow up near the edge
    near_edge = v.clipped.yData.reshape(-1, 6)[:, 0]
    assert near_edge.min() < 0.5


def test_a_blown_up_start_gets_a_log_sigma_axis_and_linear_on_request(plots, snaps):
    snap = snaps["small"]
    plots.show_snapshot(snap)
    v = plots.pspace
    assert v.log_sigma and "log Σ" in plots.title_text("pspace")
    assert plots.plot_items["pspace"].getAxis("left").labelText == "variance Σ (log scale)"
    assert v.forbidden.image is None  # Sigma = 0 lies at minus infinity
    assert v._starts[0].yData[0] == pytest.approx(1e-4) and v._points[0].yData[0] > 100
    assert np.mean(_toward_truth(plots, snap) > 0) > 0.9
    plots.set_pspace_scale("linear")
    assert not v.log_sigma and v.forbidden.image is not None
    plots.set_pspace_scale("auto")
    assert v.log_sigma
    with pytest.raises(ValueError, match="Sigma axis"):
        plots.set_pspace_scale("sideways")


def test_d3_shows_the_eigenvalue_plane_with_its_pd_edge(plots, snaps):
    snap = snaps["d3"]
    plots.show_snapshot(snap)
    v = plots.pspace
    assert "PD edge" in plots.title_text("pspace") and not v.arrows.xData.size and not v.contours.xData.size
    assert v.forbidden.image is not None and v.forbidden.xData[1] == 0.0
    w = np.linalg.eigvalsh(snap.true_cov)
    assert np.allclose([v.truth.xData[0], v.truth.yData[0]], [w[0], w[-1]])
    c = snap.chains[0]
    assert np.allclose([v._points[0].xData[0], v._points[0].yData[0]], [c.eig[0], c.eig[-1]])


def test_background_and_field_are_cached_between_frames(plots, snaps):
    run = build_run(get_preset("seed-question"))
    run.advance(200)
    plots.show_snapshot(run.snapshot())
    v = plots.pspace
    bg, field = v.background_count, v.field_count
    for _ in range(5):
        run.advance(20)
        plots.show_snapshot(run.snapshot())
    assert (v.background_count, v.field_count) == (bg, field)
    # a new rate is a new field (the background stays)
    run.apply_change("alpha", 0.02)
    run.advance(1)
    plots.show_snapshot(run.snapshot())
    assert v.field_count == field + 1 and v.background_count == bg


def test_the_plot_is_painted_with_its_forbidden_region(plots, snaps):
    plots.show_snapshot(snaps["wrong"])
    img = render_item(plots.plot_items["pspace"], 800)
    reds = 0
    for x in range(0, img.width(), 4):
        for y in range(0, img.height(), 4):
            c = QtGui.QColor(img.pixel(x, y))
            reds += c.red() > 200 and c.green() < 225 and c.blue() < 225 and c.red() - c.blue() > 25
    assert reds > 50
    # and on screen (the raster canvas)
    shot = plots.grab().toImage()
    screen_reds = 0
    for x in range(0, shot.width(), 3):
        for y in range(0, shot.height(), 3):
            c = QtGui.QColor(shot.pixel(x, y))
            screen_reds += c.red() > 200 and c.green() < 225 and c.blue() < 225 and c.red() - c.blue() > 25
    assert screen_reds > 50


def test_the_view_menu_chooses_the_sigma_axis_and_sessions_keep_it(qtbot, make_window):
    from gaussviz.core.settings import from_dict, to_dict

    w = make_window("start-too-small")
    w.pspace_actions["linear"].trigger()
    assert w.settings.view.pspace_sigma == "linear" and w.plots.pspace.sigma_scale() == "linear"
    assert from_dict(to_dict(w.settings)).view.pspace_sigma == "linear"
    bad = to_dict(w.settings)
    bad["view"]["pspace_sigma"] = "sideways"
    with pytest.raises(ValueError, match=r"view.*parameter-space Sigma axis"):
        from_dict(bad)
    old = to_dict(w.settings)
    del old["view"]["pspace_sigma"]  # a session written before this setting existed
    assert from_dict(old).view.pspace_sigma == "auto"
