"""Target options (--target, --df, --csv, ...) in `gaussviz sweep` (and `render`): run, open what they wrote."""

import csv
import json

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core.settings import Settings, TargetSettings, build_run
from gaussviz.core.sweep import spec_from_dict

GRID = ["--alpha-min", "1e-3", "--alpha-max", "0.05", "--alpha-count", "3",
        "--parameterizations", "covariance,natural", "--seeds", "2", "--steps", "400", "--width", "600"]


def sweep(tmp_path, name, *args):
    out = tmp_path / name
    code = main(["sweep", *GRID, "--out", str(out), *args])
    return code, out


def rows(out):
    with open(out / "stability_map.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def spec(out):
    return json.loads((out / "stability_map.json").read_text())


def test_sweep_student_t_is_recorded_and_changes_the_outcome(tmp_path, capsys):
    code, gauss = sweep(tmp_path, "g")
    assert code == 0, capsys.readouterr().err
    code, heavy = sweep(tmp_path, "t", "--target", "student-t", "--df", "3")
    assert code == 0, capsys.readouterr().err
    base = spec(heavy)["sweep"]["base"]["target"]
    assert base["kind"] == "student-t" and base["params"] == {"df": 3.0}
    # same seeds and grid, other samples: the final KLs differ chain by chain
    kl_g = np.array([float(r["final_kl"] or "nan") for r in rows(gauss)])
    kl_t = np.array([float(r["final_kl"] or "nan") for r in rows(heavy)])
    assert kl_g.shape == kl_t.shape == (12,)
    assert not np.allclose(kl_g, kl_t, equal_nan=True)
    # the title names the kind, not "Gaussian"
    words = spec_from_dict(spec(heavy)["sweep"]).describe()[0]
    assert "Student-t (df 3)" in words and "Gaussian in" not in words


def test_sweep_csv_reports_skipped_lines_and_takes_the_files_dimension(tmp_path, capsys):
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    lines = ["a,b,c"] + [",".join(f"{v:.5f}" for v in rng.normal(size=3)) for _ in range(60)]
    lines[5] = "1.0,oops,2.0"      # line 6 of the file
    lines[9] = "nan,1.0,2.0"       # line 10
    data.write_text("\n".join(lines) + "\n")
    code, out = sweep(tmp_path, "csv", "--csv", str(data))
    err = capsys.readouterr().err
    assert code == 0, err
    assert "line 6: column 'b' is not a number: 'oops'" in err
    assert "line 10: column 'a' is not finite" in err
    assert "skipped 2 line(s), using 58 row(s)" in err
    t = spec(out)["sweep"]["base"]["target"]
    assert t["kind"] == "csv" and t["dim"] == 3
    assert len(rows(out)) == 12


def test_sweep_old_faithful_standardized_by_name(tmp_path, capsys):
    code, out = sweep(tmp_path, "of", "--csv", "old-faithful", "--standardize")
    assert code == 0, capsys.readouterr().err
    t = spec(out)["sweep"]["base"]["target"]
    assert t["params"] == {"dataset": "old-faithful", "standardize": True} and t["dim"] == 2


@pytest.mark.parametrize("args, message", [
    (["--df", "3"], "--df applies to --target student-t, not gaussian"),
    (["--target", "csv"], "--target csv needs --csv FILE"),
    (["--target", "student-t", "--df", "2"], "'df'"),
    (["--target", "drifting", "--drift-rate", "-1"], "drift_rate"),
    (["--target", "mixture", "--axis", "target-cond"], "needs a Gaussian target"),
    (["--csv", "/no/such/file.csv"], "not found"),
])
def test_sweep_bad_target_options_exit_2_with_one_line(tmp_path, capsys, args, message):
    code, out = sweep(tmp_path, "bad", *args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1, err
    assert not (out / "stability_map.png").exists()


@pytest.mark.qt_log_ignore(r"propagateSizeHints")  # offscreen Qt noise when render lays out plots
def test_render_takes_target_options(tmp_path, capsys):
    out = tmp_path / "r"
    code = main(["render", "--preset", "seed-question", "--target", "student-t", "--df", "4",
                 "--steps", "300", "--format", "png", "--width", "600", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    session = json.loads((out / "session.json").read_text())
    assert session["target"]["kind"] == "student-t" and session["target"]["params"] == {"df": 4.0}


def test_sweep_chain_matches_a_direct_run_on_the_same_target(tmp_path, capsys):
    """A cell of a Student-t sweep is the run its settings describe (same samples, same outcome)."""
    code, out = sweep(tmp_path, "t", "--target", "student-t", "--df", "3")
    assert code == 0, capsys.readouterr().err
    r = next(x for x in rows(out) if x["parameterization"] == "natural" and x["seed"] == "1")
    sp = spec(out)["sweep"]
    b = sp["base"]
    s = Settings(target=TargetSettings(**{**b["target"], "seed": 1}))
    s.start.mean, s.start.cov_scale = b["start"]["mean"], float(r["cov0_scale"])
    s.estimator.parameterization, s.estimator.alpha = "natural", float(r["alpha"])
    s.estimator.symmetrize = b["estimator"]["symmetrize"]
    run = build_run(s)
    run.advance(400)
    assert run.snapshot().chain.kl == pytest.approx(float(r["final_kl"]), rel=1e-9)
