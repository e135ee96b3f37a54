"""Issue 10 over what main added since: the optimizer options (settings and live changes), the
view settings and a sweep's saved state (``OUT/.partial``) are read with the same care as the rest
(classes 2 and 7).

A session's optimizer options and its timeline's optimizer/averaging changes are checked when the
file is read, with the CLI's limits, one line naming the key. The estimator's own checks (Python
API, sweeps) give a ValueError naming the option for every hostile value, never OverflowError or
TypeError or a megabyte of repr. A sweep's saved state that is a pipe, nested too deep, too large
or not text is refused in one line without blocking; a task file that is a pipe only makes its chains run again.
"""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

from gaussviz.core.estimator import BatchEstimator
from gaussviz.core.fileio import read_text
from gaussviz.core.presets import get_preset
from gaussviz.core.session import SessionError, read_session
from gaussviz.core.settings import to_dict
from gaussviz.core.sweep import make_spec
from gaussviz.core.sweep_store import PARTIAL, PartialStore, ResumeError

GOOD = to_dict(get_preset("seed-question"))
HUGE_INT = 10**1000


def _session(tmp_path, mutate) -> str:
    d = json.loads(json.dumps(GOOD))
    mutate(d)
    p = tmp_path / "s.json"
    p.write_text(json.dumps(d))
    return str(p)


SESSION_OPTIONS = [("optimizer", "nope"), ("optimizer", "<b>x</b>"), ("optimizer", 5), ("beta1", 1.0),
                   ("beta1", "9" * 5000), ("beta1", HUGE_INT), ("beta2", 2.0), ("beta2", -0.5), ("eps", 0.0),
                   ("eps", -1.0), ("eps", "1e-8"), ("averaging", 1), ("averaging", "true"), ("averaging", None)]


@pytest.mark.parametrize("section", ["estimator", "compare"])
@pytest.mark.parametrize("key,value", SESSION_OPTIONS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(SESSION_OPTIONS)])
def test_a_sessions_optimizer_options_are_checked_when_read(tmp_path, section, key, value):
    def mutate(d):
        if section == "compare":
            d["compare"] = [dict(d["estimator"], **{key: value})]
        else:
            d["estimator"][key] = value

    path = _session(tmp_path, mutate)
    with pytest.raises(SessionError) as e:
        read_session(path)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 1200 and key in msg and path in msg


TIMELINE_OPTIONS = [["adam", 0.9, 0.999], ["nope", 0.9, 0.999, 1e-8], ["adam", 1.0, 0.999, 1e-8],
                    ["adam", 0.9, HUGE_INT, 1e-8], ["adam", 0.9, 0.999, 0], ["adam", 0.9, 0.999, float("nan")],
                    "adam", None, ["adam", "0.9", 0.999, 1e-8]]


@pytest.mark.parametrize("field,value", [("optimizer", v) for v in TIMELINE_OPTIONS]
                         + [("averaging", v) for v in (1, "yes", None, [True])])
def test_optimizer_changes_in_a_timeline_are_checked_when_read(tmp_path, field, value):
    def mutate(d):
        d["steps"] = 100
        d["changes"] = [{"step": 10, "chain": 0, "field": field, "value": value}]

    path = _session(tmp_path, mutate)
    with pytest.raises(SessionError) as e:
        read_session(path)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 1200 and field in msg and "changes[0]" in msg, msg


def test_a_valid_optimizer_change_replays(tmp_path):
    from gaussviz.core.session import replay

    def mutate(d):
        d["steps"] = 200
        d["changes"] = [{"step": 50, "chain": 0, "field": "optimizer", "value": ["momentum", 0.9, 0.999, 1e-8]},
                        {"step": 60, "chain": 0, "field": "averaging", "value": True}]

    s = read_session(_session(tmp_path, mutate))
    run = replay(s)
    assert run.step == 200 and run.estimator.settings(0)["optimizer"] == "momentum"


@pytest.mark.parametrize("key,value", [
    ("view", {"step_axis": "<img src=x>", "step_window": 2000}), ("view", {"step_axis": "window", "step_window": 5}),
    ("view", {"step_axis": "window", "step_window": HUGE_INT}), ("view", {"step_axis": "log", "step_window": 1e3}),
    ("view", {"step_axis": ["log"], "step_window": 2000}), ("view", {"step_axis": "log", "zoom": 2}),
    ("view", "log"), ("speed", 1e300), ("speed", -1.0), ("steps", 10**13),
])
def test_view_and_pace_values_are_checked_when_read(tmp_path, key, value):
    path = _session(tmp_path, lambda d: d.__setitem__(key, value))
    with pytest.raises(SessionError) as e:
        read_session(path)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 1200 and key in msg


BAD_OPTIONS = [
    ("optimizer", "nope"), ("optimizer", 5), ("optimizer", None), ("optimizer", ["adam", "sgd", "x"]),
    ("beta1", 1.0), ("beta1", -0.1), ("beta1", float("nan")), ("beta1", HUGE_INT), ("beta1", "0.9"),
    ("beta1", True), ("beta2", float("inf")), ("beta2", 1 + 1j), ("beta2", np.array([[0.9], [0.9]])),
    ("eps", 0.0), ("eps", -1e-8), ("eps", HUGE_INT), ("eps", float("nan")), ("eps", "1e-8"),
    ("averaging", 1), ("averaging", "yes"), ("averaging", None), ("averaging", [True, 1]),
]


@pytest.mark.parametrize("key,value", BAD_OPTIONS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(BAD_OPTIONS)])
def test_estimator_optimizer_options_refuse_hostile_values(key, value):
    with pytest.raises(ValueError) as e:
        BatchEstimator(np.zeros(2), np.eye(2), n_chains=2, **{key: value})
    msg = str(e.value)
    assert key in msg and "\n" not in msg and len(msg) < 400, msg


# ------------------------------------------------------------ a sweep's saved state
def _spec():
    return make_spec(1e-3, 1e-2, 2, ["covariance"], "cov0-scale", None, 1, 20)


def _no_block(fn, seconds: float = 10.0):
    """``fn()`` in a thread that must end (a FIFO opened for reading would block forever)."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "blocked"
    return out


@pytest.mark.parametrize("content", ["fifo", "folder", "deep", "not-utf8", "not-json", "list", "huge"])
def test_a_hostile_sweep_state_is_refused_in_one_line(tmp_path, content):
    store = PartialStore(tmp_path)
    store.folder.mkdir()
    p = store.spec_path
    if content == "fifo":
        os.mkfifo(p)
    elif content == "folder":
        p.mkdir()
    elif content == "deep":
        p.write_text("[" * 100_000 + "]" * 100_000)
    elif content == "not-utf8":
        p.write_bytes(b"\xff\xfe{")
    elif content == "not-json":
        p.write_text("{'a': 1}")
    elif content == "list":
        p.write_text("[1, 2]")
    else:
        with open(p, "wb") as f:
            f.truncate(2**24 + 1)
    out = _no_block(lambda: store.stored_spec())
    e = out.get("error")
    assert isinstance(e, ResumeError), out
    assert "\n" not in str(e) and len(str(e)) < 2000 and str(p) in str(e)


def test_a_task_file_that_is_a_pipe_only_runs_its_chains_again(tmp_path):
    spec = _spec()
    store = PartialStore(tmp_path)
    store.start(spec)
    os.mkfifo(store.folder / f"chains-{0:010d}-{1:010d}.npz")
    out = _no_block(lambda: store.load(spec))
    assert "error" not in out, out
    parts, problems = out["value"]
    assert parts == [] and len(problems) == 1 and "chains run again" in problems[0]
    assert (tmp_path / PARTIAL).is_dir()


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing"])
def test_read_text_never_blocks_on_a_special_file(tmp_path, kind):
    p = tmp_path / "history.csv"
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "folder":
        p.mkdir()
    out = _no_block(lambda: read_text(p, "history CSV"))
    e = out.get("error")
    assert isinstance(e, OSError) and str(p) in str(e) and "\n" not in str(e), out
