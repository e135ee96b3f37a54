"""The window's entry point: presets, sessions, the --screenshot mode (a real subprocess)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtGui

from gaussviz.cli import main
from gaussviz.core.session import to_json
from gaussviz.gui.app import settings_for


def _args(**kw) -> argparse.Namespace:
    base = {"preset": None, "session": None, "screenshot": None, "after": 3.0}
    base.update(kw)
    return argparse.Namespace(**base)


def test_default_is_the_seed_question():
    assert settings_for(_args()).preset == "seed-question"
    assert settings_for(_args(preset="ill-conditioned-natural")).estimator.parameterization == "natural"


def test_session_file_is_loaded(tmp_path):
    from gaussviz.core.presets import get_preset

    s = get_preset("asymmetry-drift")
    s.estimator.alpha = 0.0031
    f = tmp_path / "s.json"
    f.write_text(to_json(s))
    got = settings_for(_args(session=str(f)))
    assert got.estimator.alpha == 0.0031 and got.target.cov == s.target.cov


@pytest.mark.parametrize(("content", "argv_extra", "message"), [
    ("{not json", [], "not valid JSON (line 1"),
    ('{"target": {}, "start": {}}', [], "missing key 'estimator'"),
    (None, [], "No such file"),
    (b"\xff\xfe\x00bad", [], "not UTF-8"),
    ("{}", ["--preset", "seed-question"], "use --preset or --session, not both"),
])
def test_bad_session_exits_2_with_one_line(tmp_path, capsys, content, argv_extra, message):
    f = tmp_path / "bad.json"
    if isinstance(content, bytes):
        f.write_bytes(content)
    elif content is not None:
        f.write_text(content)
    assert main(["--session", str(f), *argv_extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gaussviz: error: ") and message in err and err.count("\n") == 1


def test_screenshot_bad_after_or_folder(tmp_path, capsys):
    assert main(["--screenshot", str(tmp_path / "x.png"), "--after", "-1"]) == 2
    assert "--after must be a number of seconds >= 0" in capsys.readouterr().err
    assert main(["--screenshot", str(tmp_path / "no" / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_screenshot_subprocess_writes_the_whole_window(tmp_path):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    # at its pace (20 updates/s) the preset diverges at update 85, about 4 s in
    r = subprocess.run([sys.executable, "-m", "gaussviz", "--preset", "ill-conditioned-covariance",
                        "--screenshot", str(out), "--after", "6"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    img = QtGui.QImage(str(out))
    assert (img.width(), img.height()) == (1600, 1000)
    ptr = img.convertToFormat(QtGui.QImage.Format.Format_RGB32).constBits()
    px = np.frombuffer(ptr, dtype=np.uint8).reshape(1000, 1600, 4)
    assert len(np.unique(px[..., :3].reshape(-1, 3), axis=0)) > 200  # drawn, not blank
    # The divergence banner (red, #c62828) is in the picture.
    red = (px[..., 2] == 0xC6) & (px[..., 1] == 0x28) & (px[..., 0] == 0x28)
    assert red.sum() > 5000
