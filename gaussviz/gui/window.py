"""The main window: a "Live" tab (controls | banner, explanation, plots), a File menu, a status bar.

The window keeps the one ``Settings`` (through ``SettingsModel``), turns each
change into a worker command (live estimator settings) or a rebuild (target,
start, dimension), and redraws on a ~30 Hz timer from the worker's newest
snapshot. Only this (GUI) thread touches widgets.
"""

from __future__ import annotations

import html
import math
import os
import sys
import time
from collections import deque

from PySide6 import QtCore, QtGui, QtWidgets

from ..core import live
from ..core.kernels import cached as kernels_cached
from ..core.presets import PRESETS, get_preset
from ..core.session import SessionError, read_session
from ..core.settings import Settings
from ..core.snapshot import Snapshot
from .controls import ControlPanel
from .export_menu import WindowExporter
from .forecast_view import ForecastView
from .mp_tab import MPTab
from .plots import LivePlots
from .settings_model import SettingsModel
from .stability_tab import StabilityTab
from .style import BAD
from .worker import RunWorker

#: redraw period of a frame (~36 frames per second where frames are cheap, so late timer ticks still leave 30) ...
REDRAW_MS = 28
#: ... stretched so drawing takes at most this fraction of the GUI thread (input stays quick)
DRAW_BUDGET = 0.6
MAX_REDRAW_MS = 250
#: One frame is drawn over several timer ticks, a few plots per tick (LivePlots.show_snapshot_part),
#: so that no tick holds the GUI thread, and the GIL, for a whole frame: input and timers stay
#: prompt. A frame gets one stage more when its costliest stage took over STAGE_MS (smoothed),
#: one fewer when fewer would still keep under half of that (each stage is a paint pass of its
#: own, so more stages cost a little more in all).
FRAME_PLANS = {
    2: (("cloud", "spectrum"), ("mean", "covariance", "kl")),
    3: (("cloud",), ("mean", "covariance"), ("spectrum", "kl")),
    4: (("cloud",), ("mean",), ("covariance",), ("spectrum", "kl")),
    5: (("cloud",), ("mean",), ("covariance",), ("spectrum",), ("kl",)),
}
STAGE_MS = 8.0
DEFAULT_SIZE = (1600, 1000)
#: the status bar while the worker compiles the kernels (numba's cache is empty or stale)
COMPILING_NOTE = "compiling the update kernels (first start only; cached for the next starts)…"


def _si(x: float) -> str:
    """1234567 -> '1.23 M' (status bar numbers people read at a glance)."""
    if not math.isfinite(x):
        return "–"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g}"


class MainWindow(QtWidgets.QMainWindow):
    """gaussviz's window; later tabs (stability map, Marchenko–Pastur) go into ``self.tabs``."""

    def __init__(self, settings: Settings | None = None, running: bool = True,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        settings = settings if settings is not None else get_preset("seed-question")
        self.model = SettingsModel(settings.copy())
        self.worker = RunWorker(self.model.settings, running=running)
        self._modified = False
        self._last_seq = -1
        #: replayed session changes already mirrored in the controls, and a guard so
        #: mirroring them does not send them back to the worker
        self._replayed_seen = 0
        self._syncing = False
        self._frame_times: deque[float] = deque(maxlen=120)
        self.frames_drawn = 0
        self.shown_snapshot: Snapshot | None = None
        self._draw_errors: set[str] = set()
        self._frame_cost = 0.0  # seconds per frame (setData + paint), smoothed
        self._stage_cost = 0.0  # seconds per stage of a frame (one timer tick), smoothed
        self._plan = FRAME_PLANS[3]  # the stages of the frame being drawn
        self._n_stages = 3  # stages of the next frame
        self._stage_max = 0.0  # the costliest stage of a frame, smoothed
        self._frame_sum = self._frame_max = 0.0  # of the frame being drawn
        self._staged: Snapshot | None = None  # the snapshot whose frame is being drawn in stages
        self._stage = 0
        self._want_running = running
        self._worker_running = running

        self.setWindowTitle("gaussviz")
        self.resize(*DEFAULT_SIZE)
        self.tabs = QtWidgets.QTabWidget()
        self.setCentralWidget(self.tabs)
        self.tabs.addTab(self._build_live(), "Live")
        self.stability = StabilityTab(live_settings=lambda: self.settings)
        self.stability.sig_open_settings.connect(self.open_from_map)
        self.tabs.addTab(self.stability, "Stability map")
        self.mp_tab = MPTab(snapshot=lambda: self.shown_snapshot, settings=lambda: self.settings)
        self.tabs.addTab(self.mp_tab, "Marchenko–Pastur")
        self.exporter = WindowExporter(self)
        self._build_menus()
        self._build_status()
        self._build_shortcuts()
        self._compiling = False
        self._note_compiling()

        self.model.sig_changed.connect(self._on_setting_changed)
        self.model.sig_replaced.connect(self._on_settings_replaced)
        self.panel.sig_start_pause.connect(self.toggle_running)
        self.panel.sig_step.connect(self.step)
        self.panel.sig_reset.connect(self.reset)
        self.panel.sig_resume.connect(self.resume)
        self.panel.sig_preset.connect(self.load_preset)
        self.panel.sig_cloud_axes.connect(self._update_cloud_axes)
        self.panel.sig_message.connect(self._on_message)
        self.worker.sig_error.connect(self.panel.show_message)
        self.panel.set_running(running)
        self._show_explanation()

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REDRAW_MS // len(self._plan))
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self.worker.start()

    # ---------------------------------------------------------------- build
    def _build_live(self) -> QtWidgets.QWidget:
        self.panel = ControlPanel(self.model)
        self.forecast = ForecastView(self.model, self.worker)
        self.panel.estimator_form.insertRow(1, "", self.forecast)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.panel.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 8)
        scroll.setMaximumWidth(460)

        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(4, 4, 4, 4)
        rl.setSpacing(4)
        self.banner = QtWidgets.QLabel()
        self.banner.setObjectName("divergenceBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            f"QLabel#divergenceBanner {{ background: {BAD}; color: white; font-weight: bold; "
            "padding: 8px 12px; border-radius: 4px; }")
        f = self.banner.font()
        f.setPointSizeF(f.pointSizeF() * 1.25)
        self.banner.setFont(f)
        self.banner.setVisible(False)
        self.explanation = QtWidgets.QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.explanation.setStyleSheet("QLabel { background: #eef3f8; padding: 6px 10px; border-radius: 4px; }")
        f = self.explanation.font()
        f.setPointSizeF(f.pointSizeF() * 1.1)
        self.explanation.setFont(f)
        self.plots = LivePlots()
        rl.addWidget(self.banner)
        rl.addWidget(self.explanation)
        rl.addWidget(self.plots, 1)

        live = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        live.addWidget(scroll)
        live.addWidget(right)
        live.setStretchFactor(0, 0)
        live.setStretchFactor(1, 1)
        live.setChildrenCollapsible(False)
        return live

    def _build_menus(self) -> None:
        self.file_menu = self.menuBar().addMenu("&File")
        a = self.file_menu.addAction("&Open session…")
        a.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        a.triggered.connect(self._open_session_dialog)
        a = self.file_menu.addAction("&Save session…")
        a.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        a.triggered.connect(self._save_session_dialog)
        self.file_menu.addSeparator()
        a = self.file_menu.addAction("&Quit")
        self.exporter.add_actions(self.file_menu, before=a)
        self.file_menu.insertSeparator(a)
        a.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        a.triggered.connect(self.close)
        self.run_menu = self.menuBar().addMenu("&Run")
        for text, slot in (("Start / Pause\tSpace", self.toggle_running), ("Step\tRight", self.step),
                           ("Reset\tR", self.reset), ("Resume after divergence", self.resume)):
            self.run_menu.addAction(text).triggered.connect(slot)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_state = QtWidgets.QLabel()
        self.status_updates = QtWidgets.QLabel()
        self.status_rate = QtWidgets.QLabel()
        self.status_fps = QtWidgets.QLabel()
        self.status_alpha = QtWidgets.QLabel()
        # Widths fixed from sample texts, so the numbers don't make the bar jitter.
        fm = self.fontMetrics()
        for w, sample in ((self.status_state, "diverged: paused"),
                          (self.status_updates, "updates applied: 999,999,999"),
                          (self.status_rate, "999 M updates/s"), (self.status_fps, "99 frames/s"),
                          (self.status_alpha, "α_t = 0.000123")):
            w.setMinimumWidth(fm.horizontalAdvance(sample) + 16)
            sb.addPermanentWidget(w)

    def _build_shortcuts(self) -> None:
        # Window-wide, so they work while a slider has focus (a text field keeps its own keys).
        self.shortcuts = {}
        for key, slot in ((QtCore.Qt.Key.Key_Space, self.toggle_running),
                          (QtCore.Qt.Key.Key_Right, self.step),
                          (QtCore.Qt.Key.Key_R, self.reset)):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self.shortcuts[key] = sc

    # ------------------------------------------------------------- actions
    @property
    def settings(self) -> Settings:
        """The one settings object behind every control."""
        return self.model.settings

    def is_running(self) -> bool:
        return self.worker.running

    def toggle_running(self) -> None:
        self.set_running(not self._want_running)

    def set_running(self, running: bool) -> None:
        self._want_running = running
        self.panel.set_running(running)
        self.worker.send("running", running)

    def step(self) -> None:
        """Pause and apply exactly one update."""
        self._want_running = False
        self.panel.set_running(False)
        self.worker.send("step", 1)

    def reset(self) -> None:
        """Back to update 0 with the current settings (running or paused as before)."""
        self._rebuild()

    def resume(self) -> None:
        """Go on from the last good state after a divergence (with whatever settings are set now)."""
        self.worker.send("resume")
        self.set_running(True)

    def load_preset(self, name: str) -> None:
        try:
            s = get_preset(name)
        except ValueError as e:
            self.panel.show_message(str(e))
            return
        s.speed = self.settings.speed  # the speed is the viewer's choice, not the lesson's
        self.model.replace(s)

    def load_settings(self, s: Settings) -> None:
        """Load a whole settings object (a session) into the controls and rebuild the run."""
        self.model.replace(s)

    def open_from_map(self, s: Settings) -> None:
        """A stability-map cell: its settings into the live view (the viewer's speed kept), Live tab shown."""
        s = s.copy()
        s.speed = self.settings.speed
        self.load_settings(s)
        self.tabs.setCurrentIndex(0)

    def _note_compiling(self) -> None:
        """Say so in the status bar when the worker is about to compile the kernels (seconds, not a hang)."""
        self._compiling = not kernels_cached(self.settings.target.dim)
        if self._compiling:
            self.status_state.setText("compiling…")
            self.statusBar().showMessage(COMPILING_NOTE)

    def _compiled(self) -> None:
        self._compiling = False
        if self.statusBar().currentMessage() == COMPILING_NOTE:
            self.statusBar().clearMessage()

    def _rebuild(self) -> None:
        self._note_compiling()
        self.plots.clear()
        self._last_seq = -1
        self._staged = None
        self.worker.send("rebuild", self.settings.copy())

    def _on_setting_changed(self, path: str) -> None:
        if self._syncing:  # the run already has this value (a replayed session change)
            return
        self._modified = True
        self._show_explanation()
        if path == "speed":  # how fast to run: the viewer's choice, not the run's
            self.worker.send("speed", self.settings.speed)
            return
        change = live.change_of_path(path)
        if change is None:
            # A new target or start is a new experiment: a loaded session's live changes
            # no longer apply to it (Reset keeps them: it replays the session).
            self.settings.changes = []
            if path == "target.dim":
                self._update_cloud_axes()
            self._rebuild()
            return
        self.worker.send(change.name, change.value_of(self.settings.estimator))

    def _update_cloud_axes(self, *_args) -> None:
        """Hand the chosen pair to the plots once they show a run of that dimension (d > 2 only)."""
        snap = self.shown_snapshot
        if snap is None or self.settings.target.dim <= 2:
            return
        d = int(snap.ref_mean.shape[0])
        want = self.panel.cloud_axes()
        if d > max(want) and self.plots.cloud_axes() != want:
            self.plots.set_cloud_axes(*want)

    def _on_settings_replaced(self) -> None:
        self._modified = False
        self._show_explanation()
        self._update_cloud_axes()
        self._rebuild()

    def _sync_running(self) -> None:
        """Follow the worker's own state changes (e.g. its pause at a divergence).

        Polled on each tick rather than signalled, so the button and the snapshot
        it belongs to change in the same frame; only a change is followed, so a
        click that the worker hasn't applied yet doesn't flicker back.
        """
        running = self.worker.running
        if running != self._worker_running:
            self._worker_running = running
            self._want_running = running
            self.panel.set_running(running)

    def _on_message(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, 8000)
        else:
            self.statusBar().clearMessage()

    def _show_explanation(self) -> None:
        name = self.settings.preset
        p = PRESETS.get(name)
        if p is None:
            self.explanation.setText("<b>Custom settings.</b> Pick a preset on the left for a guided lesson.")
            self.setWindowTitle("gaussviz")
            return
        mod = " <i>(modified)</i>" if self._modified else ""
        self.explanation.setText(f"<b>{p.name}</b>{mod}: {html.escape(p.summary)}<br>{html.escape(p.explanation)}")
        self.setWindowTitle(f"gaussviz – {p.name}")

    # --------------------------------------------------------------- redraw
    def redraw(self, complete: bool = False) -> None:
        """Timer tick: draw the next stage of the current frame, or start a frame from the newest
        snapshot if there is a new one; ``complete`` draws a whole frame now (screenshots)."""
        self._sync_running()
        t0 = time.perf_counter()
        if complete or self._staged is None:
            seq, snap = self.worker.latest()
            if snap is not None and seq != self._last_seq:
                self._last_seq = seq
                self._staged, self._stage = snap, 0
                self._plan = FRAME_PLANS[self._n_stages]
                self._frame_sum = self._frame_max = 0.0
            if self._staged is None:
                return
        snap = self._staged
        if complete or self._stage >= len(self._plan) - 1:
            self._staged = None
            self.show_snapshot(snap)  # the remaining plots, and the frame's status
            if complete:
                return
        else:
            parts = self._plan[self._stage]
            self._stage += 1
            try:
                self.plots.show_snapshot_part(snap, parts)
            except Exception as e:
                self._staged = None
                if self._draw_error(e):
                    raise
                return
        # The paint happens after this slot returns; a zero timer fires once it is done.
        # With the window as context: dropped if the window is deleted first (closed right after a frame).
        QtCore.QTimer.singleShot(0, self, lambda: self._frame_done(t0))

    def _frame_done(self, t0: float) -> None:
        """Pace redraws by what a stage costs: slow plots mean fewer frames, not a frozen window."""
        cost = time.perf_counter() - t0
        n = len(self._plan)
        self._frame_sum += cost
        self._frame_max = max(self._frame_max, cost)
        if self._staged is None:  # the frame is complete: adapt the next one's stages
            self._frame_cost = _smooth(self._frame_cost, self._frame_sum)
            self._stage_max = _smooth(self._stage_max, self._frame_max)
            limit = STAGE_MS / 1000
            if self._stage_max > limit and n < max(FRAME_PLANS):
                self._n_stages = n + 1
            elif self._stage_max * n / (n - 1) < 0.5 * limit and n > min(FRAME_PLANS):
                self._n_stages = n - 1
        if self._frame_cost == 0.0:
            return
        self._stage_cost = self._frame_cost / n
        interval = int(min(MAX_REDRAW_MS / n, max(REDRAW_MS / n, 1000 * self._stage_cost / DRAW_BUDGET)))
        if abs(interval - self.timer.interval()) > 1:
            self.timer.setInterval(interval)

    def _draw_error(self, e: Exception) -> bool:
        """Report a drawing failure once (True: raise it, visible in logs and tests), not 30 times a second."""
        key = f"{type(e).__name__}: {e}"
        if key in self._draw_errors:
            return False
        self._draw_errors.add(key)
        self.panel.show_message(f"drawing failed: {key}")
        return True

    def show_snapshot(self, snap: Snapshot) -> None:
        try:
            self.plots.show_snapshot(snap)
        except Exception as e:
            if self._draw_error(e):
                raise
            return
        self.shown_snapshot = snap
        self._update_cloud_axes()
        replayed = int(snap.extra.get("replayed", 0))
        if replayed != self._replayed_seen:
            self._replayed_seen = replayed
            self._mirror_run_settings(snap.chain.settings)
        now = time.perf_counter()
        self._frame_times.append(now)
        self.frames_drawn += 1
        self._show_divergence(snap)
        c = snap.chain
        self.panel.show_asymmetry(c.asymmetry)
        running = bool(snap.extra.get("running", False))
        diverged = any(ch.divergence is not None for ch in snap.chains)
        if self._compiling and (snap.step > 0 or diverged):
            self._compiled()
        if running:
            # The very first chunk of a fresh install compiles the numba kernels (seconds).
            state = "running" if snap.step > 0 else "compiling…" if self._compiling else "starting…"
        else:
            state = "diverged: paused" if diverged and len(snap.chains) == 1 else "paused"
        self.status_state.setText(state)
        updates = max(ch.steps for ch in snap.chains)
        self.status_updates.setText(f"updates applied: {updates:,}")
        self.status_rate.setText(f"{_si(float(snap.extra.get('updates_per_s', 0.0)))} updates/s")
        self.status_fps.setText(f"{self.fps():.0f} frames/s")
        self.status_alpha.setText(f"α_t = {c.alpha_t:.3g}" if math.isfinite(c.alpha_t) else "α_t = –")

    def _mirror_run_settings(self, chain_settings: dict) -> None:
        """Show in the controls what a replayed session changed in the run (alpha dragged at
        update N, ...), without sending it back to the worker."""
        values = {f"estimator.{k}": v for k, v in chain_settings.items() if f"estimator.{k}" in live.LIVE_PATHS}
        self._syncing = True
        try:
            self.model.set_many(values)
        except ValueError:
            pass  # e.g. a batch size the compared estimators don't share yet: keep the controls
        finally:
            self._syncing = False

    def fps(self) -> float:
        """Redraws per second over the last second."""
        t = self._frame_times
        if len(t) < 2:
            return 0.0
        now = time.perf_counter()
        recent = [x for x in t if now - x <= 1.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(recent[-1] - recent[0], 1e-9)

    def _show_divergence(self, snap: Snapshot) -> None:
        failed = [c for c in snap.chains if c.divergence is not None]
        self.panel.set_diverged(bool(failed))
        if not failed:
            self.banner.setVisible(False)
            return
        if len(snap.chains) == 1:
            text = failed[0].divergence.message  # type: ignore[union-attr]
        else:
            text = "\n".join(f"{c.label}: {c.divergence.message}" for c in failed)  # type: ignore[union-attr]
        if self.banner.text() != text:
            self.banner.setText(text)
        self.banner.setVisible(True)

    def banner_text(self) -> str:
        return "" if self.banner.isHidden() else self.banner.text()

    # -------------------------------------------------------------- sessions
    def _open_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open session", "",
                                                        "gaussviz session or exported PNG (*.json *.png)")
        if path:
            self.open_session(path)

    def open_session(self, path: str | os.PathLike) -> bool:
        """Load a session file; a bad one gets a message box and changes nothing."""
        try:
            s = read_session(path)  # a session JSON, or the session an exported PNG or SVG carries
        except SessionError as e:
            QtWidgets.QMessageBox.warning(self, "Cannot open session", f"{e.path}:\n{e.reason}")
            return False
        self.load_settings(s)
        return True

    def _save_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save session", "session.json",
                                                        "gaussviz session (*.json)")
        if path:
            self.save_session(path)

    def save_session(self, path: str | os.PathLike, force: bool = True) -> bool:
        """Write the settings and the updates shown, atomically (the save dialog asked about replacing)."""
        return self.exporter.save_session(path, force=force)

    # ---------------------------------------------------------------- close
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the timer and the worker thread (idempotent)."""
        self.timer.stop()
        self.stability.stop()
        self.forecast.shutdown()
        if not self.worker.stop(timeout=5.0):
            print("gaussviz: warning: the worker thread did not stop within 5 s; it was at:\n"
                  + self.worker.where(), file=sys.stderr)


def _smooth(old: float, new: float) -> float:
    """Exponential smoothing of a measured cost (the first measurement taken as it is)."""
    return new if old == 0.0 else 0.7 * old + 0.3 * new

