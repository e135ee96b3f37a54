"""Every bad input a user can type or load in the window, table-driven: typed fields,
spin boxes, the typed covariance, session files (File > Open session…) and CSV
target files (Target kind > CSV file… > Browse…).

For each one: the expected message is shown (its text checked), the app keeps
running (worker alive; the step grows once started), and the previous state is
intact (the settings equal before/after; the paused chain's step, mean and
covariance unchanged). Modal dialogs are monkeypatched so nothing blocks.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from gaussviz.core.presets import get_preset
from gaussviz.core.session import to_json
from gaussviz.core.settings import Settings, to_dict
from gaussviz.gui.window import MainWindow

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")

#: updates applied (paused) before the bad input, so "unchanged" means something
PRE_STEPS = 500

# ----------------------------------------------------------------- the table
# (widget attribute on the panel, typed text, expected part of the message)
TYPED = [
    ("alpha.edit", "0", "alpha must be from 1e-05 to 1; got 0"),
    ("alpha.edit", "-1", "alpha must be from 1e-05 to 1; got -1"),
    ("alpha.edit", "1e9", "alpha must be from 1e-05 to 1; got 1e+09"),
    ("alpha.edit", "abc", "alpha: 'abc' is not a number"),
    ("alpha.edit", "nan", "alpha must be a finite number; got nan"),
    ("alpha.edit", "inf", "alpha must be a finite number; got inf"),
    ("alpha.edit", "", "alpha: type a number from 1e-05 to 1"),
    ("target_mean", "1, 2, 3", "true mean needs 1 or 2 numbers (the dimension); got 3"),
    ("target_mean", "1, x", "true mean: '1, x' is not a list of numbers"),
    ("target_mean", "nan, 0", "true mean must be finite"),
    ("target_mean", "", "true mean: type one number or 2 numbers"),
    ("target_mean", "1e300", "target mean must be within +-1e+12"),
    ("start_mean", "1, 2, 3, 4", "start mean needs 1 or 2 numbers (the dimension); got 4"),
    ("start_mean", "zero", "start mean: 'zero' is not a list of numbers"),
    ("start_mean", "inf, 1", "start mean must be finite"),
    ("cov_scale", "0", "start covariance scale must be from 1e-12 to 1e+12; got 0"),
    ("cov_scale", "-1", "start covariance scale must be from 1e-12 to 1e+12; got -1"),
    ("cov_scale", "1e30", "start covariance scale must be from 1e-12 to 1e+12; got 1e+30"),
    ("cov_scale", "big", "start covariance scale: 'big' is not a number"),
]
# shown only in "condition number" covariance mode
TYPED_COND = [
    ("cond", "0.5", "condition number must be from 1 to 1e+10; got 0.5"),
    ("cond", "1e11", "condition number must be from 1 to 1e+10; got 1e+11"),
    ("cond", "-", "condition number: '-' is not a number"),
    ("scale", "0", "target scale must be from 1e-06 to 1e+06; got 0"),
]
# spin boxes: typed text is judged on Enter (never silently cut to fit the range)
SPINS = [
    ("dim", "0", "target dimension must be an integer from 1 to 50; got '0' (kept 2)"),
    ("dim", "10000", "target dimension must be an integer from 1 to 50; got '10000' (kept 2)"),
    ("dim", "-3", "target dimension must be an integer from 1 to 50; got '-3' (kept 2)"),
    ("dim", "two", "target dimension must be an integer from 1 to 50; got 'two' (kept 2)"),
    ("dim", "", "target dimension must be an integer from 1 to 50; got '' (kept 2)"),
    ("seed", "-1", "seed must be an integer from 0 to 2147483647; got '-1' (kept 1)"),
    ("seed", "x", "seed must be an integer from 0 to 2147483647; got 'x' (kept 1)"),
    ("seed", "1e9", "seed must be an integer from 0 to 2147483647; got '1e9' (kept 1)"),
    ("batch", "0", "mini-batch size must be an integer from 1 to 1000; got '0' (kept 1)"),
    ("batch", "5000", "mini-batch size must be an integer from 1 to 1000; got '5000' (kept 1)"),
]
MATRICES = [
    ("1, 0.9\n0.2, 1", "target covariance must be symmetric"),
    ("1, 2\n2, 1", "target covariance must be positive definite; its smallest eigenvalue is -1"),
    ("1, 0\n0, 0", "target covariance must be positive definite"),
    ("1, 0, 0\n0, 1, 0\n0, 0, 1", "target covariance must be 2 rows of 2 numbers; got 3 row(s)"),
    ("1\n0, 1", "target covariance must be 2 rows of 2 numbers; got 2 row(s) of [1, 2] number(s)"),
    ("1, a\na, 1", "target covariance: entries must be numbers"),
    ("nan, 0\n0, 1", "target covariance must be finite"),
    ("inf, 0\n0, 1", "target covariance must be finite"),
    ("", "target covariance must be 2 rows of 2 numbers; got 0 row(s)"),
]


def _session_dict() -> dict:
    return json.loads(to_json(get_preset("ill-conditioned-log-cholesky")))


def _edit(**changes):
    """A valid session with some keys replaced (dotted paths; value None deletes the key)."""
    d = _session_dict()
    for path, v in changes.items():
        *head, last = path.split("__")
        obj = d
        for h in head:
            obj = obj[h]
        if v is _DELETE:
            del obj[last]
        else:
            obj[last] = v
    return json.dumps(d).encode()


_DELETE = object()

# (name, how to make the file: bytes, or "dir"/"missing", expected part of the message)
SESSIONS = [
    ("not-json", b"{not json", "session: not valid JSON (line 1, column 2"),
    ("empty", b"", "session: not valid JSON (line 1, column 1"),
    ("json-list", b"[1, 2, 3]", "session: the file must hold a JSON object"),
    ("missing-target", _edit(target=_DELETE), "session: missing key 'target'"),
    ("missing-estimator", _edit(estimator=_DELETE), "session: missing key 'estimator'"),
    ("alpha-text", _edit(estimator__alpha="fast"), "session: 'estimator.alpha' must be a finite number; got 'fast'"),
    ("alpha-nan", _edit(estimator__alpha=float("nan")), "session: 'estimator.alpha' must be a finite number; got nan"),
    ("alpha-negative", _edit(estimator__alpha=-1.0), "session: 'estimator': alpha must be"),
    ("dim-text", _edit(target__dim="2"), "session: 'target.dim' must be int; got '2'"),
    ("dim-huge", _edit(target__dim=10_000), "target dimension must be an integer from 1 to 50; got 10000"),
    ("target-list", _edit(target=[1, 2]), "session: 'target' must be an object; got list"),
    ("unknown-key", _edit(estimator__learning_rate=0.1), "session: unknown key(s) in 'estimator': learning_rate"),
    ("bad-choice", _edit(estimator__parameterization="cholesky2"), "session: 'estimator': parameterization must be"),
    ("cov-not-spd", _edit(target__cov=[[1.0, 2.0], [2.0, 1.0]]), "target covariance must be positive definite"),
    ("mean-wrong-length", _edit(start__mean=[1.0, 2.0, 3.0]), "session: 'start': start mean must have length 2"),
    ("future-version", _edit(format=99), "session: format 99 is newer than this gaussviz understands (1)"),
    ("not-utf8", b'{"target": "\xff\xfe\xfa"}', "can't decode byte 0xff in position 12"),
    ("directory", "dir", "Is a directory"),
    ("missing-file", "missing", "No such file or directory"),
]


# --------------------------------------------------------------------- helpers
@pytest.fixture
def window(qtbot):
    """A shown, paused window on ``settings`` with PRE_STEPS updates applied."""
    made: list[MainWindow] = []

    def make(settings: Settings) -> MainWindow:
        settings.speed = 0.0  # as fast as possible when it runs (a preset's pace is for people)
        w = MainWindow(settings, running=False)
        qtbot.addWidget(w)
        made.append(w)
        w.show()
        qtbot.waitExposed(w)
        w.activateWindow()
        w.worker.send("step", PRE_STEPS)
        qtbot.waitUntil(lambda: w.shown_snapshot is not None and w.shown_snapshot.step == PRE_STEPS,
                        timeout=WAIT_MS)
        return w

    yield make
    for w in made:
        w.shutdown()
        assert not w.worker.is_alive()


def typed_cov_settings() -> Settings:
    return get_preset("ill-conditioned-natural")  # d = 2, typed covariance


def cond_settings() -> Settings:
    s = get_preset("ill-conditioned-natural")
    s.target.cov, s.target.cond, s.target.scale = None, 10.0, 1.0
    return s


def panel_widget(w: MainWindow, name: str) -> QtWidgets.QWidget:
    obj = w.panel
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def type_text(qtbot, widget: QtWidgets.QWidget, text: str) -> None:
    """Select what is there, type over it and press Enter, as a user does."""
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=WAIT_MS)
    edit = widget.lineEdit() if isinstance(widget, QtWidgets.QAbstractSpinBox) else widget
    edit.selectAll()
    qtbot.keyClick(widget, QtCore.Qt.Key.Key_Delete)
    assert edit.text() == ""
    qtbot.keyClicks(widget, text)
    assert edit.text() == text  # every keystroke was accepted (judged on Enter, not dropped)
    qtbot.keyClick(widget, QtCore.Qt.Key.Key_Return)


def fresh_snapshot(qtbot, w: MainWindow):
    """A snapshot published after everything sent so far was applied (not a stale one)."""
    seq0, _ = w.worker.latest()
    w.worker.send("running", False)
    qtbot.waitUntil(lambda: w.worker.latest()[0] > seq0, timeout=WAIT_MS)
    return w.worker.latest()[1]


def state(w: MainWindow, qtbot):
    snap = fresh_snapshot(qtbot, w)
    return to_dict(w.settings), snap.step, snap.chain.mean.copy(), snap.chain.cov.copy()


def assert_refused(qtbot, w: MainWindow, before, why: str, shown_message: str | None = None) -> None:
    """The message says why; the settings and the run are as they were; the app still runs."""
    text = w.panel.message.text() if shown_message is None else shown_message
    assert why in text
    if shown_message is None:
        assert w.panel.message.isVisibleTo(w)
    settings, step, mean, cov = state(w, qtbot)
    assert settings == before[0]
    assert step == before[1] == PRE_STEPS
    np.testing.assert_array_equal(mean, before[2])
    np.testing.assert_array_equal(cov, before[3])
    assert w.worker.is_alive()
    w.set_running(True)
    qtbot.waitUntil(lambda: w.shown_snapshot.step > PRE_STEPS + 1000, timeout=WAIT_MS)
    assert w.is_running() and w.banner_text() == ""
    assert all(np.all(np.isfinite(a)) for a in w.plots.plotted_arrays())


# ----------------------------------------------------------------------- tests
@pytest.mark.parametrize(("name", "text", "why"), TYPED + TYPED_COND, ids=lambda v: repr(v)[:24])
def test_typed_field(qtbot, window, name, text, why):
    w = window(cond_settings() if (name, text, why) in TYPED_COND else typed_cov_settings())
    before = state(w, qtbot)
    widget = panel_widget(w, name)
    shown_before = widget.text()
    type_text(qtbot, widget, text)
    assert widget.text() == shown_before  # the previous value is back on screen
    assert_refused(qtbot, w, before, why)


@pytest.mark.parametrize(("name", "text", "why"), SPINS, ids=lambda v: repr(v)[:24])
def test_typed_spin_box(qtbot, window, name, text, why):
    w = window(typed_cov_settings())
    before = state(w, qtbot)
    spin = panel_widget(w, name)
    value_before = spin.value()
    type_text(qtbot, spin, text)
    assert spin.value() == value_before and spin.text() == str(value_before)
    assert_refused(qtbot, w, before, why)


def test_spin_box_checks_on_focus_out_too(qtbot, window):
    w = window(typed_cov_settings())
    before = state(w, qtbot)
    w.panel.dim.setFocus()
    qtbot.waitUntil(w.panel.dim.hasFocus, timeout=WAIT_MS)
    w.panel.dim.lineEdit().selectAll()
    qtbot.keyClicks(w.panel.dim, "99")
    w.panel.alpha.edit.setFocus()  # the user clicks elsewhere
    qtbot.waitUntil(lambda: not w.panel.dim.hasFocus(), timeout=WAIT_MS)
    assert w.panel.dim.value() == 2
    assert_refused(qtbot, w, before, "target dimension must be an integer from 1 to 50; got '99' (kept 2)")


def test_spin_box_clamps_programmatic_values_and_good_typing_works(qtbot, window):
    w = window(typed_cov_settings())
    w.panel.batch.setValue(0)  # a program (not a user) setting it: Qt clamps into range
    assert w.panel.batch.value() == 1 and w.settings.estimator.batch_size == 1
    type_text(qtbot, w.panel.batch, "25")
    assert w.settings.estimator.batch_size == 25 and not w.panel.message.isVisibleTo(w)
    type_text(qtbot, w.panel.dim, "3")
    assert w.settings.target.dim == 3 and not w.panel.message.isVisibleTo(w)
    qtbot.waitUntil(lambda: w.shown_snapshot.chain.mean.shape == (3,), timeout=WAIT_MS)


@pytest.mark.parametrize(("text", "why"), MATRICES, ids=lambda v: repr(v)[:24])
def test_typed_covariance(qtbot, window, text, why):
    w = window(typed_cov_settings())
    assert w.panel.cov_mode.currentData() == "typed"
    before = state(w, qtbot)
    w.panel.cov_text.setPlainText(text)
    w.panel.cov_apply.click()
    assert_refused(qtbot, w, before, why)


def _session_path(tmp_path: Path, content) -> Path:
    p = tmp_path / "session.json"
    if content == "dir":
        p.mkdir()
    elif content == "missing":
        pass
    else:
        p.write_bytes(content)
    return p


def _open_through_menu(w: MainWindow, path: Path, monkeypatch) -> list[str]:
    """File > Open session… with the file dialog answering ``path``; the warnings shown."""
    warnings: list[str] = []
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda parent, title, text, *a: warnings.append(
        f"{title}|{text}"))
    action = next(a for a in w.file_menu.actions() if a.text().replace("&", "").startswith("Open session"))
    action.trigger()
    return warnings


@pytest.mark.parametrize(("name", "content", "why"), SESSIONS, ids=[s[0] for s in SESSIONS])
def test_bad_session_file(qtbot, window, tmp_path, monkeypatch, name, content, why):
    w = window(typed_cov_settings())
    before = state(w, qtbot)
    path = _session_path(tmp_path, content)
    warnings = _open_through_menu(w, path, monkeypatch)
    assert len(warnings) == 1
    title, text = warnings[0].split("|", 1)
    assert title == "Cannot open session" and text.startswith(f"{path}:\n")  # says where
    assert "(modified)" not in w.explanation.text() and w.settings.preset == "ill-conditioned-natural"
    assert_refused(qtbot, w, before, why, shown_message=text)


def test_good_session_after_bad_ones_still_loads(qtbot, window, tmp_path, monkeypatch):
    w = window(typed_cov_settings())
    assert _open_through_menu(w, _session_path(tmp_path, b"{"), monkeypatch)
    good = tmp_path / "good.json"
    good.write_text(to_json(get_preset("ill-conditioned-log-cholesky")))
    assert _open_through_menu(w, good, monkeypatch) == []
    assert w.settings.estimator.parameterization == "log-cholesky"
    qtbot.waitUntil(lambda: w.shown_snapshot.chain.settings["parameterization"] == "log-cholesky"
                    and w.shown_snapshot.step == 0, timeout=WAIT_MS)


# (name, file bytes or "dir", expected part of the message); loaded through Target > CSV file… > Browse…
CSVS = [
    ("empty", b"", "is empty"),
    ("blank-lines", b"\n\n  \n", "is empty"),
    ("header-only", b"x,y\n", "has a header but no data rows"),
    ("text-in-numeric-column", b"x,y\n1,2\n3,abc\n",
     "only 1 usable row(s) for 2 column(s); need at least 3 (skipped 1 line(s); first: line 3: column 'y' is not a "
     "number: 'abc')"),
    ("all-text", b"name,city\nann,oslo\nbob,rome\n", "has no numeric column"),
    ("ragged", b"1,2\n3\n4,5,6\n", "only 1 usable row(s) for 2 column(s); need at least 3"),
    ("nan-inf", b"x,y\nnan,1\n2,inf\n-inf,3\n4,nan\n", "only 0 usable row(s)"),
    ("one-column-constant", b"x\n1\n1\n1\n", "column 'x' is constant"),
    ("one-row", b"1,2\n", "only 1 usable row(s) for 2 column(s)"),
    ("dependent", b"1,2\n2,4\n3,6\n4,8\n", "are linearly dependent"),
    ("not-utf8", b"x,y\n1,2\n\xff\xfe,3\n", "is not UTF-8 text (invalid byte 0xff on line 3)"),
    ("binary", b"1,2\x00\n3,4\n", "is not a text file (it contains NUL bytes)"),
    ("directory", "dir", "is not a file"),
]


@pytest.mark.parametrize(("name", "content", "why"), CSVS, ids=[c[0] for c in CSVS])
def test_bad_csv_target(qtbot, window, tmp_path, monkeypatch, name, content, why):
    w = window(typed_cov_settings())
    before = state(w, qtbot)
    path = tmp_path / "data.csv"
    if content == "dir":
        path.mkdir()
    else:
        path.write_bytes(content)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    tk = w.panel.target_kind
    tk.browse.click()
    assert tk.error.isVisibleTo(w) and why in tk.error_text()
    assert str(path) in tk.error_text() or name == "one-row"  # says which file
    tk.apply_button.click()  # Apply again with the bad file chosen: refused again, same message
    assert_refused(qtbot, w, before, why, shown_message=tk.error_text())


def test_csv_with_some_bad_lines_loads_and_lists_them(qtbot, window, tmp_path, monkeypatch):
    w = window(typed_cov_settings())
    path = tmp_path / "mixed.csv"
    rows = ["x,y"] + [f"{i},{(i * 7) % 11}" for i in range(40)] + ["oops,1", "2", "3,nan"]
    path.write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    w.panel.target_kind.browse.click()
    assert w.panel.target_kind.error_text() == ""
    assert w.settings.target.kind == "csv" and w.settings.target.dim == 2
    text = w.panel.target_kind.problems.text()
    assert "using 40 rows; skipped 3 line(s)" in text and "line 42: column 'x' is not a number: 'oops'" in text
    qtbot.waitUntil(lambda: w.shown_snapshot.step == 0 and w.shown_snapshot.recent.shape[1] == 2
                    and abs(w.shown_snapshot.true_mean[0] - 19.5) < 1e-12, timeout=WAIT_MS)
