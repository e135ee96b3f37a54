"""Issue 10, class 8: nothing is silently dropped or resolved against the wrong place.

An option that does not apply is an error (never ignored); a shipped data set's name is never
a file in the working directory; a relative data path in a session is read from the session's
folder, and a session written by gaussviz replays from any folder; ``--session x.png`` opens a
gaussviz PNG as the window does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core.presets import get_preset
from gaussviz.core.session import read_session
from gaussviz.core.settings import to_dict

OLD_FAITHFUL_MEAN = [3.487783, 70.897059]


#: offscreen Qt noise when render lays out plots
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _one_line(code, err, fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gaussviz: error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], f"{f!r} missing from {lines[0]!r}"


#: (arguments, fragments): options that do not apply
NOT_APPLYING = [
    (["run", "--csv", "old-faithful", "--mean0", "1,2,3"], ["start mean", "length 2", "length 3"]),
    (["run", "--csv", "old-faithful", "--mean0", "1,2,3,4,5"], ["start mean", "length 2"]),
    (["run", "--preset", "old-faithful", "--mean0", "1,2,3"], ["start mean", "length 2"]),
    (["run", "--csv", "old-faithful", "--dim", "3"], ["--dim", "does not apply", "CSV"]),
    (["run", "--csv", "old-faithful", "--dim", "2"], ["--dim", "does not apply"]),
    (["run", "--csv", "old-faithful", "--target-mean", "1,2"], ["--target-mean", "does not apply"]),
    (["run", "--csv", "old-faithful", "--target-cond", "4"], ["--target-cond", "does not apply"]),
    (["run", "--preset", "old-faithful", "--target-rotation", "10"], ["--target-rotation", "does not apply"]),
    (["run", "--target", "student-t", "--columns", "a"], ["--columns", "csv"]),
    (["run", "--target", "gaussian", "--df", "4"], ["--df", "student-t"]),
    (["run", "--target", "mixture", "--drift-rate", "0.1"], ["--drift-rate", "drifting"]),
    (["sweep", "--out", "x", "--csv", "old-faithful", "--axis", "target-cond"], ["target-cond"]),
    (["--preset", "seed-question", "run"], ["--preset", "window"]),
    (["--session", "s.json", "render", "--preset", "seed-question", "--out", "o"], ["--session", "window"]),
    (["--screenshot", "x.png", "sweep", "--out", "o"], ["--screenshot", "window"]),
    (["--after", "2"], ["--after", "--screenshot"]),
    (["--force"], ["--force", "--screenshot"]),
    (["--after", "2", "run"], ["--after"]),
    (["run", "--alpha", "0.1", "--alpha", "0.2"], ["--alpha", "twice"]),
    (["run", "--seed", "1", "--seed", "2"], ["--seed", "twice"]),
    (["sweep", "--out", "a", "--out", "b"], ["--out", "twice"]),
    (["render", "--preset", "seed-question", "--preset", "heavy-tails", "--out", "o"], ["--preset", "twice"]),
    (["render", "--preset", "seed-question", "--format", "svg", "--width", "800", "--out", "o"], ["--width", "PNG"]),
    (["run", "--preset", "seed-question", "--session", "s.json"], ["--preset", "--session"]),
]


@pytest.mark.parametrize("args,fragments", NOT_APPLYING, ids=[" ".join(a) for a, _ in NOT_APPLYING])
def test_an_option_that_does_not_apply_is_an_error(tmp_path, monkeypatch, capsys, args, fragments):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.json").write_text(json.dumps(to_dict(get_preset("seed-question"))))
    _one_line(main(args), capsys.readouterr().err, fragments)
    assert not (tmp_path / "o").exists() and not (tmp_path / "x").exists()


@pytest.mark.parametrize("local", ["file", "garbage-file", "folder", "csv-file", "symlink-to-data"])
@pytest.mark.parametrize("name", ["old-faithful", "old_faithful"])
def test_preset_data_set_is_never_a_local_file(tmp_path, monkeypatch, capsys, local, name):
    monkeypatch.chdir(tmp_path)
    p = tmp_path / name
    other = tmp_path / "other.csv"
    other.write_text("a,b\n" + "".join(f"{i},{(i * 7) % 5}\n" for i in range(30)))
    if local == "file":
        p.write_text("a,b\n1,2\n3,5\n4,4\n")
    elif local == "garbage-file":
        p.write_bytes(b"\x00\xff garbage")
    elif local == "folder":
        p.mkdir()
    elif local == "csv-file":
        p.write_text(other.read_text())
    else:
        p.symlink_to(other)
    assert main(["run", "--preset", "old-faithful", "--steps", "10", "--json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 10
    s = get_preset("old-faithful")
    assert s.target.params["dataset"] == "old-faithful" and "path" not in s.target.params
    from gaussviz.core.targets import csv_file

    np.testing.assert_allclose(csv_file(s.target.params).data.mean(0), OLD_FAITHFUL_MEAN, atol=1e-6)


def test_csv_name_of_a_data_set_with_a_local_file_says_which_is_used(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old-faithful").write_text("a,b\n1,2\n3,5\n4,4\n")
    assert main(["run", "--csv", "old-faithful", "--steps", "5"]) == 0
    err = capsys.readouterr().err
    assert "shipped data set" in err and "./old-faithful" in err
    assert main(["run", "--csv", "./old-faithful", "--steps", "5", "--json"]) == 0  # the file, written as a path
    assert json.loads(capsys.readouterr().out)["chains"][0]["mean"] != []


def test_a_session_with_a_relative_csv_path_replays_from_any_folder(tmp_path, monkeypatch, capsys):
    data = tmp_path / "project" / "data"
    data.mkdir(parents=True)
    (data / "points.csv").write_text("a,b\n" + "".join(f"{i},{(i * 7) % 11}\n" for i in range(40)))
    d = to_dict(get_preset("seed-question"))
    d["target"] = {**d["target"], "kind": "csv", "dim": 2, "mean": 0.0, "cov": None,
                   "params": {"path": "data/points.csv"}}
    d["start"]["mean"] = 0.0
    sess = tmp_path / "project" / "session.json"
    sess.write_text(json.dumps(d))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert read_session(sess).target.params["path"] == str(data / "points.csv")
    assert main(["run", "--session", str(sess), "--steps", "20", "--json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["steps"] == 20


def test_render_stores_an_absolute_path_so_its_session_replays_anywhere(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "pts.csv").write_text("a,b\n" + "".join(f"{i},{(i * 3) % 7}\n" for i in range(40)))
    monkeypatch.chdir(work)
    assert main(["render", "--csv", "pts.csv", "--preset", "seed-question", "--dim", "2", "--out", "out",
                 "--format", "svg", "--steps", "30"]) == 2  # --dim does not apply to a CSV target
    capsys.readouterr()
    assert main(["run", "--csv", "pts.csv", "--steps", "5"]) == 0
    assert main(["render", "--csv", "pts.csv", "--preset", "seed-question", "--out", "out", "--format", "svg",
                 "--steps", "30"]) == 0, capsys.readouterr().err
    stored = json.loads((work / "out" / "session.json").read_text())["target"]["params"]["path"]
    assert os.path.isabs(stored) and stored == str(work / "pts.csv")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["run", "--session", str(work / "out" / "session.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 30


def test_an_older_session_naming_the_data_set_as_a_path_still_loads(tmp_path, monkeypatch):
    d = to_dict(get_preset("old-faithful"))
    d["target"]["params"] = {"path": "old-faithful", "standardize": True}
    p = tmp_path / "old.json"
    p.write_text(json.dumps(d))
    (tmp_path / "old-faithful").write_text("not, the data\n")
    monkeypatch.chdir(tmp_path)
    s = read_session(p)
    assert s.target.params == {"dataset": "old-faithful", "standardize": True} and s.target.dim == 2


def test_session_png_opens_on_the_command_line_as_in_the_window(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["render", "--preset", "heavy-tails", "--out", str(out), "--format", "png", "--width", "400",
                 "--steps", "300"]) == 0
    capsys.readouterr()
    png = out / "kl.png"
    assert main(["run", "--session", str(png), "--json"]) == 0, capsys.readouterr().err
    info = json.loads(capsys.readouterr().out)
    assert info["steps"] == 300
    from gaussviz.gui.app import settings_for

    class Args:
        preset = None
        session = str(png)

    assert settings_for(Args()).target.kind == "student-t"
    renamed = tmp_path / "looks-like.json"
    renamed.write_bytes(png.read_bytes())  # decided by content, not by the name
    assert main(["run", "--session", str(renamed), "--steps", "5"]) == 0


def test_window_options_before_a_command_in_a_real_process(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "heavy-tails", "run", "--steps", "5"],
                       capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "" and "--preset" in r.stderr and r.stderr.count("\n") == 1
