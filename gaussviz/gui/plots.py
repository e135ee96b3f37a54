"""The five live plots of the window (first cut: the interface, crude drawing)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def _finite_xy(x: np.ndarray, y: np.ndarray, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if positive:
        ok &= y > 0
    return x[ok], y[ok]


class LivePlots(QtWidgets.QWidget):
    """Cloud, mean, covariance, spectrum and KL plots, redrawn from a Snapshot."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground("w")
        layout.addWidget(self._glw)
        self.plot_items: dict[str, pg.PlotItem] = {}
        for name, row, col in [("cloud", 0, 0), ("mean", 0, 1), ("covariance", 0, 2),
                               ("spectrum", 1, 1), ("kl", 1, 2)]:
            self.plot_items[name] = self._glw.addPlot(row=row, col=col, title=name)
        self.plot_items["covariance"].setLogMode(y=True)
        self.plot_items["kl"].setLogMode(x=True, y=True)
        self._cloud_axes = (0, 1)
        self._items: list[pg.PlotDataItem] = []

    def set_cloud_axes(self, i: int, j: int) -> None:
        self._cloud_axes = (int(i), int(j))

    def clear(self) -> None:
        for item in self._items:
            item.setData([], [])

    def _curve(self, plot: str, idx: int, color: str, **kw) -> pg.PlotDataItem:
        while len(self._items) <= idx:
            self._items.append(None)  # type: ignore[arg-type]
        if self._items[idx] is None:
            self._items[idx] = self.plot_items[plot].plot([], [], pen=pg.mkPen(color, width=2), **kw)
        return self._items[idx]

    def show_snapshot(self, snap) -> None:
        h = snap.history
        idx = 0
        steps = h.steps.astype(float)
        d = snap.recent.shape[1] if snap.recent.ndim == 2 else 1
        i, j = self._cloud_axes if d > 1 else (0, 0)
        if d > 1 and snap.recent.shape[0]:
            c = self._curve("cloud", idx, "k", symbol="o", symbolSize=2)
            c.setPen(None)
            x, y = _finite_xy(snap.recent[:, i], snap.recent[:, j])
            c.setData(x, y)
        idx += 1
        for k in range(len(snap.chains)):
            col = OKABE_ITO[k % len(OKABE_ITO)]
            for comp in range(h.mean.shape[2]):
                x, y = _finite_xy(steps, h.mean[k, :, comp])
                self._curve("mean", idx, col).setData(x, y)
                idx += 1
                x, y = _finite_xy(steps, h.eig[k, :, comp], positive=True)
                self._curve("covariance", idx, col).setData(x, y)
                idx += 1
            x, y = _finite_xy(steps, h.kl[k], positive=True)
            keep = x > 0
            self._curve("kl", idx, col).setData(x[keep], y[keep])
            idx += 1

    def plotted_arrays(self) -> list[np.ndarray]:
        out = []
        for item in self._items:
            if item is not None and item.xData is not None:
                out += [item.xData, item.yData]
        return out
