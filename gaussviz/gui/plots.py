"""The six live plots of the window, redrawn from one immutable Snapshot.

Each plot is a pyqtgraph PlotItem (axes, title, mouse zoom, export) whose data
are all drawn by one ``plot_items.Canvas`` (numpy raster on screen, vector
paths in exports; why: see plot_items). Nothing non-finite ever reaches a
trace: every array goes through :func:`finite_xy` first (and, on log axes,
must be positive).

Colours: each chain has its update rule's colour (``style.chain_styles``),
the same in every plot, legend and export; black dashed is the truth, grey
dotted the exact running MLE. Components (mu_i, the i-th smallest eigenvalue)
differ by markers along the curve (``style.COMPONENT_MARKERS``).

Layout: a legend and a key above a grid of plots that reflows with the width
(3 columns, 2, or 1) and scrolls vertically when the plots would get smaller
than ``MIN_PLOT_H``; titles wrap rather than being cut.

The step axis of the trajectory plots (mean, covariance, KL) is one of
``STEP_AXES``: all steps on a linear axis, all steps on a log axis, or a
rolling window of the last N updates (``set_step_axis``).
"""

from __future__ import annotations

import contextlib
import html
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.geometry import gaussian_pdf, sigma_ellipses
from ..core.plotdata import (
    LOG_RANGE_QUANTUM,
    RUNAWAY_CLAMP,
    ViewBox,
    bbox,
    clamp_box,
    extent,
    finite_xy,
    quantile_box,
    quantile_range,
    snapped_range,
    thin,
    union,
    window_range,
)
from ..core.settings import STEP_AXES
from . import style
from .plot_items import Canvas, ChainItems, FlowLegend, LogAxis, RangeItem, Trace, put_data, sub
from .pspace_view import ANATOMY_COLOR, ARROW_UPDATES, ParamSpaceView, arrow_segments, view_scale
from .style import Look

if TYPE_CHECKING:
    from ..core.snapshot import Snapshot

#: components of the mean (and eigenvalues of Sigma) drawn per chain; above this
#: the mean plot shows the cloud's pair and the covariance plot the extremes.
MAX_TRAJECTORIES = 4
#: plots with a step axis
TRAJECTORY_PLOTS = ("mean", "covariance", "kl")
#: pixels of plot width per envelope bin (each bin keeps its lowest and highest point)
CURVE_BIN_PX = 2
#: the parts of a frame (one per plot), in drawing order; see LivePlots.show_snapshot_part
PARTS = ("cloud", "mean", "covariance", "spectrum", "kl", "pspace")
#: plots whose ranges LivePlots sets itself (see _fit_ranges)
RANGED_PLOTS = ("mean", "covariance", "kl", "spectrum")
#: a running trace plot's linear step axis leaves room for this many seconds of updates ...
STEP_AXIS_LOOKAHEAD_S = 2.0
#: ... or for this fraction of the steps shown, whichever is more (see LivePlots._growing_x1)
STEP_AXIS_ROOM = 0.5
#: a running trace plot keeps its value range while the data span at least 1 / Y_RANGE_SNUG of it
#: (when the data cross an end, the new range leaves STEP_AXIS_ROOM of their span beyond it)
Y_RANGE_SNUG = 1.5
#: the grid: columns -> (plot, row, col, rowspan, colspan) and column shares
ARRANGEMENTS = {
    3: ({"cloud": (0, 0, 1, 1), "pspace": (1, 0, 1, 1), "mean": (0, 1, 1, 1), "covariance": (1, 1, 1, 1),
         "kl": (0, 2, 1, 1), "spectrum": (1, 2, 1, 1)}, (0.36, 0.32, 0.32), 2),
    2: ({"cloud": (0, 0, 1, 1), "pspace": (0, 1, 1, 1), "mean": (1, 0, 1, 1), "covariance": (1, 1, 1, 1),
         "kl": (2, 0, 1, 1), "spectrum": (2, 1, 1, 1)}, (0.5, 0.5), 3),
    1: ({"cloud": (0, 0, 1, 1), "pspace": (1, 0, 1, 1), "mean": (2, 0, 1, 1), "covariance": (3, 0, 1, 1),
         "kl": (4, 0, 1, 1), "spectrum": (5, 0, 1, 1)}, (1.0,), 6),
}
#: the smallest plot (pixels, title and axes included) that still reads; below it the grid
#: takes fewer columns, then scrolls
MIN_PLOT_W = 290
MIN_PLOT_H = 165
HIST_BINS = 50
DENSITY_POINTS = 400
SHORT_REASON = {
    "not-positive-definite": "not PD",
    "non-finite": "non-finite",
    "asymmetric": "asymmetric",
    "exploded": "exploded",
}
#: the spectrum's numbers are re-set at most this often while a run goes on (s)
TITLE_NUMBERS_INTERVAL = 0.25
#: fixed width of the right axes that name the true values
TRUTH_AXIS_WIDTH = 72
_EMPTY = np.zeros(0)
#: an invisible character that forbids a line break (Qt breaks after "/" even in a nowrap span)
WORD_JOINER = "\u2060"


def _fmt(v: float) -> str:
    """Short, projector-friendly number: 0.0213, 6.18, 1530, 2.1e+07."""
    if not np.isfinite(v):
        return "∞" if v > 0 else "n/a"
    if 100 <= abs(v) < 1e5:
        return f"{v:.0f}"
    return f"{v:.3g}"


def _short(v: float) -> str:
    """A true value on a right axis (little room): 0.21, 1.3, 0, 1.5e+03."""
    if not np.isfinite(v):
        return "n/a"
    return "0" if v == 0 else f"{v:.2g}"


def _loose_label(label: pg.LabelItem) -> None:
    """Let a LabelItem be narrower than its text (it wraps, see LivePlots._fit_title): pyqtgraph's
    own updateMin makes the text width the label's minimum, which pushed plots wider than their
    column and out of the window."""
    def update_min() -> None:
        bounds = label.itemRect()
        label.setMinimumWidth(10)
        label.setMinimumHeight(bounds.height())
        label._sizeHint = {
            QtCore.Qt.SizeHint.MinimumSize: (10, bounds.height()),
            QtCore.Qt.SizeHint.PreferredSize: (bounds.width(), bounds.height()),
            QtCore.Qt.SizeHint.MaximumSize: (-1, -1),
            QtCore.Qt.SizeHint.MinimumDescent: (0, 0),
        }
        label.updateGeometry()

    label.updateMin = update_min  # type: ignore[method-assign]


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")


def _nowrap(text: str) -> str:
    """Rich text kept on one line when a title wraps (a symbol stays with its marker: "λ₁ ○")."""
    return f"<span style='white-space:nowrap'>{text}</span>"


def _component_glyph(slot: int) -> str:
    """The marker a component's curve carries, as text for a title ("─": a plain line)."""
    return style.COMPONENT_SYMBOLS[slot % len(style.COMPONENT_SYMBOLS)] or "─"


def _key_glyph(color: str, text: str) -> str:
    return f"<span style='color:{color}; font-weight:bold'>{text}</span>"


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
        # the scene's white background fills every repainted rectangle: the viewport need not fill
        # it with its palette first (a second full-size fill per frame)
        self._glw.viewport().setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        # Only what changed is repainted (MinimalViewportUpdate, pyqtgraph's default); a cached
        # background pixmap would be blended on every repaint for nothing (the background is white).
        self._glw.setCacheMode(QtWidgets.QGraphicsView.CacheModeFlag.CacheNone)
        # A canvas that changed repaints its own rectangle only: without this flag Qt grows every
        # dirty rectangle by 2 px for antialiasing, into the axes around it, which then repaint too.
        self._glw.setOptimizationFlag(QtWidgets.QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        # One rectangle per repaint (the bounding box of what changed), not a region of many:
        # Qt's raster engine blits an image straight only under a rectangular clip; under a
        # region it blends it on Qt's GUI thread pool and waits, which on a busy 2-core machine
        # took most of a frame (profiled with py-spy --native).
        self._glw.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self._glw.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._glw.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidgetResizable(False)
        self.scroll.setWidget(self._glw)
        self.scroll.setStyleSheet("QScrollArea { background: white; }")
        layout.addWidget(self.scroll)
        self._chains: list[ChainItems] = []
        self._snap: Snapshot | None = None
        self._pending: set[str] = set()  # parts of self._snap's frame not drawn yet
        self._cloud_frame_key: tuple | None = None
        self._cloud_axes = (0, 1)
        self._cloud_dim: int | None = None
        self._view = ViewBox()
        self._titles: dict[str, str] = {}
        self._spectrum_d: int | None = None
        self._spectrum_title_at = 0.0
        self._legend_names: list[str] = []
        #: inside ``fits_deferred``: a fit asked for (``_refit``) waits for one at the block's end.
        #: Not while the plots are built: that first fit also puts the plots in the grid, and plot
        #: items left outside any scene crashed the garbage collector later (a window closed before
        #: it was ever resized)
        self._fit_deferred = False
        self._fit_wanted = False
        self._key_html = ""
        self._columns = 0
        self._step_axis = ("linear", 1000)
        self._log_x: dict[str, bool] = {}
        self._truth_ticks: dict[str, tuple] = {}
        self._bins: dict[str, int] = {}
        #: traces whose data decide the ranges of RANGED_PLOTS, extra boxes (log pads), and the one
        #: invisible item per plot that autorange sees
        self._ranged: dict[str, list[Trace]] = {name: [] for name in RANGED_PLOTS}
        self._pads: dict[str, np.ndarray | None] = {name: None for name in RANGED_PLOTS}
        self._forced_x: dict[str, tuple[float, float] | None] = {name: None for name in RANGED_PLOTS}
        #: a running plot's held value range (y0, y1): see _held_y
        self._held: dict[str, tuple[float, float]] = {}
        #: a running plot's grown step axis (x0, x1): see _growing_x1
        self._grown_x: dict[str, tuple[float, float]] = {}
        self._range_items: dict[str, RangeItem] = {}
        #: light or dark (View > Colours, the system's scheme); exports are drawn light unless asked
        self.theme = style.LIGHT
        self._build()
        self.set_step_axis("linear")

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        glw = self._glw
        # One legend above the plots (inside a plot it would cover data): a line per chain,
        # then a key that names every line style and marker. Column count and wrapping follow
        # the width (see _fit_layout).
        self.legend = FlowLegend(style.LEGEND_POINT_SIZE)
        self.key = pg.LabelItem("", justify="left")
        _loose_label(self.key)
        # not cached as a pixmap: when its text changed while the window kept its size (a divergence
        # adds to it), the cached picture stayed blank. It sits above the plots, outside the
        # rectangle a frame repaints, so it is painted only when it changes anyway.
        self.key.item.setTextWidth(600)
        self.plot_items: dict[str, pg.PlotItem] = {}
        self.canvases: dict[str, Canvas] = {}
        for name in PARTS:
            axes = {"bottom": LogAxis("bottom"), "left": LogAxis("left")}
            if name in ("mean", "covariance"):
                axes["right"] = LogAxis("right")
            plot = pg.PlotItem(axisItems=axes)
            _loose_label(plot.titleLabel)
            # the title spans the axes' columns too, not only the view's: at 1024 wide a title
            # over the view alone wrapped to three or four lines and left the data a sliver
            plot.layout.removeItem(plot.titleLabel)
            plot.layout.addItem(plot.titleLabel, 0, 0, 1, 3)
            # kept as a pixmap: a frame's repaint of the grid blits titles instead of laying out
            # their rich text again (_fit_title refreshes it when the text or width changes)
            plot.titleLabel.item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.plot_items[name] = plot
            self.canvases[name] = Canvas(plot)
        glw.ci.setSpacing(10)
        glw.ci.setContentsMargins(6, 4, 6, 4)

        pl = self.plot_items
        self._setup(pl["cloud"], "y" + sub(1), "y" + sub(2))
        self._setup(pl["mean"], "step", "mean μ")
        self._setup(pl["covariance"], "step", "eigenvalues of Σ")
        self._setup(pl["spectrum"], "eigenvalue index (ascending)", "eigenvalue")
        self._setup(pl["kl"], "step", "KL(true ‖ estimate)")
        self._setup(pl["pspace"], "mean μ", "variance Σ")
        self._pspace_labels: tuple | None = None
        pl["pspace"].setMouseEnabled(x=False, y=False)
        pl["covariance"].setLogMode(y=True)
        pl["spectrum"].setLogMode(y=True)
        pl["kl"].setLogMode(y=True)
        for name in ("mean", "covariance"):
            right = pl[name].getAxis("right")
            pl[name].showAxis("right")
            right.setStyle(tickFont=style.tick_font(), tickLength=4, maxTickLevel=0)
            right.setTextPen(self.theme.foreground)
            right.setPen(pg.mkPen(style.FRAME_COLOR, width=1))
            right.setWidth(TRUTH_AXIS_WIDTH)
            right.setTicks([[]])
            right.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        pl["covariance"].getAxis("right").setLogMode(True)
        pl["covariance"].setXLink(pl["mean"])
        self._set_title("mean", "Mean trajectory")
        self._set_title("covariance", "Eigenvalues of Σ")
        self._set_title("spectrum", "Eigenvalues of Σ now")
        self._set_title("kl", "Distance to the truth (KL)")
        self._set_title("cloud", "Samples and 1σ / 2σ ellipses")
        self._set_title("pspace", "Parameter space")
        self.pspace = ParamSpaceView(pl["pspace"], self.canvases["pspace"])
        pl["spectrum"].enableAutoRange(x=False)
        # Autorange sees one invisible item per plot, spanning the data's range snapped to whole
        # quanta: the range then changes in steps, not every frame (each change re-lays out an axis).
        for name in RANGED_PLOTS:
            item = RangeItem()
            pl[name].addItem(item)
            self._range_items[name] = item
        # the only item the cloud's autorange sees: an invisible box we choose (see _update_view)
        self._bounds = RangeItem()
        pl["cloud"].addItem(self._bounds)

        cv = self.canvases
        # shared traces, in drawing order: samples first, truth and running MLE above the chains
        self._scatter = cv["cloud"].add("cloud", Look(size=3), "samples", z=-10)
        self._hist = cv["cloud"].add("steps", Look(style.HIST_LINE, 1, fill=style.HIST_FILL), "histogram", z=-10)
        self._true_trail = cv["cloud"].add("path", Look(style.TRUE_COLOR, 1), "true mean's path", z=20)
        self._true_ell = [cv["cloud"].add("path", style.true_look(2), f"true {r}σ", closed=True, z=20)
                          for r in (1, 2)]
        self._ref_ell = [cv["cloud"].add("path", style.ref_look(2), f"running MLE {r}σ", closed=True, z=19)
                         for r in (1, 2)]
        self._true_density = cv["cloud"].add("curve", style.true_look(2), "true density", z=20)
        self._ref_density = cv["cloud"].add("curve", style.ref_look(2), "running MLE density", z=19)
        self._true_center = cv["cloud"].add("symbols", Look(style.TRUE_COLOR, marker="x", size=14, edge_width=2.0),
                                            "true mean", z=21)
        self._true_mean: list[Trace] = []
        self._true_eig: list[Trace] = []
        # the anatomy of one update (step mode): the state before it, the sample, r and the mean step
        self._anat_before = cv["cloud"].add("path", Look(ANATOMY_COLOR, 2, (5, 4)), "before this update", z=25)
        self._anat_before_density = cv["cloud"].add("curve", Look(ANATOMY_COLOR, 2, (5, 4)),
                                                    "density before this update", z=25)
        self._anat_r = cv["cloud"].add("segments", Look(ANATOMY_COLOR, 1, (3, 3)), "r = y - mu", z=26)
        self._anat_step = cv["cloud"].add("segments", Look(ANATOMY_COLOR, 3), "mean step", z=27)
        self._anat_sample = cv["cloud"].add("symbols", Look(ANATOMY_COLOR, marker="d", size=13, edge="#ffffff",
                                                            edge_width=1.5), "the sample y", z=28)
        self._anatomy = None
        self._true_spectrum = cv["spectrum"].add("symbols", Look(style.TRUE_COLOR, marker="_", size=28,
                                                                 edge_width=2.5), "true eigenvalues", z=-1)
        self._ranged["spectrum"].append(self._true_spectrum)
        self._ref_kl = cv["kl"].add("curve", style.ref_look(2), "running MLE KL", z=19)
        self._ranged["kl"].append(self._ref_kl)
        self._set_legend([])

    def apply_theme(self, theme: style.Theme) -> None:
        """Draw everything on ``theme`` (style.LIGHT or style.DARK): backgrounds, axes, titles, labels,
        the legend and every canvas's ink."""
        if theme == self.theme:
            return
        self.theme = theme
        self._glw.setBackground(theme.background)
        self.scroll.setStyleSheet(f"QScrollArea {{ background: {theme.background}; }}")
        for name, plot in self.plot_items.items():
            for ax in ("bottom", "left", "right"):
                axis = plot.getAxis(ax) if ax in plot.axes else None
                if axis is None:
                    continue
                axis.setPen(pg.mkPen(theme.frame, width=1))
                axis.setTextPen(theme.foreground)
                if axis.labelText:
                    axis.setLabel(axis.labelText, **{"font-size": style.LABEL_SIZE, "color": theme.foreground})
            title = self._titles.pop(name, None)
            if title is not None:
                self._set_title(name, title)
            self.canvases[name].set_theme(theme)
        self.legend.set_color(theme.foreground)
        key, self._key_html = self._key_html, ""
        if key:
            self._key_html = key
            self.key.setText(f"<span style='font-size:{style.TICK_POINT_SIZE}pt; "
                             f"color:{theme.foreground}'>{key}</span>")

    def _setup(self, plot: pg.PlotItem, xlabel: str, ylabel: str) -> None:
        label_style = {"font-size": style.LABEL_SIZE, "color": self.theme.foreground}
        plot.setLabel("bottom", xlabel, **label_style)
        plot.setLabel("left", ylabel, **label_style)
        for ax in ("bottom", "left"):
            axis = plot.getAxis(ax)
            axis.setStyle(tickFont=style.tick_font(), tickAlpha=255, maxTickLevel=1)
            axis.setPen(pg.mkPen(style.FRAME_COLOR, width=1))
            axis.setTextPen(self.theme.foreground)
            axis.enableAutoSIPrefix(False)
            # Kept as a pixmap (small now: the grid is the canvas's), so a frame that repaints the
            # area around an axis blits it instead of replaying ~100 drawing commands.
            axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            axis.label.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # the canvas draws the frame (an opaque canvas would hide the view's own border)
        plot.getAxis("left").setWidth(64)
        plot.setMenuEnabled(True)
        plot.hideButtons()  # the "A" (autorange) button sits on the data; the context menu has it

    def _set_title(self, name: str, text: str) -> None:
        """A plot's title, wrapped to the plot's width (never cut). Changing the title row's height
        re-lays out the whole grid (a few ms): a text that changes every frame (the spectrum's
        numbers) but keeps its height is swapped in place."""
        if self._titles.get(name) == text:
            return
        self._titles[name] = text
        label = self.plot_items[name].titleLabel
        label.text = text
        label.item.setHtml(f"<span style='color: {self.theme.foreground}; font-size: {style.TITLE_SIZE}'>{text}</span>")
        self._fit_title(name)

    def _fit_title(self, name: str) -> None:
        """Wrap a title that is wider than its plot, give its row the height, centre it."""
        plot = self.plot_items[name]
        label = plot.titleLabel
        item = label.item
        # the title spans the plot's width, axes included (see _build)
        width = label.geometry().width() if label.geometry().width() > 40 else plot.geometry().width() - 10
        item.setTextWidth(-1)
        if width > 40 and item.boundingRect().width() > width:
            item.setTextWidth(width)
        h = max(22.0, np.ceil(item.boundingRect().height()))
        if label.maximumHeight() != h or label.minimumHeight() != h:
            label.setMaximumHeight(h)
            label.setMinimumHeight(h)
            plot.layout.setRowFixedHeight(0, h)
        label.setVisible(True)
        br = item.boundingRect()
        item.setPos(max(0.0, (label.width() - br.width()) / 2), 0.0)
        item.update()  # the cached pixmap follows the new text and width

    def title_text(self, name: str) -> str:
        """The full text of a plot's title (as shown: HTML tags removed)."""
        return self.plot_items[name].titleLabel.item.toPlainText().replace(WORD_JOINER, "")

    def _chain(self, k: int, chain_style: style.ChainStyle) -> ChainItems:
        while len(self._chains) <= k:
            self._chains.append(ChainItems(self.canvases, len(self._chains), chain_style))
        ch = self._chains[k]
        ch.restyle(chain_style)
        return ch

    def _true_line(self, which: str, i: int) -> Trace:
        lst = self._true_mean if which == "mean" else self._true_eig
        while len(lst) <= i:
            t = self.canvases[which].add("curve", style.true_look(2), f"true {which} {len(lst)}", z=20)
            lst.append(t)
            self._ranged[which].append(t)
        return lst[i]

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

    def set_step_axis(self, mode: str, window: int | None = None) -> None:
        """The trajectory plots' step axis: "linear" (all steps), "log" (all steps, log axis) or
        "window" (the last ``window`` updates, linear)."""
        if mode not in STEP_AXES:
            raise ValueError(f"step axis must be one of {', '.join(STEP_AXES)}; got {mode!r}")
        n = int(window) if window is not None else self._step_axis[1]
        if n < 10:
            raise ValueError(f"the step window must be at least 10 updates; got {window!r}")
        if (mode, n) == self._step_axis and self._log_x:
            return
        self._step_axis = (mode, n)
        for name in TRAJECTORY_PLOTS:
            log = self._log_step(name)
            if self._log_x.get(name) != log:
                self.plot_items[name].setLogMode(x=log)
                self._log_x[name] = log
            xlabel = "step (log scale)" if log else "step" if mode == "linear" else f"step (the last {n:,})"
            self.plot_items[name].setLabel("bottom", xlabel,
                                           **{"font-size": style.LABEL_SIZE, "color": self.theme.foreground})
        self._set_title("kl", "Distance to the truth (KL)")
        if self._snap is not None:
            self._draw(self._snap, TRAJECTORY_PLOTS, redraw=True)

    def step_axis(self) -> tuple[str, int]:
        return self._step_axis

    def _log_step(self, name: str) -> bool:
        """Is this plot's step axis logarithmic? All three in "log" mode; KL also in "linear" mode
        (a rate of convergence reads as a slope on log-log axes); none in a window."""
        mode = self._step_axis[0]
        return mode == "log" or (mode == "linear" and name == "kl")

    def clear(self) -> None:
        """Forget the run: every trace empty, no markers, no legend entries."""
        self._snap = None
        self._pending = set()
        self._view = ViewBox()
        for cv in self.canvases.values():
            for t in cv.traces:
                t.clear()
        for ch in self._chains:
            ch.hide_divergence()
        self.pspace.clear()
        for item in (*self._range_items.values(), self._bounds):
            put_data(item)
        self._set_legend([])
        for name in ("mean", "covariance"):
            self._set_truth_ticks(name, [])
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

    def pending_parts(self) -> tuple[str, ...]:
        return tuple(p for p in PARTS if p in self._pending)

    def plotted_arrays(self) -> list[np.ndarray]:
        """Every x and y array currently handed to a plot (tests check they are finite)."""
        out: list[np.ndarray] = []
        for cv in self.canvases.values():
            out += cv.plotted_arrays()
        return out

    def legend_names(self) -> list[str]:
        """The chains' legend entries, in order."""
        chains = {id(ch.legend_sample) for ch in self._chains}
        return [html.unescape(label.text) for sample, label in self.legend.items if id(sample.item) in chains]

    def key_text(self) -> str:
        """The key under the legend (plain text): what every line style and marker means."""
        return self.key.item.toPlainText()

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
            self._draw_anatomy_cloud(self._anatomy, d)
        if any(p in todo for p in TRAJECTORY_PLOTS):
            h, steps = self._history(snap)
            if "mean" in todo:
                self._draw_mean(snap, h, steps)
            if "covariance" in todo:
                self._draw_covariance(snap, h, steps)
            if "kl" in todo:
                self._draw_kl(snap, h, steps)
            self._draw_divergences(snap, [p for p in todo if p in TRAJECTORY_PLOTS])
        if "spectrum" in todo:
            self._draw_spectrum(snap)
        if "pspace" in todo:
            self._draw_pspace(snap)
            self.pspace.draw_anatomy(self._anatomy)
        self._fit_ranges([p for p in todo if p in RANGED_PLOTS])

    def _begin(self, snap: Snapshot) -> None:
        """A new snapshot: chains, legend and bins for all of its parts."""
        self._snap = snap
        self._pending = set(PARTS)
        self._anatomy = snap.extra.get("anatomy")
        d = int(snap.ref_mean.shape[0])
        if d != self._cloud_dim:
            self._cloud_dim = d
            self._view = ViewBox()
            if d >= 2 and max(self._cloud_axes) >= d:
                self._cloud_axes = (0, 1)
        K = len(snap.chains)
        styles = style.chain_styles_of([c.settings for c in snap.chains])
        for k in range(K):
            self._chain(k, styles[k])
        for ch in self._chains[K:]:  # chains of an earlier, bigger run
            for item in ch.all_items():
                item.clear()
            ch.hide_divergence()
        self._draw_legend(snap, styles)
        self._bins = {name: self._curve_bins(name) for name in TRAJECTORY_PLOTS}

    def _history(self, snap: Snapshot):
        """The history the trajectory plots show (all of it, or the window's part) and its steps."""
        h = snap.history
        mode, n = self._step_axis
        if mode == "window":
            h = h.last(n, snap.step) if hasattr(h, "last") else h
        return h, np.asarray(h.steps, dtype=float)

    def _fit_ranges(self, names: list[str]) -> None:
        """Hand autorange the snapped extent of each ranged plot's data (see RANGED_PLOTS)."""
        for name in names:
            cv = self.canvases[name]
            log_x, log_y = cv.log_mode()
            box = self._pads[name]
            for t in self._ranged_traces(name):
                if t.visible and t.xData.size:
                    box = union(box, self._extent(t, log_x, log_y))
            forced = self._forced_x[name]
            if box is None:
                put_data(self._range_items[name])
                continue
            if forced is not None:
                x0, x1 = forced
            else:
                x0, x1 = snapped_range(box[0], box[1], log_x)
                if name in TRAJECTORY_PLOTS and not log_x:
                    x1 = self._growing_x1(name, x0, x1, box[1])
            y0, y1 = snapped_range(box[2], box[3], log_y)
            if log_y and y0 <= 0:
                continue
            y0, y1 = self._held_y(name, y0, y1, log_y)
            put_data(self._range_items[name], np.array([x0, x1]), np.array([y0, y1]))

    def _growing_x1(self, name: str, x0: float, x1: float, data_end: float) -> float:
        """The right end of a running trace plot's linear step axis: room for
        STEP_AXIS_LOOKAHEAD_S more seconds of updates or STEP_AXIS_ROOM of the span shown,
        whichever is more, kept while the data fit in it. Snapped to the data alone, a run going
        flat out moved the axis 5-10 times a second early on (each move re-lays out the axes and
        redraws every linked plot: the window's slowest frames); now it moves at most once per
        look-ahead, and ever more rarely as the run grows (the room grows with the span, so the
        data always fill 67-100 % of the axis). Paused, the axis fits the data again."""
        rate = float(self._snap.extra.get("updates_per_s", 0.0)) if self._snap is not None else 0.0
        running = self._snap is not None and bool(self._snap.extra.get("running", False))
        if not running or not (rate > 0 and math.isfinite(rate)):
            self._grown_x.pop(name, None)
            return x1
        ahead = max(rate * STEP_AXIS_LOOKAHEAD_S, STEP_AXIS_ROOM * (data_end - x0))
        prev = self._grown_x.get(name)
        if prev is not None and prev[0] == x0 and x1 <= prev[1] <= max(x1, data_end + 3 * ahead):
            return prev[1]
        grown = snapped_range(x0, data_end + ahead)[1]
        self._grown_x[name] = (x0, grown)
        return grown

    def _held_y(self, name: str, y0: float, y1: float, log_y: bool) -> tuple[float, float]:
        """A running trace plot's value range, kept while the data fit in it and fill enough of
        it (Y_RANGE_SNUG of its span, in decades on a log axis): a KL or an eigenvalue wandering
        by a quantum would otherwise move the axis again and again (each move re-lays out the
        axis: 2-5 ms, the slowest frames of a run). Paused, the axis fits the data again."""
        running = self._snap is not None and bool(self._snap.extra.get("running", False))
        held = self._held.get(name)
        if not running:
            self._held.pop(name, None)
            return y0, y1
        fwd, back = (math.log10, lambda v: 10.0 ** v) if log_y else (float, float)
        a, b = fwd(y0), fwd(y1)
        if held is not None:
            h0, h1 = fwd(held[0]), fwd(held[1])
            if h0 <= a and b <= h1:
                if h1 - h0 <= Y_RANGE_SNUG * (b - a) + (LOG_RANGE_QUANTUM if log_y else 0.0):
                    return held
            else:
                # the data crossed an end: leave room beyond it, as the step axis does
                room = STEP_AXIS_ROOM * (b - a)
                a, b = (a - room if a < h0 else a), (b + room if b > h1 else b)
        out = (back(a), back(b))
        self._held[name] = out
        return out

    @staticmethod
    def _extent(t: Trace, log_x: bool, log_y: bool) -> np.ndarray | None:
        """A trace's data extent (drawable points only), cached until its data change."""
        key = (id(t.xData), id(t.yData), log_x, log_y)
        if getattr(t, "_extent_key", None) != key:
            t._extent_key = key
            t._extent = extent(t.xData, t.yData, log_x, log_y) if t.xData.shape == t.yData.shape else None
        return t._extent

    def _ranged_traces(self, name: str) -> list[Trace]:
        """The traces whose data decide a plot's range (markers and constant lines included)."""
        out = list(self._ranged[name])
        for ch in self._chains:
            out += {"mean": ch.mean_curves, "covariance": ch.eig_curves, "kl": [ch.kl, ch.avg_kl],
                    "spectrum": [ch.spectrum]}[name]
        return out

    def _curve_bins(self, name: str) -> int:
        """Envelope bins for a plot: one per CURVE_BIN_PX pixels of its width (finer bins draw
        nothing more: a column of pixels shows each bin's lowest to highest point)."""
        return int(min(4096, max(120, self.plot_items[name].vb.width() / CURVE_BIN_PX)))

    # legend and key -----------------------------------------------------------
    def _draw_legend(self, snap: Snapshot, styles: list[style.ChainStyle]) -> None:
        # Entries must stay in chain order: if one changes, rebuild from it on.
        names = []
        counts: dict[str, int] = {}
        for s in styles:
            counts[s.rule] = counts.get(s.rule, 0) + 1
        for c, s in zip(snap.chains, styles):
            name = c.label
            if counts[s.rule] > 1 and s.variant:
                name += f" ({s.variant_name} {s.rule})"
            if c.divergence is not None:
                why = SHORT_REASON.get(c.divergence.reason, c.divergence.reason)
                name += f"  ✕ {why} at {c.divergence.step:,}"
            names.append(name)
        # the legend and the key each re-lay the grid out when they change (~20-80 ms): once for both
        with self.fits_deferred():
            if names != self._legend_names:
                self._set_legend(names)
            self._draw_key(snap)

    def _set_legend(self, names: list[str]) -> None:
        """Rebuild the legend: one entry per chain (in chain order)."""
        self.legend.clear()
        for k, name in enumerate(names):
            # a legend label is HTML (pyqtgraph LabelItem): a label's text is shown as written
            self.legend.addItem(self._chains[k].legend_sample, html.escape(name, quote=False))
        self._legend_names = list(names)
        self._refit()

    def _refit(self) -> None:
        """Re-lay the grid out now, or once at the end of a ``fits_deferred`` block."""
        if self._fit_deferred:
            self._fit_wanted = True
            return
        self._fit_layout()

    @contextlib.contextmanager
    def fits_deferred(self) -> Iterator[None]:
        """Whatever in the block resizes the plots or changes the legend, re-lay the grid out once,
        at its end, to the size they have then (a fit costs 15-80 ms)."""
        if self._fit_deferred:  # an outer block fits
            yield
            return
        self._fit_deferred, self._fit_wanted = True, False
        try:
            yield
        finally:
            self._fit_deferred = False
            if self._fit_wanted:
                self._fit_wanted = False
                self._fit_layout()

    def _draw_key(self, snap: Snapshot) -> None:
        """One line (wrapped when narrow) that names every line style and marker drawn."""
        d = int(snap.ref_mean.shape[0])
        g = _key_glyph
        parts = [g(style.TRUE_COLOR, "╌") + " true", g(style.REF_COLOR, "┈") + " exact running MLE"]
        if d >= 2:
            n = min(d, MAX_TRAJECTORIES) if d <= MAX_TRAJECTORIES else 2
            marks = ", ".join(f"{style.COMPONENT_SYMBOLS[i]} {_ordinal(i + 1)}" for i in range(1, n))
            first = "μ₁ / smallest λ" if d <= MAX_TRAJECTORIES else "1st of the pair / smallest λ"
            parts.append(f"─ {first}, {marks}")
            parts.append(g("#444", "●") + " estimate " + g(style.TRUE_COLOR, "✕") + " true mean")
        parts.append(g(style.TRUE_COLOR, "▬") + " true eigenvalue, numbers λmax/λmin")
        if any(c.divergence is not None for c in snap.chains):
            parts.append(g("#444", "┆") + " divergence " + g("#444", "▼") + " last λ₁")
        if any(c.avg_cov is not None for c in snap.chains):
            parts.append(g("#444", "┄") + " the chain's Polyak-Ruppert average (1σ, KL)")
        if getattr(snap.history, "true_mean", None) is not None:
            parts.append("thin black line: the truth's path")
        if snap.extra.get("anatomy") is not None:
            parts.append(g(ANATOMY_COLOR, "◆") + " this update's sample y, " + g(ANATOMY_COLOR, "┄")
                         + " r = y − μ and the state before it, " + g(ANATOMY_COLOR, "→") + " its step")
        if d == 1:
            parts.append(g(style.BAD, "▨") + " Σ ≤ 0 · " + g(style.REF_COLOR, "◆") + " MLE · "
                         + g("#3d3d3d", "→") + f" expected step ×{ARROW_UPDATES} (" + g(style.WARN, "→")
                         + " clipped)")
        text = " · ".join(parts)
        if text != self._key_html:
            self._key_html = text
            self.key.setText(f"<span style='font-size:{style.TICK_POINT_SIZE}pt; "
                             f"color:{self.theme.foreground}'>{text}</span>")
            self._refit()

    # layout --------------------------------------------------------------------
    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit()

    def _columns_for(self, width: float) -> int:
        for n in (3, 2):
            if width >= n * MIN_PLOT_W + (n - 1) * 10 + 12:
                return n
        return 1

    def _fit_layout(self) -> None:
        """Columns, heights and wrapping for the current size: every plot, title, axis and the
        legend inside the visible area (scrolling only below MIN_PLOT_H per row)."""
        # the whole widget, less a vertical scroll bar if the plots will not fit (then they scroll)
        vw, vh = max(self.width(), 200), max(self.height(), 150)
        if self._fit_width(vw, vh) > vh:
            self._fit_width(vw - self._scrollbar_w, vh)

    def _fit_width(self, width: float, vh: float) -> int:
        """Lay the grid out ``width`` wide; returns the height it takes."""
        cols = self._columns_for(width - 12)
        _places, shares, rows = ARRANGEMENTS[cols]
        lay = self._glw.ci.layout
        if cols != self._columns:
            self._arrange(cols)
        inner = width - 12 - 10 * (cols - 1)
        for c in range(3):
            lay.setColumnFixedWidth(c, inner * shares[c] if c < cols else 0.0)
        # legend: as many columns as fit, as wide as they need
        legend_h = self._fit_legend(width - 12)
        self.key.item.setTextWidth(max(200.0, width - 24))
        key_h = self.key.item.boundingRect().height() + 2 if self._key_html else 0.0
        for item, h in ((self.legend, legend_h), (self.key, key_h)):
            item.setMinimumHeight(h)
            item.setMaximumHeight(h)
        lay.setRowFixedHeight(0, legend_h)
        lay.setRowFixedHeight(1, key_h)
        # the plot rows share what the legend, key, margins and spacings leave (asked of the layout
        # itself: its spacing rules are Qt's)
        row_h = float(MIN_PLOT_H)
        for r in range(max(a[2] for a in ARRANGEMENTS.values())):
            lay.setRowFixedHeight(2 + r, row_h if r < rows else 0.0)
        extra = lay.effectiveSizeHint(QtCore.Qt.SizeHint.MinimumSize).height() - rows * row_h
        row_h = max(float(MIN_PLOT_H), np.floor((vh - extra) / rows))
        for r in range(rows):
            lay.setRowFixedHeight(2 + r, row_h)
        height = int(np.ceil(extra + rows * row_h))
        self._glw.setFixedSize(int(width), max(int(vh), height))
        self._glw.ci.layout.activate()
        for name in PARTS:
            self._fit_title(name)
        self._bins = {name: self._curve_bins(name) for name in TRAJECTORY_PLOTS}
        return height

    @property
    def _scrollbar_w(self) -> int:
        return self.scroll.verticalScrollBar().sizeHint().width()

    def _legend_height(self, width: float) -> float:
        return self.legend.height_for(width) + 2

    def _arrange(self, cols: int) -> None:
        ci = self._glw.ci
        for item in (self.legend, self.key, *self.plot_items.values()):
            if item in ci.items:
                ci.removeItem(item)
        places, _shares, _rows = ARRANGEMENTS[cols]
        ci.addItem(self.legend, row=0, col=0, colspan=cols)
        ci.addItem(self.key, row=1, col=0, colspan=cols)
        for name in PARTS:
            row, col, rs, cs = places[name]
            ci.addItem(self.plot_items[name], row=2 + row, col=col, rowspan=rs, colspan=cs)
        ci.layout.setAlignment(self.legend, QtCore.Qt.AlignmentFlag.AlignLeft)
        ci.layout.setAlignment(self.key, QtCore.Qt.AlignmentFlag.AlignLeft)
        self._columns = cols

    def columns(self) -> int:
        """How many columns the plot grid has now (3, 2 or 1: fewer when narrow)."""
        return self._columns

    def _fit_legend(self, width: float) -> float:
        return self.legend.set_width(width) + 2 if self.legend.items else 2.0

    def _cloud_frame(self, locked: bool, xlabel: str, ylabel: str) -> None:
        """Aspect lock and axis labels of the cloud plot, set only when they change: each call
        re-lays out the axes (a few ms)."""
        key = (locked, xlabel, ylabel)
        if self._cloud_frame_key == key:
            return
        self._cloud_frame_key = key
        plot = self.plot_items["cloud"]
        plot.setAspectLocked(locked)
        plot.setLabel("bottom", xlabel, **{"font-size": style.LABEL_SIZE, "color": self.theme.foreground})
        plot.setLabel("left", ylabel, **{"font-size": style.LABEL_SIZE, "color": self.theme.foreground})

    # cloud, d >= 2 ----------------------------------------------------------
    def _draw_cloud(self, snap: Snapshot) -> None:
        i, j = self._cloud_axes
        pair = [i, j]
        for item in (self._hist, self._true_density, self._ref_density):
            item.clear()
        self._cloud_frame(True, "y" + sub(i + 1), "y" + sub(j + 1))
        recent = snap.recent
        n = recent.shape[0]
        self._set_title("cloud", f"Last {n:,} samples, 1σ and 2σ" if n else "Samples, 1σ and 2σ ellipses")
        base = None
        if n:
            x, y = finite_xy(recent[:, i], recent[:, j])
            put_data(self._scatter, x, y)
            base = quantile_box(x, y)
        else:
            self._scatter.clear()
        if snap.true_mean is not None and snap.true_cov is not None:
            tm = snap.true_mean[pair]
            tc = snap.true_cov[np.ix_(pair, pair)]
            ells = sigma_ellipses(tm, tc)
            for k, item in enumerate(self._true_ell):
                put_data(item, *(ells[k] if ells is not None else (_EMPTY, _EMPTY)))
            if ells is not None:
                base = union(base, bbox(*ells[1]))
            if np.all(np.isfinite(tm)):
                put_data(self._true_center, [tm[0]], [tm[1]])
        else:
            for item in (*self._true_ell, self._true_center):
                item.clear()
        # a drifting truth: where its mean went while the samples shown were drawn
        trail = getattr(snap.history, "true_mean", None)
        if trail is not None and n:
            steps = np.asarray(snap.history.steps)
            recent_from = max(0, snap.step - n)
            sel = steps >= recent_from
            put_data(self._true_trail, *finite_xy(trail[sel, i], trail[sel, j]))
        else:
            self._true_trail.clear()
        ref_ok = snap.n_samples > snap.ref_mean.shape[0]
        ells = sigma_ellipses(snap.ref_mean[pair], snap.ref_cov[np.ix_(pair, pair)]) if ref_ok else None
        for k, item in enumerate(self._ref_ell):
            put_data(item, *(ells[k] if ells is not None else (_EMPTY, _EMPTY)))
        chain_box = None
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            ch.density.clear()
            mu = c.mean[pair]
            block = c.cov[np.ix_(pair, pair)]
            pd = bool(c.eig.size and c.eig[0] > 0)
            ells = sigma_ellipses(mu, block) if pd else None
            drawn = ells is not None
            for k2, item in enumerate((ch.ellipse1, ch.ellipse2)):
                if ells is None:
                    item.clear()
                else:
                    put_data(item, *ells[k2])
            if ells is not None:
                chain_box = union(chain_box, bbox(*ells[1]))
            ch.avg_density.clear()
            avg = None
            if c.avg_cov is not None and np.all(np.isfinite(c.avg_cov)):
                avg = sigma_ellipses(c.avg_mean[pair], c.avg_cov[np.ix_(pair, pair)])
            put_data(ch.avg_ellipse, *(avg[0] if avg is not None else (_EMPTY, _EMPTY)))
            if np.all(np.isfinite(mu)):
                put_data(ch.center, mu[:1], mu[1:])
                if drawn:
                    chain_box = union(chain_box, np.array([mu[0], mu[0], mu[1], mu[1]]))
            else:
                ch.center.clear()
        if base is None:
            base = chain_box
        elif chain_box is not None:
            base = union(base, clamp_box(chain_box, base))
        self._update_view(base)

    # cloud, d == 1 ----------------------------------------------------------
    def _draw_histogram(self, snap: Snapshot) -> None:
        self._cloud_frame(False, "y (sample value)", "density")
        self._scatter.clear()
        self._true_trail.clear()
        for item in (*self._true_ell, *self._ref_ell):
            item.clear()
        recent = np.asarray(snap.recent, dtype=float).ravel()
        recent = recent[np.isfinite(recent)]
        n = recent.size
        self._set_title("cloud", f"Last {n:,} samples and densities" if n else "Samples and densities")
        # x extent from the data and the truth; estimates may pull it out only RUNAWAY_CLAMP times
        xs: list[tuple[float, float]] = []
        peak = 0.0
        if n:
            xs.append(quantile_range(recent))  # type: ignore[arg-type]  # n > 0: not None
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
            put_data(self._hist, edges, dens)
            peak = max(peak, float(dens.max()))
        else:
            self._hist.clear()
        grid = np.linspace(lo, hi, DENSITY_POINTS)
        if tm is not None:
            put_data(self._true_density, *finite_xy(grid, gaussian_pdf(grid, tm, tv)))
            put_data(self._true_center, [tm], [0.0])
        else:
            self._true_density.clear()
            self._true_center.clear()
        if ref_ok:
            put_data(self._ref_density, *finite_xy(grid, gaussian_pdf(grid, rm, rv)))
        else:
            self._ref_density.clear()
        chain_peak = 0.0
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            ch.ellipse1.clear()
            ch.ellipse2.clear()
            ch.avg_ellipse.clear()
            if c.avg_cov is not None and np.isfinite(c.avg_mean[0]) and c.avg_cov[0, 0] > 0:
                put_data(ch.avg_density,
                         *finite_xy(grid, gaussian_pdf(grid, float(c.avg_mean[0]), float(c.avg_cov[0, 0]))))
            else:
                ch.avg_density.clear()
            m, v = float(c.mean[0]), float(c.cov[0, 0])
            if np.isfinite(m) and np.isfinite(v) and v > 0:
                put_data(ch.density, *finite_xy(grid, gaussian_pdf(grid, m, v)))
                chain_peak = max(chain_peak, 1.0 / np.sqrt(2.0 * np.pi * v))
            else:
                ch.density.clear()
            if np.isfinite(m):
                put_data(ch.center, [m], [0.0])
            else:
                ch.center.clear()
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

    def _x_ends(self, name: str, steps: np.ndarray, snap: Snapshot) -> np.ndarray:
        """The step range a constant (true) line spans, and the forced x range in window mode."""
        mode, n = self._step_axis
        if not steps.size:
            self._forced_x[name] = None
            return _EMPTY
        if mode == "window":
            x0, x1 = window_range(snap.step, n)
            self._forced_x[name] = (x0, x1)
            return np.array([max(float(steps[0]), x0), float(steps[-1])])
        self._forced_x[name] = None
        lo = float(steps[0])
        if self._log_step(name):
            pos = steps[steps > 0]
            if not pos.size:
                return _EMPTY
            lo = float(pos[0])
        return np.array([lo, float(steps[-1])])

    def _draw_mean(self, snap: Snapshot, h, steps: np.ndarray) -> None:
        nb = self._bins["mean"]
        d = h.mean.shape[2]
        comps = self._components(d)
        log_x = self._log_step("mean")
        for k in range(len(snap.chains)):
            ch = self._chains[k]
            for slot, i in enumerate(comps):
                put_data(ch.curve("mean", slot),
                         *thin(steps, h.mean[k, :, i], nb, log_x, log_x))
            for item in ch.mean_curves[len(comps):]:
                item.clear()
        x_ends = self._x_ends("mean", steps, snap)
        true_path = getattr(h, "true_mean", None)
        ticks = []
        groups: dict[float, list[int]] = {}
        for slot, i in enumerate(comps):
            line = self._true_line("mean", slot)
            if true_path is not None and x_ends.size:
                put_data(line, *thin(steps, true_path[:, i], nb, log_x, log_x))
            elif snap.true_mean is not None and np.isfinite(snap.true_mean[i]) and x_ends.size:
                v = float(snap.true_mean[i])
                put_data(line, x_ends, np.array([v, v]))
            else:
                line.clear()
            if snap.true_mean is not None and np.isfinite(snap.true_mean[i]):
                groups.setdefault(float(snap.true_mean[i]), []).append(i)
        for line in self._true_mean[len(comps):]:
            line.clear()
        # the true values, named on the right axis (outside the data)
        spread = float(np.sqrt(np.max(np.diag(snap.true_cov)))) if snap.true_cov is not None else 1.0
        for v, idx in sorted(groups.items()):
            names = ",".join(sub(i + 1) for i in idx) if d > 1 else ""
            shown = 0.0 if abs(v) < 1e-9 * spread else v
            ticks.append((v, f"μ{names}={_short(shown)}" if len(idx) < 3 else f"μ={_short(shown)}"))
        self._set_truth_ticks("mean", ticks, moving=true_path is not None)
        if d == 1:
            title = "Mean μ"
        else:
            keys = ", ".join(_nowrap(f"μ{sub(i + 1)} {_component_glyph(s)}") for s, i in enumerate(comps))
            title = f"Mean: {keys}"
            if len(comps) < d:
                title += " (the cloud's pair)"
        self._set_title("mean", title)

    def _set_truth_ticks(self, name: str, ticks: list[tuple[float, str]], moving: bool = False) -> None:
        """Name the true values on the plot's right axis; a moving truth only when it moved visibly."""
        plot = self.plot_items[name]
        log = name == "covariance"
        vals = [(float(np.log10(v)) if log else float(v), s) for v, s in ticks if not log or v > 0]
        key = tuple((round(v, 6), s) for v, s in vals)
        old = self._truth_ticks.get(name)
        if old == key:
            return
        if moving and old is not None and len(old) == len(key):
            (lo, hi) = plot.vb.viewRange()[1]
            tol = 0.02 * max(hi - lo, 1e-12)
            if all(abs(a[0] - b[0]) < tol for a, b in zip(old, key)):
                return
        self._truth_ticks[name] = key
        # two labels closer than a line of text: keep the first
        (lo, hi) = plot.vb.viewRange()[1]
        px = max(plot.vb.height(), 1.0) / max(hi - lo, 1e-12)
        kept: list[tuple[float, str]] = []
        for v, s in sorted(vals):
            if kept and abs(v - kept[-1][0]) * px < 13:
                continue
            kept.append((v, s))
        plot.getAxis("right").setTicks([kept])

    def _draw_covariance(self, snap: Snapshot, h, steps: np.ndarray) -> None:
        nb = self._bins["covariance"]
        d = h.eig.shape[2]
        which = list(range(d)) if d <= MAX_TRAJECTORIES else [0, d - 1]
        log_x = self._log_step("covariance")
        x_ends = self._x_ends("covariance", steps, snap)
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            for slot, i in enumerate(which):
                put_data(ch.curve("covariance", slot),
                         *thin(steps, h.eig[k, :, i], nb, log_x, log_x, True))
            for item in ch.eig_curves[len(which):]:
                item.clear()
            # where the smallest eigenvalue was heading when the chain failed
            if c.divergence is not None:
                x, y = finite_xy(steps, h.eig[k, :, 0], positive_x=log_x, positive_y=True)
                if x.size:
                    put_data(ch.heading, x[-1:], y[-1:])
                else:
                    ch.heading.clear()
            else:
                ch.heading.clear()
        true_w = None
        if snap.true_cov is not None:
            true_w = np.linalg.eigvalsh(0.5 * (snap.true_cov + snap.true_cov.T))
        true_eig_path = getattr(h, "true_eig", None)
        for slot, i in enumerate(which):
            line = self._true_line("covariance", slot)
            if true_eig_path is not None and x_ends.size:
                put_data(line, *thin(steps, true_eig_path[:, i], nb, log_x, log_x, True))
            elif true_w is not None and x_ends.size:
                put_data(line, *finite_xy(x_ends, np.array([true_w[i], true_w[i]]), positive_y=True))
            else:
                line.clear()
        for line in self._true_eig[len(which):]:
            line.clear()
        if true_w is not None and x_ends.size:
            self._pads["covariance"] = self._pad_box(x_ends, true_w)
            ticks = [(float(true_w[i]), f"λ{sub(i + 1)}={_short(float(true_w[i]))}") for i in which]
        else:
            self._pads["covariance"] = None
            ticks = []
        self._set_truth_ticks("covariance", ticks, moving=true_eig_path is not None)
        if d == 1:
            title = "Variance Σ"
        else:
            keys = ", ".join(_nowrap(f"λ{sub(i + 1)} {_component_glyph(s)}") for s, i in enumerate(which))
            title = f"Eigenvalues of Σ: {keys}"
            if len(which) < d:
                title += " (smallest, largest)"
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
            self._pads["spectrum"] = self._pad_box(np.array([1.0, d]), true_w)
        else:
            self._true_spectrum.clear()
            self._pads["spectrum"] = None
        # markers alone read best for a few eigenvalues; a line joins them for a long spectrum
        joined = d > 8
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            eig = np.asarray(c.eig, dtype=float)
            idx = np.arange(1, eig.size + 1, dtype=float) + (k - (K - 1) / 2) * width
            xy = finite_xy(idx, eig, positive_y=True)
            put_data(ch.spectrum, *xy)
            if joined:
                put_data(ch.spectrum_line, *xy)
            else:
                ch.spectrum_line.clear()
            cond = c.condition_number
            text = _fmt(cond) if np.isfinite(cond) else "not PD"
            parts.append(f'<span style="color:{ch.style.color}"><b>{text}</b></span>')
        if self._spectrum_d != d:
            self._spectrum_d = d
            plot.setXRange(0.5, d + 0.5, padding=0.02)
            plot.getAxis("bottom").setTickSpacing(major=max(1, d // 10), minor=1)
        # the numbers change with every frame of a running run: set ~4 times a second (laying out
        # rich text is a good part of a frame), and always once the run holds still
        now = time.perf_counter()
        # (a snapshot that does not say whether its run goes on is taken to be running)
        if snap.extra.get("running", True) and now - self._spectrum_title_at < TITLE_NUMBERS_INTERVAL:
            return
        self._spectrum_title_at = now
        ratio = _nowrap(f"λmax/{WORD_JOINER}λmin")
        self._set_title("spectrum", f"Σ now: eigenvalues, {ratio}<br><span style='font-size:10.5pt'>"
                        + " · ".join(parts) + "</span>")

    def anatomy(self):
        """The update taken apart on the plots now (None: none)."""
        return self._anatomy

    def _draw_anatomy_cloud(self, a, d: int) -> None:
        """Step mode: the state before the last update (dashed), the sample y, r = y - mu (dotted)
        and the mean step (arrow) over the cloud; the chain's own ellipses show the state after."""
        items = (self._anat_before, self._anat_before_density, self._anat_r, self._anat_step, self._anat_sample)
        if a is None or a.chain != 0:
            for t in items:
                t.clear()
            return
        plot = self.plot_items["cloud"]
        kx, ky = view_scale(plot)
        if d == 1:
            self._anat_before.clear()
            m0, v0, m1 = float(a.mu_before[0]), float(a.sigma_before[0, 0]), float(a.mu_after[0])
            box = self._view.box
            top = float(box[3]) if box is not None else 1.0
            if v0 > 0:
                lo, hi = (float(box[0]), float(box[1])) if box is not None else (m0 - 4 * v0**0.5, m0 + 4 * v0**0.5)
                grid = np.linspace(lo, hi, DENSITY_POINTS)
                put_data(self._anat_before_density, *finite_xy(grid, gaussian_pdf(grid, m0, v0)))
            else:
                self._anat_before_density.clear()
            ys = a.y[:, 0]
            h_r, h_s = 0.1 * top, 0.2 * top
            rx = np.column_stack([np.full(ys.size, m0), ys]).ravel()
            put_data(self._anat_r, rx, np.full(rx.size, h_r))
            put_data(self._anat_sample, ys, np.zeros(ys.size))
            put_data(self._anat_step, *arrow_segments(m0, h_s, m1, h_s, kx, ky))
            return
        self._anat_before_density.clear()
        i, j = self._cloud_axes
        pair = [i, j]
        mu0, mu1 = a.mu_before[pair], a.mu_after[pair]
        ells = sigma_ellipses(mu0, a.sigma_before[np.ix_(pair, pair)])
        put_data(self._anat_before, *(ells[0] if ells is not None else (_EMPTY, _EMPTY)))
        ys = a.y[:, pair]
        rx = np.column_stack([np.full(len(ys), mu0[0]), ys[:, 0]]).ravel()
        ry = np.column_stack([np.full(len(ys), mu0[1]), ys[:, 1]]).ravel()
        put_data(self._anat_r, rx, ry)
        put_data(self._anat_sample, ys[:, 0], ys[:, 1])
        put_data(self._anat_step, *arrow_segments(float(mu0[0]), float(mu0[1]), float(mu1[0]), float(mu1[1]), kx, ky))

    def _draw_pspace(self, snap: Snapshot) -> None:
        d = int(snap.ref_mean.shape[0])
        colors = [self._chains[k].style.color for k in range(len(snap.chains))]
        title = self.pspace.draw(snap, colors)
        if d == 1:
            labels = ("mean μ", "variance Σ (log scale)" if self.pspace.log_sigma else "variance Σ")
        else:
            labels = ("λmin of Σ (smallest eigenvalue)", "λmax of Σ")
        if labels != self._pspace_labels:
            self._pspace_labels = labels
            plot = self.plot_items["pspace"]
            plot.setLabel("bottom", labels[0], **{"font-size": style.LABEL_SIZE, "color": "#000"})
            plot.setLabel("left", labels[1], **{"font-size": style.LABEL_SIZE, "color": "#000"})
        self._set_title("pspace", title)

    def set_pspace_scale(self, scale: str) -> None:
        """The parameter-space plot's Sigma axis: "auto", "linear" or "log" (d = 1)."""
        self.pspace.set_sigma_scale(scale)
        if self._snap is not None:
            self._draw(self._snap, ("pspace",), redraw=True)

    @staticmethod
    def _pad_box(x: np.ndarray, values: np.ndarray) -> np.ndarray | None:
        """A box that keeps a log y axis at least about a decade around ``values`` (pyqtgraph
        labels a narrower log range with a single tick)."""
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if v.size == 0 or x.size == 0:
            return None
        return np.array([float(x[0]), float(x[-1]), v.min() / 2, v.max() * 2])

    def _draw_kl(self, snap: Snapshot, h, steps: np.ndarray) -> None:
        nb = self._bins["kl"]
        log_x = self._log_step("kl")
        self._x_ends("kl", steps, snap)
        avg_kl = getattr(h, "avg_kl", None)
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            put_data(ch.kl, *thin(steps, h.kl[k], nb, log_x, log_x, True))
            if avg_kl is not None and c.avg_cov is not None:
                put_data(ch.avg_kl, *thin(steps, avg_kl[k], nb, log_x, log_x, True))
            else:
                ch.avg_kl.clear()
        put_data(self._ref_kl, *thin(steps, h.ref_kl, nb, log_x, log_x, True))

    def _draw_divergences(self, snap: Snapshot, names: list[str]) -> None:
        """A dashed line in the chain's colour at the update where it failed, on every step axis;
        in a window that has moved past it, at the window's left edge (it stays visible)."""
        mode, n = self._step_axis
        for k, c in enumerate(snap.chains):
            ch = self._chains[k]
            div = c.divergence
            if div is None:
                if ch.div_key is not None:
                    ch.hide_divergence()
                continue
            step = float(max(div.step, 1))
            if mode == "window":
                x0, _ = window_range(snap.step, n)
                step = max(step, x0)
            ch.div_key = (div.step, div.reason)
            ch.div_step = step
            for name in names:
                line = ch.div_lines[name]
                put_data(line, [step], [0.0])
                line.setVisible(True)

    def divergence_marker_steps(self, name: str) -> list[float]:
        """The step positions of the visible divergence markers on a trajectory plot (tests)."""
        out = []
        for ch in self._chains:
            t = ch.div_lines[name]
            if t.visible and t.xData.size:
                out.append(float(t.xData[0]))
        return out


__all__ = ["ARRANGEMENTS", "MAX_TRAJECTORIES", "MIN_PLOT_H", "MIN_PLOT_W", "PARTS", "TRAJECTORY_PLOTS", "LivePlots"]
