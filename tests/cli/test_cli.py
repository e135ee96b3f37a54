"""The headless CLI: runs, summaries and exit codes."""

import json
import subprocess
import sys

import pytest

from gaussviz.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "gaussviz", *args], capture_output=True, text=True,
                          timeout=120)


def test_run_seed_question_summary(capsys):
    assert main(["run", "--preset", "seed-question", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    c = out["chains"][0]
    assert out["steps"] == 100_000
    assert c["status"] == "converged"
    assert abs(c["cov"][0][0] - 1) < 0.1
    assert c["settings"]["alpha"] == 0.002


def test_run_wrong_sign_reports_divergence(capsys):
    assert main(["run", "--preset", "seed-question", "--direction", "descent"]) == 0
    out = capsys.readouterr().out
    assert "diverged" in out
    assert "not-positive-definite at update" in out


def test_run_options_reach_the_estimator(capsys):
    args = ["run", "--dim", "3", "--target-cond", "10", "--parameterization", "natural",
            "--alpha", "0.01", "--schedule", "inverse-sqrt", "--batch-size", "4", "--mean0", "1,2,3",
            "--cov0-scale", "2", "--seed", "5", "--steps", "500", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["chains"][0]["settings"]
    assert s == {"parameterization": "natural", "alpha": 0.01, "objective": "loglik", "direction": "ascent",
                 "schedule": "inverse-sqrt", "batch_size": 4, "symmetrize": False}
    assert out["steps"] == 500
    assert len(out["chains"][0]["mean"]) == 3


@pytest.mark.parametrize("args,fragment", [
    (["run", "--alpha", "0"], "alpha"),
    (["run", "--alpha", "abc"], "--alpha"),
    (["run", "--dim", "0"], "dimension"),
    (["run", "--dim", "10000"], "dimension"),
    (["run", "--mean0", "1,2,3", "--dim", "2"], "start mean"),
    (["run", "--parameterization", "polar"], "parameterization"),
    (["run", "--preset", "nope"], "preset"),
    (["run", "--steps", "-5"], "steps"),
    (["run", "--cov0-scale", "-1"], "covariance scale"),
    (["run", "--batch-size", "0"], "batch_size"),
])
def test_bad_options_exit_2_with_one_line(args, fragment):
    r = run_cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert fragment in lines[0]
    assert "Traceback" not in r.stderr


def test_presets_lists_every_preset(capsys):
    from gaussviz.core.presets import PRESETS

    assert main(["presets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(PRESETS)
