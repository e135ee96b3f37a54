"""The Stability map tab: a tiny sweep in a thread, the map, a click opens a cell, Cancel."""

from __future__ import annotations

import threading

import pytest

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def sweep_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gaussviz-sweep" and t.is_alive()]


def set_grid(tab, params, count, seeds, steps, values="1", lo="1e-3", hi="1") -> None:
    tab.alpha_min.setText(lo)
    tab.alpha_max.setText(hi)
    tab.alpha_count.setValue(count)
    for name, cb in tab.param_boxes.items():
        cb.setChecked(name in params)
    tab.axis.setCurrentIndex(tab.axis.findData("cov0-scale"))
    tab.axis_values.setText(values)
    tab.seeds.setValue(seeds)
    tab.steps.setValue(steps)


def test_sweep_shows_the_map_and_a_click_opens_the_cell(qtbot, make_window):
    w = make_window("seed-question", show=True)
    w.tabs.setCurrentWidget(w.stability)
    tab = w.stability
    set_grid(tab, ("covariance", "natural"), count=3, seeds=2, steps=200, hi="0.8")
    assert tab.start()
    qtbot.waitUntil(lambda: tab.result is not None and not tab.is_running(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: tab.run_button.isEnabled(), timeout=WAIT_MS)
    r = tab.result
    assert r.spec.shape == (2, 1, 3, 2) and r.spec.steps == 200
    assert tab.progress.value() == 1000 and not tab.cancel_button.isEnabled()
    # covariance diverges at alpha = 0.8 on this target, natural does not
    frac = r.diverged_fraction
    assert frac[0, 0, -1] == 1.0 and frac[1].max() == 0.0
    pix = tab.map_label.pixmap()
    assert pix is not None and pix.width() == tab.image.width() >= 700
    assert "diverged" in tab.status.text()
    # click the middle of the natural panel's last alpha column
    geo = tab.geometry_map
    _, _, top, _, height = geo.panels[1]
    x = (geo.x_edges[-2] + geo.x_edges[-1]) / 2
    y = top + height / 2
    assert geo.cell_at(x, y) == (1, 0, 2)
    s = tab.click_map(x, y)
    assert s is not None
    assert w.settings.estimator.parameterization == "natural"
    assert w.settings.estimator.alpha == r.spec.alphas[2] == pytest.approx(0.8)
    assert w.settings.start.cov_scale == 1.0
    assert w.tabs.currentIndex() == 0
    qtbot.waitUntil(lambda: w.shown_snapshot.chain.settings["parameterization"] == "natural", timeout=WAIT_MS)
    assert tab.click_map(1, 1) is None  # the title: no cell


def test_cancel_stops_the_sweep_and_leaves_no_thread(qtbot, make_window):
    w = make_window()
    tab = w.stability
    set_grid(tab, ("covariance", "cholesky", "natural"), count=30, seeds=20, steps=2_000_000)
    assert tab.start()
    assert not tab.start()  # one at a time
    qtbot.waitUntil(lambda: tab.progress.value() > 0 or tab._progress > 0, timeout=WAIT_MS)
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: tab.run_button.isEnabled(), timeout=5000)
    assert not tab.is_running() and sweep_threads() == []
    assert tab.result is None and "cancelled" in tab.status.text()


def test_bad_grid_is_reported_and_nothing_runs(qtbot, make_window):
    w = make_window()
    tab = w.stability
    set_grid(tab, (), count=3, seeds=1, steps=10)
    assert not tab.start()
    assert "at least one parameterization" in tab.status.text()
    set_grid(tab, ("natural",), count=3, seeds=1, steps=10, lo="abc")
    assert not tab.start()
    assert "'abc' is not a number" in tab.status.text()
    assert sweep_threads() == []


def test_closing_the_window_stops_a_running_sweep(qtbot, make_window):
    w = make_window()
    tab = w.stability
    set_grid(tab, ("covariance", "natural"), count=30, seeds=20, steps=2_000_000)
    assert tab.start()
    qtbot.waitUntil(lambda: tab._progress > 0, timeout=WAIT_MS)
    w.close()
    assert sweep_threads() == [] and not w.worker.is_alive()


# ------------------------------------------------------------ on a Dask cluster
CLUSTER_MS = 180_000  # a local cluster starts in ~5 s; generous for a loaded 2-core machine


def child_processes() -> list:
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]


def test_sweep_on_a_local_cluster_gives_the_same_map_and_leaves_nothing(qtbot, make_window):
    from gaussviz.core.sweep import run_sweep

    w = make_window()
    tab = w.stability
    set_grid(tab, ("covariance", "natural"), count=4, seeds=3, steps=3000, values="0.5, 2", hi="0.8")
    tab.scheduler.setText("local:2")
    assert tab.start()
    assert "local Dask cluster of 2 worker processes" in tab.status.text()
    qtbot.waitUntil(lambda: tab.run_button.isEnabled(), timeout=CLUSTER_MS)
    assert tab.result is not None, tab.status.text()
    assert tab.result.csv_text() == run_sweep(tab.result.spec).csv_text()
    assert "48 of 48 chains" in tab.progress_text.text() and "ETA" in tab.progress_text.text()
    assert tab.progress.value() == 1000
    assert sweep_threads() == [] and child_processes() == []


def test_cancel_on_a_local_cluster_stops_it(qtbot, make_window):
    w = make_window()
    tab = w.stability
    set_grid(tab, ("covariance", "cholesky", "natural"), count=30, seeds=20, steps=2_000_000)
    tab.scheduler.setText("local:1")
    assert tab.start()
    qtbot.waitUntil(lambda: "chains" in tab.progress_text.text(), timeout=CLUSTER_MS)
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: tab.run_button.isEnabled(), timeout=CLUSTER_MS)
    assert tab.result is None and "cancelled" in tab.status.text()
    assert sweep_threads() == [] and child_processes() == []


def test_bad_scheduler_is_reported(qtbot, make_window):
    w = make_window()
    tab = w.stability
    set_grid(tab, ("natural",), count=2, seeds=1, steps=10)
    tab.scheduler.setText("localhost")
    assert not tab.start()
    assert "scheduler must be" in tab.status.text() and "tcp://HOST:PORT" in tab.status.text()
    tab.scheduler.setText("tcp://127.0.0.1:1")
    assert tab.start()
    qtbot.waitUntil(lambda: tab.run_button.isEnabled(), timeout=CLUSTER_MS)
    assert "connection refused" in tab.status.text() and tab.result is None
    assert sweep_threads() == []
