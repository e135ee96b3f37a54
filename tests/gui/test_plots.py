"""LivePlots against snapshots of real runs (pytest-qt, offscreen)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from gaussviz.core.geometry import ellipse_points
from gaussviz.core.plotdata import envelope, finite_xy
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import EstimatorSettings, Settings, StartSettings, TargetSettings, build_run
from gaussviz.gui import style
from gaussviz.gui.plot_items import log_tick_label
from gaussviz.gui.plots import MAX_TRAJECTORIES, LivePlots

# The offscreen platform says this whenever a top-level widget is shown; it is not ours.
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _run(settings: Settings, steps: int, chunk: int = 100, stop_when_all_diverged: bool = True):
    run = build_run(settings)
    done = 0
    while done < steps:
        run.advance(chunk)
        done += chunk
        if stop_when_all_diverged and run.all_diverged:
            break
    return run.snapshot()


@pytest.fixture(scope="module")
def snap_d1():
    return _run(get_preset("seed-question"), 3000, chunk=500)


@pytest.fixture(scope="module")
def snap_diverged():
    snap = _run(get_preset("ill-conditioned-covariance"), 5000)
    assert snap.chains[0].divergence is not None, "the preset is meant to diverge"
    return snap


def _settings_d(d: int, compare: list[EstimatorSettings] | None = None) -> Settings:
    return Settings(target=TargetSettings(dim=d, cond=10.0, seed=3), start=StartSettings(mean=1.0, cov_scale=1.0),
                    estimator=EstimatorSettings(parameterization="natural", alpha=0.01),
                    compare=compare or []).validate()


@pytest.fixture(scope="module")
def snap_d3():
    return _run(_settings_d(3), 2000, chunk=500)


@pytest.fixture(scope="module")
def snap_compare():
    snap = _run(get_preset("what-am-i-missing"), 3000, stop_when_all_diverged=False)
    assert len(snap.chains) == 5
    return snap


@pytest.fixture
def plots(qtbot):
    w = LivePlots()
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    return w


def _all_finite(w: LivePlots) -> None:
    arrays = w.plotted_arrays()
    assert arrays, "nothing was plotted"
    for a in arrays:
        assert np.all(np.isfinite(a)), a


def _on_log_axes_positive(w: LivePlots) -> None:
    for name in ("covariance", "spectrum", "kl"):
        for item in w.plot_items[name].listDataItems():
            if item.yData is not None and item.yData.size:
                assert np.all(item.yData > 0), name
    for item in w.plot_items["kl"].listDataItems():
        if item.xData is not None and item.xData.size:
            assert np.all(item.xData > 0)


def _empty(item) -> bool:
    return item.xData is None or item.xData.size == 0


def _assert_drawn_from(item, x, y) -> None:
    """The item shows (x, y), possibly decimated: its points are points of (x, y), with the
    extremes and the last point kept."""
    x, y = finite_xy(x, y)
    px, py = item.xData, item.yData
    idx = np.searchsorted(x, px)
    assert np.array_equal(x[idx], px) and np.array_equal(y[idx], py)
    assert py.max() == y.max() and py.min() == y.min()
    assert px[-1] == x[-1] and py[-1] == y[-1]


def _pen_color(item) -> str:
    return pg.mkPen(item.opts["pen"]).color().name().lower()


def _quad_form(pts: tuple[np.ndarray, np.ndarray], mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    p = np.vstack(pts).T - mean
    s = 0.5 * (cov + cov.T)
    return np.einsum("ni,ij,nj->n", p, np.linalg.inv(s), p)


# --------------------------------------------------------------- pure helpers
def test_finite_xy_drops_nan_inf_and_non_positive_on_log_axes():
    x, y = finite_xy([0, 1, 2, 3, 4], [1.0, np.nan, np.inf, -1.0, 2.0])
    assert x.tolist() == [0, 3, 4] and y.tolist() == [1.0, -1.0, 2.0]
    x, y = finite_xy([0, 1, 2, 3, 4], [1.0, np.nan, np.inf, -1.0, 2.0], positive_x=True, positive_y=True)
    assert x.tolist() == [4] and y.tolist() == [2.0]


def test_ellipse_points_lie_on_the_sigma_contour_and_refuse_non_pd():
    mean = np.array([1.0, -2.0])
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    for r in (1.0, 2.0):
        pts = ellipse_points(mean, cov, r)
        assert np.allclose(_quad_form(pts, mean, cov), r * r)
    assert ellipse_points(mean, np.array([[1.0, 2.0], [2.0, 1.0]]), 1.0) is None  # indefinite
    assert ellipse_points(mean, np.array([[np.nan, 0.0], [0.0, 1.0]]), 1.0) is None


def test_envelope_keeps_each_bins_extremes_and_the_ends():
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(1, 1e6, 20000))
    y = rng.standard_normal(x.size)
    for log_x in (False, True):
        ex, ey = envelope(x, y, 100, log_x=log_x)
        assert ex.size <= 2 * 100 + 2 + 10  # ties aside
        assert ex[0] == x[0] and ex[-1] == x[-1] and ey[-1] == y[-1]
        u, eu = (np.log10(x), np.log10(ex)) if log_x else (x, ex)
        edges = np.linspace(u[0], u[-1], 101)
        for b in range(100):
            sel = (u >= edges[b]) & (u < edges[b + 1])
            esel = (eu >= edges[b]) & (eu < edges[b + 1])
            if sel.any():
                assert ey[esel].max() == y[sel].max() and ey[esel].min() == y[sel].min()
    short = np.arange(50.0)
    assert envelope(short, short, 100)[0] is short  # nothing to decimate


def test_log_tick_labels_read_plainly():
    assert log_tick_label(0.02) == "0.02"
    assert log_tick_label(50.0) == "50"
    assert log_tick_label(1e-5) == "10⁻⁵"
    assert log_tick_label(2e6) == "2·10⁶"


# ---------------------------------------------------------------- the widget
def test_interface(plots):
    assert set(plots.plot_items) == {"cloud", "mean", "covariance", "spectrum", "kl", "pspace"}
    assert all(isinstance(p, pg.PlotItem) for p in plots.plot_items.values())


def test_d1_histogram_densities_and_kl(plots, snap_d1):
    plots.show_snapshot(snap_d1)
    _all_finite(plots)
    _on_log_axes_positive(plots)
    chain = snap_d1.chains[0]
    assert plots.legend_names() == [chain.label]
    # histogram is a density over the recent samples
    edges, dens = plots._hist.xData, plots._hist.yData
    assert edges.size == dens.size + 1
    recent = snap_d1.recent[:, 0]
    inside = np.mean((recent >= edges[0]) & (recent <= edges[-1]))
    assert np.sum(dens * np.diff(edges)) == pytest.approx(inside, rel=1e-9)
    assert inside > 0.98
    # the chain's density curve peaks at its mean with height 1/sqrt(2 pi var)
    curve = plots._chains[0].density
    m, v = chain.mean[0], chain.cov[0, 0]
    step = curve.xData[1] - curve.xData[0]
    assert abs(curve.xData[np.argmax(curve.yData)] - m) <= step
    assert curve.yData.max() == pytest.approx(1 / np.sqrt(2 * np.pi * v), rel=1e-3)
    # true density (dashed) integrates to ~1 over the view
    t = plots._true_density
    area = np.sum(0.5 * (t.yData[1:] + t.yData[:-1]) * np.diff(t.xData))
    assert area == pytest.approx(1.0, abs=0.01)
    # KL curve ends at the snapshot's KL
    kl = plots._chains[0].kl
    assert kl.xData[-1] == snap_d1.step
    assert kl.yData[-1] == pytest.approx(chain.kl, rel=1e-9)
    ref = plots._ref_kl
    assert ref.yData[-1] == pytest.approx(snap_d1.ref_kl, rel=1e-9)
    # mean trajectory is the history, true mean a horizontal line
    h = snap_d1.history
    _assert_drawn_from(plots._chains[0].mean_curves[0], h.steps, h.mean[0, :, 0])
    assert set(plots._true_mean[0].yData.tolist()) == {float(snap_d1.true_mean[0])}


def test_d2_divergence_is_marked_and_nothing_non_finite_is_plotted(plots, snap_diverged):
    plots.show_snapshot(snap_diverged)
    _all_finite(plots)
    _on_log_axes_positive(plots)
    chain = snap_diverged.chains[0]
    div = chain.divergence
    # history after the divergence is NaN: it must have been dropped, not drawn
    assert np.isnan(snap_diverged.history.eig).any()
    ch = plots._chains[0]
    lines = ch.div_lines
    assert lines["mean"].isVisible() and lines["covariance"].isVisible() and lines["kl"].isVisible()
    # at the failing update on every step axis (the KL plot's is logarithmic: the canvas takes the log)
    for name in ("mean", "covariance", "kl"):
        assert plots.divergence_marker_steps(name) == [div.step]
    assert plots.canvases["kl"].log_mode() == (True, True)
    # the text is in the legend (outside the data), not on the plot
    assert plots.legend_names() == [f"{chain.label}  ✕ not PD at {div.step:,}"]
    # the smallest eigenvalue's last good value carries the "heading to zero" marker
    x, y = finite_xy(snap_diverged.history.steps, snap_diverged.history.eig[0, :, 0], positive_y=True)
    assert ch.heading.xData.tolist() == [x[-1]] and ch.heading.yData.tolist() == [y[-1]]
    # eigenvalue curves are the finite, positive history
    _assert_drawn_from(ch.eig_curves[0], x, y)
    # ellipses: chain (1 and 2 sigma), truth and the running MLE on their contours
    for item, r in ((ch.ellipse1, 1.0), (ch.ellipse2, 2.0)):
        assert np.allclose(_quad_form((item.xData, item.yData), chain.mean, chain.cov), r * r)
    for item, r in zip(plots._true_ell, (1.0, 2.0)):
        assert np.allclose(_quad_form((item.xData, item.yData), snap_diverged.true_mean, snap_diverged.true_cov),
                           r * r)
    for item, r in zip(plots._ref_ell, (1.0, 2.0)):
        assert np.allclose(_quad_form((item.xData, item.yData), snap_diverged.ref_mean, snap_diverged.ref_cov),
                           r * r)
    assert np.array_equal(plots._scatter.xData, snap_diverged.recent[:, 0])
    assert np.array_equal(plots._scatter.yData, snap_diverged.recent[:, 1])
    # spectrum: true and estimated eigenvalues, condition numbers in the title
    assert np.allclose(plots._true_spectrum.yData, np.linalg.eigvalsh(snap_diverged.true_cov))
    assert np.allclose(ch.spectrum.yData, chain.eig)
    title = plots.plot_items["spectrum"].titleLabel.text
    assert "6.18" in title and f"{chain.condition_number:.3g}" in title


def test_set_cloud_axes_changes_the_plotted_columns(plots, snap_d3):
    plots.show_snapshot(snap_d3)
    _all_finite(plots)
    rec = snap_d3.recent
    assert np.array_equal(plots._scatter.xData, rec[:, 0]) and np.array_equal(plots._scatter.yData, rec[:, 1])
    plots.set_cloud_axes(0, 2)
    assert plots.cloud_axes() == (0, 2)
    assert np.array_equal(plots._scatter.xData, rec[:, 0]) and np.array_equal(plots._scatter.yData, rec[:, 2])
    assert "₃" in plots.plot_items["cloud"].getAxis("left").labelText
    chain = snap_d3.chains[0]
    pair = [0, 2]
    e = plots._chains[0].ellipse1
    assert np.allclose(_quad_form((e.xData, e.yData), chain.mean[pair], chain.cov[np.ix_(pair, pair)]), 1.0)
    assert plots._chains[0].center.xData.tolist() == [chain.mean[0]]
    assert plots._chains[0].center.yData.tolist() == [chain.mean[2]]
    with pytest.raises(ValueError, match="different"):
        plots.set_cloud_axes(1, 1)
    with pytest.raises(ValueError, match="out of range"):
        plots.set_cloud_axes(0, 3)
    # every component of the mean and every eigenvalue has its own curve at d = 3
    ch = plots._chains[0]
    h = snap_d3.history
    for i in range(3):
        _assert_drawn_from(ch.mean_curves[i], h.steps, h.mean[0, :, i])
        _assert_drawn_from(ch.eig_curves[i], *finite_xy(h.steps, h.eig[0, :, i], positive_y=True))
        # decimated to about two points a pixel of the plot's width
        assert ch.mean_curves[i].xData.size <= 2 * max(200, plots.plot_items["mean"].vb.width()) + 12


def test_compare_mode_one_colour_per_chain_and_a_legend_entry_each(plots, snap_compare):
    plots.show_snapshot(snap_compare)
    _all_finite(plots)
    _on_log_axes_positive(plots)
    names = plots.legend_names()
    assert len(names) == len(snap_compare.chains) == 5
    for k, (name, chain) in enumerate(zip(names, snap_compare.chains)):
        assert name.startswith(chain.label)
        assert ("✕" in name) == (chain.divergence is not None)
        ch = plots._chains[k]
        colour = style.rule_color(chain.settings["parameterization"]).lower()
        for item in (ch.kl, ch.ellipse1, ch.mean_curves[0], ch.eig_curves[0], ch.legend_sample):
            assert _pen_color(item) == colour
        if chain.divergence is None:
            assert ch.kl.yData[-1] == pytest.approx(chain.kl, rel=1e-9)
            assert not ch.div_lines["covariance"].isVisible()
        else:
            assert ch.div_lines["covariance"].xData.tolist() == [chain.divergence.step]
    assert len({style.rule_color(c.settings["parameterization"]) for c in snap_compare.chains}) == 5
    assert any(c.divergence is not None for c in snap_compare.chains)
    assert any(c.divergence is None for c in snap_compare.chains)


def test_runaway_estimate_does_not_run_away_with_the_view(plots, qtbot):
    # Sigma_0 = 100 on a N(0, 1) target: the estimate's 3-sigma range is +-30
    snap = _run(get_preset("start-too-large"), 200)
    plots.show_snapshot(snap)
    qtbot.wait(10)
    (x0, x1), (y0, y1) = plots.plot_items["cloud"].vb.viewRange()
    assert x1 - x0 < 20  # data and truth span about +-3.5
    assert x0 < -3 and x1 > 3
    assert y0 <= 0 < 0.4 < y1 < 1  # the true density's peak is 0.4


def test_clear_empties_everything_and_a_new_run_draws_cleanly(plots, snap_compare, snap_d1):
    plots.show_snapshot(snap_compare)
    plots.clear()
    assert all(a.size == 0 for a in plots.plotted_arrays())
    assert plots.legend_names() == []
    assert not any(line.isVisible() for ch in plots._chains for line in ch.div_lines.values())
    # a smaller run afterwards: one chain, d = 1, nothing left over from the five-chain run
    plots.show_snapshot(snap_d1)
    assert plots.legend_names() == [snap_d1.chains[0].label]
    for ch in plots._chains[1:]:
        assert all(_empty(item) for item in ch.all_items())
    assert plots._scatter.xData.size == 0  # d = 1 draws a histogram, not a cloud
    assert all(_empty(item) for item in (plots._chains[0].ellipse1, plots._chains[0].ellipse2))  # no ellipses
    _all_finite(plots)


def test_high_dimension_draws_the_cloud_pair_and_the_extreme_eigenvalues(plots):
    d = MAX_TRAJECTORIES + 6
    snap = _run(_settings_d(d), 300)
    plots.set_cloud_axes(2, 7)
    plots.show_snapshot(snap)
    _all_finite(plots)
    ch = plots._chains[0]
    h = snap.history
    live_mean = [c for c in ch.mean_curves if not _empty(c)]
    assert len(live_mean) == 2
    _assert_drawn_from(live_mean[0], h.steps, h.mean[0, :, 2])
    _assert_drawn_from(live_mean[1], h.steps, h.mean[0, :, 7])
    live_eig = [c for c in ch.eig_curves if not _empty(c)]
    assert len(live_eig) == 2
    _assert_drawn_from(live_eig[1], h.steps, h.eig[0, :, d - 1])
    assert ch.spectrum.yData.size == d


@pytest.mark.parametrize("preset", ["start-too-small", "wrong-sign-descent", "wrong-sign-neg-ascent"])
def test_blow_ups_never_hand_non_finite_values_to_a_plot(plots, preset):
    snap = _run(get_preset(preset), 3000)
    plots.show_snapshot(snap)
    _all_finite(plots)
    _on_log_axes_positive(plots)


def test_same_snapshot_twice_is_free_and_a_new_one_redraws(plots, snap_d1, snap_d3):
    plots.show_snapshot(snap_d3)
    before = plots._chains[0].kl.yData
    plots.show_snapshot(snap_d3)
    assert plots._chains[0].kl.yData is before
    plots.show_snapshot(snap_d1)
    assert plots._chains[0].kl.yData[-1] == pytest.approx(snap_d1.chains[0].kl, rel=1e-9)
