"""Issue 10, class 1: no file is written outside the folder the user chose.

A session's ``preset`` (or any text from a file) ends up in the names of Export all's files:
it is reduced to a safe base name. Each row is a preset name a stranger's session may carry;
Export all must write its files inside the chosen folder (and nowhere else), and the
replace question must name that folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6 import QtWidgets

from gaussviz.gui.image_export import PLOT_NAMES

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")
#: Export all: every plot and "plots" (all with the legend) as PNG and SVG, the window, the CSV, the session
N_EXPORT_ALL = 2 * (len(PLOT_NAMES) + 1) + 3

HOSTILE_PRESETS = [
    "../../pwn",
    "../pwn",
    "..",
    ".",
    "{tmp}/elsewhere/pwn",  # an absolute path (kept inside the test's folder: old code wrote there)
    "{tmp}/abs",
    "a/b/c",
    "..\\..\\win",
    "C:\\Windows\\x",
    ".hidden",
    "-rf",
    "~/pwn",
    "$(touch x)",
    "name with spaces",
    "<img src=x>",
    "x" * 100,
    "ünïcödé",
    "a\tb",
    "CON",
    "   ",
]


def _files_outside(root: Path, inside: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and inside not in p.parents]


@pytest.mark.parametrize("preset", HOSTILE_PRESETS)
def test_export_all_writes_only_inside_the_chosen_folder(qtbot, make_window, tmp_path, preset, monkeypatch):
    w = make_window()
    preset = preset.replace("{tmp}", str(tmp_path))
    w.settings.preset = preset  # as a session read from a stranger's file would set it
    root = tmp_path / "root"
    out = root / "a" / "b" / "export"
    out.mkdir(parents=True)
    monkeypatch.chdir(root)
    failures: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a: failures.append(text))
    paths = w.exporter.export_all(out, force=False)
    if not preset.isprintable():  # a reader refuses it; set by hand, Export all says so and writes nothing
        assert paths == [] and len(failures) == 1 and "preset" in failures[0]
        assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
        return
    assert failures == []
    assert len(paths) == N_EXPORT_ALL, w.exporter.last_error
    assert all(p.parent == out for p in paths)
    assert _files_outside(tmp_path, out) == []
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert all(not p.name.startswith((".", "-")) and len(p.name) < 100 for p in paths)


def test_replace_question_names_the_chosen_folder(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window()
    w.settings.preset = "../../pwn"
    out = tmp_path / "deep" / "export"
    out.mkdir(parents=True)
    assert len(w.exporter.export_all(out, force=False)) == N_EXPORT_ALL
    asked: list[str] = []

    def question(parent, title, text, *a):
        asked.append(text)
        return QtWidgets.QMessageBox.StandardButton.No

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", question)
    assert w.exporter.export_all(out) == []
    assert len(asked) == 1 and f"exist in {out} " in asked[0]
    assert not (tmp_path / "pwn_0_session.json").exists()


@pytest.mark.parametrize("preset", ["../../x", "{tmp}/y", ".z", ""])
def test_single_file_dialogs_offer_safe_names(qtbot, make_window, tmp_path, monkeypatch, preset):
    w = make_window()
    w.settings.preset = preset.replace("{tmp}", str(tmp_path))
    offered: list[str] = []

    def dialog(parent, title, start, filt):
        offered.append(start)
        return "", ""

    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", dialog)
    w.exporter.folder = tmp_path
    w.exporter._save_csv_dialog()
    w.exporter._export_window_dialog()
    for start in offered:
        assert Path(start).parent == tmp_path and not Path(start).name.startswith(".")
        assert os.sep not in Path(start).name


def test_render_file_names_are_fixed(tmp_path):
    from gaussviz.cli import main
    from gaussviz.core.presets import get_preset
    from gaussviz.core.session import save_session

    s = get_preset("seed-question")
    s.preset = "../../../escape"
    sess = tmp_path / "s.json"
    save_session(sess, s, 10)
    out = tmp_path / "out"
    assert main(["render", "--session", str(sess), "--out", str(out), "--format", "svg", "--steps", "10"]) == 0
    assert _files_outside(tmp_path, out) == [sess]
    assert sorted(p.name for p in out.iterdir())[0] == "cloud.svg"


#: (text from a file, the base name made of it)
SAFE_NAMES = [
    ("../../pwn", "pwn"), ("..", "custom"), (".", "custom"), ("", "custom"), ("   ", "custom"),
    ("/etc/cron.d/pwn", "etc_cron.d_pwn"), ("a/b/c", "a_b_c"), ("..\\..\\win", "win"), (".hidden", "hidden"),
    ("-rf", "rf"), ("~/pwn", "pwn"), ("$(touch x)", "touch_x"), ("name with spaces", "name_with_spaces"),
    ("<img src=x>", "img_src_x"), ("x" * 100, "x" * 64), ("ünïcödé", "n_c_d"), ("a\tb", "a_b"), ("CON", "CON_"),
    ("nul.txt", "nul.txt_"), ("seed-question", "seed-question"), ("a..b", "a..b"), (None, "custom"), (5, "custom"),
]


@pytest.mark.parametrize("text,name", SAFE_NAMES)
def test_safe_name(text, name):
    from gaussviz.core.fileio import check_base_name, safe_name

    assert safe_name(text) == name
    assert check_base_name(name) == name
