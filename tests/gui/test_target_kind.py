"""Target kinds in the window: choose, parameters, CSV files with skipped lines, bad values keep the target."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def choose(view, key):
    view.kind.setCurrentIndex(view.kind.findData(key))
    view.kind.activated.emit(view.kind.currentIndex())


def test_student_t_then_a_bad_df_keeps_it(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    view = w.panel.target_kind
    view.fields["df"].setText("3")
    choose(view, "student-t")
    assert w.settings.target.kind == "student-t" and w.settings.target.params == {"df": 3.0}
    qtbot.waitUntil(lambda: type(w.worker._run.source).__name__ == "StudentTSource", timeout=WAIT_MS)
    view.fields["df"].setText("2")
    assert not view.apply()
    assert "degrees of freedom df must be from 2" in view.error_text()
    assert w.settings.target.params == {"df": 3.0}
    view.fields["df"].setText("abc")
    view.fields["df"].returnPressed.emit()
    assert "'abc' is not a number" in view.error_text()
    assert w.settings.target.params == {"df": 3.0}


def test_mixture_and_drifting_parameters(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    view = w.panel.target_kind
    view.fields["separation"].setText("5")
    view.fields["weight"].setText("0.3")
    choose(view, "mixture")
    assert w.settings.target.params == {"separation": 5.0, "weight": 0.3}
    view.fields["drift_rate"].setText("0.01")
    view.fields["rotation_rate"].setText("200")
    choose(view, "drifting")
    assert "rotation rate must be from 0 to 180" in view.error_text()
    assert w.settings.target.kind == "mixture"  # the previous target stays
    view.fields["rotation_rate"].setText("0.1")
    assert view.apply()
    assert w.settings.target.params == {"drift_rate": 0.01, "rotation_rate": 0.1}
    qtbot.waitUntil(lambda: type(w.worker._run.source).__name__ == "DriftingSource", timeout=WAIT_MS)


def test_csv_file_with_bad_rows_lists_them_and_sets_the_dimension(qtbot, make_window, tmp_path):
    rng = np.random.default_rng(0)
    lines = ["x,y,z,label"] + [",".join(f"{v:.4f}" for v in rng.normal(size=3)) + ",a" for _ in range(80)]
    for i in range(3, 40, 3):  # 13 bad rows
        lines[i] = "1,nan,2,b"
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    w = make_window("ill-conditioned-natural")
    view = w.panel.target_kind
    assert view.set_csv_file(str(path))
    t = w.settings.target
    assert t.kind == "csv" and t.dim == 3
    assert [view.columns.item(i).text() for i in range(view.columns.count())] == ["x", "y", "z"]
    text = view.problems.text()
    assert "skipped 13 line(s)" in text and "line 4: column 'y' is not finite" in text
    assert "... 3 more skipped line(s) (13 in all)" in text  # capped at 10 listed
    assert not w.panel.dim.isEnabled()  # the file decides
    qtbot.waitUntil(lambda: w.shown_snapshot.ref_mean.shape == (3,), timeout=WAIT_MS)
    # untick a column: two columns, the run follows
    view.columns.item(2).setCheckState(view.columns.item(2).checkState().Unchecked)
    assert view.apply()
    assert w.settings.target.dim == 2 and w.settings.target.params["columns"] == ["x", "y"]
    qtbot.waitUntil(lambda: w.shown_snapshot.ref_mean.shape == (2,), timeout=WAIT_MS)


def test_unreadable_csv_keeps_the_previous_target(qtbot, make_window, tmp_path):
    w = make_window("ill-conditioned-natural")
    view = w.panel.target_kind
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,b\n\xff\xfe,1\n")
    assert not view.set_csv_file(str(bad))
    assert "not UTF-8" in view.error_text()
    assert w.settings.target.kind == "gaussian"
    assert not view.set_csv_file(str(tmp_path / "missing.csv"))
    assert "not found" in view.error_text()
    assert w.settings.target.kind == "gaussian"


def test_old_faithful_built_in(qtbot, make_window):
    w = make_window("ill-conditioned-natural")
    view = w.panel.target_kind
    choose(view, "old-faithful")
    t = w.settings.target
    assert t.kind == "csv" and t.params["dataset"] == "old-faithful" and t.dim == 2
    assert "old_faithful.csv: 272 rows, columns eruptions, waiting" in view.problems.text()
    qtbot.waitUntil(lambda: w.shown_snapshot.true_mean is not None
                    and abs(w.shown_snapshot.true_mean[0] - 3.4878) < 1e-3, timeout=WAIT_MS)
    view.standardize.setChecked(True)
    assert view.apply()
    qtbot.waitUntil(lambda: abs(w.shown_snapshot.true_mean[0]) < 1e-9, timeout=WAIT_MS)
    choose(view, "gaussian")
    assert w.settings.target.kind == "gaussian" and w.panel.dim.isEnabled()
