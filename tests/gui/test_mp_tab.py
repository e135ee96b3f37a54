"""The Marchenko–Pastur tab: pooled window eigenvalues against the law, drawn from the run's samples."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core import mp
from gaussviz.core.mp import mp_data, pooled_eigs

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def gaussian_samples(m, d, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    cov = A @ A.T + d * np.eye(d)
    mean = rng.normal(size=d)
    Y = rng.multivariate_normal(mean, cov, size=m)
    return Y, mean, cov


def test_mp_data_density_integrates_to_one_and_histogram_matches():
    Y, mean, cov = gaussian_samples(5000, 8)
    data = mp_data(Y, 32, mean, cov)
    q = 8 / 32
    assert data.q == q
    lo, hi = mp.mp_edges(q)
    assert data.edges == (lo, hi) == pytest.approx(((1 - 0.5) ** 2, (1 + 0.5) ** 2))
    assert data.windows == 156 and data.eigs.size == 156 * 8  # 5000 // 32 windows pooled
    assert np.trapezoid(data.density, data.x) == pytest.approx(1.0, abs=0.01)
    assert lo in data.x and hi in data.x and data.x[-1] >= hi
    width = np.diff(data.hist_x)
    assert np.sum(data.hist_y * width) == pytest.approx(1 - data.beyond / data.eigs.size)
    # the whitened eigenvalues follow the law: histogram vs the density's bin averages
    centres = 0.5 * (data.hist_x[1:] + data.hist_x[:-1])
    want = mp.mp_density(centres, q)
    assert np.sum(np.abs(data.hist_y - want) * width) < 0.2  # L1 distance (finite-d edges blur)
    assert np.mean(data.eigs) == pytest.approx(1.0, abs=0.03)
    for a in (data.hist_x, data.hist_y, data.x, data.density):
        assert np.all(np.isfinite(a))


def test_pooled_windows_are_disjoint_and_most_recent():
    Y, mean, cov = gaussian_samples(1000, 2, seed=3)
    eigs, w = pooled_eigs(Y, 100, mean, cov)
    assert w == 10 and eigs.size == 20
    last, q = mp.window_eigs(Y, 100, mean, cov)  # the newest window alone
    assert q == 2 / 100
    assert np.allclose(np.sort(eigs[-2:]), last)
    with pytest.raises(ValueError, match="needs 2000 recent samples"):
        pooled_eigs(Y, 2000, mean, cov)


def test_d1_draws_the_exact_variance_law_not_mp():
    rng = np.random.default_rng(1)
    data = mp_data(rng.normal(size=(5000, 1)), 10, np.zeros(1), np.eye(1))
    assert data.d == 1 and data.windows == 500
    assert np.trapezoid(data.density, data.x) == pytest.approx(1.0, abs=0.02)  # chi2_10 / 10


def test_tab_in_the_window_draws_the_run_and_explains_memory(qtbot, make_window):
    w = make_window("ill-conditioned-natural", show=True)
    w.worker.send("step", 3000)
    qtbot.waitUntil(lambda: w.shown_snapshot.step == 3000, timeout=WAIT_MS)
    tab = w.mp_tab
    w.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.data is not None, timeout=WAIT_MS)
    assert tab.timer.isActive()
    data = tab.data
    assert data.d == 2 and data.n == 8  # default: 4 d
    x, y = tab.hist.getData()
    assert np.array_equal(y, data.hist_y)
    x, y = tab.curve.getData()
    assert np.array_equal(x, data.x) and np.array_equal(y, data.density)
    assert (tab.edge_lo.value(), tab.edge_hi.value()) == pytest.approx(mp.mp_edges(2 / 8))
    assert all(np.all(np.isfinite(a)) for a in tab.plotted_arrays())
    text = tab.text.text()
    assert "remembers about (2 - alpha)/alpha = 99 samples" in text
    assert "MP explains its wobble and conditioning, not a divergence" in text
    assert "disjoint windows of n = 8 pooled" in tab.numbers.text()
    tab.set_n_to_memory()
    qtbot.waitUntil(lambda: tab.data.n == 99, timeout=WAIT_MS)
    assert tab.data.q == pytest.approx(2 / 99)
    assert "n = 99 (q = 0.0202)" == tab.n_label.text()
    tab.slider.setValue(0)  # the left end of the (log) track: n = d
    qtbot.waitUntil(lambda: tab.data.n == 2, timeout=WAIT_MS)
    tab.slider.setValue(tab.slider.maximum())  # the right end: every recent sample (the
    qtbot.waitUntil(lambda: tab.data.n == 3000 and tab.data.windows == 1, timeout=WAIT_MS)  # 3,000 run
    w.tabs.setCurrentIndex(0)
    assert not tab.timer.isActive()  # computed only while visible


def test_tab_d1_says_the_law_needs_d_above_1(qtbot, make_window):
    w = make_window("seed-question", show=True)
    w.worker.send("step", 500)
    qtbot.waitUntil(lambda: w.shown_snapshot.step == 500, timeout=WAIT_MS)
    w.tabs.setCurrentWidget(w.mp_tab)
    qtbot.waitUntil(lambda: w.mp_tab.data is not None, timeout=WAIT_MS)
    assert "Marchenko–Pastur law needs d &gt; 1" in w.mp_tab.text.text()
    assert not w.mp_tab.edge_lo.isVisible()
    assert "the seed's failure is the sign, the start or the step size" in w.mp_tab.text.text()
    assert "far from singular" not in w.mp_tab.text.text()
