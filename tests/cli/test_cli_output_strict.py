"""Issue 10, class 6 (files and standard output): ``--json`` is valid JSON (null, never NaN or
Infinity); CSV cells of text that came from a user or a file never start a spreadsheet formula,
while numbers are written unchanged.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core.history_csv import history_csv, parse_history_csv
from gaussviz.core.presets import PRESETS, get_preset
from gaussviz.core.settings import build_run


def _strict(text: str):
    """JSON as a strict reader takes it: NaN, Infinity and -Infinity are errors."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


#: runs whose summary holds NaN (a diverged chain's KL, a reference before d + 1 samples)
NAN_RUNS = [
    ["--preset", "wrong-sign-descent", "--steps", "20000"],
    ["--preset", "start-too-small", "--steps", "2000"],
    ["--preset", "seed-question", "--steps", "0"],
    ["--preset", "seed-question", "--steps", "1"],
    ["--preset", "what-am-i-missing", "--steps", "0"],
    ["--dim", "5", "--steps", "3"],
    ["--preset", "asymmetry-drift", "--steps", "3"],
]


@pytest.mark.parametrize("args", NAN_RUNS, ids=[" ".join(a) for a in NAN_RUNS])
def test_run_json_is_strict_json(capsys, args):
    assert main(["run", "--json", *args]) == 0
    out = capsys.readouterr().out
    data = _strict(out)
    assert "NaN" not in out and "Infinity" not in out
    assert isinstance(data["steps"], int)


def test_run_json_nulls_where_numbers_are_missing(capsys):
    assert main(["run", "--json", "--preset", "seed-question", "--steps", "0"]) == 0
    data = _strict(capsys.readouterr().out)
    assert data["reference_kl"] is None
    assert main(["run", "--json", "--preset", "wrong-sign-descent", "--steps", "20000"]) == 0
    chain = _strict(capsys.readouterr().out)["chains"][0]
    assert chain["status"] == "diverged" and isinstance(chain["failed_update"], int)


def test_every_preset_json_is_strict(capsys):
    for name in PRESETS:
        assert main(["run", "--json", "--preset", name, "--steps", "50"]) == 0
        _strict(capsys.readouterr().out)


#: labels as a user or a file could make them; a spreadsheet would run the ones starting = + - @
LABELS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
          "'=already quoted", "plain", "=", "-", "normal, with comma", "line\nbreak"]


@pytest.mark.parametrize("label", LABELS)
def test_history_csv_text_cells_never_start_a_formula(label):
    run = build_run(get_preset("wrong-sign-descent")).run_to(3000)
    snap = run.snapshot()
    text = history_csv(snap, labels=[label])
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    col = {c: i for i, c in enumerate(header)}
    for row in body:
        for name in ("label", "status"):
            assert not row[col[name]].startswith(("=", "+", "-", "@", "\t", "\r")), row[col[name]]
        for name in ("mean_0", "cov_0_0", "alpha_t"):
            cell = row[col[name]]
            if cell:
                float(cell)  # numbers untouched: a negative mean stays "-1.2", no apostrophe
    table = parse_history_csv(text)
    assert set(table.label) == {label.replace("\r", "\n")}  # read back (a bare CR as a line break)
    assert any(s.startswith("diverged") for s in table.status)


def test_negative_numbers_are_never_quoted():
    run = build_run(get_preset("seed-question")).run_to(500)
    text = history_csv(run.snapshot(), labels=["-label"])
    assert ",-" in text  # a negative mean or eigenvalue written as a number
    assert "'-label" in text and "'-0" not in text and "'-1" not in text


def test_sweep_csv_text_cells(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["sweep", "--out", str(out), "--alpha-count", "4", "--alpha-min", "0.01", "--alpha-max", "1",
                 "--seeds", "2", "--steps", "200", "--preset", "wrong-sign-descent", "--width", "400"]) == 0
    rows = list(csv.reader(io.StringIO((out / "stability_map.csv").read_text())))
    for row in rows[1:]:
        for cell in (row[1], row[8], row[10]):
            assert not cell.startswith(("=", "+", "-", "@")), cell
    _strict((out / "stability_map.json").read_text())
    assert np.isfinite(float(rows[1][2]))
