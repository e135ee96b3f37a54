"""Issue 10, class 2 on the command line: a stranger's session (or a special file, or two of
them) given to ``--session`` is exit status 2 and one line naming the file and the key; never a
traceback, never a hang, never a worker's death later on.

Each row is run through ``gaussviz run --session`` (in-process); the special files also as real
processes, bounded in time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaussviz.cli import main
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import to_dict

GOOD = to_dict(get_preset("seed-question"))


#: offscreen Qt noise when render lays out plots
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _timeline(*changes) -> str:
    d = json.loads(json.dumps(GOOD))
    d["changes"] = [{"step": s, "chain": 0, "field": f, "value": v} for s, f, v in changes]
    d["steps"] = 200
    return json.dumps(d)


def _with(key: str, value, base=None) -> str:
    d = json.loads(json.dumps(base or GOOD))
    node = d
    *parents, last = key.split(".")
    for p in parents:
        node = node[p]
    node[last] = value
    return json.dumps(d)


CSV = to_dict(get_preset("old-faithful"))
MIXTURE = json.loads(_with("target.kind", "mixture"))
#: (id, file text, fragments of the one line)
SESSIONS = [
    ("int-1000-digits", json.dumps(GOOD).replace('"batch_size": 1', '"batch_size": ' + "7" * 1000),
     ["estimator.batch_size"]),
    ("nested-1e5", "[" * 100_000 + "]" * 100_000, ["nested"]),
    ("columns-list-of-list", _with("target.params.columns", [[1]], CSV), ["columns"]),
    ("live-batch-1e12", _timeline((50, "batch_size", 1e12)), ["changes[0]", "batch_size"]),
    ("live-batch-int-1e12", _timeline((50, "batch_size", 10**12)), ["changes[0]", "at most 100000"]),
    ("live-alpha-2", _timeline((50, "alpha", 2.0)), ["changes[0]", "alpha", "at most 1"]),
    ("live-alpha-at-the-end", _timeline((10, "alpha", 0.01), (199, "alpha", -1.0)), ["changes[1]", "alpha"]),
    ("live-sign-garbage", _timeline((50, "sign", "up")), ["changes[0]", "sign"]),
    ("live-parameterization-null", _timeline((50, "parameterization", None)), ["changes[0]", "parameterization"]),
    ("live-symmetrize-1", _timeline((50, "symmetrize", 1)), ["changes[0]", "symmetrize"]),
    ("preset-not-text", _with("preset", {"a": 1}), ["preset"]),
    ("seed-2-64", _with("target.seed", 2**64), ["seed"]),
    ("steps-1e13", _with("steps", 10**13), ["steps"]),
    ("speed-1e300", _with("speed", 1e300), ["speed"]),
    ("mixture-means-1e300", _with("target.params", {"weights": [0.5, 0.5], "means": [[1e300], [0.0]],
                                                    "covs": [[[1.0]], [[1.0]]]}, MIXTURE), ["mixture", "means"]),
    ("dataset-unknown", _with("target.params", {"dataset": "titanic"}, CSV), ["titanic"]),
    ("duplicate-key", json.dumps(GOOD).replace('"alpha": 0.002', '"alpha": 0.002, "alpha": 5'), ["twice"]),
]


def _one_line(code, err, fragments, path):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gaussviz: error: ") and "Traceback" not in err, err[:500]
    assert str(path) in lines[0] and len(lines[0]) < 1200
    for f in fragments:
        assert f in lines[0], f"{f!r} missing from {lines[0]!r}"


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in SESSIONS], ids=[i for i, _, _ in SESSIONS])
@pytest.mark.parametrize("command", ["run", "render"])
def test_hostile_session_exit_2_one_line(tmp_path, capsys, text, fragments, command):
    path = tmp_path / "stranger.json"
    path.write_text(text)
    extra = ["--out", str(tmp_path / "out")] if command == "render" else []
    code = main([command, "--session", str(path), *extra])
    cap = capsys.readouterr()
    _one_line(code, cap.err, fragments, path)
    assert cap.out == "" and not (tmp_path / "out").exists()


def test_session_given_twice_is_an_error(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for p in (a, b):
        p.write_text(json.dumps(GOOD))
    for argv in (["run", "--session", str(a), "--session", str(b)],
                 ["render", "--session", str(a), "--session", str(b), "--out", str(tmp_path / "o")],
                 ["--session", str(a), "--session", str(b)],
                 ["--session", str(a), "run", "--session", str(b)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--session" in err, err


def _special(kind: str, tmp_path: Path) -> Path:
    p = tmp_path / "special.json"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dev-zero":
        return Path("/dev/zero")
    elif kind == "dev-urandom":
        return Path("/dev/urandom")
    elif kind == "folder":
        p.mkdir()
    elif kind == "symlink-to-fifo":
        os.mkfifo(tmp_path / "fifo")
        p.symlink_to(tmp_path / "fifo")
    elif kind == "sparse-1-GB":
        with open(p, "wb") as f:
            f.truncate(2**30)
    return p


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "dev-urandom", "folder", "symlink-to-fifo", "sparse-1-GB"])
@pytest.mark.parametrize("window", [False, True])
def test_special_files_in_a_real_process(tmp_path, kind, window):
    path = _special(kind, tmp_path)
    argv = ["--session", str(path)] if window else ["run", "--session", str(path)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "gaussviz", *argv], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and str(path) in r.stderr, r.stderr
