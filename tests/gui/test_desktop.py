"""The conventions of a desktop app (issue 13): what the window remembers (QSettings, in a folder of
the test's own: tests/gui/conftest.py ``own_settings``), File > Open Recent, the Help menu, the
system's colour scheme in the plots, light exports."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from gaussviz.core.presets import get_preset
from gaussviz.core.session import read_session, save_session
from gaussviz.gui import help as gui_help
from gaussviz.gui import prefs, style

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints|does not support raise")


def _mean_gray(img: QtGui.QImage) -> float:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    px = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return float(px[: img.height(), : img.width(), :3].mean())


def test_the_settings_file_is_the_tests_own(own_settings):
    path = prefs.store().fileName()
    assert path.startswith(str(own_settings)), path
    assert prefs.recent_files() == [] and prefs.get_int(prefs.PNG_WIDTH, 1600, 200, 8000) == 1600


def test_geometry_splitter_and_tab_are_remembered(make_window, qtbot):
    w = make_window(show=True)
    w.tabs.setCurrentIndex(1)
    w.set_controls_visible(True, by_user=True)
    w.resize(900, 620)
    qtbot.wait(100)
    w.splitter.setSizes([330, 570])
    qtbot.wait(100)
    sizes, size = w.splitter.sizes(), (w.width(), w.height())  # (the window's minimum width may win)
    w.close()
    assert prefs.get_int(prefs.TAB, 0, 0, 5) == 1
    w2 = make_window(show=True)
    # restoreGeometry keeps a window on its screen: the offscreen screen is 800 px wide
    screen = w2.screen().availableGeometry().width()
    qtbot.waitUntil(lambda: w2.height() == size[1] and (w2.width() == size[0] or w2.width() >= screen - 10),
                    timeout=5_000)
    assert w2.tabs.currentIndex() == 1
    assert w2.controls_visible()  # opened by hand: open again, though the window is narrow
    qtbot.waitUntil(lambda: abs(w2.splitter.sizes()[0] - sizes[0]) <= 2, timeout=5_000)


def test_a_remembered_splitter_wider_than_the_panel_leaves_no_blank_strip(make_window, qtbot):
    """A splitter state saved with the controls' side wider than the panel may be (another version,
    another font) gave the panel its maximum and left the rest of that side blank."""
    from PySide6 import QtWidgets

    old = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
    old.addWidget(QtWidgets.QWidget())
    old.addWidget(QtWidgets.QWidget())
    old.resize(1600, 900)
    old.setSizes([900, 700])
    prefs.set_value(prefs.SPLITTER, old.saveState())
    w = make_window(show=True)
    w.resize(1600, 1000)
    qtbot.wait(100)
    panel, plots = w.splitter.widget(0), w.splitter.widget(1)
    assert panel.isVisible()
    gap = plots.geometry().left() - panel.geometry().right()
    assert gap <= w.splitter.handleWidth() + 2, (panel.geometry(), plots.geometry())
    assert w.splitter.sizes()[0] <= panel.maximumWidth()


def test_damaged_settings_give_the_defaults(make_window):
    s = prefs.store()
    s.setValue(prefs.GEOMETRY, "garbage")
    s.setValue(prefs.TAB, 99)
    s.setValue(prefs.PNG_WIDTH, "wide")
    s.setValue(prefs.SCHEME, "purple")
    s.setValue(prefs.RECENT, 42)
    s.sync()
    w = make_window()
    assert w.tabs.currentIndex() == 0 and w.exporter.width == 1600 and w.color_scheme == "system"
    assert prefs.recent_files() == []


def test_open_recent_lists_sessions_opened_and_saved(make_window, tmp_path, qtbot):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_session(a, get_preset("ill-conditioned-natural"))
    save_session(b, get_preset("start-too-large"))
    w = make_window()
    assert w.open_session(a)
    assert w.save_session(tmp_path / "saved.json")
    assert w.open_session(b)
    assert prefs.recent_files() == [str(b), str(tmp_path / "saved.json"), str(a)]
    w._fill_recent_menu()
    names = [x.text() for x in w.recent_menu.actions() if x.text()]
    assert names[:3] == ["&1 b.json", "&2 saved.json", "&3 a.json"]
    a.unlink()  # a file that went away leaves the list
    assert str(a) not in prefs.recent_files()
    w._fill_recent_menu()
    w.open_session(b)
    w.recent_menu.actions()[1].trigger()  # "saved.json"
    saved = read_session(tmp_path / "saved.json")
    assert (w.settings.preset, w.settings.target.dim) == (saved.preset, saved.target.dim) != ("start-too-large", 1)
    assert prefs.get_folder(prefs.FOLDER_SESSIONS) == str(tmp_path)
    next(x for x in w.recent_menu.actions() if x.text() == "&Clear list").trigger()
    assert prefs.recent_files() == []


def test_png_width_and_export_folder_are_remembered(make_window, tmp_path):
    w = make_window()
    w.exporter.set_width(1234)
    with pytest.raises(ValueError):
        w.exporter.set_width(5)
    w.exporter.export_all(tmp_path, force=True)
    w2 = make_window()
    assert w2.exporter.width == 1234 and w2.exporter.folder == tmp_path


def test_dark_scheme_darkens_the_plots_and_exports_stay_light(make_window, tmp_path, qtbot):
    w = make_window("ill-conditioned-natural", show=True)
    qtbot.waitUntil(lambda: w.frames_drawn > 0, timeout=10_000)
    light = _mean_gray(w.plots.grab().toImage())
    w.set_color_scheme("dark")
    try:
        assert w.plots.theme is style.DARK and prefs.get_choice(prefs.SCHEME, "", style.SCHEMES) == "dark"
        w.redraw(complete=True)
        dark = _mean_gray(w.plots.grab().toImage())
        assert dark < 100 < 200 < light, (dark, light)
        out = tmp_path / "kl.png"
        assert w.exporter.export_plot("kl", out, force=True)
        assert _mean_gray(QtGui.QImage(str(out))) > 200  # light, as exports are unless asked
        assert w.plots.theme is style.DARK  # and the window is dark again
        w.exporter.set_dark_exports(True)
        assert w.exporter.export_plot("kl", out, force=True)
        assert _mean_gray(QtGui.QImage(str(out))) < 100
        w2 = make_window()  # remembered
        assert w2.color_scheme == "dark" and w2.plots.theme is style.DARK and w2.exporter.dark_exports
    finally:
        w.set_color_scheme("system")
    assert w.plots.theme is style.theme_for("system")


def test_system_scheme_is_qts_color_scheme(make_window, monkeypatch):
    w = make_window()
    monkeypatch.setattr(style, "system_is_dark", lambda: True)
    w._apply_color_scheme()
    assert w.plots.theme is style.DARK
    monkeypatch.setattr(style, "system_is_dark", lambda: False)
    QtGui.QGuiApplication.styleHints().colorSchemeChanged.emit(QtCore.Qt.ColorScheme.Light)
    assert w.plots.theme is style.LIGHT


def test_help_menu_has_the_maths_the_shortcuts_and_about(make_window):
    w = make_window()
    titles = [a.text() for a in w.help_menu.actions() if a.text()]
    assert titles == ["The &maths…", "&Keyboard shortcuts…", "&About gaussviz…"]
    dlg = gui_help.show_math(w)
    text = dlg.browser.toPlainText()
    assert text.startswith("The mathematics of gaussviz") and "Marchenko" in text
    assert dlg.find("linearized")
    dlg.close()
    rows = dict(gui_help.shortcut_rows(w))
    assert rows["Space"] == "Run › Start / Pause" and rows["R"] == "Run › Reset" and "Open session" in rows["Ctrl+O"]
    assert "The maths" in rows["F1"] and "Export all" in rows["Ctrl+E"]
    about = gui_help.about_html()
    assert "gaussviz 0.1.0" in about and "MIT" in about and "numba" in about
