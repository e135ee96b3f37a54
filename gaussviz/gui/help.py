"""The Help menu: the maths (docs/MATH.md, shown in the app), the keyboard shortcuts, About."""

from __future__ import annotations

import html
import sys

from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..core.paths import numba_cache_dir, resource_path

#: the keys the window answers to (the menus' own shortcuts are read from the menus)
WINDOW_KEYS = (("Space", "start or pause the run"), ("Right", "one update (pauses)"), ("R", "reset the run"))


def math_text() -> str:
    """docs/MATH.md (in a wheel: gaussviz/resources/MATH.md); ValueError if it is missing."""
    return resource_path("MATH.md").read_text(encoding="utf-8")


class MathDialog(QtWidgets.QDialog):
    """docs/MATH.md rendered (Markdown): every formula the code implements, with its contents links."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("gaussviz – the mathematics")
        self.resize(900, 800)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        try:
            self.browser.setMarkdown(math_text())
        except (OSError, ValueError) as e:
            self.browser.setPlainText(f"docs/MATH.md could not be read: {e}")
        find = QtWidgets.QLineEdit()
        find.setPlaceholderText("find (Enter: next)")
        find.returnPressed.connect(lambda: self.find(find.text()))
        self.find_field = find
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(find)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)

    def find(self, text: str) -> bool:
        """Select the next occurrence of ``text`` (from the top again at the end)."""
        if not text:
            return False
        if self.browser.find(text):
            return True
        self.browser.moveCursor(QtGui.QTextCursor.MoveOperation.Start)
        return self.browser.find(text)


def shortcut_rows(window: QtWidgets.QMainWindow) -> list[tuple[str, str]]:
    """(keys, what) for every menu entry with a shortcut, and the window's own keys."""
    rows: list[tuple[str, str]] = []

    def walk(menu: QtWidgets.QMenu, path: str) -> None:
        for a in menu.actions():
            if a.menu() is not None:
                walk(a.menu(), f"{path} › {a.menu().title().replace('&', '')}")
                continue
            text = a.text().replace("&", "")
            keys = a.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
            if not keys and "\t" in text:
                text, keys = text.split("\t", 1)
            if keys:
                rows.append((keys, f"{path} › {text.split(chr(9))[0].rstrip('…')}"))

    for a in window.menuBar().actions():
        if a.menu() is not None:
            walk(a.menu(), a.menu().title().replace("&", ""))
    have = {k for k, _ in rows}
    rows += [(k, what) for k, what in WINDOW_KEYS if k not in have]
    return rows


def shortcuts_html(window: QtWidgets.QMainWindow) -> str:
    body = "".join(f"<tr><td><b>{html.escape(k)}</b>&nbsp;&nbsp;</td><td>{html.escape(w)}</td></tr>"
                   for k, w in shortcut_rows(window))
    return f"<table cellspacing='4'>{body}</table>"


def about_html() -> str:
    import numba
    import numpy
    import pyqtgraph
    from PySide6 import __version__ as pyside_version

    return (
        f"<h3>gaussviz {html.escape(__version__)}</h3>"
        "<p>Watch online maximum-likelihood estimation of a Gaussian converge, crawl or blow up.</p>"
        "<p>MIT licence (the LICENSE file). To cite it: CITATION.cff. The maths: Help › The maths.</p>"
        f"<p>Python {sys.version.split()[0]}, numpy {numpy.__version__}, numba {numba.__version__}, "
        f"PySide6 {pyside_version} (Qt {QtCore.qVersion()}), pyqtgraph {pyqtgraph.__version__}.</p>"
        f"<p>Compiled kernels are cached in {html.escape(str(numba_cache_dir()))} "
        "(delete it to recompile).</p>"
    )


def add_help_menu(window: QtWidgets.QMainWindow) -> QtWidgets.QMenu:
    """Help › The maths (F1), Keyboard shortcuts, About gaussviz."""
    menu = window.menuBar().addMenu("&Help")
    a = menu.addAction("The &maths…")
    a.setShortcut(QtGui.QKeySequence.StandardKey.HelpContents)
    a.triggered.connect(lambda: show_math(window))
    menu.addAction("&Keyboard shortcuts…").triggered.connect(lambda: show_shortcuts(window))
    menu.addSeparator()
    about = menu.addAction("&About gaussviz…")
    about.setMenuRole(QtGui.QAction.MenuRole.AboutRole)
    about.triggered.connect(lambda: QtWidgets.QMessageBox.about(window, "About gaussviz", about_html()))
    return menu


def show_math(window: QtWidgets.QWidget) -> MathDialog:
    dlg = window.findChild(MathDialog)
    if dlg is None:
        dlg = MathDialog(window)
    dlg.show()
    dlg.raise_()
    return dlg


def show_shortcuts(window: QtWidgets.QMainWindow) -> None:
    box = QtWidgets.QMessageBox(window)
    box.setWindowTitle("Keyboard shortcuts")
    box.setTextFormat(QtCore.Qt.TextFormat.RichText)
    box.setText(shortcuts_html(window))
    box.setModal(False)
    box.open()
