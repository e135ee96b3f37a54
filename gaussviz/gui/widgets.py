"""Small widgets the control panels share: a log-scale alpha slider, fields that validate on Enter,
a spin box that reports bad typing, and combo-box helpers.

Each reverts to its previous value and says why when given something invalid, so a
typo never reaches the settings or the run.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.parsing import parse_number
from ..core.validation import MAX_ALPHA

#: the alpha slider's range (log scale); typed values outside it are refused
ALPHA_MIN = 1e-5
ALPHA_MAX = MAX_ALPHA


def format_alpha(a: float) -> str:
    """A learning rate at 3 significant digits: readable, and what the slider stores."""
    return f"{a:.3g}"


class FloatSlider(QtWidgets.QSlider):
    """A Qt slider over floats: its integer positions are ``STEPS`` per unit (a millionth: alpha's
    3 significant digits need far less), so ``value``/``setValue``/ranges/steps take floats and
    ``sig_value`` carries the float. (superqt's QDoubleSlider did this; importing superqt imports
    its whole widget set, ~0.15 s of a start's ~1.5 s before the first frame: issue 13.)"""

    STEPS = 1_000_000

    sig_value = QtCore.Signal(float)

    def __init__(self, orientation: QtCore.Qt.Orientation, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(orientation, parent)
        self.valueChanged.connect(self._emit_value)

    def _emit_value(self, i: int) -> None:
        self.sig_value.emit(i / self.STEPS)

    def _int(self, x: float) -> int:
        return round(float(x) * self.STEPS)

    def setRange(self, lo: float, hi: float) -> None:
        super().setRange(self._int(lo), self._int(hi))

    def setSingleStep(self, step: float) -> None:
        super().setSingleStep(max(1, self._int(step)))

    def setPageStep(self, step: float) -> None:
        super().setPageStep(max(1, self._int(step)))

    def setValue(self, x: float) -> None:
        super().setValue(self._int(x))

    def value(self) -> float:
        return super().value() / self.STEPS

    def minimum(self) -> float:
        return super().minimum() / self.STEPS

    def maximum(self) -> float:
        return super().maximum() / self.STEPS


class AlphaControl(QtWidgets.QWidget):
    """Log-scale slider over [1e-5, 1] plus an editable value; emits a valid alpha only."""

    sig_alpha = QtCore.Signal(float)
    sig_invalid = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = FloatSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(math.log10(ALPHA_MIN), math.log10(ALPHA_MAX))
        self.slider.setSingleStep(0.05)
        self.slider.setPageStep(0.5)
        self.slider.setToolTip("learning rate α, log scale from 1e-5 to 1 (applies at once, no restart)")
        self.edit = QtWidgets.QLineEdit()
        self.edit.setMaximumWidth(90)
        self.edit.setToolTip("type α (1e-5 to 1) and press Enter")
        self._value = 0.002
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.edit)
        self.slider.sig_value.connect(self._on_slider)
        self.edit.editingFinished.connect(self._on_edit)
        self.set_value(self._value)

    def value(self) -> float:
        return self._value

    def set_value(self, a: float) -> None:
        """Show a value without emitting (model -> view)."""
        self._value = float(a)
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setValue(math.log10(min(max(a, ALPHA_MIN), ALPHA_MAX)))
        self.edit.setText(format_alpha(a))

    def _on_slider(self, x: float) -> None:
        a = float(format_alpha(10.0 ** x))  # 3 significant digits: readable, reproducible
        self._value = a
        self.edit.setText(format_alpha(a))
        self.sig_alpha.emit(a)

    def _on_edit(self) -> None:
        text = self.edit.text()
        if text.strip() == format_alpha(self._value):
            return
        try:
            a = parse_number(text, "alpha", ALPHA_MIN, ALPHA_MAX)
        except ValueError as e:
            self.edit.setText(format_alpha(self._value))  # the previous value stays
            self.sig_invalid.emit(str(e))
            return
        self.set_value(a)
        self.sig_alpha.emit(a)


class ValidatedEdit(QtWidgets.QLineEdit):
    """A line edit that parses on Enter/focus-out; bad text reverts and reports why."""

    sig_value = QtCore.Signal(object)
    sig_invalid = QtCore.Signal(str)

    def __init__(self, parse, fmt, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._parse = parse
        self._fmt = fmt
        self._value: Any = None
        self.editingFinished.connect(self._commit)

    def sizeHint(self) -> QtCore.QSize:
        # Numbers are short: don't let the default ~17-character hint widen the panel.
        h = super().sizeHint()
        return QtCore.QSize(min(h.width(), 8 * self.fontMetrics().averageCharWidth() + 16), h.height())

    def set_value(self, v: Any) -> None:
        if self.hasFocus() and v == self._value:
            return  # don't clobber what the user is typing
        self._value = v
        self.setText(self._fmt(v))

    def _commit(self) -> None:
        if self._value is not None and self.text().strip() == self._fmt(self._value):
            return
        try:
            v = self._parse(self.text())
        except ValueError as e:
            if self._value is not None:
                self.setText(self._fmt(self._value))
            self.sig_invalid.emit(str(e))
            return
        self._value = v
        self.setText(self._fmt(v))
        self.sig_value.emit(v)


class IntSpinBox(QtWidgets.QSpinBox):
    """A spin box that reports typed text outside its range instead of silently editing it.

    A plain QSpinBox refuses keystrokes that would leave its range, so typing
    10000 into a 1..50 box gives 10 and "-1" gives 1, without a word. Here any
    text may be typed; on Enter or focus-out an out-of-range or non-integer
    entry reverts to the previous value and ``sig_invalid`` says why.
    """

    sig_invalid = QtCore.Signal(str)

    def __init__(self, name: str, lo: int, hi: int, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self.setRange(lo, hi)
        # Typed text counts on Enter / focus-out: typing 500 must not apply 5 and 50 on the way.
        self.setKeyboardTracking(False)

    def validate(self, text: str, pos: int) -> object:
        state, text, pos = super().validate(text, pos)
        if state == QtGui.QValidator.State.Invalid:
            state = QtGui.QValidator.State.Intermediate  # judged on commit (fixup), with a message
        return state, text, pos

    def fixup(self, text: str) -> str:
        # Called on commit when the text is not acceptable; Qt then restores the previous value.
        self.sig_invalid.emit(f"{self._name} must be an integer from {self.minimum()} to {self.maximum()}; "
                              f"got {text.strip()!r} (kept {self.value()})")
        return text


def combo(items: list[tuple[str, Any]]) -> QtWidgets.QComboBox:
    c = QtWidgets.QComboBox()
    narrow(c)
    for text, data in items:
        c.addItem(text, data)
    return c


def narrow(c: QtWidgets.QComboBox) -> None:
    """Don't let the longest item set the panel's width (the popup still shows it whole)."""
    c.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    c.setMinimumContentsLength(10)


def select(combo: QtWidgets.QComboBox, data: Any) -> None:
    with QtCore.QSignalBlocker(combo):
        i = combo.findData(data)
        if i < 0:
            combo.addItem(str(data), data)
            i = combo.count() - 1
        combo.setCurrentIndex(i)


def bold_font(widget: QtWidgets.QWidget, scale: float = 1.0) -> QtGui.QFont:
    f = QtGui.QFont(widget.font())
    f.setBold(True)
    if scale != 1.0:
        f.setPointSizeF(f.pointSizeF() * scale)
    return f


# ------------------------------------------------- text from files and users
# A QLabel, a QMessageBox and a tooltip guess whether their text is HTML (Qt::mightBeRichText):
# a CSV header "<img src=x onerror=...>" or a file name with a tag in it would be drawn as HTML.
# Text that came from a file or a user is shown as typed: labels in PlainText, message boxes and
# tooltips through ``shown_as_typed``.
def plain(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    """The label shows its text as plain text, never as HTML (for file- or user-derived text)."""
    label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
    return label


def plain_label(text: str = "") -> QtWidgets.QLabel:
    return plain(QtWidgets.QLabel(text))


def shown_as_typed(text: str) -> str:
    """Text for a widget that guesses HTML (a message box, a tooltip): unchanged when Qt would
    take it as plain text, else escaped HTML that draws exactly these characters."""
    text = str(text)
    if not QtGui.Qt.mightBeRichText(text) and "&" not in text.split("\n", 1)[0]:
        return text
    return "<p style='white-space:pre-wrap'>" + html.escape(text, quote=False) + "</p>"


def warn(parent: QtWidgets.QWidget | None, title: str, text: str) -> None:
    """A warning box showing ``text`` as typed (it may hold a stranger's file name or data)."""
    QtWidgets.QMessageBox.warning(parent, title, shown_as_typed(text))


def ask(parent: QtWidgets.QWidget | None, title: str, text: str,
        buttons: QtWidgets.QMessageBox.StandardButton,
        default: QtWidgets.QMessageBox.StandardButton) -> QtWidgets.QMessageBox.StandardButton:
    """A question box showing ``text`` as typed; the button pressed."""
    return QtWidgets.QMessageBox.question(parent, title, shown_as_typed(text), buttons, default)


class LazyPages(QtCore.QObject):
    """Pages of a tab widget built the first time they are shown or asked for (``page``).

    A start-up shows one page; building the others (their modules, plots and forms: ~45 ms for
    the stability map and Marchenko–Pastur) can wait until someone opens them (issue 13). Until
    then an empty placeholder holds the page's place, so tab titles, order and indices are as
    if every page were there.
    """

    def __init__(self, tabs: QtWidgets.QTabWidget) -> None:
        super().__init__(tabs)
        self._tabs = tabs
        self._pending: dict[str, tuple[QtWidgets.QWidget, str, Callable[[], QtWidgets.QWidget]]] = {}
        self._built: dict[str, QtWidgets.QWidget] = {}
        tabs.currentChanged.connect(self._on_current)

    def add(self, key: str, title: str, build: Callable[[], QtWidgets.QWidget]) -> None:
        placeholder = QtWidgets.QWidget()
        self._pending[key] = (placeholder, title, build)
        self._tabs.addTab(placeholder, title)

    def built(self, key: str) -> QtWidgets.QWidget | None:
        """The page if it was built, else None (nothing is built)."""
        return self._built.get(key)

    def page(self, key: str) -> QtWidgets.QWidget:
        """The page, built now if it was not yet (in its placeholder's place, current if that was)."""
        widget = self._built.get(key)
        if widget is not None:
            return widget
        placeholder, title, build = self._pending[key]
        widget = build()  # if it raises, the page stays pending (and asking again raises again)
        del self._pending[key]
        self._built[key] = widget
        tabs = self._tabs
        index = tabs.indexOf(placeholder)
        current = tabs.currentIndex() == index
        with QtCore.QSignalBlocker(tabs):  # the swap is not a change of tab
            tabs.insertTab(index, widget, title)
            tabs.removeTab(index + 1)
            if current:
                tabs.setCurrentIndex(index)
        placeholder.deleteLater()
        return widget

    def _on_current(self, index: int) -> None:
        shown = self._tabs.widget(index)
        for key, (placeholder, _title, _build) in list(self._pending.items()):
            if placeholder is shown:
                self.page(key)


__all__ = ["ALPHA_MAX", "ALPHA_MIN", "AlphaControl", "IntSpinBox", "LazyPages", "ValidatedEdit", "ask", "bold_font",
           "combo", "format_alpha", "narrow", "plain", "plain_label", "select", "shown_as_typed", "warn"]
