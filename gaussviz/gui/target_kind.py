"""The target's kind in the control panel: Gaussian, Student-t, mixture, drifting, a CSV file, Old Faithful.

The kind's own parameters sit under the choice; the Gaussian rows of the
panel (true mean, covariance) stay: for Student-t, mixture and drifting
targets they give the target's mean and covariance (its "truth"). For data
files the file decides, so those rows are disabled. A change is validated on a
copy of the settings (the CSV file is read then): a bad value or an unreadable
file shows a message and the previous target stays. Skipped CSV lines are
listed (capped) under the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from ..core import targets
from ..core.parsing import parse_number
from . import prefs
from .settings_model import SettingsModel
from .style import BAD, WARN
from .widgets import combo, plain_label, select, shown_as_typed

#: (text, key): the kinds the window offers; "old-faithful" is the shipped CSV data set
KIND_ITEMS = [*((k.label, k.name) for k in targets.TARGET_KINDS.values()), ("Old Faithful (data)", "old-faithful")]
#: skipped CSV lines listed at most (then a count)
MAX_LISTED = 10


def kind_key(t: Any) -> str:
    """The combo key of a TargetSettings (a CSV target of the shipped data set is 'old-faithful')."""
    if t.kind == "csv" and t.params.get("dataset") == "old-faithful":
        return "old-faithful"
    return t.kind


def _data_of(params: dict) -> dict:
    """Where a CSV target's data are: ``{"path": file}`` or ``{"dataset": name}``."""
    return {k: params[k] for k in ("path", "dataset") if k in params}


class TargetKindView(QtWidgets.QWidget):
    """Kind + parameters; Apply (or Enter in a field, or picking a ready kind) writes the target."""

    def __init__(self, model: SettingsModel, panel: Any = None, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.panel = panel
        f = QtWidgets.QFormLayout(self)
        f.setContentsMargins(0, 0, 0, 0)
        f.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form = f
        self.kind = combo(KIND_ITEMS)
        self.kind.setToolTip("what the samples come from; for non-Gaussian targets the 'truth' in KL and "
                             "the ellipses is the target's own mean and covariance")
        self.kind.activated.connect(self._on_kind)
        f.addRow("kind", self.kind)

        def edit(tip: str) -> QtWidgets.QLineEdit:
            e = QtWidgets.QLineEdit()
            e.setToolTip(tip)
            e.returnPressed.connect(self.apply)
            return e

        # One row per kind that takes numbers, one field per number (core.targets.TARGET_KINDS).
        self.fields: dict[str, QtWidgets.QLineEdit] = {}
        self.param_rows: dict[str, QtWidgets.QWidget] = {}
        for kind in targets.TARGET_KINDS.values():
            if not kind.params:
                continue
            row = QtWidgets.QWidget()
            lay = QtWidgets.QHBoxLayout(row)
            lay.setContentsMargins(0, 0, 0, 0)
            for i, param in enumerate(kind.params):
                field = edit(param.help)
                field.setText(f"{param.default:g}")
                if i:
                    lay.addWidget(QtWidgets.QLabel(param.key.replace("_", " ")))
                lay.addWidget(field)
                self.fields[param.key] = field
            self.param_rows[kind.name] = row
            f.addRow(kind.params[0].key.replace("_", " "), row)
        self.path = edit("a CSV file: header optional; rows with text or NaN are skipped and listed")
        self.browse = QtWidgets.QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        self.path_row = row
        f.addRow("file", row)
        self.columns = QtWidgets.QListWidget()
        self.columns.setToolTip("numeric columns of the file: tick the ones to use (at least 1)")
        self.columns.setMaximumHeight(72)
        f.addRow("columns", self.columns)
        self.standardize = QtWidgets.QCheckBox("standardize columns (mean 0, variance 1)")
        f.addRow(self.standardize)
        self.apply_button = QtWidgets.QPushButton("Apply target")
        self.apply_button.clicked.connect(self.apply)
        f.addRow(self.apply_button)
        self.problems = plain_label()  # file-derived text (column names, skipped lines): never HTML
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(f"color: {WARN};")
        self.problems.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        f.addRow(self.problems)
        self.error = plain_label()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {BAD}; font-weight: bold;")
        f.addRow(self.error)
        self._loaded_path = ""
        self._set_error("")
        model.sig_replaced.connect(self.refresh)
        # A bound method, not a lambda: a lambda holding self, connected to the (parentless) model
        # that self holds, is a cycle Python cannot see, and every closed window would stay in memory.
        model.sig_changed.connect(self._on_model_changed)
        self.refresh()

    # ------------------------------------------------------- view <- model
    def _on_model_changed(self, path: str) -> None:
        if path.startswith("target"):
            self.refresh()

    def refresh(self) -> None:
        t = self.model.settings.target
        key = kind_key(t)
        select(self.kind, key)
        p = t.params
        for param in targets.get_kind(t.kind).params:
            self.fields[param.key].setText(f"{p.get(param.key, param.default):g}")
        if t.kind == "csv":
            if key == "csv":
                self.path.setText(str(p.get("path", "")))
            with QtCore.QSignalBlocker(self.standardize):
                self.standardize.setChecked(bool(p.get("standardize", False)))
            self._fill_columns(_data_of(p), p.get("columns"))
        self._show_rows(key)
        self._show_problems()

    def _show_rows(self, key: str) -> None:
        f = self.form
        for name, row in self.param_rows.items():
            f.setRowVisible(row, key == name)
        f.setRowVisible(self.path_row, key == "csv")
        f.setRowVisible(self.columns, key in ("csv", "old-faithful"))
        f.setRowVisible(self.standardize, key in ("csv", "old-faithful"))
        f.setRowVisible(self.apply_button, key != "gaussian")
        data = key in ("csv", "old-faithful")
        p = self.panel
        if p is not None:
            # The file decides the dimension, mean and covariance: those rows don't apply.
            for w in (p.dim, p.target_mean, p.cov_mode, p.cond, p.rotation, p.scale, p.cov_text, p.cov_apply):
                w.setEnabled(not data)

    def _fill_columns(self, data: dict, chosen: Any) -> None:
        """List the numeric columns of a file (``{"path": ...}``) or shipped data set
        (``{"dataset": ...}``); ticked: the chosen ones, or all."""
        key = str(data.get("path", data.get("dataset", "")))
        if not key:
            self.columns.clear()
            self._loaded_path = ""
            return
        try:
            everything = targets.csv_file(data)
        except ValueError as e:
            self.columns.clear()
            self._loaded_path = ""
            self._set_error(str(e))
            return
        names = everything.columns
        if isinstance(chosen, str):
            chosen = [c.strip() for c in chosen.split(",") if c.strip()]
        use = set(map(str, chosen)) if chosen else set(names)
        self.columns.clear()
        for name in names:
            it = QtWidgets.QListWidgetItem(name)
            it.setFlags(it.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(QtCore.Qt.CheckState.Checked if name in use else QtCore.Qt.CheckState.Unchecked)
            self.columns.addItem(it)
        self._loaded_path = key

    def chosen_columns(self) -> list[str] | None:
        """Ticked columns (None: all of them, the default)."""
        names = [self.columns.item(i).text() for i in range(self.columns.count())]
        ticked = [n for i, n in enumerate(names)
                  if self.columns.item(i).checkState() == QtCore.Qt.CheckState.Checked]
        if not names or len(ticked) == len(names):
            return None
        return ticked

    def _show_problems(self) -> None:
        t = self.model.settings.target
        if t.kind != "csv":
            self.problems.setText("")
            self.problems.setVisible(False)
            return
        p = t.params
        try:
            f = targets.csv_file(p)
        except (ValueError, KeyError):
            return
        if not f.n_skipped:
            text = f"{Path(f.path).name}: {f.data.shape[0]} rows, columns {', '.join(f.columns)}."
        else:
            lines = f.problem_lines(MAX_LISTED)
            text = (f"{Path(f.path).name}: using {f.data.shape[0]} rows; skipped {f.n_skipped} line(s):\n"
                    + "\n".join(lines))
        self.problems.setText(text)
        self.problems.setToolTip(shown_as_typed("\n".join(f.problem_lines(200))) if f.n_skipped else "")
        self.problems.setVisible(True)

    # ------------------------------------------------------- view -> model
    def _on_kind(self, _i: int) -> None:
        key = self.kind.currentData()
        self._show_rows(key)
        self._set_error("")
        if key == "csv":
            if not self.path.text().strip():
                self._set_error("choose a file (Browse…), then Apply target")
            return  # wait for a file and Apply
        self.apply()

    def _browse(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a CSV file", prefs.get_folder(prefs.FOLDER_CSV),
                                                        "CSV files (*.csv *.txt);;All files (*)")
        if path:
            prefs.remember_folder(prefs.FOLDER_CSV, path)
            self.set_csv_file(path)

    def set_csv_file(self, path: str) -> bool:
        """Read a file's columns and apply it as the target (what Browse does after the dialog)."""
        self.path.setText(path)
        select(self.kind, "csv")
        self._show_rows("csv")
        self._set_error("")
        self._fill_columns(targets.csv_source(path) if path.strip() else {}, None)
        if not self._loaded_path:
            return False
        return self.apply()

    def target_params(self) -> tuple[str, dict]:
        """(kind, params) from the fields; ValueError saying which field is wrong."""
        key = self.kind.currentData()
        if key == "gaussian":
            return "gaussian", {}
        if key in targets.TARGET_KINDS and key != "csv":
            return key, {p.key: parse_number(self.fields[p.key].text(), p.label, p.lo, p.hi)
                         for p in targets.get_kind(key).params}
        if key == "old-faithful":
            data: dict = {"dataset": "old-faithful"}
        else:
            typed = self.path.text().strip()
            if not typed:
                raise ValueError("csv: choose a file first (Browse…)")
            data = targets.csv_source(typed)  # a file path (absolute), or a data set's name alone
        where = str(data.get("path", data.get("dataset")))
        if where != self._loaded_path:
            self._fill_columns(data, None)
        params: dict = {**data, "standardize": self.standardize.isChecked()}
        cols = self.chosen_columns()
        if cols is not None:
            if not cols:
                raise ValueError("csv: tick at least one column")
            params["columns"] = cols
        return "csv", params

    def apply(self) -> bool:
        """Write the target (validated on a copy first); False and a message if it is bad."""
        s = self.model.settings
        try:
            kind, params = self.target_params()
            trial = s.copy()
            t = trial.target
            t.kind, t.params = kind, params
            t.validate()  # reads a CSV file and sets the dimension from it
            if isinstance(trial.start.mean, list) and len(trial.start.mean) != t.dim:
                trial.start.mean = 0.0  # a start of another dimension no longer applies
            if isinstance(t.mean, list) and len(t.mean) != t.dim:
                t.mean = 0.0
            if t.cov is not None and len(t.cov) != t.dim:
                t.cov = None
            trial.validate()
            self.model.set_many({"target": trial.target, "start": trial.start})
        except ValueError as e:
            self._set_error(str(e))  # the settings (and the run) keep the previous target
            return False
        self._set_error("")
        self.refresh()
        return True

    def _set_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def error_text(self) -> str:
        return self.error.text()
