"""The "Stability map" tab: run a sweep in a thread, show the heat map, open a cell in the live view.

The sweep (``core.sweep.run_sweep``, or with a scheduler set ``core.cluster.run_tasks``
on Dask: ``local``, ``local:N`` or ``tcp://HOST:PORT``, as ``gaussviz sweep --scheduler``)
runs in a plain ``threading.Thread``; it only writes a progress report and, at
the end, a result or an error. A QTimer on the GUI thread polls them (the only
code that touches widgets), the same pattern as the live worker's snapshot
slot. Cancel sets an Event that the sweep checks between chunks (between tasks
on a cluster, whose tasks in flight are cancelled), and the thread ends; a
local cluster started for the sweep is closed with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from ..core import jit
from ..core.cluster import SCHEDULER_HELP, ClusterError, SweepProgress, open_cluster, parse_scheduler, run_tasks
from ..core.parameterizations import PARAMETERIZATIONS
from ..core.parsing import parse_number, parse_numbers
from ..core.settings import Settings
from ..core.sweep import AXES, SweepCancelled, SweepResult, SweepSpec, default_base, make_spec, run_sweep
from .heatmap import MapGeometry, render_stability_map
from .widgets import plain_label

#: poll period of the progress bar and of the end of the sweep
POLL_MS = 50
#: the map is drawn this much narrower than the view (no horizontal scroll bar)
MAP_MARGIN = 24
MIN_MAP_WIDTH = 700
#: defaults: a grid that runs in a few seconds
DEFAULTS = {"alpha_min": "1e-4", "alpha_max": "1", "alpha_count": 24, "seeds": 4, "steps": 2000,
            "axis": "cov0-scale", "values": "0.1, 1, 10"}
CHUNK_WORK = 200_000  # chain-updates between cancel checks: ~10-50 ms each
#: waiting for the sweep's thread at close: in this process it stops within a chunk; a cluster
#: may be starting (seconds) and is closed before the thread ends
STOP_TIMEOUT = 5.0
STOP_TIMEOUT_CLUSTER = 60.0


class MapLabel(QtWidgets.QLabel):
    """Shows the heat map at its pixel size, so a click's position is the image's pixel."""

    sig_clicked = QtCore.Signal(float, float)

    def mousePressEvent(self, ev: QtGui.QMouseEvent) -> None:
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            p = ev.position()
            self.sig_clicked.emit(p.x(), p.y())
        super().mousePressEvent(ev)


class StabilityTab(QtWidgets.QWidget):
    """Sweep controls | progress | the map; a click on a cell emits its settings."""

    #: the settings of a clicked cell (the window loads them into the live view)
    sig_open_settings = QtCore.Signal(object)

    def __init__(self, live_settings: Callable[[], Settings] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._live_settings = live_settings
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._progress = 0.0
        self._report: SweepProgress | None = None
        self._phase = ""  # what the thread does before the first report (starting a cluster)
        self._on_cluster = False
        self._outcome: tuple[str, object] | None = None  # ("done", result) | ("error", msg) | ("cancelled", None)
        self.result: SweepResult | None = None
        self.geometry_map: MapGeometry | None = None
        self.image: QtGui.QImage | None = None
        self._build()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._resize_timer = QtCore.QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(150)
        self._resize_timer.timeout.connect(self._redraw_map)

    # ---------------------------------------------------------------- build
    def _build(self) -> None:
        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.alpha_min = QtWidgets.QLineEdit(DEFAULTS["alpha_min"])
        self.alpha_max = QtWidgets.QLineEdit(DEFAULTS["alpha_max"])
        self.alpha_count = QtWidgets.QSpinBox()
        self.alpha_count.setRange(1, 400)
        self.alpha_count.setValue(DEFAULTS["alpha_count"])
        row = QtWidgets.QHBoxLayout()
        for wdg, tip in ((self.alpha_min, "smallest α"), (self.alpha_max, "largest α")):
            wdg.setToolTip(tip)
            wdg.setMaximumWidth(90)
        row.addWidget(self.alpha_min)
        row.addWidget(QtWidgets.QLabel("to"))
        row.addWidget(self.alpha_max)
        row.addWidget(QtWidgets.QLabel("values:"))
        row.addWidget(self.alpha_count)
        form.addRow("learning rate α (log)", row)

        params = QtWidgets.QGridLayout()
        self.param_boxes: dict[str, QtWidgets.QCheckBox] = {}
        for i, name in enumerate(PARAMETERIZATIONS):
            cb = QtWidgets.QCheckBox(name)
            cb.setChecked(True)
            cb.setToolTip(PARAMETERIZATIONS[name].help)
            self.param_boxes[name] = cb
            params.addWidget(cb, i // 3, i % 3)
        form.addRow("parameterizations", params)

        self.axis = QtWidgets.QComboBox()
        for name, ax in AXES.items():
            self.axis.addItem(ax.label, name)
        self.axis.setCurrentIndex(self.axis.findData(DEFAULTS["axis"]))
        self.axis_values = QtWidgets.QLineEdit(DEFAULTS["values"])
        self.axis_values.setToolTip("values of the second axis, comma separated")
        form.addRow("second axis", self.axis)
        form.addRow("its values", self.axis_values)
        self.axis.currentIndexChanged.connect(self._on_axis)
        self.seeds = QtWidgets.QSpinBox()
        self.seeds.setRange(1, 1000)
        self.seeds.setValue(DEFAULTS["seeds"])
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 10_000_000)
        self.steps.setSingleStep(1000)
        self.steps.setGroupSeparatorShown(True)
        self.steps.setValue(DEFAULTS["steps"])
        form.addRow("seeds per cell", self.seeds)
        form.addRow("updates per chain", self.steps)
        self.use_live = QtWidgets.QCheckBox("use the Live tab's target and start")
        self.use_live.setToolTip("off: the 2-D ill-conditioned target, start (1, 1), Σ0 = I, symmetrize on")
        self.use_live.setEnabled(self._live_settings is not None)
        form.addRow("", self.use_live)
        self.scheduler = QtWidgets.QLineEdit()
        self.scheduler.setPlaceholderText("in this process (or local:2, tcp://host:8786)")
        self.scheduler.setToolTip(f"where the chains run: {SCHEDULER_HELP}; the same map to the bit. "
                                  "Dask needs gaussviz[cluster]")
        form.addRow("scheduler", self.scheduler)

        self.run_button = QtWidgets.QPushButton("Run sweep")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        self.progress_text = plain_label("")
        self.progress_text.setToolTip("chains done of all, chains per second, time left")
        self.status = plain_label("Set the grid and press Run sweep. Then click a cell to open it "
                                  "in the Live tab.")  # errors may quote a data file: never HTML
        self.status.setWordWrap(True)

        left = QtWidgets.QWidget()
        ll = QtWidgets.QVBoxLayout(left)
        ll.addLayout(form)
        ll.addLayout(buttons)
        ll.addWidget(self.progress_text)
        # the label takes the free height (a word-wrapped label next to a stretch
        # gets only its one-line height and cuts the summary off)
        self.status.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        self.status.setSizePolicy(QtWidgets.QSizePolicy.Policy.Preferred,
                                  QtWidgets.QSizePolicy.Policy.Expanding)
        ll.addWidget(self.status, 1)
        left.setMaximumWidth(460)

        self.map_label = MapLabel()
        self.map_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        self.map_label.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.map_label.sig_clicked.connect(self.click_map)
        self.map_label.setToolTip("click a cell to open its settings in the Live tab")
        self.scroll = QtWidgets.QScrollArea()
        self.scroll.setWidget(self.map_label)
        self.scroll.setWidgetResizable(False)
        self.scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        lay = QtWidgets.QHBoxLayout(self)
        lay.addWidget(left)
        lay.addWidget(self.scroll, 1)

    def _on_axis(self, _i: int) -> None:
        """A categorical axis (the optimizers) offers all its names, and leaves out the rules that
        cannot take them (riemannian: sgd only); a numeric axis gets its numbers back."""
        ax = AXES[self.axis.currentData()]
        if ax.choices:
            self.axis_values.setText(", ".join(ax.choices))
            for name, cb in self.param_boxes.items():
                if PARAMETERIZATIONS[name].sgd_only:
                    cb.setChecked(False)
        elif not any(ch.isdigit() for ch in self.axis_values.text()):
            self.axis_values.setText(DEFAULTS["values"])

    # ---------------------------------------------------------------- spec
    def spec(self) -> SweepSpec:
        """The grid the controls describe; ValueError naming the bad field."""
        lo = parse_number(self.alpha_min.text(), "smallest α")
        hi = parse_number(self.alpha_max.text(), "largest α")
        params = [n for n, cb in self.param_boxes.items() if cb.isChecked()]
        ax = AXES[self.axis.currentData()]
        if ax.choices:  # names, e.g. "sgd, adam"
            values = [v.strip() for v in self.axis_values.text().replace(";", ",").split(",") if v.strip()]
        else:
            values = parse_numbers(self.axis_values.text(), "second axis values")
        base = default_base()
        if self.use_live.isChecked() and self._live_settings is not None:
            live = self._live_settings().copy()
            base = Settings(target=live.target, start=live.start, estimator=live.estimator)
        return make_spec(lo, hi, self.alpha_count.value(), params, self.axis.currentData(), values,
                         self.seeds.value(), self.steps.value(), base)

    # ----------------------------------------------------------- the thread
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a sweep with the controls' grid; False (and a message) if they are bad or one runs."""
        if self.is_running():
            return False
        try:
            spec = self.spec()
            scheduler = parse_scheduler(self.scheduler.text())
        except ValueError as e:
            self._say(str(e), error=True)
            return False
        self._cancel.clear()
        with self._lock:
            self._progress = 0.0
            self._report = None
            self._phase = "" if scheduler is None else f"starting {scheduler.describe()}…"
            self._outcome = None
        self._on_cluster = scheduler is not None
        self.progress.setValue(0)
        self.progress_text.setText("")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        where = "" if scheduler is None else f" on {scheduler.describe()}"
        self._say(f"running {spec.n_chains:,} chains x {spec.steps:,} updates{where}…")
        self._thread = threading.Thread(target=self._work, args=(spec, scheduler), name="gaussviz-sweep",
                                        daemon=True)
        self._thread.start()
        self._timer.start()
        return True

    def _work(self, spec: SweepSpec, scheduler) -> None:
        # Worker thread: no widgets here, only the progress report and the outcome.
        t0 = time.perf_counter()

        def fraction(f: float) -> None:  # in this process: a fraction of the work after each chunk
            report(SweepProgress(f * spec.n_chains, spec.n_chains, 0, time.perf_counter() - t0, spec.steps))

        def report(p: SweepProgress) -> None:
            with self._lock:
                self._progress = p.fraction
                self._report = p
                self._phase = ""

        try:
            if scheduler is None:
                # compiled even during a first start's interpreted minute (core/jit.py): a map is many chains
                with jit.compiled_here():
                    result = run_sweep(spec, progress=fraction, cancel=self._cancel.is_set, chunk_work=CHUNK_WORK)
            else:
                with open_cluster(scheduler) as cluster:
                    if self._cancel.is_set():
                        raise SweepCancelled("sweep cancelled")
                    with self._lock:
                        self._phase = f"running on {scheduler.describe()}…"
                    result = run_tasks(spec, cluster=cluster, progress=report, cancel=self._cancel.is_set)
            outcome: tuple[str, object] = ("done", result)
        except SweepCancelled:
            outcome = ("cancelled", None)
        except ClusterError as e:
            outcome = ("error", str(e))
        except Exception as e:  # shown in the tab, never lost
            outcome = ("error", f"{type(e).__name__}: {e}")
        with self._lock:
            self._outcome = outcome

    def cancel(self) -> None:
        """Ask the sweep to stop (it stops within one chunk, or one task's round trip); the poll tidies up."""
        if self.is_running():
            self._cancel.set()
            self._say("cancelling…")

    def stop(self, timeout: float | None = None) -> bool:
        """Cancel and wait for the thread (window close); True if no thread is left.

        A sweep on a cluster gets longer (``STOP_TIMEOUT_CLUSTER``): a local
        cluster may still be starting, and it is closed before the thread ends.
        """
        self._cancel.set()
        t = self._thread
        if timeout is None:
            timeout = STOP_TIMEOUT_CLUSTER if self._on_cluster else STOP_TIMEOUT
        if t is not None:
            t.join(timeout)
        self._timer.stop()
        return t is None or not t.is_alive()

    def _poll(self) -> None:
        with self._lock:
            frac, outcome, report, phase = self._progress, self._outcome, self._report, self._phase
        self.progress.setValue(round(1000 * frac))
        if phase:
            self.progress_text.setText(phase)
        elif report is not None:
            self.progress_text.setText(report.text())
        if outcome is None:
            return
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_CLUSTER if self._on_cluster else 1.0)
        self._timer.stop()
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        kind, value = outcome
        if kind == "done":
            self.show_result(value)  # type: ignore[arg-type]
        elif kind == "cancelled":
            self.progress.setValue(0)
            self.progress_text.setText("")
            self._say("cancelled; the last map (if any) is still shown")
        else:
            self._say(f"the sweep failed: {value}", error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("QLabel { color: #b00020; font-weight: bold; }" if error else "")

    # ----------------------------------------------------------------- map
    def show_result(self, result: SweepResult) -> None:
        self.result = result
        self._redraw_map()
        n_div = int(result.diverged.sum())
        # summary_lines pads names into columns for a terminal; a proportional font needs no padding
        lines = "\n".join(" ".join(line.split()) for line in result.summary_lines())
        self._say(f"{result.n_chains:,} chains x {result.spec.steps:,} updates in {result.elapsed:.2f} s; "
                  f"{n_div:,} diverged.\n{lines}\nClick a cell to open it in the Live tab.")

    def map_width(self) -> int:
        return max(MIN_MAP_WIDTH, self.scroll.viewport().width() - MAP_MARGIN)

    def _redraw_map(self) -> None:
        if self.result is None:
            return
        img, geo = render_stability_map(self.result, width=self.map_width())
        self.image, self.geometry_map = img, geo
        self.map_label.setPixmap(QtGui.QPixmap.fromImage(img))
        self.map_label.resize(img.size())

    def resizeEvent(self, ev: QtGui.QResizeEvent) -> None:
        super().resizeEvent(ev)
        if self.result is not None and self.image is not None and abs(self.image.width() - self.map_width()) > 8:
            self._resize_timer.start()

    def click_map(self, x: float, y: float) -> Settings | None:
        """The settings of the cell under (x, y) in the map image (seed 0), emitted to the window."""
        if self.result is None or self.geometry_map is None:
            return None
        cell = self.geometry_map.cell_at(x, y)
        if cell is None:
            return None
        p, v, a = cell
        s = self.result.cell_settings(p, v, a)
        sp = self.result.spec
        self._say(f"opened {sp.parameterizations[p]}, α = {sp.alphas[a]:.3g}, "
                  f"{sp.axis_info.label} = {sp.axis_info.format(sp.axis_values[v])} in the Live tab")
        self.sig_open_settings.emit(s)
        return s


__all__ = ["StabilityTab"]
