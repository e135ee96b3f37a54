"""The main window: a "Live" tab (controls | lesson, banner, plots), File, Run and View menus, a status bar.

The window keeps the one ``Settings`` (through ``SettingsModel``), turns each
change into a worker command (live estimator settings), a change of view (the
step axis) or a rebuild (target, start, dimension), and draws the worker's
newest snapshot ~60 times a second (``redraw.FramePacer``). Only this (GUI)
thread touches widgets.

Readable at any size (1024x640 to 4K): the control panel, the lesson text and
the divergence banner collapse (by hand, or by themselves when the window is
small), and the plot grid reflows (``LivePlots``).
"""

from __future__ import annotations

import html
import math
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from ..core import live
from ..core.optimizers import DEFAULTS as OPTIMIZER_DEFAULTS
from ..core.presets import PRESETS, get_preset
from ..core.session import SessionError, read_session
from ..core.settings import Settings
from ..core.snapshot import Snapshot
from ..core.timetravel import snapshot_at
from . import prefs, style
from .controls import ControlPanel
from .export_menu import WindowExporter
from .forecast_view import ForecastView
from .help import add_help_menu
from .plots import LivePlots
from .qtapp import app_icon, freeze_long_lived
from .redraw import FramePacer
from .settings_model import SettingsModel
from .style import BAD
from .warmup import KernelWarmup, warm, warm_key
from .widgets import LazyPages, plain, warn
from .worker import RunWorker

if TYPE_CHECKING:
    from ..core.video import RecordingResult
    from .mp_tab import MPTab
    from .stability_tab import StabilityTab
    from .video import Recorder

DEFAULT_SIZE = (1600, 1000)
#: at start-up the window waits this long at most (s) for the run's first snapshot, to draw it before
#: its first paint (``draw_first_frame``); the worker makes it in ~0.1 s
FIRST_SNAPSHOT_WAIT_S = 0.5
#: the status bar while the worker compiles the kernels (numba's cache is empty or stale)
COMPILING_NOTE = "compiling the update kernels (first start only; cached for the next starts)…"
#: the status bar while a helper process compiles them and the run goes on interpreted (gui/warmup.py)
INTERPRETED_NOTE = ("first start: compiling the update kernels in the background (cached for the next starts); "
                    "running them interpreted meanwhile, slower…")
#: narrower than this, the control panel folds away by itself (until the user opens it)
COLLAPSE_CONTROLS_BELOW = 1500
#: lower than this, the lesson's paragraph folds to its one-line summary (until the user opens it)
COLLAPSE_LESSON_BELOW = 900
#: the control panel's width limits
PANEL_MAX_WIDTH = 460
#: the status bar's numbers are refreshed at most this often (s): each refresh repaints them
STATUS_INTERVAL = 0.25
#: a folded banner's text is elided this many pixels short of its width (the style's padding, 10 px a
#: side, and a margin)
BANNER_PADDING_PX = 24


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
        #: replayed session changes already mirrored in the controls, and a guard so
        #: mirroring them does not send them back to the worker
        self._replayed_seen = 0
        self._syncing = False
        self._frame_times: deque[float] = deque(maxlen=120)
        self.frames_drawn = 0
        self.shown_snapshot: Snapshot | None = None
        self._draw_errors: set[str] = set()
        self._status_at = 0.0  # when the status bar's numbers were last refreshed
        #: panels the user opened or closed by hand (they then stay so whatever the window size)
        self._user_controls: bool | None = None
        self._user_lesson: bool | None = None
        self._banner_open = False
        self._first_divergence: tuple | None = None
        self._want_running = running
        self._worker_running = running
        self._closing = False

        self.setWindowTitle("gaussviz")
        app = QtWidgets.QApplication.instance()
        if app is not None and app.windowIcon().isNull():  # an application not made by qtapp.application
            app.setWindowIcon(app_icon())
        self.setWindowIcon(app.windowIcon() if app is not None else app_icon())
        self.resize(*DEFAULT_SIZE)
        #: closing saves geometry, splitter and tab (off for a --screenshot: it changed nothing)
        self.remember_layout = True
        self.tabs = QtWidgets.QTabWidget()
        self.setCentralWidget(self.tabs)
        self.tabs.addTab(self._build_live(), "Live")
        #: the other tabs are built when first opened (or asked for: ``stability``, ``mp_tab``)
        self.pages = LazyPages(self.tabs)
        self.pages.add("stability", "Stability map", self._build_stability)
        self.pages.add("mp", "Marchenko–Pastur", self._build_mp)
        self.exporter = WindowExporter(self)
        #: File > Record: the plots area into an MP4 or GIF (gui/video.py), made at the first use
        self._recorder: Recorder | None = None
        self._build_menus()
        self._build_status()
        self._build_shortcuts()
        self._compiling = False
        self.warmup = KernelWarmup(self)
        self.warmup.sig_done.connect(self._warmed_up)
        self.warmup.sig_compiling.connect(self._on_cold_cache)
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
        self.worker.sig_error.connect(self._on_worker_error)
        self.panel.set_running(running)
        self._show_explanation()
        self._apply_view()
        self._restore_layout()
        self._fit_panels()
        self.color_scheme = prefs.get_choice(prefs.SCHEME, "system", style.SCHEMES)
        self.set_color_scheme(self.color_scheme, remember=False)
        QtGui.QGuiApplication.styleHints().colorSchemeChanged.connect(self._apply_color_scheme)

        self.pacer = FramePacer(self.worker.latest, self._draw_part, self._draw_complete,
                                before_tick=self._sync_running, parent=self)
        #: the redraw timer (the pacer's)
        self.timer = self.pacer.timer
        self.pacer.start()
        self.worker.start()

    # ---------------------------------------------------------------- build
    @property
    def recorder(self) -> Recorder:
        """File > Record's recorder (made, and its module loaded, at the first use)."""
        if self._recorder is None:
            from .video import Recorder

            self._recorder = Recorder(self.plots, parent=self)
            self._recorder.sig_tick.connect(self._show_recording)
            self._recorder.sig_stopped.connect(self._on_recording_stopped)
        return self._recorder

    @property
    def recording(self) -> bool:
        """Whether a recording is on (without making a recorder)."""
        return self._recorder is not None and self._recorder.recording

    @property
    def stability(self) -> StabilityTab:
        """The stability map's tab (built now if it was not yet)."""
        return self.pages.page("stability")

    @property
    def mp_tab(self) -> MPTab:
        """The Marchenko–Pastur tab (built now if it was not yet)."""
        return self.pages.page("mp")

    def _build_stability(self) -> StabilityTab:
        from .stability_tab import StabilityTab

        tab = StabilityTab(live_settings=lambda: self.settings)
        tab.sig_open_settings.connect(self.open_from_map)
        return tab

    def _build_mp(self) -> MPTab:
        from .mp_tab import MPTab

        return MPTab(snapshot=lambda: self.shown_snapshot, settings=lambda: self.settings)

    def _build_live(self) -> QtWidgets.QWidget:
        self.panel = ControlPanel(self.model)
        self.forecast = ForecastView(self.model, self.worker)
        self.panel.estimator_form.insertRow(1, "", self.forecast)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.panel.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 8)
        scroll.setMaximumWidth(max(PANEL_MAX_WIDTH, scroll.minimumWidth()))  # a larger font needs more
        self.controls = scroll

        right = QtWidgets.QWidget()
        rl = QtWidgets.QVBoxLayout(right)
        rl.setContentsMargins(4, 4, 4, 4)
        rl.setSpacing(4)
        # the lesson, in one row: the controls toggle, its text (folded: name and summary;
        # open: the whole lesson with what to watch for), and "more"/"less"
        head = QtWidgets.QHBoxLayout()
        head.setSpacing(6)
        head.setContentsMargins(4, 3, 4, 3)
        self.controls_button = QtWidgets.QToolButton()
        self.controls_button.setCheckable(True)
        self.controls_button.setToolTip("show or hide the control panel (Ctrl+B)")
        self.controls_button.clicked.connect(lambda on: self.set_controls_visible(on, by_user=True))
        self.controls_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.lesson_title = QtWidgets.QLabel()
        self.lesson_title.setObjectName("lessonTitle")
        self.explanation = QtWidgets.QLabel()
        for label, scale in ((self.lesson_title, 1.1), (self.explanation, 1.05)):
            label.setWordWrap(True)
            label.setTextFormat(QtCore.Qt.TextFormat.RichText)
            label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Preferred)
            f = label.font()
            f.setPointSizeF(f.pointSizeF() * scale)
            label.setFont(f)
        self.lesson_button = QtWidgets.QToolButton()
        self.lesson_button.setCheckable(True)
        self.lesson_button.setToolTip("the whole lesson, or just its summary")
        self.lesson_button.clicked.connect(lambda on: self.set_lesson_visible(on, by_user=True))
        self.lesson_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        head.addWidget(self.controls_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.lesson_title, 1)
        head.addWidget(self.explanation, 1)
        head.addWidget(self.lesson_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        header = QtWidgets.QWidget()
        header.setObjectName("lessonHeader")
        header.setLayout(head)
        self.lesson_header = header
        # the divergence banner: one line per failed estimator, folded to the first when there are several
        self.banner = plain(QtWidgets.QLabel())
        self.banner.setObjectName("divergenceBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            f"QLabel#divergenceBanner {{ background: {BAD}; color: white; font-weight: bold; "
            "padding: 5px 10px; border-radius: 4px; }")
        f = self.banner.font()
        f.setPointSizeF(f.pointSizeF() * 1.1)
        self.banner.setFont(f)
        self.banner_button = QtWidgets.QToolButton()
        self.banner_button.setCheckable(True)
        self.banner_button.setToolTip("all divergence messages, or just the first")
        self.banner_button.clicked.connect(self._on_banner_button)
        self.banner_button.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.banner_box = QtWidgets.QWidget()
        bl = QtWidgets.QHBoxLayout(self.banner_box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.setSpacing(4)
        bl.addWidget(self.banner, 1)
        bl.addWidget(self.banner_button, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.banner_box.setVisible(False)
        self._banner_full = ""
        self.banner.installEventFilter(self)  # a folded banner is elided again when it is resized
        self.plots = LivePlots()
        # step mode: the last update taken apart, in plain text (numbers from the run, never markup)
        self.anatomy_label = QtWidgets.QLabel()
        self.anatomy_label.setObjectName("anatomy")
        self.anatomy_label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.anatomy_label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.anatomy_label.setWordWrap(True)
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(9.0, self.font().pointSizeF() * 0.95))
        self.anatomy_label.setFont(mono)
        self.anatomy_label.setStyleSheet(
            "QLabel#anatomy { background: #f3eef8; border-radius: 4px; padding: 3px 8px; }")
        self.anatomy_label.setVisible(False)
        rl.addWidget(header)
        rl.addWidget(self.banner_box)
        rl.addWidget(self.anatomy_label)
        rl.addWidget(self.plots, 1)

        live = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        live.addWidget(scroll)
        live.addWidget(right)
        live.setStretchFactor(0, 0)
        live.setStretchFactor(1, 1)
        live.setChildrenCollapsible(False)
        self.splitter = live
        return live

    def _build_scrubber(self) -> QtWidgets.QWidget:
        """Time travel: a slider over the recorded history; a point shows the state there, and
        "Continue from here" branches a new run from it (replayed exactly) with the current settings."""
        box = QtWidgets.QWidget()
        lay = QtWidgets.QHBoxLayout(box)
        lay.setContentsMargins(0, 0, 8, 0)
        lay.setSpacing(4)
        lay.addWidget(QtWidgets.QLabel("history"))
        self.scrubber = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.scrubber.setRange(0, 0)
        self.scrubber.setToolTip("drag back through the recorded history (pauses the run)")
        self.scrubber.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.scrubber.valueChanged.connect(self._on_scrub)
        lay.addWidget(self.scrubber, 1)
        self.scrubber.setMinimumWidth(48)
        self.scrub_label = QtWidgets.QLabel("now")
        self.scrub_label.setToolTip("the update shown: now, or a recorded one")
        self.scrub_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("99,999,999 (recorded)") + 4)
        lay.addWidget(self.scrub_label)
        self.branch_button = QtWidgets.QToolButton()
        self.branch_button.setText("Continue from here")
        self.branch_button.setToolTip("a new run from this update, replayed exactly, with the current settings")
        self.branch_button.clicked.connect(self.continue_from_here)
        self.branch_button.setEnabled(False)
        lay.addWidget(self.branch_button)
        self.now_button = QtWidgets.QToolButton()
        self.now_button.setText("Now")
        self.now_button.setToolTip("back to the run as it is now")
        self.now_button.clicked.connect(self.end_scrub)
        self.now_button.setEnabled(False)
        lay.addWidget(self.now_button)
        h = QtWidgets.QLabel("now").sizeHint().height()  # no taller than the status bar's text
        for b in (self.branch_button, self.now_button):
            b.setAutoRaise(True)
            b.setMaximumHeight(h)
        self.scrubber.setMaximumHeight(h)
        self._scrub_snap: Snapshot | None = None
        self._scrub_base: Snapshot | None = None
        self._scrub_sync = False
        return box

    def _build_menus(self) -> None:
        self.file_menu = self.menuBar().addMenu("&File")
        a = self.file_menu.addAction("&Open session…")
        a.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        a.triggered.connect(self._open_session_dialog)
        self.recent_menu = self.file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        a = self.file_menu.addAction("&Save session…")
        a.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        a.triggered.connect(self._save_session_dialog)
        self.file_menu.addSeparator()
        a = self.file_menu.addAction("&Quit")
        self.exporter.add_actions(self.file_menu, before=a)
        self.record_action = QtGui.QAction("&Record video…", self)
        self.record_action.setShortcut(QtGui.QKeySequence("Ctrl+Shift+R"))
        self.record_action.setToolTip("record the plots as MP4 or GIF (the file name says which); again to stop")
        self.record_action.triggered.connect(self.toggle_recording)
        self.file_menu.insertAction(a, self.record_action)
        self.addAction(self.record_action)  # the shortcut works while the menu is closed
        self.file_menu.insertSeparator(a)
        a.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        a.triggered.connect(self.close)
        self.run_menu = self.menuBar().addMenu("&Run")
        for text, slot in (("Start / Pause\tSpace", self.toggle_running), ("Step\tRight", self.step),
                           ("Step back\tLeft", self.step_back),
                           ("Reset\tR", self.reset), ("Resume after divergence", self.resume)):
            self.run_menu.addAction(text).triggered.connect(slot)
        self.view_menu = self.menuBar().addMenu("&View")
        self.controls_action = self.view_menu.addAction("&Control panel")
        self.controls_action.setCheckable(True)
        self.controls_action.setShortcut(QtGui.QKeySequence("Ctrl+B"))
        self.controls_action.triggered.connect(lambda on: self.set_controls_visible(on, by_user=True))
        self.lesson_action = self.view_menu.addAction("&Lesson text")
        self.lesson_action.setCheckable(True)
        self.lesson_action.triggered.connect(lambda on: self.set_lesson_visible(on, by_user=True))
        self.view_menu.addSeparator()
        self.step_axis_actions: dict[str, QtGui.QAction] = {}
        group = QtGui.QActionGroup(self)
        for mode, text in (("linear", "Steps: all (KL on a log axis)"), ("log", "Steps: all, log scale"),
                           ("window", "Steps: the last N updates")):
            a = self.view_menu.addAction(text)
            a.setCheckable(True)
            group.addAction(a)
            a.triggered.connect(lambda _=False, m=mode: self._set_view("view.step_axis", m))
            self.step_axis_actions[mode] = a
        self.view_menu.addSeparator()
        self.pspace_actions: dict[str, QtGui.QAction] = {}
        group = QtGui.QActionGroup(self)
        for mode, text in (("auto", "Parameter space: Σ axis chosen by the run"),
                           ("linear", "Parameter space: linear Σ (shows the edge Σ = 0)"),
                           ("log", "Parameter space: log Σ")):
            a = self.view_menu.addAction(text)
            a.setCheckable(True)
            group.addAction(a)
            a.triggered.connect(lambda _=False, m=mode: self._set_view("view.pspace_sigma", m))
            self.pspace_actions[mode] = a
        self.view_menu.addSeparator()
        colours = self.view_menu.addMenu("&Colours")
        self.scheme_actions: dict[str, QtGui.QAction] = {}
        group = QtGui.QActionGroup(self)
        for scheme, text in (("system", "As the &system (light or dark)"), ("light", "&Light"), ("dark", "&Dark")):
            a = colours.addAction(text)
            a.setCheckable(True)
            group.addAction(a)
            a.triggered.connect(lambda _=False, sc=scheme: self.set_color_scheme(sc))
            self.scheme_actions[scheme] = a
        self.help_menu = add_help_menu(self)

    def _build_status(self) -> None:
        sb = self.statusBar()
        # the history scrubber lives in the status bar: it takes no height from the plots
        sb.addPermanentWidget(self._build_scrubber(), 1)
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
        #: the status fields a narrow window drops first, in that order (the rest always fit)
        self.status_optional = (self.status_fps, self.status_rate, self.status_alpha)
        # a red "● REC 0:07" while File > Record runs (hidden otherwise)
        self.status_rec = QtWidgets.QLabel()
        self.status_rec.setObjectName("recordingIndicator")
        self.status_rec.setStyleSheet(f"QLabel#recordingIndicator {{ color: white; background: {BAD}; "
                                      "font-weight: bold; padding: 1px 8px; border-radius: 3px; }")
        self.status_rec.setToolTip("recording the plots (File > Record video… again to stop)")
        self.status_rec.setVisible(False)
        sb.insertPermanentWidget(0, self.status_rec)

    def _build_shortcuts(self) -> None:
        # Window-wide, so they work while a slider has focus (a text field keeps its own keys).
        self.shortcuts = {}
        for key, slot in ((QtCore.Qt.Key.Key_Space, self.toggle_running),
                          (QtCore.Qt.Key.Key_Right, self.step),
                          (QtCore.Qt.Key.Key_Left, self.step_back),
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
        if running:
            self.end_scrub()
        self._want_running = running
        self.panel.set_running(running)
        self.worker.send("running", running)

    def step(self) -> None:
        """Pause and apply exactly one update (taken apart on the plots and in the anatomy panel)."""
        self.end_scrub()
        self._want_running = False
        self.panel.set_running(False)
        self.worker.send("step", 1)

    def step_back(self) -> None:
        """Pause and go back one update (replayed from a checkpoint: the run is deterministic)."""
        self.end_scrub()
        self._want_running = False
        self.panel.set_running(False)
        self.worker.send("back", 1)

    # ------------------------------------------------------------ time travel
    def scrub_to(self, index: int) -> None:
        """Show recorded history point ``index`` of the newest snapshot (pauses the run)."""
        self.scrubber.setValue(int(index))

    def _on_scrub(self, index: int) -> None:
        if self._scrub_sync:
            return
        base = self._scrub_base or self.shown_snapshot
        if base is None:
            return
        if index >= base.history.n - 1:
            self.end_scrub()
            return
        if self._scrub_base is None:
            self.set_running(False)
            self._scrub_base = base
        self._scrub_snap = snapshot_at(base, int(index))
        self.scrub_label.setText(f"{self._scrub_snap.step:,} (recorded)")
        self.branch_button.setEnabled(True)
        self.now_button.setEnabled(True)
        self.plots.show_snapshot(self._scrub_snap)

    def scrubbing(self) -> bool:
        return self._scrub_snap is not None

    def end_scrub(self) -> None:
        """Back to the newest snapshot."""
        if self._scrub_snap is None and self._scrub_base is None:
            return
        self._scrub_snap = self._scrub_base = None
        self.scrub_label.setText("now")
        self.branch_button.setEnabled(False)
        self.now_button.setEnabled(False)
        self.pacer.forget()
        self.redraw(complete=True)

    def continue_from_here(self) -> None:
        """A new run from the scrubbed update: replayed exactly, then the current settings."""
        snap = self._scrub_snap
        if snap is None:
            return
        self.worker.send("branch", (snap.step, self.settings.copy().estimator))
        self.end_scrub()

    def _sync_scrubber(self, snap: Snapshot) -> None:
        """The slider spans the newest snapshot's recorded history, its handle at the end."""
        n = snap.history.n
        if self.scrubber.maximum() != n - 1 or self.scrubber.value() != n - 1:
            self._scrub_sync = True
            try:
                self.scrubber.setRange(0, max(0, n - 1))
                self.scrubber.setValue(max(0, n - 1))
            finally:
                self._scrub_sync = False

    def reset(self) -> None:
        """Back to update 0 with the current settings (running or paused as before)."""
        self._rebuild()

    def resume(self) -> None:
        """Go on from the last good state after a divergence (with whatever settings are set now)."""
        self.worker.send("resume")
        self.set_running(True)

    def load_preset(self, name: str) -> None:
        """A lesson, at its own pace and step axis (the viewer may then choose another)."""
        try:
            s = get_preset(name)
        except ValueError as e:
            self.panel.show_message(str(e))
            return
        self.model.replace(s)

    def load_settings(self, s: Settings) -> None:
        """Load a whole settings object (a session) into the controls and rebuild the run."""
        self.model.replace(s)

    def open_from_map(self, s: Settings) -> None:
        """A stability-map cell: its settings into the live view (the viewer's speed and view kept),
        Live tab shown."""
        s = s.copy()
        s.speed = self.settings.speed
        s.view = self.settings.copy().view
        self.load_settings(s)
        self.tabs.setCurrentIndex(0)

    def _note_compiling(self) -> None:
        """Before the worker builds a run: the first frames run interpreted, then a thread loads the
        kernels from numba's cache or, if it lacks them, a helper process compiles them meanwhile
        (gui/warmup.py: numba is not even imported before the first frame); with that turned off,
        say that the first update compiles them (seconds, not a hang)."""
        if self.warmup.active:
            self._compiling = False
            return
        if self.warmup.preload(self.settings):
            self._compiling = False
            return
        if warm(self.settings):
            self._compiling = False
            return
        if self.warmup.start(self.settings):
            self._note_interpreted()
            return
        self._note_compiling_here()

    def _note_interpreted(self) -> None:
        self._compiling = False
        self.status_state.setText("running interpreted…")
        self.statusBar().showMessage(INTERPRETED_NOTE)

    def _note_compiling_here(self) -> None:
        self._compiling = True
        self.status_state.setText("compiling…")
        self.statusBar().showMessage(COMPILING_NOTE)

    def _on_cold_cache(self, helper: bool) -> None:
        """A start's loader found numba's cache cold: a helper compiles (or the worker does)."""
        if helper:
            self._note_interpreted()
        else:
            self._note_compiling_here()

    def _compiled(self) -> None:
        self._compiling = False
        if self.statusBar().currentMessage() == COMPILING_NOTE:
            self.statusBar().clearMessage()

    def _warmed_up(self, ok: bool) -> None:
        """The helper is done: compiled kernels from now on (for the run of now, if it was for another)."""
        if ok:
            freeze_long_lived("kernels")  # numba and the kernels stay: see qtapp.freeze_long_lived
        if self.warmup.mode == "compile" and self.statusBar().currentMessage() == INTERPRETED_NOTE:
            self.statusBar().showMessage(f"kernels compiled in {self.warmup.seconds:.0f} s and cached; running "
                                         f"compiled", 5000)
        if ok and self.warmup.compiled_for != warm_key(self.settings) and not warm(self.settings):
            self._note_compiling()  # the run changed meanwhile (another dimension): its own helper

    def _rebuild(self) -> None:
        self._note_compiling()
        self._scrub_snap = self._scrub_base = None
        self.plots.clear()
        self.pacer.forget()
        self.worker.send("rebuild", self.settings.copy())

    def _on_setting_changed(self, path: str) -> None:
        if self._syncing:  # the run already has this value (a replayed session change)
            return
        # how fast to run and how to show it are the viewer's choices: the lesson is not modified
        if path == "speed":
            self.worker.send("speed", self.settings.speed)
            return
        if path.startswith("view."):  # the plots alone, no restart
            self._apply_view()
            return
        self._modified = True
        self._show_explanation()
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
        self._apply_view()
        self._update_cloud_axes()
        self._rebuild()

    def _apply_view(self) -> None:
        """The settings' step axis into the plots and the View menu."""
        v = self.settings.view
        self.plots.set_step_axis(v.step_axis, v.step_window)
        for mode, a in self.step_axis_actions.items():
            a.setChecked(mode == v.step_axis)
        self.plots.set_pspace_scale(v.pspace_sigma)
        for mode, a in self.pspace_actions.items():
            a.setChecked(mode == v.pspace_sigma)

    def _set_view(self, path: str, value) -> None:
        try:
            self.model.set(path, value)
        except ValueError as e:
            self.panel.show_message(str(e))

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

    def _on_worker_error(self, text: str) -> None:
        """A command failed, or the run did (the worker then paused): say so, and show the
        worker's state now (a failure may have paused it before a redraw saw it running)."""
        self.panel.show_message(text)
        running = self.worker.running
        self._worker_running = self._want_running = running
        self.panel.set_running(running)

    def _on_message(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text, 8000)
        else:
            self.statusBar().clearMessage()

    def _show_explanation(self) -> None:
        """The lesson: its name and summary (the folded line), its paragraph and what to watch for."""
        name = self.settings.preset
        p = PRESETS.get(name)
        if p is None:
            head = "<b>Custom settings.</b> Pick a preset for a guided lesson."
            self.lesson_title.setText(head)
            self.explanation.setText(f"{head}<br>Each preset explains what to watch for and runs at the pace "
                                     "that shows it 3-20 s after the start.")
            self.setWindowTitle("gaussviz")
            return
        mod = " <i>(modified)</i>" if self._modified else ""
        head = f"<b>{html.escape(p.name)}</b>{mod}: {html.escape(p.summary)}"
        self.lesson_title.setText(head)
        self.explanation.setText(f"{head}<br>{html.escape(p.explanation)}<br><i>{html.escape(p.watch_text())}</i>")
        self.setWindowTitle(f"gaussviz – {p.name}")

    # ---------------------------------------------------------------- layout
    def setVisible(self, visible: bool) -> None:
        if visible and not self.isVisible() and hasattr(self, "plots"):
            # showing resizes the plots two or three times as the panels settle (folded when the
            # window is small): their grid is laid out once, to the size they end with
            with self.plots.fits_deferred():
                super().setVisible(visible)
        else:
            super().setVisible(visible)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_panels()
        self._fit_status()

    def _fit_status(self) -> None:
        """Drop the frame rate, then the update rate, then α_t (``status_optional``) from the status
        bar when the window is too narrow for every field at its full width: squeezed, the history
        bar's buttons were cut to "C…e" and its label overlapped (at 1024 wide)."""
        if not hasattr(self, "status_optional"):  # a resize before the window is built
            return
        sb = self.statusBar()
        room = sb.width() if sb.isVisible() else self.width()
        optional = self.status_optional
        for k in range(len(optional) + 1):  # drop the first k
            for i, f in enumerate(optional):
                f.setVisible(i >= k)
            sb.reformat()  # the layout's minimum for the fields shown now (else it is stale)
            if sb.minimumSizeHint().width() <= room:
                return

    def _fit_panels(self) -> None:
        """Fold the control panel and the lesson's paragraph away when the window is small (unless
        the user opened or closed them by hand): the plots get the room."""
        if not hasattr(self, "lesson_action"):  # a resize before the window is built
            return
        controls = self._user_controls if self._user_controls is not None \
            else self.width() >= COLLAPSE_CONTROLS_BELOW
        lesson = self._user_lesson if self._user_lesson is not None else self.height() >= COLLAPSE_LESSON_BELOW
        self.set_controls_visible(controls)
        self.set_lesson_visible(lesson)

    def set_controls_visible(self, visible: bool, by_user: bool = False) -> None:
        """Show or fold away the control panel (by_user: keep it so at any window size)."""
        if by_user:
            self._user_controls = bool(visible)
        self.controls.setVisible(bool(visible))
        self.controls_button.setChecked(bool(visible))
        self.controls_button.setText("◀ Controls" if visible else "▶ Controls")
        self.controls_action.setChecked(bool(visible))

    def controls_visible(self) -> bool:
        return not self.controls.isHidden()

    def set_lesson_visible(self, visible: bool, by_user: bool = False) -> None:
        """Show or fold the lesson's paragraph (its one-line summary always shows)."""
        if by_user:
            self._user_lesson = bool(visible)
        self.explanation.setVisible(bool(visible))
        self.lesson_title.setVisible(not visible)
        self.lesson_button.setChecked(bool(visible))
        self.lesson_button.setText("less ▴" if visible else "more ▾")
        self.lesson_action.setChecked(bool(visible))

    def lesson_visible(self) -> bool:
        return not self.explanation.isHidden()

    # --------------------------------------------------------------- redraw
    def draw_first_frame(self, wait_s: float = FIRST_SNAPSHOT_WAIT_S) -> bool:
        """Draw the run's first snapshot now, between ``show()`` and the first paint, so that paint
        shows it: otherwise start-up paints the whole window twice, empty and then with the frame,
        and a first paint costs ~0.1-0.2 s. True if it was drawn (the snapshot came in time)."""
        if self.shown_snapshot is not None or not self.worker.wait_for_snapshot(wait_s):
            return False
        self.redraw(complete=True)
        return self.shown_snapshot is not None

    def redraw(self, complete: bool = False) -> None:
        """Timer tick (the pacer's): the next stage of the current frame; ``complete`` draws a whole
        frame of the newest snapshot now (screenshots)."""
        self.pacer.tick(complete)

    @property
    def _last_seq(self) -> int:
        return self.pacer._last_seq

    @property
    def _staged(self) -> Snapshot | None:
        return self.pacer._staged

    @property
    def _frame_cost(self) -> float:
        """Seconds per frame (drawing and painting), smoothed."""
        return self.pacer.frame_cost

    def _draw_part(self, snap: Snapshot, parts: tuple[str, ...]) -> None:
        if self._scrub_snap is not None:
            return
        try:
            self.plots.show_snapshot_part(snap, parts)
        except Exception as e:
            if self._draw_error(e):
                raise

    def _draw_complete(self, snap: Snapshot, parts: tuple[str, ...] | None = None) -> bool:
        if self._scrub_snap is not None:
            return False
        self.show_snapshot(snap, parts)
        if self.recording:
            self.recorder.on_frame()
        return self.shown_snapshot is snap

    def _draw_error(self, e: Exception) -> bool:
        """Report a drawing failure once (True: raise it, visible in logs and tests), not 60 times a second."""
        key = f"{type(e).__name__}: {e}"
        if key in self._draw_errors:
            return False
        self._draw_errors.add(key)
        self.panel.show_message(f"drawing failed: {key}")
        return True

    def show_snapshot(self, snap: Snapshot, parts: tuple[str, ...] | None = None) -> None:
        """Draw ``snap``: every plot, or only ``parts`` (a running frame: the pacer's cadences)."""
        try:
            if parts is None:
                self.plots.show_snapshot(snap)
            else:
                self.plots.show_snapshot_part(snap, parts)
        except Exception as e:
            if self._draw_error(e):
                raise
            return
        self.shown_snapshot = snap
        self._sync_scrubber(snap)
        self._show_anatomy(snap)
        self._update_cloud_axes()
        replayed = int(snap.extra.get("replayed", 0))
        if replayed != self._replayed_seen:
            self._replayed_seen = replayed
            self._mirror_run_settings(snap.chain.settings)
        now = time.perf_counter()
        self._frame_times.append(now)
        self.frames_drawn += 1
        if self.warmup.waits_for_frame:
            # a warm start loads the compiled kernels once the first frame is up: after its paint (a
            # zero timer fires once it is done), which the loader would slow (it holds the GIL ~1 s)
            QtCore.QTimer.singleShot(0, self.warmup, self.warmup.frame_drawn)
        self._show_divergence(snap)
        c = snap.chain
        running = bool(snap.extra.get("running", False))
        diverged = any(ch.divergence is not None for ch in snap.chains)
        if running:
            # The very first chunk of a fresh install compiles the numba kernels (seconds).
            state = ("running interpreted" if self.warmup.active and self.warmup.mode == "compile" else "running") \
                if snap.step > 0 else \
                "compiling…" if self._compiling and not diverged else "starting…"
        else:
            state = "diverged: paused" if diverged and len(snap.chains) == 1 else "paused"
        # The numbers below change with every frame; shown 4 times a second they still read as
        # live, and the status bar (a row of widgets) is not repainted 60 times a second. A new
        # state ("starting…" -> "running") is shown at once.
        if (snap.extra.get("running", True) and now - self._status_at < STATUS_INTERVAL
                and state == self.status_state.text()):
            return
        self._status_at = now
        self.panel.show_asymmetry(c.asymmetry)
        if self._compiling and (snap.step > 0 or diverged):
            self._compiled()
        _set_text(self.status_state, state)
        updates = max(ch.steps for ch in snap.chains)
        _set_text(self.status_updates, f"updates applied: {updates:,}")
        _set_text(self.status_rate, f"{_si(float(snap.extra.get('updates_per_s', 0.0)))} updates/s")
        _set_text(self.status_fps, f"{self.fps():.0f} frames/s")
        _set_text(self.status_alpha, f"α_t = {c.alpha_t:.3g}" if math.isfinite(c.alpha_t) else "α_t = –")

    def _show_anatomy(self, snap: Snapshot) -> None:
        a = snap.extra.get("anatomy")
        if a is None or snap.extra.get("running", False):
            if not self.anatomy_label.isHidden():
                self.anatomy_label.setVisible(False)
            return
        text = a.text()
        if self.anatomy_label.text() != text:
            self.anatomy_label.setText(text)
        self.anatomy_label.setVisible(True)

    def anatomy_text(self) -> str:
        """The anatomy panel's text ("" when hidden)."""
        return "" if self.anatomy_label.isHidden() else self.anatomy_label.text()

    def _mirror_run_settings(self, chain_settings: dict) -> None:
        """Show in the controls what a replayed session changed in the run (alpha dragged at
        update N, ...), without sending it back to the worker."""
        # a chain's settings name its optimizer keys only where they differ from the defaults
        chain_settings = {**OPTIMIZER_DEFAULTS, **chain_settings}
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
        first = snap.chains[0].divergence
        key = None if first is None else (first.step, first.reason)
        if key != self._first_divergence:
            # the forecast is for the first estimator: its divergence (or Resume) changes what to say
            self._first_divergence = key
            self.forecast.schedule()
        failed = [c for c in snap.chains if c.divergence is not None]
        self.panel.set_diverged(bool(failed))
        if not failed:
            self.banner_box.setVisible(False)
            self._banner_full = ""
            return
        if len(snap.chains) == 1:
            lines = [failed[0].divergence.message]  # type: ignore[union-attr]
        else:
            lines = [f"{c.label}: {c.divergence.message}" for c in failed]  # type: ignore[union-attr]
        full = "\n".join(lines)
        if full != self._banner_full:
            self._banner_full = full
            self._show_banner()
        self.banner_box.setVisible(True)

    def _show_banner(self) -> None:
        """The banner's text: every message, or folded, the first one on one line (elided to the
        banner's width, the whole text in its tooltip) with how many more there are."""
        lines = self._banner_full.split("\n") if self._banner_full else []
        many = len(lines) > 1
        folded = many and not self._banner_open
        self.banner_button.setVisible(many)
        if self.banner.wordWrap() == folded:
            self.banner.setWordWrap(not folded)
            # folded, the label's one line must not hold the window wider than it is
            policy = QtWidgets.QSizePolicy.Policy.Ignored if folded else QtWidgets.QSizePolicy.Policy.Preferred
            self.banner.setSizePolicy(policy, QtWidgets.QSizePolicy.Policy.Preferred)
        if folded:
            tail = f"  (+{len(lines) - 1} more)"
            fm = self.banner.fontMetrics()
            room = self.banner.contentsRect().width() - BANNER_PADDING_PX - fm.horizontalAdvance(tail)
            text = fm.elidedText(lines[0], QtCore.Qt.TextElideMode.ElideRight, max(room, 0)) + tail
        else:
            text = self._banner_full
        tip = self._banner_full if folded else ""
        if self.banner.toolTip() != tip:
            self.banner.setToolTip(tip)
        if self.banner.text() != text:
            self.banner.setText(text)
        self.banner_button.setText("less ▴" if self._banner_open else "all ▾")
        self.banner_button.setChecked(self._banner_open)

    def eventFilter(self, obj: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if obj is self.banner and event.type() == QtCore.QEvent.Type.Resize and self._banner_full:
            self._show_banner()
        return super().eventFilter(obj, event)

    def _on_banner_button(self, on: bool) -> None:
        self._banner_open = bool(on)
        self._show_banner()

    def banner_text(self) -> str:
        """Every divergence message on the banner ("" when it is hidden), folded or not."""
        return "" if self.banner_box.isHidden() else self._banner_full

    # ------------------------------------------------------------- recording
    def toggle_recording(self) -> None:
        """File > Record video…: ask for a file and start, or stop and finish the file."""
        from ..core.video import VIDEO_FORMATS

        if self.recording:
            self.stop_recording(wait=False)  # the file is finished in the background
            self.statusBar().showMessage("finishing the video…", 10_000)
            self.status_rec.setVisible(False)
            self._fit_status()
            self.record_action.setText("&Record video…")
            return
        name = f"{self.settings.preset or 'gaussviz'}.mp4"
        start = str((self.exporter.folder or Path.cwd()) / name)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Record video", start, "MP4 video (*.mp4);;GIF animation (*.gif)")
        if path:
            if Path(path).suffix.lower() not in VIDEO_FORMATS:
                path += ".mp4"
            self.start_recording(path, force=True)  # the dialog asked before replacing

    def start_recording(self, path: str | os.PathLike, force: bool = False, max_queue: int | None = None) -> bool:
        """Record the plots area into ``path`` (.mp4 or .gif) until ``stop_recording``; a message
        box (and nothing written) if the name, folder or encoder is not right."""
        try:
            self.recorder.start(path, force=force, max_queue=max_queue)
        except (OSError, ValueError) as e:
            msg = str(e) or type(e).__name__
            self.statusBar().showMessage(f"Record failed: {msg}", 10_000)
            QtWidgets.QMessageBox.warning(self, "Record failed", f"{msg}\n\nThe run goes on.")
            return False
        self.record_action.setText("Stop &recording")
        return True

    def stop_recording(self, wait: bool = True) -> RecordingResult | None:
        """Finish the file (the encoder drains its queue; the thread is joined); ``wait=False``
        finishes it in the background and reports in the status bar when done."""
        return self.recorder.stop(wait=wait)

    def _show_recording(self, seconds: float) -> None:
        m, s = divmod(int(seconds), 60)
        _set_text(self.status_rec, f"● REC {m}:{s:02d}")
        if not self.status_rec.isVisibleTo(self):
            self.status_rec.setVisible(True)
            self._fit_status()  # room for it: a narrow window drops a rate meanwhile

    def _on_recording_stopped(self, result: RecordingResult) -> None:
        self.status_rec.setVisible(False)
        self._fit_status()
        self.record_action.setText("&Record video…")
        dropped = (f"; {result.dropped} frame(s) dropped (the encoder fell behind; the frame before "
                   "each is held instead)" if result.dropped else "")
        if result.path is None:
            msg = f"Recording failed: {result.error}"
            self.statusBar().showMessage(msg, 10_000)
            if not self._closing:
                QtWidgets.QMessageBox.warning(self, "Recording failed", f"{result.error}\n\nNothing was written.")
            return
        self.statusBar().showMessage(f"recorded {result.seconds:.1f} s ({result.frames} frames) to "
                                     f"{result.path}{dropped}", 15_000)

    # -------------------------------------------------------------- sessions
    def _open_session_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open session", prefs.get_folder(prefs.FOLDER_SESSIONS),
                                                        "gaussviz session or exported PNG (*.json *.png)")
        if path:
            self.open_session(path)

    def open_session(self, path: str | os.PathLike) -> bool:
        """Load a session file; a bad one gets a message box and changes nothing."""
        try:
            s = read_session(path)  # a session JSON, or the session an exported PNG or SVG carries
        except SessionError as e:
            warn(self, "Cannot open session", f"{e.path}:\n{e.reason}")
            return False
        self.load_settings(s)
        prefs.add_recent(path)
        prefs.remember_folder(prefs.FOLDER_SESSIONS, path)
        return True

    def _fill_recent_menu(self) -> None:
        """File > Open Recent: the sessions opened or saved last (those still there), and Clear."""
        menu = self.recent_menu
        menu.clear()
        files = prefs.recent_files()
        for i, path in enumerate(files):
            label = f"&{i + 1} {os.path.basename(path)}" if i < 9 else os.path.basename(path)
            a = menu.addAction(label)
            a.setToolTip(path)
            a.setStatusTip(path)
            a.triggered.connect(lambda _=False, p=path: self.open_session(p))
        if not files:
            menu.addAction("(none yet)").setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("&Clear list")
        clear.setEnabled(bool(files))
        clear.triggered.connect(prefs.clear_recent)

    def _save_session_dialog(self) -> None:
        start = os.path.join(prefs.get_folder(prefs.FOLDER_SESSIONS), "session.json")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save session", start, "gaussviz session (*.json)")
        if path:
            self.save_session(path)

    def save_session(self, path: str | os.PathLike, force: bool = True) -> bool:
        """Write the settings and the updates shown, atomically (the save dialog asked about replacing)."""
        ok = self.exporter.save_session(path, force=force)
        if ok:
            prefs.add_recent(path)
            prefs.remember_folder(prefs.FOLDER_SESSIONS, path)
        return ok

    # ------------------------------------------------------------ colours
    def set_color_scheme(self, scheme: str, remember: bool = True) -> None:
        """View > Colours: follow the system's light or dark scheme (Qt's colorScheme), or always one."""
        if scheme not in style.SCHEMES:
            raise ValueError(f"colour scheme must be one of {', '.join(style.SCHEMES)}; got {scheme!r}")
        self.color_scheme = scheme
        self.scheme_actions[scheme].setChecked(True)
        if remember:
            prefs.set_value(prefs.SCHEME, scheme)
        hints = QtGui.QGuiApplication.styleHints()
        if hasattr(hints, "setColorScheme"):  # Qt >= 6.8: the widgets follow the request where the platform can
            hints.setColorScheme({"light": QtCore.Qt.ColorScheme.Light, "dark": QtCore.Qt.ColorScheme.Dark}
                                 .get(scheme, QtCore.Qt.ColorScheme.Unknown))
        self._apply_color_scheme()

    def _apply_color_scheme(self, *_args) -> None:
        """The plots (and the lesson's box) in the theme of the scheme in effect."""
        self.plots.apply_theme(style.theme_for(self.color_scheme))
        # the lesson's box goes with the widgets' palette (its text is the palette's)
        dark = self.palette().color(QtGui.QPalette.ColorRole.Window).lightness() < 128
        header = (style.DARK if dark else style.LIGHT).header
        self.lesson_header.setStyleSheet(f"QWidget#lessonHeader {{ background: {header}; border-radius: 4px; }}")

    # ------------------------------------------------------------ layout
    def _restore_layout(self) -> None:
        """The window's geometry, splitter and tab as the user left them (gui/prefs.py)."""
        geometry = prefs.get_bytes(prefs.GEOMETRY)
        if geometry is not None:
            self.restoreGeometry(geometry)
        controls = prefs.get_choice(prefs.CONTROLS, "auto", ("auto", "shown", "hidden"))
        if controls != "auto":  # opened or closed by hand: so again, at any window size
            self._user_controls = controls == "shown"
        splitter = prefs.get_bytes(prefs.SPLITTER)
        if splitter is not None:
            self.splitter.restoreState(splitter)
            self._clamp_splitter()
        self.tabs.setCurrentIndex(prefs.get_int(prefs.TAB, 0, 0, self.tabs.count() - 1))

    def _clamp_splitter(self) -> None:
        """A remembered splitter wider than the control panel may be (saved by another version, or
        with another font) left a blank strip between the panel and the plots: the plots get it."""
        sizes = self.splitter.sizes()
        cap = self.controls.maximumWidth()
        if len(sizes) == 2 and sizes[0] > cap:
            self.splitter.setSizes([cap, sizes[1] + sizes[0] - cap])

    def save_layout(self) -> None:
        prefs.set_value(prefs.GEOMETRY, self.saveGeometry())
        prefs.set_value(prefs.SPLITTER, self.splitter.saveState())
        prefs.set_value(prefs.CONTROLS, "auto" if self._user_controls is None
                        else "shown" if self._user_controls else "hidden")
        prefs.set_value(prefs.TAB, self.tabs.currentIndex())

    # ---------------------------------------------------------------- close
    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if self.remember_layout:
            self.save_layout()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Finish a recording, stop the timer, the worker thread and a kernel helper process (idempotent)."""
        self._closing = True
        if self._recorder is not None:
            if self._recorder.recording:
                self._recorder.stop()  # the file is finished (or removed if the encoder failed)
            self._recorder.join()  # files of recordings stopped from the menu, finishing meanwhile
        self.pacer.stop()
        self.warmup.stop()
        stability = self.pages.built("stability")
        if stability is not None:
            stability.stop()
        self.forecast.shutdown()
        if not self.worker.stop(timeout=5.0):
            print("gaussviz: warning: the worker thread did not stop within 5 s; it was at:\n"
                  + self.worker.where(), file=sys.stderr)


def _set_text(label: QtWidgets.QLabel, text: str) -> None:
    """setText only when it changes (each call repaints the label)."""
    if label.text() != text:
        label.setText(text)

