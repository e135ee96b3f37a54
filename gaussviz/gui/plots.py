"""The five live plots of the window, redrawn from one immutable Snapshot.

Every item is created once and updated with ``setData`` (pyqtgraph redraws far
faster that way than when items are re-created). Nothing non-finite ever reaches
an item: a NaN or inf breaks pyqtgraph's drawing and autoscale, so every array
goes through :func:`finite_xy` first (and, on log axes, must be positive).
Chain k has colour ``style.chain_color(k)`` in every plot; black dashed is the
truth, grey dotted the exact running MLE.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.geometry import ellipse_points, gaussian_pdf
from ..core.plotdata import RUNAWAY_CLAMP, ViewBox, bbox, clamp_box, envelope, finite_xy, snapped_range, union
from . import style
from .plot_items import ChainItems, LogAxis, PointCloudItem, put_data, sub

if TYPE_CHECKING:
    from ..core.snapshot import Snapshot

#: components of the mean (and eigenvalues of Sigma) drawn per chain; above this
#: the mean plot shows the cloud's pair and the covariance plot the extremes.
MAX_TRAJECTORIES = 4
#: plots with a step axis: long curves, drawn the fast way
TRAJECTORY_PLOTS = ("mean", "covariance", "kl")
#: pixels of plot width per envelope bin (each bin keeps its lowest and highest point)
CURVE_BIN_PX = 2
#: the parts of a frame (one per plot), in drawing order; see LivePlots.show_snapshot_part
PARTS = ("cloud", "mean", "covariance", "spectrum", "kl")
#: plots whose ranges LivePlots sets itself (see _fit_ranges)
RANGED_PLOTS = ("mean", "covariance", "kl", "spectrum")
#: widths of the three columns: cloud | mean over covariance | KL over spectrum
COLUMN_SHARES = (0.38, 0.31, 0.31)
HIST_BINS = 50
DENSITY_POINTS = 400
SHORT_REASON = {
    "not-positive-definite": "not PD",
    "non-finite": "non-finite",
    "asymmetric": "asymmetric",
    "exploded": "exploded",
}
_EMPTY = np.zeros(0)


def _fmt(v: float) -> str:
    """Short, projector-friendly number: 0.0213, 6.18, 1530, 2.1e+07."""
    if not np.isfinite(v):
        return "∞" if v > 0 else "n/a"
    if 100 <= abs(v) < 1e5:
        return f"{v:.0f}"
    return f"{v:.3g}"


class LivePlots(QtWidgets.QWidget):
    """Sample cloud, mean, covariance, spectrum and KL plots of a run.

    Call :meth:`show_snapshot` from the GUI thread (the window does, on a timer);
    repeated calls with the same snapshot cost nothing.
    """

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._glw = pg.GraphicsLayoutWidget()
        self._glw.setBackground("w")
        layout.addWidget(self._glw)
        self._items: list[pg.GraphicsItem] = []
        self._chains: list[ChainItems] = []
        self._snap: Snapshot | None = None
        self._pending: set[str] = set()  # parts of self._snap's frame not drawn yet
        self._cloud_frame_key: tuple | None = None
        self._cloud_axes = (0, 1)
        self._cloud_dim: int | None = None
        self._view = ViewBox()
        self._titles: dict[str, str] = {}
        self._spectrum_d: int | None = None
        self._legend_names: list[str] = []
        # items whose data decide the ranges of RANGED_PLOTS, and the one item per plot that autorange sees
        self._ranged: dict[str, list[pg.PlotDataItem]] = {name: [] for name in RANGED_PLOTS}
        self._range_items: dict[str, pg.PlotDataItem] = {}
        self._build()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        glw = self._glw
        # One legend above the plots (inside a plot it would cover data): the chains, then the
        # line-style key. Its column count follows the width (see _fit_columns).
        self.legend = pg.LegendItem(colCount=3, labelTextSize=style.LEGEND_POINT_SIZE, horSpacing=22,
                                    brush=(255, 255, 255, 0), pen=None)
        glw.addItem(self.legend, row=0, col=0, colspan=3)
        glw.ci.layout.setAlignment(self.legend, QtCore.Qt.AlignmentFlag.AlignLeft)
        self.plot_items: dict[str, pg.PlotItem] = {}
        places = {"cloud": (1, 0, 2, 1), "mean": (1, 1, 1, 1), "covariance": (2, 1, 1, 1),
                  "kl": (1, 2, 1, 1), "spectrum": (2, 2, 1, 1)}
        for name, (row, col, rowspan, colspan) in places.items():
            axes = {"bottom": LogAxis("bottom"), "left": LogAxis("left")}
            self.plot_items[name] = glw.addPlot(row=row, col=col, rowspan=rowspan, colspan=colspan, axisItems=axes)
        lay = glw.ci.layout
        lay.setRowStretchFactor(0, 0)
        lay.setRowStretchFactor(1, 1)
        lay.setRowStretchFactor(2, 1)
        glw.ci.setSpacing(12)

        pl = self.plot_items
        self._setup(pl["cloud"], "y" + sub(1), "y" + sub(2))
        # a grid adds nothing to ellipses over a cloud, and it is the costliest grid to draw
        pl["cloud"].showGrid(x=False, y=False)
        self._setup(pl["mean"], "step", "mean μ")
        self._setup(pl["covariance"], "step", "eigenvalues of Σ")
        self._setup(pl["spectrum"], "eigenvalue index (ascending)", "eigenvalue")
        self._setup(pl["kl"], "step", "KL(true ‖ estimate)")
        pl["covariance"].setLogMode(y=True)
        pl["spectrum"].setLogMode(y=True)
        pl["kl"].setLogMode(x=True, y=True)
        pl["covariance"].setXLink(pl["mean"])
        for name in TRAJECTORY_PLOTS:
            # pyqtgraph's auto-downsampling assumes evenly spaced x, and the thinned history is
            # not (it drew staircases): curves are decimated by envelope() instead.
            pl[name].setClipToView(True)
        self._set_title("mean", "Mean trajectory")
        self._set_title("covariance", "Covariance trajectory (log scale)")
        self._set_title("spectrum", "Eigenvalues of Σ now")
        self._set_title("kl", "Distance to the truth (log-log)")
        self._set_title("cloud", "Samples and 1σ / 2σ ellipses")
        pl["spectrum"].enableAutoRange(x=False)
        # Autorange sees one invisible item per plot, spanning the data's range snapped to whole
        # quanta: with every curve in autorange, pyqtgraph asked each one for its bounds and
        # re-laid out the axes and re-clipped every curve on each frame, as the range grew a little.
        for name in RANGED_PLOTS:
            item = pg.PlotDataItem(pen=pg.mkPen(0, 0, 0, 0))
            pl[name].addItem(item)
            self._items.append(item)
            self._range_items[name] = item

        # shared items: samples, truth (black dashed), exact running MLE (grey dotted)
        self._scatter = PointCloudItem(size=3.0, color=style.SAMPLE_COLOR)
        pl["cloud"].addItem(self._scatter, ignoreBounds=True)
        self._items.append(self._scatter)
        self._hist = self.data_item("cloud", pen=pg.mkPen((120, 120, 120), width=1), stepMode="center",
                                     fillLevel=0, fillBrush=pg.mkBrush(*style.HIST_BRUSH), bounds=False)
        self._true_ell = [self.data_item("cloud", pen=style.true_pen(w), bounds=False) for w in (2.0, 1.5)]
        self._ref_ell = [self.data_item("cloud", pen=style.ref_pen(w), bounds=False) for w in (2.5, 2.0)]
        self._true_density = self.data_item("cloud", pen=style.true_pen(2.0), bounds=False)
        self._ref_density = self.data_item("cloud", pen=style.ref_pen(2.5), bounds=False)
        self._true_center = self.data_item("cloud", pen=None, symbol="x", symbolSize=14, symbolBrush="k",
                                            symbolPen=pg.mkPen("k", width=2), bounds=False)
        # the only item the cloud's autorange sees: an invisible box we choose (see _update_view)
        self._bounds = self.data_item("cloud", pen=pg.mkPen(0, 0, 0, 0))
        # invisible spans that keep a log axis at least about a decade around the truth
        # (pyqtgraph labels a narrower log range with a single tick)
        self._pads = {name: self.data_item(name, pen=pg.mkPen(0, 0, 0, 0)) for name in ("covariance", "spectrum")}
        self._true_mean: list[pg.PlotDataItem] = []
        self._true_mean_labels: list[pg.TextItem] = []
        self._true_eig: list[pg.PlotDataItem] = []
        self._true_spectrum = self.data_item("spectrum", pen=None, symbol="_", symbolSize=30,
                                              symbolPen=pg.mkPen("k", width=2.5), symbolBrush="k")
        self._ref_kl = self.data_item("kl", pen=style.ref_pen(2.5))

        self._key_entries = [(pg.PlotDataItem(pen=style.true_pen(2.5)), "true (dashed)"),
                             (pg.PlotDataItem(pen=style.ref_pen(3.0)), "exact running MLE (dotted)")]
        self._set_legend([])

    def _setup(self, plot: pg.PlotItem, xlabel: str, ylabel: str) -> None:
        plot.showGrid(x=True, y=True, alpha=0.25)
        label_style = {"font-size": style.LABEL_SIZE, "color": "#000"}
        plot.setLabel("bottom", xlabel, **label_style)
        plot.setLabel("left", ylabel, **label_style)
        for ax in ("bottom", "left"):
            axis = plot.getAxis(ax)
            # Opaque light-grey grid: pyqtgraph's default (black at low alpha) made the axes
            # ~5x slower to draw. The axis pen is the grid's, so a dark frame marks the view.
            axis.setStyle(tickFont=style.tick_font(), tickAlpha=255, maxTickLevel=1)
            axis.setPen(pg.mkPen(style.GRID_COLOR, width=1))
            axis.setTextPen("k")
            axis.enableAutoSIPrefix(False)
            axis.setZValue(-1000)  # the grid goes under the data, not across it
            # An axis (with its grid) changes only when its range does (see _fit_ranges): kept as
            # a pixmap, the other frames blit it instead of replaying ~100 drawing commands.
            axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.vb.setBorder(pg.mkPen(style.FRAME_COLOR, width=1))
        plot.getAxis("left").setWidth(64)
        plot.setMenuEnabled(True)

    def _set_title(self, name: str, text: str) -> None:
        # setTitle re-lays out the grid: only call it when the text really changed
        if self._titles.get(name) != text:
            self._titles[name] = text
            plot = self.plot_items[name]
            plot.setTitle(text, size=style.TITLE_SIZE, color="#000")
            plot.titleLabel.setMinimumWidth(10)

    def data_item(self, plot: str, bounds: bool = True, **kw) -> pg.PlotDataItem:
        if plot in TRAJECTORY_PLOTS:
            # Long, jagged curves: antialiasing made a frame ~3x slower, and without it pyqtgraph
            # draws 2 px solid lines as segments (its fast path).
            kw.setdefault("antialias", False)
        item = pg.PlotDataItem(**kw)
        if plot in RANGED_PLOTS:
            self.plot_items[plot].addItem(item, ignoreBounds=True)
            if bounds:
                self._ranged[plot].append(item)
        else:
            self.plot_items[plot].addItem(item, ignoreBounds=not bounds)
        self._items.append(item)
        return item

    def _chain(self, k: int) -> ChainItems:
        while len(self._chains) <= k:
            self._chains.append(ChainItems(self, len(self._chains)))
        return self._chains[k]

    def _true_line(self, which: str, i: int) -> pg.PlotDataItem:
        lst = self._true_mean if which == "mean" else self._true_eig
        while len(lst) <= i:
            lst.append(self.data_item(which, pen=style.true_pen(1.75)))
        return lst[i]

    def _mean_label(self, i: int) -> pg.TextItem:
        while len(self._true_mean_labels) <= i:
            t = pg.TextItem("", color="k", anchor=(1, 1), fill=pg.mkBrush(255, 255, 255, 200))
            font = QtGui.QFont()
            font.setPointSize(style.TICK_POINT_SIZE)
            t.setFont(font)
            t.setZValue(20)
            self.plot_items["mean"].addItem(t, ignoreBounds=True)
            self._true_mean_labels.append(t)
        return self._true_mean_labels[i]

    # -------------------------------------------------------------- public API
    def set_cloud_axes(self, i: int, j: int) -> None:
        """Show dimensions i and j (0-based) in the cloud when d > 2."""
        i, j = int(i), int(j)
        if i < 0 or j < 0 or i == j:
            raise ValueError(f"cloud axes must be two different non-negative indices; got ({i}, {j})")
        if self._cloud_dim is not None and max(i, j) >= self._cloud_dim:
            raise ValueError(f"cloud axes ({i}, {j}) out of range for dimension {self._cloud_dim}")
        if (i, j) == self._cloud_axes:
            return
        self._cloud_axes = (i, j)
        self._view = ViewBox()
        if self._snap is not None:
            self._draw(self._snap, PARTS, redraw=True)

    def cloud_axes(self) -> tuple[int, int]:
        return self._cloud_axes

    def clear(self) -> None:
        """Forget the run: every item empty, no markers, no legend entries."""
        self._snap = None
        self._pending = set()
        self._view = ViewBox()
        for item in self._items:
            put_data(item)
        for ch in self._chains:
            ch.hide_divergence()
        self._set_legend([])
        for t in self._true_mean_labels:
            t.setText("")
        self._set_title("spectrum", "Eigenvalues of Σ now")

    def show_snapshot(self, snap: Snapshot) -> None:
        """Draw one frame (GUI thread only); a frame begun with show_snapshot_part is completed."""
        if snap is self._snap and not self._pending:
            return
        self._draw(snap, PARTS)

    def show_snapshot_part(self, snap: Snapshot, parts: tuple[str, ...]) -> tuple[str, ...]:
        """Draw only ``parts`` (names of PARTS) of the frame of ``snap``; returns the parts still to draw.

        The window spreads one frame over several timer ticks this way, so that no single
        tick holds the GUI thread (and the GIL) for a whole frame; parts already drawn for
        this snapshot are skipped.
        """
        unknown = set(parts) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown plot parts {sorted(unknown)}; expected some of {PARTS}")
        self._draw(snap, parts)
        return tuple(p for p in PARTS if p in self._pending)

    def plotted_arrays(self) -> list[np.ndarray]:
        """Every x and y array currently handed to a plot item (tests check they are finite)."""
        out: list[np.ndarray] = []
        for item in self._items:
            x, y = item.xData, item.yData
            for a in (x, y):
                if a is not None:
                    out.append(np.asarray(a))
        return out

    def legend_names(self) -> list[str]:
        """The chains' legend entries, in order (the line-style key not included)."""
        chains = {id(ch.legend_sample) for ch in self._chains}
        return [html.unescape(label.text) for sample, label in self.legend.items if id(sample.item) in chains]

    # ---------------------------------------------------------------- drawing
    def _draw(self, snap: Snapshot, parts: tuple[str, ...] = (), redraw: bool = False) -> None:
        """Draw ``parts`` of the frame of ``snap`` (all of PARTS if empty) not drawn yet (all of them
        again if ``redraw``)."""
        if snap is not self._snap:
            self._begin(snap)
        todo = [p for p in PARTS if (not parts or p in parts) and (redraw or p in self._pending)]
        self._pending.difference_update(todo)
        d = int(snap.ref_mean.shape[0])
        if "cloud" in todo:
            if d == 1:
                self._draw_histogram(snap)
            else:
                self._draw_cloud(snap)
        steps = np.asarray(snap.history.steps, dtype=float)
        if "mean" in todo:
            self._draw_mean(snap, steps)
        if "covariance" in todo:
            self._draw_covariance(snap, steps)
            self._draw_divergences(snap)  # markers on the mean, covariance and KL plots
        if "spectrum" in todo:
            self._draw_spectrum(snap)
        if "kl" in todo:
            self._draw_kl(snap, steps)
        self._fit_ranges([p for p in todo if p in RANGED_PLOTS])

    def _begin(self, snap: Snapshot) -> None:
        """A new snapshot: chains, legend and bins for all of its parts."""
        self._snap = snap
        self._pending = set(PARTS)
        d = int(snap.ref_mean.shape[0])
        if d != self._cloud_dim:
            self._cloud_dim = d
            self._view = ViewBox()
            if d >= 2 and max(self._cloud_axes) >= d:
                self._cloud_axes = (0, 1)
        K = len(snap.chains)
        for k in range(K):
            self._chain(k)
        for ch in self._chains[K:]:  # chains of an earlier, bigger run
            for item in ch.all_items():
                put_data(item)
            ch.hide_divergence()
        self._draw_legend(snap)
        self._bins = {name: self._curve_bins(name) for name in TRAJECTORY_PLOTS}

    def _fit_ranges(self, names: list[str]) -> None:
        """Hand autorange the snapped extent of each ranged plot's data (see RANGED_PLOTS)."""
        for name in names:
            log_x, log_y = (self.plot_items[name].ctrl.logXCheck.isChecked(),
                            self.plot_items[name].ctrl.logYCheck.isChecked())
            box = None
            for item in self._ranged[name]:
                x, y = item.xData, item.yData
                if x is None or y is None or not x.size or x.shape != y.shape:
                    continue
                x, y = finite_xy(x, y, positive_x=log_x, positive_y=log_y)
                if x.size:
                    box = union(box, bbox(x, y))
            if box is None:
                put_data(self._range_items[name])
                continue
            x0, x1 = snapped_range(box[0], box[1], log_x)
            y0, y1 = snapped_range(box[2], box[3], log_y)
            put_data(self._range_items[name], np.array([x0, x1]), np.array([y0, y1]))

    def _curve_bins(self, name: str) -> int:
        """Envelope bins for a plot: one per CURVE_BIN_PX pixels of its width (the lines are
        2 px wide: finer bins draw nothing more, and stroking cost grows with the points)."""
        return int(min(4096, max(120, self.plot_items[name].vb.width() / CURVE_BIN_PX)))

    def _draw_legend(self, snap: Snapshot) -> None:
        # Entries must stay in chain order: if one changes, rebuild from it on.
        names = []
        for c in snap.chains:
            name = c.label
            if c.divergence is not None:
                why = SHORT_REASON.get(c.divergence.reason, c.divergence.reason)
                name += f"  ✕ {why} at {c.divergence.step:,}"
            names.append(name)
        if names != self._legend_names:
            self._set_legend(names)

    def _set_legend(self, names: list[str]) -> None:
        """Rebuild the legend: one entry per chain (in chain order), then the key."""
        self.legend.clear()
        for k, name in enumerate(names):
            # a legend label is HTML (pyqtgraph LabelItem): a label's text is shown as written
            self.legend.addItem(self._chains[k].legend_sample, html.escape(name, quote=False))
        for sample, name in self._key_entries:
            self.legend.addItem(sample, name)
        self._legend_names = list(names)
        self._fit_legend()

    def _fit_legend(self) -> None:
        entries = self.legend.items
        if not entries:
            return
        # the text's own width (a LabelItem's bounding rect is its layout cell)
        widest = max(label.item.boundingRect().width() for _, label in entries) + 60  # + sample, spacing
        cols = int(max(1, min(len(entries), (self.width() - 20) // widest)))
        if cols != self.legend.columnCount:
            self.legend.setColumnCount(cols)
        # as wide as its columns, on the left: spread over the full width it reads badly
        self.legend.setMaximumWidth(cols * widest)

    def _cloud_frame(self, locked: bool, xlabel: str, ylabel: str) -> None:
        """Aspect lock and axis labels of the cloud plot, set only when they change: each call
        re-lays out the axes and throws away their drawing (a few ms a frame)."""
        key = (locked, xlabel, ylabel)
        if self._cloud_frame_key == key:
            return
        self._cloud_frame_key = key
        plot = self.plot_items["cloud"]
        plot.setAspectLocked(locked)
        plot.setLabel("bottom", xlabel, **{"font-size": style.LABEL_SIZE, "color": "#000"})
        plot.setLabel("left", ylabel, **{"font-size": style.LABEL_SIZE, "color": "#000"})

    # cloud, d >= 2 ----------------------------------------------------------
    def _draw_cloud(self, snap: Snapshot) -> None:
        i, j = self._cloud_axes
        pair = [i, j]
        for item in (self._hist, self._true_density, self._ref_density):
            put_data(item)
        self._cloud_frame(True, "y" + sub(i + 1), "y" + sub(j + 1))
        recent = snap.recent
        n = recent.shape[0]
        self._set_title("cloud", f"Last {n:,} samples, 1σ and 2σ ellipses" if n else "Samples, 1σ and 2σ ellipses")
        base = None
        if n:
            x, y = finite_xy(recent[:, i], recent[:, j])
            put_data(self._scatter, x, y)
            if x.size:
                lo_x, hi_x = np.percentile(x, [0.5, 99.5])
                lo_y, hi_y = np.percentile(y, [0.5, 99.5])
                base = np.array([lo_x, hi_x, lo_y, hi_y])
        else:
            put_data(self._scatter, _EMPTY, _EMPTY)
        if snap.true_mean is not None and snap.true_cov is not None:
            tm = snap.true_mean[pair]
            tc = snap.true_cov[np.ix_(pair, pair)]
            for r, item in zip((1.0, 2.0), self._true_ell):
                pts = ellipse_points(tm, tc, r)
                put_data(item, *(pts if pts is not None else (_EMPTY, _EMPTY)))
                if pts is not None and r == 2.0:
                    base = union(base, bbox(*pts))
            if np.all(np.isfinite(tm)):
                put_data(self._true_center, [tm[0]], [tm[1]])
        else:
            for item in (*self._true_ell, self._true_center):
                put_data(item)
        ref_ok = snap.n_samples > snap.ref_mean.shape[0]
        for r, item in zip((1.0, 2.0), self._ref_ell):
            pts = ellipse_points(snap.ref_mean[pair], snap.ref_cov[np.ix_(pair, pair)], r) if ref_ok else None
            put_data(item, *(pts if pts is not None else (_EMPTY, _EMPTY)))
        chain_box = None
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            put_data(ch.density)
            mu = c.mean[pair]
            block = c.cov[np.ix_(pair, pair)]
            pd = bool(c.eig.size and c.eig[0] > 0)
            drawn = False
            for r, item in zip((1.0, 2.0), (ch.ellipse1, ch.ellipse2)):
                pts = ellipse_points(mu, block, r) if pd else None
                if pts is None:
                    put_data(item)
                else:
                    put_data(item, *pts)
                    drawn = True
                    if r == 2.0:
                        chain_box = union(chain_box, bbox(*pts))
            if np.all(np.isfinite(mu)):
                put_data(ch.center, mu[:1], mu[1:])
                if drawn:
                    chain_box = union(chain_box, np.array([mu[0], mu[0], mu[1], mu[1]]))
            else:
                put_data(ch.center)
        if base is None:
            base = chain_box
        elif chain_box is not None:
            base = union(base, clamp_box(chain_box, base))
        self._update_view(base)

    # cloud, d == 1 ----------------------------------------------------------
    def _draw_histogram(self, snap: Snapshot) -> None:
        self._cloud_frame(False, "y (sample value)", "density")
        put_data(self._scatter, _EMPTY, _EMPTY)
        for item in (*self._true_ell, *self._ref_ell):
            put_data(item)
        recent = np.asarray(snap.recent, dtype=float).ravel()
        recent = recent[np.isfinite(recent)]
        n = recent.size
        self._set_title("cloud", f"Last {n:,} samples and densities" if n else "Samples and densities")
        # x extent from the data and the truth; estimates may pull it out only RUNAWAY_CLAMP times
        xs: list[tuple[float, float]] = []
        peak = 0.0
        if n:
            xs.append(tuple(np.percentile(recent, [0.5, 99.5])))
        tm = tv = None
        if snap.true_mean is not None and snap.true_cov is not None:
            tm, tv = float(snap.true_mean[0]), float(snap.true_cov[0, 0])
            if np.isfinite(tm) and np.isfinite(tv) and tv > 0:
                s = np.sqrt(tv)
                xs.append((tm - 3.5 * s, tm + 3.5 * s))
                peak = max(peak, 1.0 / np.sqrt(2 * np.pi * tv))
            else:
                tm = tv = None
        rm, rv = float(snap.ref_mean[0]), float(snap.ref_cov[0, 0])
        ref_ok = snap.n_samples > 1 and np.isfinite(rm) and np.isfinite(rv) and rv > 0
        chain_x = []
        for c in snap.chains:
            m, v = float(c.mean[0]), float(c.cov[0, 0])
            if np.isfinite(m) and np.isfinite(v) and v > 0:
                chain_x.append((m - 3 * np.sqrt(v), m + 3 * np.sqrt(v)))
        if xs:
            lo, hi = min(a for a, _ in xs), max(b for _, b in xs)
            if chain_x:
                c_lo, c_hi = min(a for a, _ in chain_x), max(b for _, b in chain_x)
                half = max(hi - lo, 1e-12) * 0.5 * RUNAWAY_CLAMP
                mid = 0.5 * (lo + hi)
                lo, hi = min(lo, max(c_lo, mid - half)), max(hi, min(c_hi, mid + half))
        elif chain_x:
            lo, hi = min(a for a, _ in chain_x), max(b for _, b in chain_x)
        else:
            lo, hi = -1.0, 1.0
        if not hi > lo:
            lo, hi = lo - 1.0, hi + 1.0
        # keep the current bins unless the extent moved a lot, so bars do not shimmer
        cur = self._view.box
        if cur is not None and cur[0] <= lo and hi <= cur[1] and (cur[1] - cur[0]) <= 1.4 * (hi - lo):
            lo, hi = cur[0], cur[1]
        if n:
            counts, edges = np.histogram(recent, bins=HIST_BINS, range=(lo, hi))
            dens = counts / (n * (edges[1] - edges[0]))
            put_data(self._hist, x=edges, y=dens)
            peak = max(peak, float(dens.max()))
        else:
            put_data(self._hist)
        grid = np.linspace(lo, hi, DENSITY_POINTS)
        if tm is not None:
            put_data(self._true_density, *finite_xy(grid, gaussian_pdf(grid, tm, tv)))
            put_data(self._true_center, [tm], [0.0])
        else:
            put_data(self._true_density)
            put_data(self._true_center)
        if ref_ok:
            put_data(self._ref_density, *finite_xy(grid, gaussian_pdf(grid, rm, rv)))
        else:
            put_data(self._ref_density)
        chain_peak = 0.0
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            put_data(ch.ellipse1)
            put_data(ch.ellipse2)
            m, v = float(c.mean[0]), float(c.cov[0, 0])
            if np.isfinite(m) and np.isfinite(v) and v > 0:
                put_data(ch.density, *finite_xy(grid, gaussian_pdf(grid, m, v)))
                chain_peak = max(chain_peak, 1.0 / np.sqrt(2.0 * np.pi * v))
            else:
                put_data(ch.density)
            if np.isfinite(m):
                put_data(ch.center, [m], [0.0])
            else:
                put_data(ch.center)
        # a collapsing estimate (a tall spike) may raise the view only a little
        peak = max(peak, min(chain_peak, 1.5 * peak)) if peak > 0 else chain_peak
        if not (np.isfinite(peak) and peak > 0):
            peak = 1.0
        self._update_view(np.array([lo, hi, 0.0, peak * 1.05]), hist=True)

    def _update_view(self, want: np.ndarray | None, hist: bool = False) -> None:
        if want is None or not np.all(np.isfinite(want)):
            return
        want = want.copy()
        if not want[1] > want[0]:
            want[0], want[1] = want[0] - 1.0, want[1] + 1.0
        if not want[3] > want[2]:
            want[2], want[3] = want[2] - 1.0, want[3] + 1.0
        if self._view.update(want) or self._bounds.xData is None or self._bounds.xData.size == 0:
            b = self._view.box
            if hist:  # the density axis starts at 0
                b[2] = 0.0
            put_data(self._bounds, np.array([b[0], b[1]]), np.array([b[2], b[3]]))

    # trajectories -----------------------------------------------------------
    def _components(self, d: int) -> list[int]:
        if d <= MAX_TRAJECTORIES:
            return list(range(d))
        return sorted(set(self._cloud_axes))

    def _draw_mean(self, snap: Snapshot, steps: np.ndarray) -> None:
        h = snap.history
        nb = self._bins
        d = h.mean.shape[2]
        comps = self._components(d)
        for k in range(len(snap.chains)):
            ch = self._chains[k]
            for slot, i in enumerate(comps):
                put_data(ch.curve("mean", slot), *envelope(*finite_xy(steps, h.mean[k, :, i]), nb["mean"]))
            for item in ch.mean_curves[len(comps):]:
                put_data(item)
        x_ends = finite_xy(steps[[0, -1]], [0.0, 0.0])[0] if steps.size else _EMPTY
        groups: dict[float, list[int]] = {}
        for slot, i in enumerate(comps):
            line = self._true_line("mean", slot)
            if snap.true_mean is not None and np.isfinite(snap.true_mean[i]) and x_ends.size:
                v = float(snap.true_mean[i])
                put_data(line, x_ends, np.array([v, v]))
                groups.setdefault(v, []).append(i)
            else:
                put_data(line)
        for line in self._true_mean[len(comps):]:
            put_data(line)
        labels = []
        # a standardized data set's mean is 0 up to round-off: say 0, not 4.49e-16
        spread = float(np.sqrt(np.max(np.diag(snap.true_cov)))) if snap.true_cov is not None else 1.0
        for g, (v, idx) in enumerate(sorted(groups.items())):
            names = ", ".join(("μ" + sub(i + 1)) if d > 1 else "μ" for i in idx)
            shown = 0.0 if abs(v) < 1e-9 * spread else v
            labels.append((self._mean_label(g), f"true {names} = {_fmt(shown)}", float(x_ends[-1]), v))
        # set only what changed: each setText or setPos re-lays out and repaints the label
        for t in self._true_mean_labels[len(labels):]:
            if t.toPlainText():
                t.setText("")
        for t, text, x, y in labels:
            if t.toPlainText() != text:
                t.setText(text)
            if t.pos().x() != x or t.pos().y() != y:
                t.setPos(x, y)
        if d == 1:
            title = "Mean μ"
        else:
            keys = ", ".join(f"μ{sub(i + 1)} {style.COMPONENT_NAMES[s % len(style.COMPONENT_NAMES)]}"
                             for s, i in enumerate(comps))
            title = f"Mean ({keys})"
            if len(comps) < d:
                title += ", the cloud's pair"
        self._set_title("mean", title)

    def _draw_covariance(self, snap: Snapshot, steps: np.ndarray) -> None:
        h = snap.history
        nb = self._bins
        d = h.eig.shape[2]
        which = list(range(d)) if d <= MAX_TRAJECTORIES else [0, d - 1]
        x_ends = finite_xy(steps[[0, -1]], [0.0, 0.0])[0] if steps.size else _EMPTY
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            for slot, i in enumerate(which):
                put_data(ch.curve("covariance", slot),
                     *envelope(*finite_xy(steps, h.eig[k, :, i], positive_y=True), nb["covariance"]))
            for item in ch.eig_curves[len(which):]:
                put_data(item)
            # where the smallest eigenvalue was heading when the chain failed
            if c.divergence is not None:
                x, y = finite_xy(steps, h.eig[k, :, 0], positive_y=True)
                if x.size:
                    put_data(ch.heading, x[-1:], y[-1:])
                else:
                    put_data(ch.heading)
            else:
                put_data(ch.heading)
        for slot, i in enumerate(which):
            line = self._true_line("covariance", slot)
            if snap.true_cov is not None and x_ends.size:
                w = np.linalg.eigvalsh(0.5 * (snap.true_cov + snap.true_cov.T))
                put_data(line, *finite_xy(x_ends, np.array([w[i], w[i]]), positive_y=True))
            else:
                put_data(line)
        for line in self._true_eig[len(which):]:
            put_data(line)
        if snap.true_cov is not None and x_ends.size:
            self._pad_log("covariance", x_ends, np.linalg.eigvalsh(0.5 * (snap.true_cov + snap.true_cov.T)))
        else:
            put_data(self._pads["covariance"])
        title = "Eigenvalues of Σ (log scale)"
        if len(which) < d:
            title += ": smallest and largest"
        self._set_title("covariance", title)

    def _draw_spectrum(self, snap: Snapshot) -> None:
        plot = self.plot_items["spectrum"]
        K = len(snap.chains)
        d = int(snap.ref_mean.shape[0])
        width = min(0.6 / max(K, 1), 0.15)
        parts = []
        if snap.true_cov is not None:
            true_w = np.linalg.eigvalsh(0.5 * (snap.true_cov + snap.true_cov.T))
            idx = np.arange(1, true_w.size + 1, dtype=float)
            put_data(self._true_spectrum, *finite_xy(idx, true_w, positive_y=True))
            lo, hi = float(true_w[0]), float(true_w[-1])
            parts.append(f"true {_fmt(hi / lo) if lo > 0 else '∞'}")
            self._pad_log("spectrum", np.array([1.0, d]), true_w)
        else:
            put_data(self._true_spectrum)
            put_data(self._pads["spectrum"])
        # markers alone read best for a few eigenvalues; a line joins them for a long spectrum
        joined = d > 8
        for k, c in enumerate(snap.chains):
            item = self._chains[k].spectrum
            if joined != (item.opts["pen"] is not None):
                item.setPen(style.chain_pen(k, 1.5) if joined else None)
            eig = np.asarray(c.eig, dtype=float)
            idx = np.arange(1, eig.size + 1, dtype=float) + (k - (K - 1) / 2) * width
            put_data(item, *finite_xy(idx, eig, positive_y=True))
            cond = c.condition_number
            text = _fmt(cond) if np.isfinite(cond) else "not PD"
            parts.append(f'<span style="color:{style.chain_color(k)}"><b>{text}</b></span>')
        if self._spectrum_d != d:
            self._spectrum_d = d
            plot.setXRange(0.5, d + 0.5, padding=0.02)
            plot.getAxis("bottom").setTickSpacing(major=max(1, d // 10), minor=1)
        self._set_title("spectrum", "Σ now: eigenvalues, condition number<br><span style='font-size:10.5pt'>"
                        + " · ".join(parts) + "</span>")

    def _pad_log(self, name: str, x: np.ndarray, values: np.ndarray) -> None:
        """Make the log y axis of ``name`` span at least [min/2, max*2] of ``values``."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size == 0 or x.size == 0:
            put_data(self._pads[name])
            return
        put_data(self._pads[name], np.array([x[0], x[-1]], dtype=float), np.array([v.min() / 2, v.max() * 2]))

    def _draw_kl(self, snap: Snapshot, steps: np.ndarray) -> None:
        h = snap.history
        nb = self._bins
        for k in range(len(snap.chains)):
            xy = finite_xy(steps, h.kl[k], positive_x=True, positive_y=True)
            put_data(self._chains[k].kl, *envelope(*xy, nb["kl"], log_x=True))
        xy = finite_xy(steps, h.ref_kl, positive_x=True, positive_y=True)
        put_data(self._ref_kl, *envelope(*xy, nb["kl"], log_x=True))

    def _draw_divergences(self, snap: Snapshot) -> None:
        rank = 0
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            div = c.divergence
            if div is None:
                if ch.div_key is not None:
                    ch.hide_divergence()
                continue
            key = (div.step, div.reason, rank)
            if ch.div_key != key:
                ch.div_key = key
                step = float(div.step)
                ch.div_lines["mean"].setValue(step)
                ch.div_lines["covariance"].setValue(step)
                ch.div_lines["kl"].setValue(np.log10(max(step, 1.0)))
                label = ch.div_lines["covariance"].label
                label.setText(f"✕ {SHORT_REASON.get(div.reason, div.reason)} at {div.step:,}")
                label.setPosition(0.93 - 0.1 * (rank % 8))
                for line in ch.div_lines.values():
                    line.show()
            rank += 1

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        # Fixed shares: otherwise a long title or legend makes its column grab the space.
        lay = self._glw.ci.layout
        left, _, right, _ = lay.getContentsMargins()
        # the view fills this widget (no margins); its frame takes a few pixels
        avail = max(300.0, self.width() - left - right - 2 * lay.horizontalSpacing() - 8)
        for col, share in enumerate(COLUMN_SHARES):
            lay.setColumnFixedWidth(col, avail * share)
        self._fit_legend()
