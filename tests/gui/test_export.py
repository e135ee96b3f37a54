"""Exports from the window: open every file written and check what is in it."""

from __future__ import annotations

import errno
import json
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6 import QtGui, QtWidgets

from gaussviz.core.fileio import WriteError
from gaussviz.core.history_csv import read_history_csv
from gaussviz.core.session import SESSION_KEY, from_json, read_session, replay
from gaussviz.core.settings import to_dict
from gaussviz.gui import export_menu, style
from gaussviz.gui import image_export as ex

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")
SVG = "{http://www.w3.org/2000/svg}"


def run_paused(qtbot, w, steps: int) -> None:
    """Apply exactly ``steps`` updates and wait until the window shows them."""
    w.worker.send("step", steps)
    qtbot.waitUntil(lambda: w.shown_snapshot.step == steps and not w.is_running(), timeout=WAIT_MS)


def distinct_colours(img: QtGui.QImage) -> int:
    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), dtype=np.uint32, count=img.width() * img.height())
    return int(np.unique(a[:: max(1, a.size // 200_000)]).size)


def no_warnings(monkeypatch) -> list[str]:
    msgs: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: msgs.append(a[2]))
    return msgs


def test_export_all_writes_every_file_with_its_content(qtbot, make_window, tmp_path, monkeypatch):
    msgs = no_warnings(monkeypatch)
    w = make_window("ill-conditioned-natural", show=True)
    run_paused(qtbot, w, 3000)
    snap = w.shown_snapshot
    w.exporter.width = 1200
    paths = w.exporter.export_all(tmp_path)
    assert msgs == [] and w.exporter.last_error == ""
    prefix = "ill-conditioned-natural_3000_"
    names = sorted(p.name for p in paths)
    assert names == sorted(prefix + n for n in ex.file_names(window=True))
    session = from_json((tmp_path / f"{prefix}session.json").read_text())
    assert session.steps == 3000
    assert to_dict(session) | {"steps": 0} == to_dict(w.settings) | {"steps": 0}
    for name in (*ex.PLOT_NAMES, ex.ALL_PLOTS):
        img = QtGui.QImage(str(tmp_path / f"{prefix}{name}.png"))
        assert img.width() == 1200 and img.height() > 300, name
        assert distinct_colours(img) > 20, name  # axes, text, curves: not blank
        meta = from_json(img.text(SESSION_KEY))
        assert to_dict(meta) == to_dict(session), name
        root = ET.parse(tmp_path / f"{prefix}{name}.svg").getroot()
        assert root.tag == f"{SVG}svg"
        shapes = [e for e in root.iter() if e.tag in (f"{SVG}path", f"{SVG}polyline", f"{SVG}polygon")]
        assert len(shapes) > 5, name  # curves, grid and frame
        # the rule's own colour (natural's), the same as on screen
        assert style.rule_color("natural").lower() in (tmp_path / f"{prefix}{name}.svg").read_text().lower(), name
        texts = "".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
        assert "step" in texts or name in ("cloud", "spectrum", "pspace"), name
        meta_el = [m for m in root.iter(f"{SVG}metadata") if m.get("id") == SESSION_KEY]
        assert to_dict(from_json(meta_el[0].text)) == to_dict(session)
    win = QtGui.QImage(str(tmp_path / f"{prefix}window.png"))
    assert (win.width(), win.height()) == (w.width(), w.height())
    assert distinct_colours(win) > 50
    # the CSV: columns and the last row equal to the snapshot's chain
    t = read_history_csv(tmp_path / f"{prefix}history.csv")
    assert t.columns[:4] == ("chain", "label", "step", "alpha_t") and t.columns[-1] == "status"
    last = t.rows_of(0)[-1]
    c = snap.chain
    assert t.step[last] == 3000 == snap.step
    np.testing.assert_array_equal(t.mean[last], c.mean)
    np.testing.assert_array_equal(t.cov[last], c.cov)
    assert t.kl[last] == c.kl and t.status[last] == "ok"


def test_session_reopened_and_replayed_gives_the_same_numbers(qtbot, make_window, tmp_path, monkeypatch):
    no_warnings(monkeypatch)
    w = make_window("seed-question")
    run_paused(qtbot, w, 5000)
    snap = w.shown_snapshot
    path = tmp_path / "s.json"
    assert w.save_session(path)
    again = replay(from_json(path.read_text()))
    c, r = snap.chain, again.snapshot().chain
    assert again.step == 5000
    np.testing.assert_allclose(r.mean, c.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(r.cov, c.cov, rtol=0, atol=1e-12)
    # File > Open session in a second window, run to the same count: the same numbers
    w2 = make_window("ill-conditioned-covariance")
    assert w2.open_session(path)
    qtbot.waitUntil(lambda: w2.shown_snapshot.chain.settings["parameterization"] == "covariance"
                    and w2.settings.preset == "seed-question" and w2.shown_snapshot.step == 0, timeout=WAIT_MS)
    run_paused(qtbot, w2, 5000)
    c2 = w2.shown_snapshot.chain
    np.testing.assert_allclose(c2.mean, c.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c2.cov, c.cov, rtol=0, atol=1e-12)
    # a PNG's metadata opens as a session too
    png = tmp_path / "mean.png"
    assert w.exporter.export_plot("mean", png, width=800)
    assert QtGui.QImage(str(png)).width() == 800
    assert to_dict(read_session(png)) == to_dict(from_json(path.read_text()))


def test_existing_files_are_not_replaced_unless_the_user_says_so(qtbot, make_window, tmp_path, monkeypatch):
    no_warnings(monkeypatch)
    w = make_window()
    run_paused(qtbot, w, 100)
    first = w.exporter.export_all(tmp_path)
    assert first
    csv = first[[p.name for p in first].index("seed-question_100_history.csv")]
    csv.write_text("mine")
    asked: list[str] = []

    def answer(button):
        return lambda *a, **k: (asked.append(a[2]), button)[1]

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer(QtWidgets.QMessageBox.StandardButton.No))
    assert w.exporter.export_all() == []  # the folder is remembered; one question for the set
    assert len(asked) == 1 and "already exist" in asked[0] and csv.read_text() == "mine"
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer(QtWidgets.QMessageBox.StandardButton.Yes))
    assert len(w.exporter.export_all()) == len(first)
    assert csv.read_text().startswith("chain,label,step")
    # single files: no overwrite without force
    msgs = no_warnings(monkeypatch)
    assert not w.exporter.save_csv(csv)
    assert "already exists" in msgs[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_failed_export_shows_a_message_and_the_run_goes_on(qtbot, make_window, tmp_path, monkeypatch):
    msgs = no_warnings(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        w = make_window("ill-conditioned-natural", running=True, speed=20_000)
        qtbot.waitUntil(lambda: w.shown_snapshot.step > 0, timeout=WAIT_MS)
        assert w.exporter.export_all(ro) == []
        assert "permission denied" in msgs[0] and "The run goes on" in msgs[0]
        assert "failed" in w.statusBar().currentMessage()
        before = w.shown_snapshot.step
        qtbot.waitUntil(lambda: w.shown_snapshot.step > before, timeout=WAIT_MS)
        assert w.worker.is_alive() and w.is_running()
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_failed_export_into_a_file_path_runs_on(qtbot, make_window, tmp_path, monkeypatch):
    """Works as root too: a folder path that is a file cannot be written by anyone."""
    msgs = no_warnings(monkeypatch)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    w = make_window("ill-conditioned-natural", running=True, speed=20_000)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > 0, timeout=WAIT_MS)
    assert w.exporter.export_all(blocker) == []
    assert "it is a file, not a folder" in msgs[0]
    assert not w.exporter.export_plot("kl", blocker / "kl.png")
    assert not w.exporter.save_csv(blocker / "h.csv")
    assert len(msgs) == 3

    def full(path, data, force=False):
        raise WriteError(f"cannot write {path}: the disk is full", errno.ENOSPC)
    monkeypatch.setattr(export_menu, "atomic_write_bytes", full)
    assert not w.exporter.export_plot("kl", tmp_path / "kl.png")
    assert "the disk is full" in msgs[3] and not (tmp_path / "kl.png").exists()
    before = w.shown_snapshot.step
    qtbot.waitUntil(lambda: w.shown_snapshot.step > before, timeout=WAIT_MS)
    assert w.is_running()


def test_png_width_is_exact_and_lines_scale(qtbot, make_window):
    w = make_window("ill-conditioned-natural", show=True)
    run_paused(qtbot, w, 2000)
    small = QtGui.QImage.fromData(ex.plot_png(w.plots, "kl", 400))
    big = QtGui.QImage.fromData(ex.plot_png(w.plots, "kl", 1600))
    assert small.width() == 400 and big.width() == 1600
    assert big.height() == pytest.approx(4 * small.height(), abs=4)

    # the chain's curve colour covers ~16x the pixels at 4x the width (pens scale too, not hairlines)
    def count(img: QtGui.QImage) -> int:
        img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
        a = np.frombuffer(img.constBits(), dtype=np.uint32, count=img.width() * img.height())
        return int(np.sum(a == QtGui.QColor(style.rule_color("natural")).rgb()))
    ratio = count(big) / max(1, count(small))
    assert 8 < ratio < 32, ratio
    with pytest.raises(ValueError, match="PNG width"):
        ex.plot_png(w.plots, "kl", 50)
    with pytest.raises(ValueError, match="no plot named"):
        ex.plot_png(w.plots, "nope", 800)
    assert json.loads(QtGui.QImage.fromData(ex.encode_png(big, "{}")).text(SESSION_KEY)) == {}
