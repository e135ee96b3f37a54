"""Issue 10, class 7: numeric extremes get a message, not a traceback.

Learning rates and waits at the ends of the float range, targets whose truth is not finite
or whose covariance cannot be represented (data near 1e308, mixture means of 1e300,
covariance entries of 5e-324). Each row: exit status 2 and one line naming what is wrong;
the same targets through the core raise ValueError (never another exception).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import Settings, TargetSettings, build_run, to_dict

#: offscreen Qt noise when render lays out plots
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def _one_line(code, err, fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gaussviz: error: ") and "Traceback" not in err, err[:600]
    for f in fragments:
        assert f in lines[0], f"{f!r} missing from {lines[0]!r}"


SWEEP = [
    (["--alpha-max", "1e308"], ["alpha-max", "at most 1"]),
    (["--alpha-max", "1.0000001"], ["alpha-max", "at most 1"]),
    (["--alpha-max", "inf"], ["alpha-max"]),
    (["--alpha-max", "nan"], ["alpha-max"]),
    (["--alpha-min", "1e-320"], ["alpha-min", "at least 1e-12"]),
    (["--alpha-min", "5e-324"], ["alpha-min"]),
    (["--alpha-min", "1e-13"], ["alpha-min", "at least 1e-12"]),
    (["--alpha-min", "0"], ["alpha-min", "positive"]),
    (["--alpha-min", "-1e308"], ["alpha-min", "positive"]),
    (["--alpha-min", "1e-320", "--alpha-max", "1e308"], ["alpha-"]),
    (["--axis-values", "1e308"], ["cov0-scale", "1e+12"]),
    (["--axis-values", "5e-324"], ["cov0-scale"]),
    (["--axis", "target-cond", "--axis-values", "1e300"], ["target-cond"]),
    (["--axis", "batch-size", "--axis-values", "1e12"], ["batch-size"]),
    (["--seed", str(2**63 - 2), "--seeds", "4"], ["seed"]),
    (["--steps", "100000000000"], ["steps"]),
]


@pytest.mark.parametrize("args,fragments", SWEEP, ids=[" ".join(a) for a, _ in SWEEP])
def test_sweep_extremes(tmp_path, capsys, args, fragments):
    out = tmp_path / "map"
    code = main(["sweep", "--out", str(out), "--alpha-count", "3", "--seeds", "1", "--steps", "10", *args])
    _one_line(code, capsys.readouterr().err, fragments)
    assert not out.exists() or not any(out.iterdir())


AFTER = ["1e300", "inf", "-inf", "nan", "-1", "86401", "1e20"]


@pytest.mark.parametrize("after", AFTER)
def test_screenshot_after_extremes(tmp_path, capsys, after):
    code = main(["--preset", "seed-question", "--screenshot", str(tmp_path / "s.png"), "--after", after])
    _one_line(code, capsys.readouterr().err, ["--after"])
    assert not (tmp_path / "s.png").exists()


RUN = [
    (["--alpha", "1e-320"], ["alpha"]),
    (["--alpha", "5e-324"], ["alpha"]),
    (["--seed", str(2**64)], ["seed"]),
    (["--steps", str(10**13)], ["steps"]),
    (["--batch-size", str(10**12)], ["batch_size"]),
    (["--target-mean", "1e308"], ["target mean"]),
    (["--target", "mixture", "--target-mean", "1e300"], ["target mean"]),
    (["--target", "student-t", "--df", "1e300"], ["df"]),
    (["--target", "drifting", "--drift-rate", "1e300"], ["drift"]),
    (["--cov0-scale", "5e-324"], ["start covariance scale"]),
    (["--target-cond", "1e308"], ["condition number"]),
]


@pytest.mark.parametrize("args,fragments", RUN, ids=[" ".join(a) for a, _ in RUN])
def test_run_extremes(capsys, args, fragments):
    _one_line(main(["run", "--steps", "10", *args]), capsys.readouterr().err, fragments)


def _csv(rows: list[tuple[float, float]]) -> str:
    return "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in rows)


_wave = [(float(np.sin(i)), float(np.cos(i))) for i in range(50)]
CSVS = [
    ("near-1e308", _csv([(1.7e308, 1.0), (-1.7e308, 2.0), (1e308, 3.0), (5.0, 4.0)]), ["too large"]),
    ("max-float", _csv([(1.7976931348623157e308, 1.0), (1.7976931348623157e308, 2.0), (0.0, 4.0)]), ["too large"]),
    ("variance-overflows", _csv([(1e200, 1.0), (-1e200, 2.0), (3e200, 3.0), (5.0, 4.0)]), ["too large"]),
    ("covariance-1e16", _csv([(1e8 * a, b) for a, b in _wave]), ["cannot be represented", "standardize"]),
    ("covariance-1e-20", _csv([(1e-10 * a, b) for a, b in _wave]), ["cannot be represented", "standardize"]),
    ("subnormal-column", _csv([(5e-324 * (i % 3), b) for i, (_, b) in enumerate(_wave)]), ["csv"]),
    ("mean-1e15", _csv([(1e15 + a, b) for a, b in _wave]), ["csv"]),
]


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in CSVS], ids=[i for i, _, _ in CSVS])
def test_csv_extremes(tmp_path, capsys, text, fragments):
    p = tmp_path / "data.csv"
    p.write_text(text)
    _one_line(main(["run", "--csv", str(p), "--steps", "10"]), capsys.readouterr().err, fragments)


def test_huge_scale_data_run_when_standardized(tmp_path, capsys):
    p = tmp_path / "data.csv"
    p.write_text(_csv([(1e8 * a, b) for a, b in _wave]))
    assert main(["run", "--csv", str(p), "--standardize", "--steps", "10", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 10


def _session(kind: str, params: dict, **target) -> dict:
    d = to_dict(get_preset("seed-question"))
    d["target"].update(kind=kind, params=params, **target)
    return d


SESSIONS = [
    ("mixture-means-1e300", _session("mixture", {"weights": [0.5, 0.5], "means": [[1e300], [-1e300]],
                                                 "covs": [[[1.0]], [[1.0]]]}), ["mixture", "means"]),
    ("mixture-means-1e12-apart", _session("mixture", {"weights": [0.5, 0.5], "means": [[1e11], [-1e11]],
                                                      "covs": [[[1.0]], [[1.0]]]}), ["mixture", "covariance"]),
    ("mixture-covs-5e-324", _session("mixture", {"weights": [0.5, 0.5], "means": [[0.0], [0.0]],
                                                 "covs": [[[5e-324]], [[5e-324]]]}), ["mixture"]),
    ("gaussian-cov-5e-324", _session("gaussian", {}, cov=[[5e-324]]), ["covariance"]),
    ("gaussian-cov-1e-300", _session("gaussian", {}, cov=[[1e-300]]), ["covariance"]),
    ("gaussian-cov-2x2-tiny", _session("gaussian", {}, dim=2, mean=0.0, cov=[[5e-324, 0.0], [0.0, 5e-324]]),
     ["covariance"]),
    ("gaussian-cov-1e300", _session("gaussian", {}, cov=[[1e300]]), ["covariance"]),
    ("student-t-cov-5e-324", _session("student-t", {"df": 5.0}, cov=[[5e-324]]), ["covariance"]),
    ("drifting-mean-1e300", _session("drifting", {}, mean=1e300), ["mean"]),
    ("gaussian-scale-1e-300", _session("gaussian", {}, scale=1e-300, cov=None), ["covariance"]),
    ("gaussian-scale-1e300", _session("gaussian", {}, scale=1e300, cov=None), ["covariance"]),
    ("gaussian-2d-scale-5e-324", _session("gaussian", {}, dim=2, mean=0.0, scale=5e-324, cov=None), ["covariance"]),
]


@pytest.mark.parametrize("data,fragments", [(d, f) for _, d, f in SESSIONS], ids=[i for i, _, _ in SESSIONS])
def test_session_targets_that_are_not_representable(tmp_path, capsys, data, fragments):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(data))
    _one_line(main(["run", "--session", str(p), "--steps", "10"]), capsys.readouterr().err, fragments)


@pytest.mark.parametrize("target", [
    TargetSettings(kind="mixture", params={"weights": [0.5, 0.5], "means": [[1e300], [0.0]],
                                           "covs": [[[1.0]], [[1.0]]]}),
    TargetSettings(kind="gaussian", cov=[[5e-324]]),
    TargetSettings(kind="student-t", cov=[[5e-324]], params={"df": 3.0}),
    TargetSettings(kind="drifting", mean=1e13),
    TargetSettings(kind="mixture", dim=2, mean=0.0, cov=[[1e-13, 0.0], [0.0, 1.0]]),
])
def test_core_says_value_error(target):
    with pytest.raises(ValueError):
        build_run(Settings(target=target)).run_to(10)


def test_the_extreme_but_representable_still_runs():
    s = Settings(target=TargetSettings(dim=2, mean=1e12, scale=1e-8))
    run = build_run(s).run_to(100)
    assert run.step == 100 and all(math.isfinite(x) for x in run.snapshot().chain.mean)
