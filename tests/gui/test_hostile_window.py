"""Issue 10 in the window.

Class 2: a stranger's session (File > Open session) gets a message box naming the file and
the key; the previous settings and run are intact and the app keeps running.
Class 6: text that came from a file or a user is shown as typed, never as HTML: labels in
plain text, message boxes and tooltips escaped, legend labels escaped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from gaussviz.core.presets import get_preset
from gaussviz.core.runloop import RunLoop
from gaussviz.core.settings import build_estimator, build_source, to_dict
from gaussviz.gui.window import MainWindow

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")

PRE_STEPS = 300
PLAIN = QtCore.Qt.TextFormat.PlainText


@pytest.fixture
def window(qtbot):
    made: list[MainWindow] = []

    def make(preset: str = "ill-conditioned-natural") -> MainWindow:
        s = get_preset(preset)
        s.speed = 0.0  # flat out (a preset's own pace would take seconds to reach the counts below)
        w = MainWindow(s, running=False)
        qtbot.addWidget(w)
        made.append(w)
        w.worker.send("step", PRE_STEPS)
        qtbot.waitUntil(lambda: w.shown_snapshot is not None and w.shown_snapshot.step == PRE_STEPS,
                        timeout=WAIT_MS)
        return w

    yield make
    for w in made:
        w.shutdown()
        assert not w.worker.is_alive()


def shown_text(text: str) -> str:
    """What a widget that guesses HTML (a message box, a tooltip, an AutoText label) shows."""
    doc = QtGui.QTextDocument()
    if QtGui.Qt.mightBeRichText(text):
        doc.setHtml(text)
    else:
        doc.setPlainText(text)
    return doc.toPlainText()


def label_shows(label: QtWidgets.QLabel) -> str:
    fmt = label.textFormat()
    if fmt == PLAIN:
        return label.text()
    doc = QtGui.QTextDocument()
    if fmt == QtCore.Qt.TextFormat.RichText or QtGui.Qt.mightBeRichText(label.text()):
        doc.setHtml(label.text())
    else:
        doc.setPlainText(label.text())
    return doc.toPlainText()


# ------------------------------------------------------------------ class 2
GOOD = to_dict(get_preset("ill-conditioned-log-cholesky"))


def _with(**kv) -> bytes:
    d = json.loads(json.dumps(GOOD))
    for path, v in kv.items():
        node = d
        *head, last = path.split("__")
        for h in head:
            node = node[h]
        node[last] = v
    return json.dumps(d).encode()


def _timeline(field, value, step=50) -> bytes:
    d = json.loads(json.dumps(GOOD))
    d["changes"] = [{"step": step, "chain": 0, "field": field, "value": value}]
    d["steps"] = 100
    return json.dumps(d).encode()


HOSTILE = [
    ("int-1000-digits", json.dumps(GOOD).replace('"seed": 1', '"seed": ' + "9" * 1000).encode(), "seed"),
    ("nested-1e5", b"[" * 100_000 + b"]" * 100_000, "nested"),
    ("columns-nested", json.dumps(to_dict(get_preset("old-faithful"))).replace(
        '"standardize": true', '"standardize": true, "columns": [[1]]').encode(), "columns"),
    ("live-batch-1e12", _timeline("batch_size", 1e12), "batch_size"),
    ("live-alpha-5", _timeline("alpha", 5.0), "alpha"),
    ("live-parameterization-bad", _timeline("parameterization", "polar"), "parameterization"),
    ("preset-object", _with(preset={"x": 1}), "preset"),
    ("speed-1e300", _with(speed=1e300), "speed"),
    ("html-in-kind", _with(target__kind="<b>bold</b><img src=x onerror=alert(1)>"), "target kind"),
    ("fifo", "fifo", "not a regular file"),
    ("dev-zero", "/dev/zero", "not a regular file"),
]


@pytest.mark.parametrize(("content", "why"), [(c, w) for _, c, w in HOSTILE], ids=[n for n, _, _ in HOSTILE])
def test_hostile_session_in_the_window(qtbot, window, tmp_path, monkeypatch, content, why):
    w = window()
    before = (to_dict(w.settings), w.shown_snapshot.step, w.shown_snapshot.chain.mean.copy())
    if content == "fifo":
        path = tmp_path / "pipe.json"
        os.mkfifo(path)
    elif content == "/dev/zero":
        path = Path("/dev/zero")
    else:
        path = tmp_path / "<b>x<i>.json"  # a file name with tags in it
        path.write_bytes(content)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a: shown.append((title, text)))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    next(a for a in w.file_menu.actions() if a.text().replace("&", "").startswith("Open session")).trigger()
    assert len(shown) == 1
    title, text = shown[0]
    seen = shown_text(text)
    assert title == "Cannot open session" and seen.startswith(f"{path}:\n") and why in seen, seen[:300]
    assert seen.count("\n") == 1 and len(seen) < 1200
    assert to_dict(w.settings) == before[0]
    w.redraw(complete=True)
    assert w.shown_snapshot.step == before[1]
    np.testing.assert_array_equal(w.shown_snapshot.chain.mean, before[2])
    assert w.worker.is_alive()
    w.set_running(True)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > PRE_STEPS + 1000, timeout=WAIT_MS)


# ------------------------------------------------------------------ class 6
HTML = "<img src=x onerror=alert(1)>"
HEADERS = [HTML, "<b>bold</b>", "<a href='file:///etc/passwd'>link</a>", "&lt;b&gt;", "<h1>big</h1>",
           "<table><tr><td>t</td></tr></table>"]


@pytest.mark.parametrize("name", HEADERS)
def test_csv_header_is_shown_as_typed(qtbot, window, tmp_path, name):
    w = window()
    path = tmp_path / "data.csv"
    lines = [f"{name},y"] + [f"{i},{(i * 7) % 11}" for i in range(30)] + [f"{name},1"]
    path.write_text("\n".join(lines) + "\n")
    view = w.panel.target_kind
    assert view.set_csv_file(str(path)), view.error_text()
    assert view.problems.textFormat() == PLAIN
    shown = label_shows(view.problems)
    assert name in shown and "skipped 1 line(s)" in shown
    assert name in shown_text(view.problems.toolTip())
    assert view.columns.item(0).text() == name


@pytest.mark.parametrize("name", HEADERS[:3])
def test_error_labels_are_plain_text(qtbot, window, tmp_path, name):
    w = window()
    path = tmp_path / "data.csv"
    path.write_text(f"{name},y\n1,1\n1,2\n1,3\n")  # a constant column named by the file
    view = w.panel.target_kind
    assert not view.set_csv_file(str(path))
    assert view.error.textFormat() == PLAIN and name in label_shows(view.error)
    w.panel.show_message(f"bad value {name}")
    assert w.panel.message.textFormat() == PLAIN and name in label_shows(w.panel.message)
    assert w.banner.textFormat() == PLAIN
    assert w.stability.status.textFormat() == PLAIN
    w.stability._say(f"the sweep failed: {name}", error=True)
    assert name in label_shows(w.stability.status)
    c = w.panel.compare
    assert c.error.textFormat() == PLAIN and c.note.textFormat() == PLAIN


def test_export_failure_box_shows_the_path_as_typed(qtbot, window, tmp_path, monkeypatch):
    w = window()
    shown: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a: shown.append(text))
    bad = tmp_path / "<b>no</b>" / "x.png"  # its folder does not exist
    assert not w.exporter.export_plot("cloud", bad, "png")
    assert len(shown) == 1 and str(bad) in shown_text(shown[0])


def test_legend_labels_are_escaped(qtbot, window):
    w = window()
    s = get_preset("seed-question")
    run = RunLoop(build_source(s.target), build_estimator(s), labels=[HTML])
    run.advance(10)
    w.plots.show_snapshot(run.snapshot())
    labels = [label for _, label in w.plots.legend.items]
    assert labels[0].item.toPlainText() == HTML
    assert w.plots.legend_names() == [HTML]
