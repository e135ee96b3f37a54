"""The optimizer options of `run`, `render` and `sweep`, and the sweep's optimizer axis."""

import csv
import json

import numpy as np
import pytest

from gaussviz.cli import build_parser, main
from gaussviz.core import optimizers as opt
from gaussviz.core.session import read_session
from gaussviz.core.sweep import AXES, make_spec, run_sweep, spec_from_dict


@pytest.mark.parametrize("command", ["run", "render", "sweep"])
def test_every_command_offers_the_optimizer_options_with_their_defaults(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--optimizer", "--beta1", "--beta2", "--eps", "--averaging"):
        assert flag in text
    # the choices come from the registry (listed in the help, a NAME placeholder in the usage: issue 13)
    assert "--optimizer NAME" in text and "one of: " + ", ".join(opt.NAMES) in text
    assert "default 0.9" in text and "default 0.999" in text and "default 1e-08" in text


#: the offscreen platform's warning when render builds its window
pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def test_run_with_adam_and_averaging_reports_both_estimates(capsys):
    assert main(["run", "--optimizer", "adam", "--beta1", "0.8", "--beta2", "0.99", "--eps", "1e-6",
                 "--averaging", "--alpha", "0.003", "--symmetrize", "--steps", "20000", "--json"]) == 0
    c = json.loads(capsys.readouterr().out)["chains"][0]
    s = c["settings"]
    assert (s["optimizer"], s["beta1"], s["beta2"], s["eps"], s["averaging"]) == ("adam", 0.8, 0.99, 1e-6, True)
    assert c["label"] == "covariance, alpha = 0.003, adam, averaged"
    avg = c["averaged"]
    assert np.isfinite(avg["kl"]) and avg["kl"] < c["kl"]
    assert np.all(np.linalg.eigvalsh(avg["cov"]) > 0)


def test_plain_run_summary_has_no_averaged_block(capsys):
    assert main(["run", "--steps", "100", "--json"]) == 0
    c = json.loads(capsys.readouterr().out)["chains"][0]
    assert "averaged" not in c and "optimizer" not in c["settings"]


@pytest.mark.parametrize("args,fragment", [
    (["--optimizer", "adamw"], "invalid choice: 'adamw'"),
    (["--beta1", "1"], "--beta1: beta1 must be a number in [0, 1)"),
    (["--beta2", "-0.5"], "--beta2: beta2 must be a number in [0, 1)"),
    (["--eps", "0"], "--eps: eps must be a positive finite number"),
    (["--parameterization", "riemannian", "--optimizer", "momentum"], "--optimizer: the riemannian"),
])
def test_bad_optimizer_options_exit_2_with_one_line(args, fragment, capsys):
    assert main(["run", "--steps", "10", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err


def test_render_writes_a_session_with_the_optimizer(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["render", "--preset", "seed-question", "--optimizer", "nesterov", "--beta1", "0.5",
                 "--averaging", "--steps", "500", "--format", "png", "--width", "800", "--out", str(out)]) == 0
    s = read_session(out / "session.json")
    assert (s.estimator.optimizer, s.estimator.beta1, s.estimator.averaging) == ("nesterov", 0.5, True)


def test_optimizer_axis_spec_csv_json_and_resumable_dict():
    spec = make_spec(1e-3, 0.05, 3, ["covariance", "log-cholesky"], "optimizer", ["adam", "sgd"], 2, 300)
    assert spec.axis_values == (0, 4)  # indices into the registry's order, sorted
    assert [AXES["optimizer"].format(v) for v in spec.axis_values] == ["sgd", "adam"]
    assert spec.to_dict()["axis_values"] == ["sgd", "adam"]
    assert spec_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert spec.settings(0, 1, 2).estimator.optimizer == "adam"
    assert "optimizer swept" in " ".join(spec.describe())
    res = run_sweep(spec)
    rows = list(csv.DictReader(res.csv_text().splitlines()))
    assert {r["optimizer"] for r in rows} == {"sgd", "adam"}
    # a cell's chains run with its optimizer: the sgd rows match a sweep of sgd alone
    sgd = run_sweep(make_spec(1e-3, 0.05, 3, ["covariance", "log-cholesky"], "optimizer", ["sgd"], 2, 300))
    kl = res.final_kl.reshape(spec.shape)
    np.testing.assert_array_equal(kl[:, 0], sgd.final_kl.reshape(sgd.spec.shape)[:, 0])
    assert not np.allclose(kl[:, 1], kl[:, 0], equal_nan=True)


@pytest.mark.parametrize("kwargs,fragment", [
    (dict(axis_values=["adamw"]), "optimizer values must be names from sgd, momentum"),
    (dict(axis_values=["sgd", "sgd"]), "listed twice"),
    (dict(axis_values=["sgd", "adam"], parameterizations=["riemannian"]), "leave riemannian out"),
])
def test_bad_optimizer_axes_raise(kwargs, fragment):
    kw = dict(axis="optimizer", parameterizations=["covariance"], seeds=1, steps=10)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=fragment):
        make_spec(**kw)


def test_cli_sweep_on_the_optimizer_axis(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["sweep", "--axis", "optimizer", "--axis-values", "sgd,momentum", "--alpha-count", "2",
                 "--seeds", "1", "--steps", "200", "--width", "800", "--out", str(out)]) == 0
    spec = json.loads((out / "stability_map.json").read_text())["sweep"]
    assert spec["axis_values"] == ["sgd", "momentum"]
    assert "riemannian" not in spec["parameterizations"]  # the default leaves out sgd-only rules
    assert main(["sweep", "--axis", "optimizer", "--axis-values", "sgd,nope", "--out", str(tmp_path / "x")]) == 2
    assert "--axis-values: optimizer values must be names" in capsys.readouterr().err
