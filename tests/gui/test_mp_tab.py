"""The Marchenko–Pastur tab: pooled window eigenvalues against the law, drawn from the run's samples."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core import mp

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


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


def test_the_plot_is_built_when_the_tab_is_first_shown(qtbot, make_window):
    """Start-up (issue 13): the hidden tab's plot is not built with the window (~50 ms), but when
    the tab is first shown, in its place between the numbers and the text."""
    from gaussviz.gui.mp_tab import PLOT_ROW

    w = make_window("ill-conditioned-natural", show=True)
    tab = w.mp_tab
    assert tab.plot is None
    w.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.plot is not None and tab.plot.isVisible(), timeout=WAIT_MS)
    lay = tab.layout()
    assert lay.indexOf(tab.plot) == PLOT_ROW and lay.indexOf(tab.text) == PLOT_ROW + 1
    assert tab.plot.height() > tab.height() // 2  # it takes the room the stretch kept for it
    assert tab.text.geometry().top() >= tab.plot.geometry().bottom()
