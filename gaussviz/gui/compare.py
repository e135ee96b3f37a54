"""Compare mode: several estimators on the same sample stream, started together.

Two ways to compare, because they answer the seed's two questions:

- "which update rule?": any subset of the five parameterizations at the main
  estimator's alpha (and its sign, schedule, batch and symmetrize);
- "which learning rate?": the main estimator's parameterization at several alphas;
- "would another optimizer have saved it?": the main estimator's rule and alpha under several
  optimizers (core/optimizers.py; each drawn in its optimizer's fixed colour, gui/style.py).

Applying writes ``settings.estimator`` (the first, blue chain) and
``settings.compare`` (the others) in one validated change, which restarts the
run: every chain starts from the same mu_0, Sigma_0 and reads the same samples
(``RunLoop`` feeds one stream to all of them). Chains are ordered the same way
every time (parameterizations in their canonical order, rates ascending), so
a parameterization keeps its colour across applies.

The live controls above the group (alpha, schedule, sign, update rule,
symmetrize) change the FIRST estimator only: the worker applies them to chain
0 between chunks, so the others remain the fixed comparison they were started as.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from PySide6 import QtCore, QtWidgets

from ..core.optimizers import NAMES as OPTIMIZERS
from ..core.optimizers import OPTIMIZERS as OPTIMIZER_SPECS
from ..core.parameterizations import NAMES as PARAMETERIZATIONS
from ..core.parsing import parse_numbers
from ..core.settings import EstimatorSettings, Settings
from . import style
from .settings_model import SettingsModel
from .style import BAD
from .widgets import ALPHA_MAX, ALPHA_MIN, combo, format_alpha, plain, select

#: the most estimators in one run: one distinct colour each
MAX_COMPARED = len(style.CHAIN_COLORS)
MODES = (("one estimator", "off"), ("update rules, same α", "params"), ("learning rates, same rule", "alphas"),
         ("optimizers, same rule", "optimizers"))


def parse_alphas(text: str) -> list[float]:
    """Learning rates typed as "0.002, 0.01, 0.05": ascending, distinct, within the slider's range."""
    if not text.replace(",", " ").replace(";", " ").strip():
        raise ValueError("learning rates: type one or more numbers separated by commas, e.g. 0.002, 0.01, 0.05")
    vals = [float(format_alpha(v)) for v in parse_numbers(text, "learning rates", ALPHA_MIN, ALPHA_MAX)]
    if len(set(vals)) != len(vals):
        raise ValueError(f"learning rates: {text.strip()!r} lists a rate twice (at 3 significant digits)")
    if len(vals) > MAX_COMPARED:
        raise ValueError(f"learning rates: at most {MAX_COMPARED} at once (one colour each); got {len(vals)}")
    return sorted(vals)


def compare_settings(main: EstimatorSettings, mode: str, params: list[str] | None = None,
                     alphas: list[float] | None = None, optimizers: list[str] | None = None,
                     ) -> tuple[EstimatorSettings, list[EstimatorSettings]]:
    """The (first estimator, compared ones) for a compare mode; ValueError if the choice is empty."""
    if mode == "off":
        return replace(main), []
    if mode == "params":
        chosen = [p for p in PARAMETERIZATIONS if p in (params or [])]
        if not chosen:
            raise ValueError("compare: tick at least one update rule")
        ests = [replace(main, parameterization=p) for p in chosen]
    elif mode == "alphas":
        if not alphas:
            raise ValueError("compare: type at least one learning rate")
        ests = [replace(main, alpha=float(a)) for a in sorted(alphas)]
    elif mode == "optimizers":
        chosen = [o for o in OPTIMIZERS if o in (optimizers or [])]
        if not chosen:
            raise ValueError("compare: tick at least one optimizer")
        ests = [replace(main, optimizer=o) for o in chosen]
    else:
        raise ValueError(f"compare: unknown mode {mode!r}")
    return ests[0], ests[1:]


def mode_of(s: Settings) -> str:
    """Which compare mode a settings object is in (a preset or session may mix both: 'mixed')."""
    ests = s.all_estimators()
    if len(ests) == 1:
        return "off"

    def same_but(name: str) -> bool:
        rest = [tuple(v for k, v in asdict(e).items() if k != name) for e in ests]
        return len(set(rest)) == 1

    if same_but("alpha"):
        return "alphas"
    if same_but("parameterization"):
        return "params"
    if same_but("optimizer"):
        return "optimizers"
    return "mixed"


class CompareView(QtWidgets.QGroupBox):
    """The compare group of the control panel: choose, then Apply (restarts all chains)."""

    def __init__(self, model: SettingsModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("Compare (same samples, same start)", parent)
        self.model = model
        lay = QtWidgets.QVBoxLayout(self)
        lay.setSpacing(4)
        self.mode = combo(list(MODES))
        self.mode.setToolTip("run several estimators side by side on one sample stream")
        self.mode.currentIndexChanged.connect(self._on_mode)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("compare"))
        row.addWidget(self.mode, 1)
        lay.addLayout(row)

        self.param_box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.param_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(0)
        self.checks: dict[str, QtWidgets.QCheckBox] = {}
        for i, p in enumerate(PARAMETERIZATIONS):
            cb = QtWidgets.QCheckBox(p)
            cb.toggled.connect(self._on_edit)
            self.checks[p] = cb
            grid.addWidget(cb, i // 2, i % 2)
        lay.addWidget(self.param_box)

        self.optimizer_box = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(self.optimizer_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(0)
        self.optimizer_checks: dict[str, QtWidgets.QCheckBox] = {}
        for i, o in enumerate(OPTIMIZERS):
            cb = QtWidgets.QCheckBox(o)
            cb.setToolTip(OPTIMIZER_SPECS[o].help)
            cb.setStyleSheet(f"QCheckBox {{ color: {style.optimizer_color(o)}; font-weight: bold; }}")
            cb.toggled.connect(self._on_edit)
            self.optimizer_checks[o] = cb
            grid.addWidget(cb, i // 3, i % 3)
        lay.addWidget(self.optimizer_box)

        self.alpha_box = QtWidgets.QWidget()
        al = QtWidgets.QHBoxLayout(self.alpha_box)
        al.setContentsMargins(0, 0, 0, 0)
        al.addWidget(QtWidgets.QLabel("α values"))
        self.alphas = QtWidgets.QLineEdit()
        self.alphas.setPlaceholderText("0.002, 0.01, 0.05")
        self.alphas.setToolTip(f"up to {MAX_COMPARED} learning rates, comma separated, "
                               f"each from {ALPHA_MIN:g} to {ALPHA_MAX:g}; Enter applies")
        self.alphas.textEdited.connect(self._on_edit)
        self.alphas.returnPressed.connect(self.apply)
        al.addWidget(self.alphas, 1)
        lay.addWidget(self.alpha_box)

        self.apply_button = QtWidgets.QPushButton("Apply and restart")
        self.apply_button.setToolTip("start every chosen estimator from μ₀, Σ₀ on the same samples")
        self.apply_button.clicked.connect(self.apply)
        lay.addWidget(self.apply_button)
        self.note = plain(QtWidgets.QLabel())
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555;")
        f = self.note.font()
        f.setPointSizeF(f.pointSizeF() * 0.9)
        self.note.setFont(f)
        # the first estimator's colour, beside the note (the note stays plain text: markup in it
        # showed as written)
        self.swatch = plain(QtWidgets.QLabel("■"))
        self.swatch.setToolTip("the colour of the first estimator's update rule")
        self.swatch.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        note_row = QtWidgets.QHBoxLayout()
        note_row.addWidget(self.swatch)
        note_row.addWidget(self.note, 1)
        lay.addLayout(note_row)
        self.error = plain(QtWidgets.QLabel())
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {BAD}; font-weight: bold;")
        self.error.setVisible(False)
        lay.addWidget(self.error)

        model.sig_replaced.connect(self.refresh)
        model.sig_changed.connect(self._on_model_changed)
        self.refresh()

    # ------------------------------------------------------- view <- model
    def _on_model_changed(self, path: str) -> None:
        if path in ("compare", "estimator"):
            self.refresh()
        else:
            self._show_note()

    def refresh(self) -> None:
        """Show what the settings run now (a pending, unapplied choice is dropped)."""
        s = self.model.settings
        mode = mode_of(s)
        ests = s.all_estimators()
        shown = "params" if mode == "mixed" else mode
        select(self.mode, shown)
        params = {e.parameterization for e in ests}
        for p, cb in self.checks.items():
            with QtCore.QSignalBlocker(cb):
                cb.setChecked(p in params if mode != "off" else p == s.estimator.parameterization)
        optimizers = {e.optimizer for e in ests}
        for o, cb in self.optimizer_checks.items():
            with QtCore.QSignalBlocker(cb):
                cb.setChecked(o in optimizers if mode == "optimizers" else o == s.estimator.optimizer)
        alphas = sorted({e.alpha for e in ests})
        self.alphas.setText(", ".join(format_alpha(a) for a in alphas))
        self._show_mode(shown)
        self._set_error("")
        self._pending(False)

    def _show_mode(self, mode: str) -> None:
        self.param_box.setVisible(mode == "params")
        self.alpha_box.setVisible(mode == "alphas")
        self.optimizer_box.setVisible(mode == "optimizers")
        self._show_note()

    def _show_note(self) -> None:
        s = self.model.settings
        e = s.estimator
        n = len(s.all_estimators())
        self.swatch.setVisible(n > 1)
        if n == 1:
            text = ("One estimator. Pick a compare mode to run several on the same samples, "
                    "each with its own colour.")
        else:
            self.swatch.setStyleSheet(f"color: {style.rule_color(e.parameterization)};")
            text = (f"{n} estimators on one stream, from the same start. The live controls above "
                    f"(α, schedule, sign, update, optimizer, symmetrize) change the first one only "
                    f"({e.parameterization}, α = {format_alpha(e.alpha)}, in its rule's colour, the "
                    "square at the left); Apply restarts them all.")
            if mode_of(s) == "mixed":
                text += (" These estimators differ in more than one setting (e.g. the schedule): "
                         "Apply replaces them with the choice above.")
        self.note.setText(text)

    # ------------------------------------------------------- view -> model
    def _on_mode(self, _i: int) -> None:
        mode = self.mode.currentData()
        self._show_mode(mode)
        if mode == "alphas" and not self.alphas.text().strip():
            self.alphas.setText(format_alpha(self.model.settings.estimator.alpha))
        self._on_edit()

    def _on_edit(self, *_args) -> None:
        self._set_error("")
        self._pending(True)

    def _pending(self, pending: bool) -> None:
        self.apply_button.setText("Apply and restart  ●" if pending else "Apply and restart")

    def choice(self) -> tuple[str, list[str], list[float] | None]:
        """(mode, ticked parameterizations, typed rates or None when not in rate mode)."""
        mode = self.mode.currentData()
        params = [p for p, cb in self.checks.items() if cb.isChecked()]
        alphas = parse_alphas(self.alphas.text()) if mode == "alphas" else None
        return mode, params, alphas

    def optimizer_choice(self) -> list[str]:
        """The ticked optimizers (mode "optimizers, same rule")."""
        return [o for o, cb in self.optimizer_checks.items() if cb.isChecked()]

    def apply(self) -> bool:
        """Write the choice to the settings (one validated change: the run restarts); False if invalid."""
        try:
            mode, params, alphas = self.choice()
            main, others = compare_settings(self.model.settings.estimator, mode, params, alphas,
                                            self.optimizer_choice())
            self.model.set_many({"estimator": main, "compare": others})
        except ValueError as e:
            self._set_error(str(e))
            return False
        self.refresh()
        return True

    def _set_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
