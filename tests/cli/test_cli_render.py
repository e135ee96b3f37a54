"""gaussviz render: headless images, CSV and session; its session reproduces the CSV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core.history_csv import read_history_csv
from gaussviz.core.session import from_json
from gaussviz.core.settings import to_dict

# The offscreen platform warns about size hints when the plots are laid out.
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")
PLOTS = ("cloud", "mean", "covariance", "spectrum", "kl", "pspace", "plots")


def test_render_twice_from_its_session_gives_the_same_csv(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["render", "--preset", "ill-conditioned-natural", "--steps", "4000", "--out", str(a),
                 "--width", "900"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 * len(PLOTS) + 2 and all(line.startswith(f"wrote {a}") for line in out)
    from PySide6 import QtGui

    session = from_json((a / "session.json").read_text())
    assert session.steps == 4000 and session.preset == "ill-conditioned-natural"
    for name in PLOTS:
        img = QtGui.QImage(str(a / f"{name}.png"))
        assert img.width() == 900 and img.height() > 200
        assert to_dict(from_json(img.text("gaussviz-session"))) == to_dict(session)
        assert ET.parse(a / f"{name}.svg").getroot().tag.endswith("svg")
    t = read_history_csv(a / "history.csv")
    assert t.step[-1] == 4000 and np.all(np.isfinite(t.kl))
    assert main(["render", "--session", str(a / "session.json"), "--out", str(b), "--format", "png"]) == 0
    assert (a / "history.csv").read_bytes() == (b / "history.csv").read_bytes()
    assert json.loads((a / "session.json").read_text()) == json.loads((b / "session.json").read_text())
    assert not (b / "mean.svg").exists() and (b / "mean.png").exists()


@pytest.mark.parametrize(("args", "msg"), [
    (["--out", "{t}/x"], "render needs --preset NAME or --session FILE"),
    (["--preset", "seed-question", "--out", "{t}/x", "--format", "gif"], "--format"),
    (["--preset", "seed-question", "--out", "{t}/x", "--width", "10"], "--width"),
    (["--preset", "seed-question", "--out", "{t}/file"], "it is a file, not a folder"),
    (["--preset", "seed-question", "--session", "{t}/s.json", "--out", "{t}/x"], "not both"),
    (["--session", "{t}/missing.json", "--out", "{t}/x"], "missing.json"),
    (["--preset", "seed-question", "--out", "{t}/x", "--plots", "pspace,radar"], "--plots"),
])
def test_bad_render_options_exit_2_with_one_line(tmp_path, capsys, args, msg):
    (tmp_path / "file").write_text("x")
    (tmp_path / "s.json").write_text("{}")
    argv = ["render", "--steps", "10"] + [x.replace("{t}", str(tmp_path)) for x in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gaussviz: error: ") and msg in err


def test_render_plots_writes_the_chosen_plots_only(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["render", "--preset", "wrong-sign-descent", "--steps", "2500", "--out", str(out),
                 "--format", "png", "--width", "700", "--plots", "pspace, plots"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "plots.png", "pspace.png", "session.json"]
    from PySide6 import QtGui

    img = QtGui.QImage(str(out / "pspace.png"))
    assert img.width() == 700
    # the forbidden region Sigma <= 0 is in the picture (hatched red)
    reds = sum(1 for x in range(0, img.width(), 5) for y in range(0, img.height(), 5)
               if (c := QtGui.QColor(img.pixel(x, y))).red() > 200 and c.red() - c.blue() > 25 and c.green() < 225)
    assert reds > 30


def test_render_does_not_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "kl.png").write_bytes(b"mine")
    assert main(["render", "--preset", "seed-question", "--steps", "50", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and (out / "kl.png").read_bytes() == b"mine"
    assert not (out / "history.csv").exists()
    assert main(["render", "--preset", "seed-question", "--steps", "50", "--out", str(out), "--force",
                 "--format", "png"]) == 0
    assert (out / "kl.png").read_bytes()[:4] == b"\x89PNG"


def test_render_runs_without_a_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    p = subprocess.run([sys.executable, "-m", "gaussviz", "render", "--preset", "seed-question", "--steps", "100",
                        "--out", str(tmp_path), "--format", "svg"], env=env, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert (tmp_path / "kl.svg").exists() and len(p.stdout.splitlines()) == len(PLOTS) + 2
