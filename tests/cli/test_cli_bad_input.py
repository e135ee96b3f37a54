"""Every bad input the headless CLI and the session loader can meet: exit 2, one line, what and where.

Each row is what a user could type or load, and the fragments the one-line
message must contain: what was wrong and where (the option, the setting, the
session key, the file). The same session table also runs through
``gaussviz.core.settings.from_json`` directly, and ``to_json`` must refuse to
write what ``from_json`` could never read back (NaN, inf).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core.presets import PRESETS, get_preset
from gaussviz.core.session import from_json, to_json
from gaussviz.core.settings import EstimatorSettings, Settings, to_dict

# --------------------------------------------------------------- options
#: (arguments after `gaussviz run`, fragments the message must contain)
BAD_OPTIONS = [
    # alpha: zero, negative, huge, text, not finite, underflowing to zero, empty
    (["--alpha", "0"], ["alpha", "positive"]),
    (["--alpha", "-1"], ["alpha", "positive"]),
    (["--alpha", "1e9"], ["alpha", "at most 1"]),
    (["--alpha", "1.5"], ["alpha", "at most 1"]),
    (["--alpha", "abc"], ["--alpha", "'abc'"]),
    (["--alpha", "nan"], ["alpha", "finite", "nan"]),
    (["--alpha", "inf"], ["alpha", "finite", "inf"]),
    (["--alpha", "-inf"], ["alpha", "inf"]),
    (["--alpha", "1e-400"], ["alpha", "positive"]),
    (["--alpha", ""], ["--alpha"]),
    (["--alpha"], ["--alpha", "expected one argument"]),
    # dimension
    (["--dim", "0"], ["dimension", "1 to 50", "0"]),
    (["--dim", "10000"], ["dimension", "1 to 50", "10000"]),
    (["--dim", "51"], ["dimension", "51"]),
    (["--dim", "-2"], ["dimension", "-2"]),
    (["--dim", "2.5"], ["--dim", "'2.5'"]),
    (["--dim", "two"], ["--dim", "'two'"]),
    # means of the wrong length, not numbers, not finite, too large
    (["--dim", "2", "--mean0", "1,2,3"], ["start mean", "length 2", "length 3"]),
    (["--dim", "3", "--mean0", "1,2"], ["start mean", "length 3"]),
    (["--dim", "2", "--target-mean", "1,2,3"], ["target mean", "length 2"]),
    (["--mean0", "1,abc"], ["--mean0", "'1,abc'"]),
    (["--mean0", ","], ["--mean0", "at least one number"]),
    (["--mean0", "nan"], ["start mean", "finite"]),
    (["--target-mean", "inf,0"], ["target mean", "finite"]),
    (["--target-mean", "1e300"], ["target mean", "within"]),
    (["--mean0", "-1e13"], ["start mean", "within"]),
    (["--dim", "2", "--mean0", "-0.5,1,2"], ["start mean", "length 2"]),
    # batch size and steps
    (["--batch-size", "0"], ["batch_size", ">= 1", "0"]),
    (["--batch-size", "-3"], ["batch_size", "-3"]),
    (["--batch-size", "1000000"], ["batch_size", "at most 100000"]),
    (["--batch-size", "2.5"], ["--batch-size", "'2.5'"]),
    (["--steps", "-5"], ["--steps", "-5"]),
    (["--steps", "1e6"], ["--steps", "'1e6'"]),
    # start covariance and target shape
    (["--cov0-scale", "0"], ["start covariance scale", "0"]),
    (["--cov0-scale", "-1"], ["start covariance scale", "-1"]),
    (["--cov0-scale", "1e13"], ["start covariance scale", "1e12"]),
    (["--cov0-scale", "nan"], ["start covariance scale", "nan"]),
    (["--cov0-scale", "inf"], ["start covariance scale", "inf"]),
    (["--target-cond", "0.5"], ["target condition number", "0.5"]),
    (["--target-cond", "1e11"], ["target condition number"]),
    (["--target-cond", "nan"], ["target condition number", "nan"]),
    (["--target-rotation", "inf"], ["target rotation", "inf"]),
    (["--seed", "-1"], ["seed", "-1"]),
    (["--seed", "1.5"], ["--seed", "'1.5'"]),
    # names
    (["--parameterization", "polar"], ["--parameterization", "'polar'"]),
    (["--objective", "max"], ["--objective", "'max'"]),
    (["--direction", "up"], ["--direction", "'up'"]),
    (["--schedule", "cosine"], ["--schedule", "'cosine'"]),
    (["--preset", "nope"], ["--preset", "'nope'"]),
    (["--symmetrize=maybe"], ["--symmetrize"]),
    (["--frobnicate"], ["unrecognized", "--frobnicate"]),
    (["extra"], ["unrecognized", "extra"]),
    # both a preset and a session
    (["--preset", "seed-question", "--session", "x.json"], ["--preset", "--session"]),
]


def _assert_one_line_error(code: int, out: str, err: str, fragments: list[str]) -> str:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("gaussviz: error: "), line
    assert "Traceback" not in err
    for f in fragments:
        assert f in line, f"{f!r} missing from {line!r}"
    return line


@pytest.mark.parametrize("args,fragments", BAD_OPTIONS, ids=[" ".join(a) or "empty" for a, _ in BAD_OPTIONS])
def test_bad_option_exits_2_with_one_line(args, fragments, capsys):
    code = main(["run", *args])
    cap = capsys.readouterr()
    _assert_one_line_error(code, cap.out, cap.err, fragments)


# --------------------------------------------------------------- sessions
GOOD = to_dict(get_preset("seed-question"))


def _with(path: str, value) -> str:
    """The good session with one key (dotted path, list index as a number) replaced or deleted."""
    data = json.loads(json.dumps(GOOD))
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return json.dumps(data)


_DELETE = object()

#: (id, session text, fragments of the from_json message)
BAD_SESSIONS = [
    ("not-json", "this is not json", ["not valid JSON", "line 1"]),
    ("empty-file", "", ["not valid JSON"]),
    ("truncated", json.dumps(GOOD)[:-20], ["not valid JSON", "line"]),
    ("a-list", "[1, 2, 3]", ["JSON object"]),
    ("a-number", "42", ["JSON object"]),
    ("missing-target", _with("target", _DELETE), ["missing key 'target'"]),
    ("missing-start", _with("start", _DELETE), ["missing key 'start'"]),
    ("missing-estimator", _with("estimator", _DELETE), ["missing key 'estimator'"]),
    ("unknown-key", _with("colour", "red"), ["unknown key", "colour"]),
    ("unknown-nested-key", _with("estimator.momentum", 0.9), ["unknown key", "'estimator'", "momentum"]),
    ("future-version", _with("format", 99), ["format 99", "newer"]),
    ("format-as-text", _with("format", "1"), ["'format'", "integer"]),
    ("alpha-as-text", _with("estimator.alpha", "fast"), ["estimator.alpha", "finite number", "fast"]),
    ("alpha-null", _with("estimator.alpha", None), ["estimator.alpha", "None"]),
    ("alpha-nan", _with("estimator.alpha", float("nan")), ["estimator.alpha", "nan"]),
    ("alpha-infinity", _with("estimator.alpha", float("inf")), ["estimator.alpha", "inf"]),
    ("alpha-zero", _with("estimator.alpha", 0), ["'estimator'", "alpha", "positive"]),
    ("alpha-negative", _with("estimator.alpha", -1), ["'estimator'", "alpha", "positive"]),
    ("dim-as-text", _with("target.dim", "2"), ["target.dim", "int", "'2'"]),
    ("dim-zero", _with("target.dim", 0), ["'target'", "dimension", "0"]),
    ("dim-huge", _with("target.dim", 10_000), ["'target'", "dimension", "10000"]),
    ("seed-float", _with("target.seed", 1.5), ["target.seed", "int"]),
    ("batch-float", _with("estimator.batch_size", 2.0), ["estimator.batch_size", "int"]),
    ("batch-zero", _with("estimator.batch_size", 0), ["'estimator'", "batch_size", "0"]),
    ("symmetrize-text", _with("estimator.symmetrize", "yes"), ["estimator.symmetrize", "bool", "'yes'"]),
    ("parameterization-unknown", _with("estimator.parameterization", "polar"),
     ["'estimator'", "parameterization", "'polar'"]),
    ("parameterization-number", _with("estimator.parameterization", 3), ["estimator.parameterization", "str"]),
    ("target-not-object", _with("target", [1, 2]), ["'target'", "object", "list"]),
    ("start-not-object", _with("start", "zero"), ["'start'", "object", "str"]),
    ("compare-not-list", _with("compare", {"alpha": 0.1}), ["'compare'", "list"]),
    ("compare-entry-bad", _with("compare", [{"alpha": "x"}]), ["compare[0].alpha", "'x'"]),
    ("compare-batch-mismatch", _with("compare", [{"batch_size": 4}]), ["mini-batch size"]),
    ("mean-wrong-length", _with("start.mean", [0.0, 1.0, 2.0]), ["'start'", "start mean", "length 1", "length 3"]),
    ("mean-text", _with("target.mean", "zero"), ["'target'", "target mean", "'zero'"]),
    ("mean-object", _with("target.mean", {"x": 1}), ["'target'", "target mean"]),
    ("mean-nan", _with("target.mean", [float("nan")]), ["'target'", "target mean", "finite"]),
    ("mean-huge", _with("start.mean", 1e300), ["'start'", "start mean", "within"]),
    ("cov-not-pd", json.dumps({**GOOD, "target": {**GOOD["target"], "dim": 2, "mean": 0.0,
                                                  "cov": [[1.0, 2.0], [2.0, 1.0]]}}),
     ["'target'", "target covariance", "positive definite", "-1"]),
    ("cov-not-symmetric", json.dumps({**GOOD, "target": {**GOOD["target"], "dim": 2, "mean": 0.0,
                                                         "cov": [[1.0, 0.5], [0.1, 1.0]]}}),
     ["'target'", "target covariance", "symmetric"]),
    ("cov-wrong-shape", _with("target.cov", [[1.0, 0.0], [0.0, 1.0]]), ["'target'", "target covariance", "(1, 1)"]),
    ("cov-text", _with("target.cov", "identity"), ["'target'", "target covariance", "'identity'"]),
    ("cov-nan", _with("target.cov", [[float("nan")]]), ["'target'", "target covariance", "finite"]),
    ("cov0-scale-negative", _with("start.cov_scale", -1), ["'start'", "start covariance scale", "-1"]),
    ("steps-negative", _with("steps", -1), ["steps", "-1"]),
    ("speed-text", _with("speed", "fast"), ["speed"]),
]


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in BAD_SESSIONS],
                         ids=[i for i, _, _ in BAD_SESSIONS])
def test_from_json_rejects_bad_sessions_naming_the_key(text, fragments):
    with pytest.raises(ValueError) as info:
        from_json(text)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("session")
    for f in fragments:
        assert f in msg, f"{f!r} missing from {msg!r}"


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in BAD_SESSIONS],
                         ids=[i for i, _, _ in BAD_SESSIONS])
def test_cli_session_rejects_bad_files_naming_file_and_key(text, fragments, tmp_path, capsys):
    path = tmp_path / "bad-session.json"
    path.write_text(text, encoding="utf-8")
    code = main(["run", "--session", str(path), "--steps", "10"])
    cap = capsys.readouterr()
    line = _assert_one_line_error(code, cap.out, cap.err, fragments)
    assert str(path) in line


@pytest.mark.parametrize("content,fragments", [
    (b"\xff\xfe{\x00}\x00", ["not UTF-8", "byte 0"]),
    (b'{"target": {"kind": "gaussian\xe9"}}', ["not UTF-8", "byte"]),
    (None, ["cannot read", "No such file"]),
    ("dir", ["cannot read"]),
])
def test_cli_session_unreadable_files(content, fragments, tmp_path, capsys):
    path = tmp_path / "s.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "dir":
        path.mkdir()
    code = main(["run", "--session", str(path)])
    cap = capsys.readouterr()
    line = _assert_one_line_error(code, cap.out, cap.err, fragments)
    assert str(path) in line


def test_cli_session_alpha_beyond_the_cli_limit(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(_with("estimator.alpha", 1e9))
    code = main(["run", "--session", str(path)])
    cap = capsys.readouterr()
    _assert_one_line_error(code, cap.out, cap.err, ["alpha", "at most 1"])


def test_cli_runs_a_good_session_and_options_override_it(tmp_path, capsys):
    s = get_preset("ill-conditioned-natural")
    s.steps = 300
    path = tmp_path / "s.json"
    path.write_text(to_json(s))
    assert main(["run", "--session", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 300  # the session's own step count
    c = out["chains"][0]
    assert c["settings"]["parameterization"] == "natural" and c["settings"]["alpha"] == 0.02
    assert len(c["mean"]) == 2
    assert main(["run", "--session", str(path), "--alpha", "0.5", "--steps", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 20 and out["chains"][0]["settings"]["alpha"] == 0.5


@pytest.mark.parametrize("args,fragments", [
    (["run", "--alpha", "1e9"], ["alpha", "at most 1"]),
    (["run", "--dim", "10000"], ["dimension"]),
    (["run", "--alpha", "abc"], ["--alpha"]),
    (["run", "--session", "/nonexistent/s.json"], ["/nonexistent/s.json", "cannot read"]),
    (["run", "--batch-size", "1000000"], ["batch_size"]),
])
def test_bad_input_in_a_real_process_has_no_traceback(args, fragments):
    """The same through a real interpreter: what a user sees, exit status included."""
    r = subprocess.run([sys.executable, "-m", "gaussviz", *args], capture_output=True, text=True, timeout=120)
    _assert_one_line_error(r.returncode, r.stdout, r.stderr, fragments)


def test_the_largest_batch_runs_in_bounded_memory(capsys):
    """batch 100,000 at d = 50: chunks shrink to the sample budget instead of asking for 20 GB."""
    assert main(["run", "--dim", "50", "--batch-size", "100000", "--steps", "2", "--parameterization",
                 "natural", "--alpha", "0.5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == 2 and out["chains"][0]["updates"] == 2


# ------------------------------------------------------------ writing
@pytest.mark.parametrize("edit,where", [
    (lambda s: setattr(s.estimator, "alpha", math.nan), "estimator.alpha"),
    (lambda s: setattr(s.estimator, "alpha", math.inf), "estimator.alpha"),
    (lambda s: setattr(s, "speed", -math.inf), "speed"),
    (lambda s: setattr(s.target, "mean", [0.0, math.inf]), "target.mean[1]"),
    (lambda s: setattr(s.target, "cov", [[1.0, math.nan], [math.nan, 1.0]]), "target.cov[0][1]"),
    (lambda s: setattr(s.target, "mean", np.array([0.0, np.nan])), "target.mean[1]"),
    (lambda s: setattr(s.start, "cov_scale", np.float64(np.nan)), "start.cov_scale"),
    (lambda s: s.compare.append(EstimatorSettings(alpha=math.nan)), "compare[0].alpha"),
    (lambda s: setattr(s.target, "params", {"df": math.inf}), "target.params.df"),
])
def test_to_json_refuses_non_finite_values_naming_the_key(edit, where):
    s = Settings()
    edit(s)
    with pytest.raises(ValueError) as info:
        to_json(s)
    msg = str(info.value)
    assert f"'{where}'" in msg and "finite" in msg


def test_to_json_writes_numpy_values_as_plain_json_and_round_trips():
    s = get_preset("ill-conditioned-covariance")
    s.target.mean = np.array([0.5, -0.25])
    s.start.cov_scale = np.float64(2.0)
    s.steps = 1234
    text = to_json(s)
    assert "NaN" not in text and "Infinity" not in text
    back = from_json(text)
    assert back.target.mean == [0.5, -0.25] and back.start.cov_scale == 2.0 and back.steps == 1234


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_round_trips_through_a_session(name):
    s = get_preset(name)
    back = from_json(to_json(s))
    assert to_dict(back) == to_dict(s)


def test_count_of_bad_inputs_tried():
    """The table sizes, for the issue's closing note (and so a shrinking table is noticed)."""
    assert len(BAD_OPTIONS) >= 50
    assert len(BAD_SESSIONS) >= 40
