"""The control panel of the live view: run buttons, the estimator, compare mode, the target, the start.

Every widget reads and writes the window's one ``SettingsModel`` by dotted path
(``"estimator.alpha"``); a bad value shows a message and the previous value stays.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6 import QtCore, QtWidgets

from ..core.optimizers import OPTIMIZERS
from ..core.options import DIRECTIONS, OBJECTIVES, SCHEDULES, sign_effect
from ..core.parameterizations import PARAMETERIZATIONS
from ..core.parsing import format_matrix, format_vector, parse_matrix, parse_number, parse_vector
from ..core.presets import PRESETS
from ..core.settings import MAX_DIM, MAX_STEP_WINDOW, MIN_STEP_WINDOW, STEP_AXES
from ..core.validation import check_beta, check_eps
from .compare import CompareView
from .settings_model import SettingsModel
from .style import BAD, GOOD
from .target_kind import TargetKindView
from .widgets import AlphaControl, IntSpinBox, ValidatedEdit, combo, narrow, select


def speed_text(v: float) -> str:
    """How the speed menu names a pace: "200 updates/s", "as fast as possible" for 0."""
    if v <= 0:
        return "as fast as possible"
    n = f"{v:,.0f}" if v >= 1 else f"{v:g}"
    return f"{n} update/s" if v == 1 else f"{n} updates/s"


#: the paces on offer: a few round ones and every preset's own, slowest first, then "as fast as possible"
_PACES = sorted(({1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6} | {p.pace for p in PRESETS.values()}) - {0.0})
SPEEDS: list[tuple[str, float]] = [(speed_text(v), v) for v in _PACES] + [(speed_text(0.0), 0.0)]
#: the step axis menu (core.settings.STEP_AXES)
STEP_AXIS_TEXT = {"linear": "all steps", "log": "all steps, log scale", "window": "the last N updates"}
OBJECTIVE_TEXT = {"loglik": "maximize log L", "neg-loglik": "minimize -log L"}
DIRECTION_TEXT = {"ascent": "ascent: θ + α∇", "descent": "descent: θ − α∇"}
SCHEDULE_TEXT = {"constant": "constant: α", "inverse": "inverse: α/(1 + α t)",
                 "inverse-sqrt": "inverse-sqrt: α/√(1 + t)"}


class ControlPanel(QtWidgets.QWidget):
    """Every control of the live view; writes go to the ``SettingsModel``, never to the run."""

    #: run buttons (the window forwards them to the worker)
    sig_start_pause = QtCore.Signal()
    sig_step = QtCore.Signal()
    sig_reset = QtCore.Signal()
    sig_resume = QtCore.Signal()
    #: preset chosen by the user (its name)
    sig_preset = QtCore.Signal(str)
    #: pair of target axes the cloud shows (0-based)
    sig_cloud_axes = QtCore.Signal(int, int)
    #: a user typed something invalid (the message); the previous value stayed
    sig_message = QtCore.Signal(str)

    def __init__(self, model: SettingsModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(8)
        lay.addWidget(self._build_run())
        lay.addWidget(self._build_estimator())
        self.compare = CompareView(model)
        lay.addWidget(self.compare)
        lay.addWidget(self._build_target())
        lay.addWidget(self._build_start())
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {BAD}; font-weight: bold;")
        self.message.setVisible(False)
        lay.insertWidget(1, self.message)
        lay.addStretch(1)
        model.sig_changed.connect(self.refresh)
        model.sig_replaced.connect(self.refresh)
        self.refresh()

    # ---------------------------------------------------------------- build
    def _build_run(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Run")
        self.preset = QtWidgets.QComboBox()
        narrow(self.preset)
        self.preset.addItem("(custom)", "")
        for name, p in PRESETS.items():
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, p.summary, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.preset.setToolTip("a lesson from the seed question: loads its settings and explains it")
        self.preset.activated.connect(self._on_preset)
        self.start_button = QtWidgets.QPushButton("Start")
        self.start_button.setToolTip("start or pause the run (Space)")
        self.step_button = QtWidgets.QPushButton("Step")
        self.step_button.setToolTip("pause and apply exactly one update (Right arrow)")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setToolTip("back to update 0 with the current settings (R)")
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.setToolTip("after a divergence: go on from the last good state")
        self.resume_button.setEnabled(False)
        for b in (self.start_button, self.step_button, self.reset_button, self.resume_button):
            b.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)  # Space must reach the shortcut
        self.start_button.clicked.connect(self.sig_start_pause)
        self.step_button.clicked.connect(self.sig_step)
        self.reset_button.clicked.connect(self.sig_reset)
        self.resume_button.clicked.connect(self.sig_resume)
        self.speed = combo(SPEEDS)
        self.speed.setToolTip("updates per second. Each preset starts at the pace that shows its lesson "
                              "3-20 s after the start; 'as fast as possible' runs flat out")
        self.speed.currentIndexChanged.connect(lambda _i: self._set("speed", float(self.speed.currentData())))
        self.step_axis = combo([(STEP_AXIS_TEXT[a], a) for a in STEP_AXES])
        self.step_axis.setToolTip("the step axis of the mean, covariance and KL plots: every step so far "
                                  "(KL on a log axis), every step on a log axis, or a rolling window")
        self.step_axis.currentIndexChanged.connect(
            lambda _i: self._set("view.step_axis", self.step_axis.currentData()))
        self.step_window = IntSpinBox("step window", MIN_STEP_WINDOW, MAX_STEP_WINDOW)
        self.step_window.setSuffix(" updates")
        self.step_window.setGroupSeparatorShown(True)
        self.step_window.setToolTip("N: how many of the latest updates the rolling window shows")
        self.step_window.sig_invalid.connect(self.show_message)
        self.step_window.valueChanged.connect(lambda v: self._set("view.step_window", int(v)))
        g = QtWidgets.QGridLayout(box)
        g.addWidget(QtWidgets.QLabel("preset"), 0, 0)
        g.addWidget(self.preset, 0, 1, 1, 3)
        for col, b in enumerate((self.start_button, self.step_button, self.reset_button, self.resume_button)):
            g.addWidget(b, 1, col)
        g.addWidget(QtWidgets.QLabel("speed"), 2, 0)
        g.addWidget(self.speed, 2, 1, 1, 3)
        g.addWidget(QtWidgets.QLabel("steps shown"), 3, 0)
        g.addWidget(self.step_axis, 3, 1, 1, 2)
        g.addWidget(self.step_window, 3, 3)
        return box

    def _build_estimator(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Estimator")
        f = QtWidgets.QFormLayout(box)
        f.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.alpha = AlphaControl()
        self.alpha.sig_alpha.connect(lambda a: self._set("estimator.alpha", a))
        self.alpha.sig_invalid.connect(self.show_message)
        f.addRow("α", self.alpha)
        self.estimator_form = f  # the window puts the stability forecast under α (row 1)
        self.schedule = combo([(SCHEDULE_TEXT[s], s) for s in SCHEDULES])
        self.schedule.currentIndexChanged.connect(
            lambda _i: self._set("estimator.schedule", self.schedule.currentData()))
        f.addRow("schedule", self.schedule)
        self.batch = IntSpinBox("mini-batch size", 1, 1000)
        self.batch.sig_invalid.connect(self.show_message)
        self.batch.setToolTip("samples per update (1 = the seed's pure online case)")
        self.batch.valueChanged.connect(lambda v: self._set("estimator.batch_size", int(v)))
        f.addRow("mini-batch", self.batch)
        self.objective = combo([(OBJECTIVE_TEXT[o], o) for o in OBJECTIVES])
        self.direction = combo([(DIRECTION_TEXT[d], d) for d in DIRECTIONS])
        self.objective.currentIndexChanged.connect(lambda _i: self._set_sign())
        self.direction.currentIndexChanged.connect(lambda _i: self._set_sign())
        f.addRow("objective", self.objective)
        f.addRow("direction", self.direction)
        self.sign_label = QtWidgets.QLabel()
        self.sign_label.setWordWrap(True)
        f.addRow("effect", self.sign_label)
        self.param = combo([(p, p) for p in PARAMETERIZATIONS])
        for i, p in enumerate(PARAMETERIZATIONS):
            self.param.setItemData(i, PARAMETERIZATIONS[p].help, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.param.currentIndexChanged.connect(
            lambda _i: self._set("estimator.parameterization", self.param.currentData()))
        f.addRow("update", self.param)
        self.param_help = QtWidgets.QLabel()
        self.param_help.setWordWrap(True)
        self.param_help.setStyleSheet("color: #555;")
        hf = self.param_help.font()
        hf.setPointSizeF(hf.pointSizeF() * 0.9)
        self.param_help.setFont(hf)
        f.addRow(self.param_help)
        self._build_optimizer(f)
        self.symmetrize = QtWidgets.QCheckBox("symmetrize each update")
        self.symmetrize.setToolTip("replace inv(Sigma) and the update by their symmetric parts "
                                   "(covariance, precision); off = the seed's literal update")
        self.symmetrize.toggled.connect(lambda b: self._set("estimator.symmetrize", bool(b)))
        self.asymmetry = QtWidgets.QLabel("–")
        self.asymmetry.setToolTip("relative asymmetry ||Σ − Σᵀ|| / ||Σ|| of the current estimate; "
                                  "the run stops when it passes 1e-6")
        self.asymmetry.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.symmetrize)
        row.addStretch(1)
        row.addWidget(QtWidgets.QLabel("asymmetry"))
        row.addWidget(self.asymmetry)
        f.addRow(row)
        return box

    def _build_optimizer(self, f: QtWidgets.QFormLayout) -> None:
        """The optimizer on top of the update rule, its betas and eps, and averaging (core/optimizers.py);
        live like α: a change restarts the optimizer's moments, not the run (docs/MATH.md)."""
        self.optimizer = combo([(o, o) for o in OPTIMIZERS])
        for i, o in enumerate(OPTIMIZERS.values()):
            self.optimizer.setItemData(i, o.help, QtCore.Qt.ItemDataRole.ToolTipRole)
        self.optimizer.setToolTip("what turns the update rule's direction D into a step; "
                                  "a change starts its moments afresh (the estimate carries on)")
        self.optimizer.currentIndexChanged.connect(
            lambda _i: self._set("estimator.optimizer", self.optimizer.currentData()))
        f.addRow("optimizer", self.optimizer)
        self.beta1 = ValidatedEdit(lambda t: check_beta(parse_number(t, "beta1"), "beta1"), lambda v: f"{v:g}")
        self.beta2 = ValidatedEdit(lambda t: check_beta(parse_number(t, "beta2"), "beta2"), lambda v: f"{v:g}")
        self.eps = ValidatedEdit(lambda t: check_eps(parse_number(t, "eps")), lambda v: f"{v:g}")
        row = QtWidgets.QHBoxLayout()
        for name, label, edit, tip in (
                ("beta1", "β₁", self.beta1, "decay of the first moment (momentum, nesterov, adam), in [0, 1)"),
                ("beta2", "β₂", self.beta2, "decay of the second moment (rmsprop, adam), in [0, 1)"),
                ("eps", "ε", self.eps, "denominator guard (rmsprop, adam), > 0")):
            edit.setToolTip(tip)
            edit.sig_invalid.connect(self.show_message)
            edit.sig_value.connect(lambda v, n=name: self._set(f"estimator.{n}", float(v)))
            row.addWidget(QtWidgets.QLabel(label))
            row.addWidget(edit, 1)
        f.addRow("", row)
        self.averaging = QtWidgets.QCheckBox("Polyak-Ruppert average (dotted)")
        self.averaging.setToolTip("also keep the running average of the estimates since it was turned on, "
                                  "drawn as the chain's dotted ellipse and KL curve")
        self.averaging.toggled.connect(lambda b: self._set("estimator.averaging", bool(b)))
        f.addRow("", self.averaging)

    def _build_target(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Target (the truth samples come from)")
        f = QtWidgets.QFormLayout(box)
        f.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.dim = IntSpinBox("target dimension", 1, MAX_DIM)
        self.dim.sig_invalid.connect(self.show_message)
        self.dim.setKeyboardTracking(False)  # typing "12" must not build d = 1 first
        self.dim.valueChanged.connect(self._on_dim)
        self.seed = IntSpinBox("seed", 0, 2**31 - 1)
        self.seed.sig_invalid.connect(self.show_message)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("seed of the sample stream (same seed, same samples)")
        self.seed.valueChanged.connect(lambda v: self._set("target.seed", int(v)))
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.dim, 1)
        row.addWidget(QtWidgets.QLabel("seed"))
        row.addWidget(self.seed, 2)
        f.addRow("dimension d", row)
        self.target_mean = ValidatedEdit(
            lambda t: parse_vector(t, "true mean", self.model.settings.target.dim), format_vector)
        self.target_mean.setToolTip("one number (every entry) or d numbers separated by commas")
        self.target_mean.sig_value.connect(lambda v: self._set("target.mean", v))
        self.target_mean.sig_invalid.connect(self.show_message)
        f.addRow("true mean", self.target_mean)
        self.cov_mode = combo([("condition number + rotation", "cond"), ("typed entries", "typed")])
        self.cov_mode.currentIndexChanged.connect(self._on_cov_mode)
        f.addRow("covariance", self.cov_mode)
        self.cond = ValidatedEdit(lambda t: parse_number(t, "condition number", 1.0, 1e10), lambda v: f"{v:g}")
        self.cond.setToolTip("ratio of the largest to the smallest eigenvalue (1 to 1e10)")
        self.cond.sig_value.connect(lambda v: self._set("target.cond", v))
        self.cond.sig_invalid.connect(self.show_message)
        f.addRow("condition no.", self.cond)
        self.rotation = QtWidgets.QDoubleSpinBox()
        self.rotation.setRange(-180.0, 180.0)
        self.rotation.setDecimals(1)
        self.rotation.setSuffix("°")
        self.rotation.setKeyboardTracking(False)
        self.rotation.valueChanged.connect(lambda v: self._set("target.rotation_deg", float(v)))
        f.addRow("rotation", self.rotation)
        self.scale = ValidatedEdit(lambda t: parse_number(t, "target scale", 1e-6, 1e6), lambda v: f"{v:g}")
        self.scale.setToolTip("geometric mean of the eigenvalues")
        self.scale.sig_value.connect(lambda v: self._set("target.scale", v))
        self.scale.sig_invalid.connect(self.show_message)
        f.addRow("scale", self.scale)
        self.cov_text = QtWidgets.QPlainTextEdit()
        self.cov_text.setPlaceholderText("one row per line, e.g.\n1, 0.48\n0.48, 0.5")
        self.cov_text.setMaximumHeight(64)
        self.cov_apply = QtWidgets.QPushButton("Apply matrix")
        self.cov_apply.clicked.connect(self._on_cov_apply)
        f.addRow("Σ entries", self.cov_text)
        f.addRow("", self.cov_apply)
        self._cov_rows = (self.cond, self.rotation, self.scale, self.cov_text, self.cov_apply)
        self._target_form = f
        axes = QtWidgets.QWidget()
        al = QtWidgets.QHBoxLayout(axes)
        al.setContentsMargins(0, 0, 0, 0)
        self.axis_x = QtWidgets.QSpinBox()
        self.axis_y = QtWidgets.QSpinBox()
        for sb, v in ((self.axis_x, 1), (self.axis_y, 2)):
            sb.setPrefix("x")
            sb.setRange(1, 2)
            sb.setValue(v)
            sb.valueChanged.connect(self._on_axes)
            al.addWidget(sb)
        self.axes_row = axes
        f.addRow("cloud axes", axes)
        self.target_kind = TargetKindView(self.model, self)
        f.insertRow(0, self.target_kind)
        return box

    def _build_start(self) -> QtWidgets.QGroupBox:
        box = QtWidgets.QGroupBox("Start (μ₀, Σ₀ = scale · I)")
        f = QtWidgets.QFormLayout(box)
        f.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.start_mean = ValidatedEdit(
            lambda t: parse_vector(t, "start mean", self.model.settings.target.dim), format_vector)
        self.start_mean.sig_value.connect(lambda v: self._set("start.mean", v))
        self.start_mean.sig_invalid.connect(self.show_message)
        self.cov_scale = ValidatedEdit(
            lambda t: parse_number(t, "start covariance scale", 1e-12, 1e12), lambda v: f"{v:g}")
        self.cov_scale.setToolTip("Σ₀ = scale · I; far too large crawls, far too small blows up")
        self.cov_scale.sig_value.connect(lambda v: self._set("start.cov_scale", v))
        self.cov_scale.sig_invalid.connect(self.show_message)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.start_mean, 3)
        row.addWidget(QtWidgets.QLabel("Σ₀ scale"))
        row.addWidget(self.cov_scale, 2)
        f.addRow("mean μ₀", row)
        return box

    # ------------------------------------------------------- view <- model
    def refresh(self, path: str = "") -> None:
        """Show the model's values (signals blocked: this is not a user edit).

        ``path`` is the setting that changed ("" = all); the typed matrix is only
        rewritten when the target changed, so a matrix being typed survives a slider drag.
        """
        s = self.model.settings
        e, t = s.estimator, s.target
        self.alpha.set_value(e.alpha)
        select(self.schedule, e.schedule)
        with QtCore.QSignalBlocker(self.batch):
            self.batch.setValue(e.batch_size)
        select(self.objective, e.objective)
        select(self.direction, e.direction)
        good = sign_effect(e.objective, e.direction) == "climbs the likelihood"
        self.sign_label.setText(sign_effect(e.objective, e.direction))
        self.sign_label.setStyleSheet(f"color: white; background: {GOOD if good else BAD}; "
                                      "padding: 3px; font-weight: bold; border-radius: 3px;")
        select(self.param, e.parameterization)
        select(self.optimizer, e.optimizer)
        uses = OPTIMIZERS[e.optimizer].uses
        for name, edit in (("beta1", self.beta1), ("beta2", self.beta2), ("eps", self.eps)):
            edit.set_value(getattr(e, name))
            edit.setEnabled(name in uses)  # shown, but greyed where this optimizer does not read it
        with QtCore.QSignalBlocker(self.averaging):
            self.averaging.setChecked(bool(e.averaging))
        spec = PARAMETERIZATIONS[e.parameterization]
        self.param_help.setText(spec.help)
        applies = spec.symmetrizable
        with QtCore.QSignalBlocker(self.symmetrize):
            # Shown unticked where it has no effect (the others are symmetric by construction);
            # the stored value comes back when covariance or precision is chosen again.
            self.symmetrize.setChecked(bool(e.symmetrize) and applies)
        self.symmetrize.setEnabled(applies)
        if self.speed.findData(float(s.speed)) < 0:  # a session's own pace
            self.speed.insertItem(self.speed.count() - 1, speed_text(float(s.speed)), float(s.speed))
        select(self.speed, float(s.speed))
        select(self.step_axis, s.view.step_axis)
        with QtCore.QSignalBlocker(self.step_window):
            self.step_window.setValue(int(s.view.step_window))
        self.step_window.setEnabled(s.view.step_axis == "window")
        with QtCore.QSignalBlocker(self.dim):
            self.dim.setValue(t.dim)
        self.target_mean.set_value(t.mean)
        typed = t.cov is not None
        select(self.cov_mode, "typed" if typed else "cond")
        self.cond.set_value(t.cond)
        with QtCore.QSignalBlocker(self.rotation):
            self.rotation.setValue(t.rotation_deg)
        self.scale.set_value(t.scale)
        if not path or path.startswith("target."):
            self.cov_text.setPlainText(format_matrix(t.cov_matrix()))
        self._show_cov_rows(typed)
        with QtCore.QSignalBlocker(self.seed):
            self.seed.setValue(t.seed)
        self.start_mean.set_value(s.start.mean)
        self.cov_scale.set_value(s.start.cov_scale)
        self._refresh_axes(t.dim)
        select(self.preset, s.preset if s.preset in PRESETS else "")

    def _show_cov_rows(self, typed: bool) -> None:
        for w in self._cov_rows:
            on = (w in (self.cov_text, self.cov_apply)) == typed
            self._target_form.setRowVisible(w, on)

    def _refresh_axes(self, d: int) -> None:
        self._target_form.setRowVisible(self.axes_row, d > 2)
        for sb in (self.axis_x, self.axis_y):
            with QtCore.QSignalBlocker(sb):
                sb.setRange(1, max(2, d))
        if d >= 2 and self.axis_x.value() == self.axis_y.value():
            with QtCore.QSignalBlocker(self.axis_x), QtCore.QSignalBlocker(self.axis_y):
                self.axis_x.setValue(1)
                self.axis_y.setValue(2)

    def show_asymmetry(self, value: float) -> None:
        """The relative asymmetry of Sigma, coloured as it heads for the 1e-6 stop."""
        if not math.isfinite(value):
            self.asymmetry.setText("–")
            return
        self.asymmetry.setText(f"{value:.1e}")
        colour = "#555" if value < 1e-12 else ("#b35c00" if value < 1e-8 else BAD)
        style = f"color: {colour};" + (" font-weight: bold;" if value >= 1e-8 else "")
        if self.asymmetry.styleSheet() != style:
            self.asymmetry.setStyleSheet(style)

    def show_message(self, text: str) -> None:
        """A visible message for a bad input (cleared by the next good one)."""
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.sig_message.emit(text)

    def set_running(self, running: bool) -> None:
        self.start_button.setText("Pause" if running else "Start")

    def set_diverged(self, diverged: bool) -> None:
        self.resume_button.setEnabled(diverged)

    # ------------------------------------------------------- view -> model
    def _set(self, path: str, value: Any) -> None:
        try:
            self.model.set(path, value)
        except ValueError as e:
            self.show_message(str(e))
            self.refresh()  # the previous value stays on screen
            return
        self.show_message("")

    def _set_sign(self) -> None:
        values = {"estimator.objective": self.objective.currentData(),
                  "estimator.direction": self.direction.currentData()}
        try:
            self.model.set_many(values)
        except ValueError as e:
            self.show_message(str(e))
            self.refresh()
            return
        self.show_message("")

    def _on_dim(self, d: int) -> None:
        try:
            self.model.set_dim(int(d))
        except ValueError as e:
            self.show_message(str(e))
            self.refresh()
            return
        self.show_message("")

    def _on_cov_mode(self, _i: int) -> None:
        typed = self.cov_mode.currentData() == "typed"
        self._show_cov_rows(typed)
        if not typed and self.model.settings.target.cov is not None:
            self._set("target.cov", None)

    def _on_cov_apply(self) -> None:
        try:
            m = parse_matrix(self.cov_text.toPlainText(), "target covariance", self.model.settings.target.dim)
        except ValueError as e:
            self.show_message(str(e))
            return
        self._set("target.cov", m)

    def _on_axes(self, _v: int) -> None:
        i, j = self.axis_x.value() - 1, self.axis_y.value() - 1
        if i == j:
            self.show_message("the cloud needs two different axes")
            return
        self.show_message("")
        self.sig_cloud_axes.emit(i, j)

    def _on_preset(self, _i: int) -> None:
        name = self.preset.currentData()
        if name:
            self.sig_preset.emit(name)

    def cloud_axes(self) -> tuple[int, int]:
        return self.axis_x.value() - 1, self.axis_y.value() - 1
