"""The Marchenko–Pastur tab: the seed's answer, drawn from the run's own samples.

For a window of the last n samples (whitened by the TRUE covariance, centred
on the true mean), the eigenvalues of their sample covariance against the
Marchenko–Pastur density for q = d/n, edges l± marked. One window gives only d
eigenvalues, so the tab pools as many disjoint windows of the run's recent
samples (``Snapshot.recent``, up to 5,000) as it needs for about
``TARGET_EIGS`` eigenvalues, and says so. The computation is a few small
eigendecompositions: it runs on a GUI timer, only while the tab is visible.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from ..core import mp
from . import style

REFRESH_MS = 500
SLIDER_STEPS = 2000
#: the plot's row in the tab (the n slider, the numbers, the plot, the text)
PLOT_ROW = 2


class MPTab(QtWidgets.QWidget):
    """Histogram of whitened window eigenvalues vs the Marchenko–Pastur law; n on a slider."""

    def __init__(self, snapshot: Callable[[], Any], settings: Callable[[], Any],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._snapshot = snapshot
        self._settings = settings
        self._key: tuple | None = None
        self.data: mp.MPData | None = None
        style.configure_pyqtgraph()

        #: the plot is built when first needed (``_ensure_plot``): the tab is hidden at start-up, and
        #: building it took ~50 ms of the window's start
        self.plot: pg.PlotWidget | None = None

        # log scale: n from d to 5,000, and small n (where MP is interesting) gets most of the track
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self._n_range = (2, 5000)
        self.slider.setToolTip("window size n: samples per sample covariance (n >= d), log scale")
        self.slider.valueChanged.connect(self._on_n)
        self.n_label = QtWidgets.QLabel()
        self.n_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("n = 5,000 (q = 0.999)") + 10)
        self.memory_button = QtWidgets.QPushButton("n = estimator's memory")
        self.memory_button.setToolTip("set n to (2 - α)/α, the samples a constant-rate natural estimator remembers")
        self.memory_button.clicked.connect(self.set_n_to_memory)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("window n"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.n_label)
        row.addWidget(self.memory_button)
        self.numbers = QtWidgets.QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.text = QtWidgets.QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.text.setStyleSheet("QLabel { background: #eef3f8; padding: 6px 10px; border-radius: 4px; }")
        self.text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.numbers)
        lay.addStretch(1)  # the plot's place (``_ensure_plot``)
        lay.addWidget(self.text)
        self._n_user = False  # the user moved the slider: keep their n across snapshots

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        self.plot = pg.PlotWidget()
        p = self.plot.getPlotItem()
        p.setLabel("bottom", "eigenvalue of the whitened window covariance")
        p.setLabel("left", "density")
        p.getAxis("left").enableAutoSIPrefix(False)  # a density of 0.8 must not read "800 (x0.001)"
        p.showGrid(x=True, y=True, alpha=0.15)
        p.setMouseEnabled(x=False, y=False)
        p.hideButtons()
        self.legend = p.addLegend(offset=(-10, 10), labelTextSize=style.LEGEND_POINT_SIZE)
        self.hist = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(86, 180, 233, 110),
                                    pen=pg.mkPen("#0072B2", width=1.5), name="eigenvalues (pooled windows)")
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#000000", width=2.5), name="Marchenko–Pastur density")
        p.addItem(self.hist)
        p.addItem(self.curve)
        edge_pen = pg.mkPen("#D55E00", width=2, style=QtCore.Qt.PenStyle.DashLine)
        opts = {"position": 0.95, "color": "#D55E00", "fill": (255, 255, 255, 220), "anchors": [(0, 0), (0, 0)]}
        self.edge_lo = pg.InfiniteLine(angle=90, pen=edge_pen, label="l₋ = {value:.3g}", labelOpts=opts)
        self.edge_hi = pg.InfiniteLine(angle=90, pen=edge_pen, label="l₊ = {value:.3g}", labelOpts=opts)
        for line in (self.edge_lo, self.edge_hi):
            f = line.label.textItem.font()
            f.setPointSizeF(12)
            line.label.textItem.setFont(f)
        p.addItem(self.edge_lo)
        p.addItem(self.edge_hi)
        self.legend.addItem(pg.PlotDataItem(pen=edge_pen), "edges l± = (1 ± √q)²")
        lay = self.layout()
        stretch = lay.itemAt(PLOT_ROW)
        lay.removeItem(stretch)
        lay.insertWidget(PLOT_ROW, self.plot, 1)

    # ------------------------------------------------------------- timer
    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.timer.start()
        self.refresh()

    def hideEvent(self, event) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def n(self) -> int:
        return self._n_at(self.slider.value())

    def _set_position(self, n: int) -> None:
        lo, hi = self._n_range
        n = min(hi, max(lo, int(n)))
        t = (math.log(n) - math.log(lo)) / (math.log(hi) - math.log(lo))
        pos = round(t * SLIDER_STEPS)
        # the nearest position must give n back exactly (typed or memory): step until it does
        while self._n_at(pos) < n and pos < SLIDER_STEPS:
            pos += 1
        self.slider.setValue(pos)

    def _n_at(self, pos: int) -> int:
        lo, hi = self._n_range
        return int(min(hi, max(lo, round(math.exp(math.log(lo) + pos / SLIDER_STEPS
                                                  * (math.log(hi) - math.log(lo)))))))

    def _on_n(self, _v: int) -> None:
        self._n_user = True
        self.refresh()

    def set_n(self, n: int) -> None:
        self._n_user = True
        self._set_position(int(n))
        self.refresh()

    def memory(self) -> float | None:
        """(2 - α)/α of the first estimator (its rate now), or None when α >= 2."""
        s = self._settings()
        a = float(s.estimator.alpha)
        return mp.natural_memory(a) if 0 < a < 2 else None

    def set_n_to_memory(self) -> None:
        m = self.memory()
        if m is not None:
            self.set_n(round(m))

    # ------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Redraw from the newest snapshot (if it or n changed)."""
        self._ensure_plot()
        snap = self._snapshot()
        if snap is None:
            return
        recent = snap.recent
        if snap.true_cov is None or snap.true_mean is None:
            self._message("This target has no known covariance to whiten with.")
            return
        m, d = recent.shape if recent.ndim == 2 else (0, 0)
        if m < max(d, 2) or m < 2:
            self._message("Waiting for samples: start the run.")
            return
        lo_n = max(d, 2)
        if self._n_range != (lo_n, max(lo_n + 1, m)):
            keep = self.n()
            self._n_range = (lo_n, max(lo_n + 1, m))
            with QtCore.QSignalBlocker(self.slider):
                self._set_position(keep)
        if not self._n_user:
            with QtCore.QSignalBlocker(self.slider):
                self._set_position(min(m, max(lo_n, 4 * d)))
        n = self.n()
        key = (snap.step, id(snap), n)
        if key == self._key:
            return
        self._key = key
        data = mp.mp_data(recent, n, np.asarray(snap.true_mean), np.asarray(snap.true_cov))
        self.show_data(data, snap)

    def _message(self, text: str) -> None:
        self._ensure_plot()
        self.data = None
        self.hist.setData([], [])
        self.curve.setData([], [])
        self.numbers.setText(text)

    def show_data(self, data: mp.MPData, snap: Any = None) -> None:
        self._ensure_plot()
        self.data = data
        lo, hi = data.edges
        self.hist.setData(data.hist_x, data.hist_y)
        self.curve.setData(data.x, data.density)
        p = self.plot.getPlotItem()
        for item, name in ((self.curve, "Marchenko–Pastur density" if data.d > 1 else
                            "exact density of a sample variance, χ²ₙ/n (d = 1)"),):
            lab = self.legend.getLabel(item)
            if lab is not None and lab.text != name:
                lab.setText(name)
        self.edge_lo.setValue(lo)
        self.edge_hi.setValue(hi)
        self.edge_lo.setVisible(data.d > 1)
        self.edge_hi.setVisible(data.d > 1)
        ymax = max(float(np.max(data.hist_y)) if data.hist_y.size else 0.0,
                   float(np.max(data.density[data.x > 0.02 * data.x[-1]])) if data.x.size else 0.0, 1e-3)
        p.setRange(xRange=(0.0, float(data.hist_x[-1])), yRange=(0.0, 1.08 * ymax), padding=0.0)
        self.n_label.setText(f"n = {data.n:,} (q = {data.q:.3g})")
        self.numbers.setText(self._numbers_text(data))
        self.text.setText(self._explanation(data))

    def _numbers_text(self, data: mp.MPData) -> str:
        lo, hi = data.edges
        pooled = (f"{data.windows} disjoint windows of n = {data.n:,} pooled (the last {data.windows * data.n:,} "
                  f"samples: {data.eigs.size:,} eigenvalues)" if data.windows > 1 else
                  f"one window of the last {data.n:,} samples ({data.eigs.size:,} eigenvalues)")
        beyond = f"; {data.beyond} beyond the plotted range" if data.beyond else ""
        if data.d == 1:
            return (f"d = 1: {pooled}{beyond}. Each 'eigenvalue' is the sample variance of a window "
                    "(whitened: true variance 1).")
        return (f"d = {data.d}, q = d/n = {data.q:.3g}: edges l₋ = {lo:.3g}, l₊ = {hi:.3g} "
                f"(condition number of a window up to about {hi / max(lo, 1e-300):.3g}). "
                f"{pooled}{beyond}. Samples are whitened by the true covariance and centred on the true mean.")

    def _explanation(self, data: mp.MPData) -> str:
        s = self._settings()
        e = s.estimator
        parts = []
        if data.d == 1:
            parts.append("<b>The Marchenko–Pastur law needs d &gt; 1</b>: it describes how the d eigenvalues of a "
                         "sample covariance spread when d and n grow together. With d = 1 there is one "
                         "eigenvalue, the sample variance, and its exact law is χ²ₙ/n (drawn). It never comes "
                         "near 0 for n ≥ 2, so in the seed question MP explains nothing: the seed's failure is "
                         "the sign, the start or the step size.")
        m = self.memory()
        if m is not None and e.parameterization != "natural":  # mp.explanation says it for natural
            parts.append(f"<b>Memory.</b> A constant-rate natural estimator at α = {e.alpha:.3g} would remember about "
                         f"(2 − α)/α = {m:,.0f} samples: its spread is like this panel's at n ≈ {m:,.0f} "
                         f"(q ≈ {data.d / m:.3g}).")
        if data.d > 1:  # for d = 1 its edges and "far from singular" would contradict the paragraph above
            try:
                parts.append(html.escape(mp.explanation(data.d, data.n, e.alpha, e.parameterization)))
            except ValueError:
                pass
        return "<br>".join(parts)

    def plotted_arrays(self) -> list[np.ndarray]:
        """Every array handed to the plot (tests check none is non-finite)."""
        self._ensure_plot()
        out = []
        for item in (self.hist, self.curve):
            x, y = item.getData()
            if x is not None:
                out += [np.asarray(x), np.asarray(y)]
        return out


