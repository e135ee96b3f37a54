"""The window's File > Export menu, Ctrl+E and Save session/CSV: dialogs and messages around
``image_export`` (which builds the files) and ``core.fileio`` (which writes them atomically)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from ..core.fileio import OverwriteError, atomic_write_bytes
from ..core.session import shown_session_text
from ..core.snapshot import Snapshot
from . import prefs, style
from .image_export import (
    ALL_PLOTS,
    DEFAULT_WIDTH,
    FORMATS,
    MAX_WIDTH,
    MIN_WIDTH,
    PLOT_NAMES,
    build_files,
    check_formats,
    check_width,
    existing,
    file_prefix,
    plot_png,
    plot_svg,
    widget_png,
    write_files,
)
from .widgets import ask, warn


class WindowExporter(QtCore.QObject):
    """The window's export actions: the File > Export menu, Ctrl+E, and their messages.

    Every failure becomes a message box (and a status bar line); the worker is
    never touched, so the run goes on.
    """

    def __init__(self, window: QtWidgets.QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        #: the PNG width and the export folder are remembered between launches (gui/prefs.py)
        self.width = prefs.get_int(prefs.PNG_WIDTH, DEFAULT_WIDTH, MIN_WIDTH, MAX_WIDTH)
        #: export-all's folder: asked the first time, then kept (and remembered)
        remembered = prefs.get_folder(prefs.FOLDER_EXPORT)
        self.folder: Path | None = Path(remembered) if remembered else None
        #: exports are drawn light (paper, slides) unless the user asks for the window's colours
        self.dark_exports = prefs.get_choice(prefs.EXPORT_COLORS, "light", ("light", "window")) == "window"
        self.last_written: list[Path] = []
        self.last_error = ""

    # ----------------------------------------------------------- menu
    def add_actions(self, menu: QtWidgets.QMenu, before: QtGui.QAction | None = None) -> None:
        """Export entries (and Save history CSV) into ``menu``, above ``before``."""
        w = self.window
        sub = QtWidgets.QMenu("&Export", menu)
        self.export_all_action = QtGui.QAction("Export &all to folder…", w)
        self.export_all_action.setShortcut(QtGui.QKeySequence("Ctrl+E"))
        self.export_all_action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        self.export_all_action.triggered.connect(lambda: self.export_all())
        sub.addAction(self.export_all_action)
        sub.addAction("Choose export &folder…").triggered.connect(lambda: self.choose_folder())
        self.width_action = sub.addAction("")
        self.width_action.triggered.connect(self._ask_width)
        self._show_width()
        self.colors_action = sub.addAction("Plots in the window's colours (else light)")
        self.colors_action.setCheckable(True)
        self.colors_action.setChecked(self.dark_exports)
        self.colors_action.toggled.connect(self.set_dark_exports)
        sub.addSeparator()
        titles = {"cloud": "Samples", "mean": "Mean", "covariance": "Covariance eigenvalues",
                  "spectrum": "Spectrum", "kl": "KL", "pspace": "Parameter-space", ALL_PLOTS: "All plots"}
        for name in (*PLOT_NAMES, ALL_PLOTS):
            for fmt in FORMATS:
                a = sub.addAction(f"{titles[name]} plot as {fmt.upper()}…")
                a.triggered.connect(lambda _=False, n=name, f=fmt: self._export_plot_dialog(n, f))
        sub.addAction("Whole &window as PNG…").triggered.connect(self._export_window_dialog)
        self.menu = sub
        if before is not None:
            menu.insertMenu(before, sub)
            self.csv_action = QtGui.QAction("Save &history CSV…", w)
            menu.insertAction(before, self.csv_action)
        else:
            menu.addMenu(sub)
            self.csv_action = menu.addAction("Save &history CSV…")
        self.csv_action.triggered.connect(self._save_csv_dialog)
        w.addAction(self.export_all_action)  # Ctrl+E works while the menu is closed

    def _show_width(self) -> None:
        self.width_action.setText(f"PNG &width: {self.width} px…")

    def _ask_width(self) -> None:
        v, ok = QtWidgets.QInputDialog.getInt(self.window, "PNG width", "Width of exported PNG plots (pixels):",
                                              self.width, MIN_WIDTH, MAX_WIDTH, 100)
        if ok:
            self.set_width(int(v))

    def set_width(self, width: int) -> None:
        """The PNG export width (pixels; ValueError outside the limits), remembered."""
        self.width = check_width(width)
        prefs.set_value(prefs.PNG_WIDTH, self.width)
        self._show_width()

    def set_dark_exports(self, on: bool) -> None:
        """Export plots in the window's colours (True) or light (False, the default), remembered."""
        self.dark_exports = bool(on)
        prefs.set_value(prefs.EXPORT_COLORS, "window" if on else "light")
        if self.colors_action.isChecked() != self.dark_exports:
            self.colors_action.setChecked(self.dark_exports)

    @contextlib.contextmanager
    def _export_colors(self):
        """The plots drawn light while an export is built (unless asked otherwise), then as they were."""
        plots = self.window.plots
        shown = plots.theme
        if not self.dark_exports:
            plots.apply_theme(style.LIGHT)
        try:
            yield
        finally:
            plots.apply_theme(shown)

    # ------------------------------------------------------------ state
    def _snapshot(self) -> Snapshot:
        snap = self.window.shown_snapshot
        if snap is None:
            raise ValueError("nothing to export yet: the run has not drawn its first frame")
        return snap

    def _session(self) -> str:
        return shown_session_text(self.window.settings, self._snapshot())

    def _fail(self, what: str, e: Exception) -> None:
        msg = str(e) or type(e).__name__
        self.last_error = msg
        self.window.statusBar().showMessage(f"{what} failed: {msg}", 10_000)
        warn(self.window, f"{what} failed", f"{msg}\n\nThe run goes on.")

    def _done(self, paths: list[Path]) -> None:
        self.last_written = paths
        self.last_error = ""
        if len(paths) == 1:
            text = f"wrote {paths[0]}"
        else:
            text = f"wrote {len(paths)} files to {paths[0].parent}" if paths else "nothing written"
        self.window.statusBar().showMessage(text, 8000)

    # ------------------------------------------------------ single files
    def _save_dialog(self, title: str, name: str, filt: str) -> str:
        start = str((self.folder or Path.cwd()) / name)
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, start, filt)
        return path

    def _export_plot_dialog(self, name: str, fmt: str) -> None:
        snap = self.window.shown_snapshot
        default = f"{file_prefix(self.window.settings, snap)}{name}.{fmt}"
        path = self._save_dialog(f"Export {name} plot", default, f"{fmt.upper()} image (*.{fmt})")
        if path:  # the dialog asked before replacing an existing file
            self.export_plot(name, path, fmt, force=True)

    def export_plot(self, name: str, path: str | os.PathLike, fmt: str | None = None,
                    width: int | None = None, force: bool = False) -> bool:
        """One plot (or ``"plots"``: all of them) as PNG or SVG; a message box on failure."""
        try:
            fmt = fmt or Path(path).suffix.lstrip(".").lower()
            check_formats([fmt])
            session = self._session()
            plots = self.window.plots
            with self._export_colors():
                data = (plot_png(plots, name, self.width if width is None else width, session) if fmt == "png"
                        else plot_svg(plots, name, session))
            self._done([atomic_write_bytes(path, data, force=force)])
            return True
        except (OSError, ValueError) as e:
            self._fail("Export", e)
            return False

    def _export_window_dialog(self) -> None:
        default = f"{file_prefix(self.window.settings, self.window.shown_snapshot)}window.png"
        path = self._save_dialog("Export window", default, "PNG image (*.png)")
        if path:
            self.export_window(path, force=True)

    def export_window(self, path: str | os.PathLike, force: bool = False) -> bool:
        try:
            with self._export_colors():
                data = widget_png(self.window, self._session())
            self._done([atomic_write_bytes(path, data, force=force)])
            return True
        except (OSError, ValueError) as e:
            self._fail("Export", e)
            return False

    def _save_csv_dialog(self) -> None:
        default = f"{file_prefix(self.window.settings, self.window.shown_snapshot)}history.csv"
        path = self._save_dialog("Save history CSV", default, "CSV (*.csv)")
        if path:
            self.save_csv(path, force=True)

    def save_csv(self, path: str | os.PathLike, force: bool = False) -> bool:
        """The shown snapshot's history as CSV (``core.export`` layout)."""
        try:
            from ..core.history_csv import history_csv

            data = history_csv(self._snapshot()).encode("utf-8")
            self._done([atomic_write_bytes(path, data, force=force)])
            return True
        except (OSError, ValueError) as e:
            self._fail("Save history CSV", e)
            return False

    def save_session(self, path: str | os.PathLike, force: bool = True) -> bool:
        """The settings and the updates shown (the save dialog already asked about replacing)."""
        try:
            snap = self.window.shown_snapshot
            data = shown_session_text(self.window.settings, snap).encode("utf-8")
            self._done([atomic_write_bytes(path, data, force=force)])
            return True
        except (OSError, ValueError) as e:
            self._fail("Save session", e)
            return False

    # -------------------------------------------------------- export all
    def choose_folder(self) -> Path | None:
        start = str(self.folder or Path.cwd())
        path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Export folder", start)
        if path:
            self.folder = Path(path)
            prefs.remember_folder(prefs.FOLDER_EXPORT, self.folder)
        return self.folder if path else None

    def export_all(self, folder: str | os.PathLike | None = None, force: bool | None = None) -> list[Path]:
        """Every plot as PNG and SVG, the window, the CSV and the session into the export folder.

        The folder is asked for once and kept. If files of the same names exist,
        one question covers them all (``force`` answers it in advance).
        """
        if folder is not None:
            self.folder = Path(folder)
            if self.folder.is_dir():
                prefs.remember_folder(prefs.FOLDER_EXPORT, self.folder)
        if self.folder is None and self.choose_folder() is None:
            return []
        try:
            snap = self._snapshot()
            w = self.window
            with self._export_colors():
                files = build_files(w.plots, snap, w.settings, FORMATS, self.width, window=w,
                                    prefix=file_prefix(w.settings, snap))
            there = existing(self.folder, [f.name for f in files])
            if there and force is None:
                answer = ask(
                    w, "Replace files?",
                    f"{len(there)} of the {len(files)} files already exist in {self.folder} "
                    f"(e.g. {there[0].name}). Replace them?",
                    QtWidgets.QMessageBox.StandardButton.Yes | QtWidgets.QMessageBox.StandardButton.No,
                    QtWidgets.QMessageBox.StandardButton.No)
                force = answer == QtWidgets.QMessageBox.StandardButton.Yes
                if not force:
                    return []
            paths = write_files(self.folder, files, force=bool(force))
        except OverwriteError as e:
            self._fail("Export all", e)
            return []
        except (OSError, ValueError) as e:
            self._fail("Export all", e)
            return []
        self._done(paths)
        return paths


__all__ = ["WindowExporter"]
