"""`gaussviz sweep` and the heat map: run it, open what it wrote, check its content."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gaussviz.cli import main

GRID = ["--alpha-min", "1e-3", "--alpha-max", "0.2", "--alpha-count", "4",
        "--parameterizations", "covariance,natural", "--seeds", "4", "--steps", "2000"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "gaussviz", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


def distinct_colours(img, step=2):
    from PySide6 import QtGui

    img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    seen = set()
    for y in range(0, img.height(), step):
        for x in range(0, img.width(), step):
            seen.add(img.pixel(x, y))
    return seen


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    r = run_cli("sweep", *GRID, "--axis", "cov0-scale", "--axis-values", "0.5,1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out, r


def test_sweep_writes_and_reports_its_files(swept):
    out, r = swept
    assert sorted(os.listdir(out)) == ["stability_map.csv", "stability_map.json", "stability_map.png"]
    for name in os.listdir(out):
        assert f"wrote {out / name}" in r.stdout
    assert "64 chains x 2,000 updates" in r.stdout
    assert "covariance" in r.stdout and "natural" in r.stdout


def test_csv_shows_covariance_diverging_at_large_alpha_and_natural_not(swept):
    out, _ = swept
    with open(out / "stability_map.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 4 * 4
    assert list(rows[0]) == ["chain", "parameterization", "alpha", "cov0_scale", "seed", "steps", "diverged",
                             "failed_update", "reason", "final_kl", "message"]
    alphas = sorted({float(r["alpha"]) for r in rows})
    assert alphas[0] == pytest.approx(1e-3) and alphas[-1] == pytest.approx(0.2) and len(alphas) == 4
    assert {float(r["cov0_scale"]) for r in rows} == {0.5, 1.0}
    assert {int(r["seed"]) for r in rows} == {0, 1, 2, 3}
    cov_top = [r for r in rows if r["parameterization"] == "covariance" and float(r["alpha"]) == alphas[-1]]
    assert len(cov_top) == 8 and all(r["diverged"] == "true" for r in cov_top)
    for r in cov_top:
        assert r["reason"] in ("not-positive-definite", "exploded", "non-finite")
        assert 1 <= int(r["failed_update"]) <= 2000 and r["final_kl"] == ""
        assert f"at update {r['failed_update']}" in r["message"]
    nat = [r for r in rows if r["parameterization"] == "natural"]
    assert len(nat) == 32 and all(r["diverged"] == "false" for r in nat)
    kls = [float(r["final_kl"]) for r in nat]
    assert all(np.isfinite(kls)) and min(kls) > 0
    # natural at alpha 0.0058..0.2 has converged well; at 1e-3 it is still on its way
    best = {a: np.median([float(r["final_kl"]) for r in nat if float(r["alpha"]) == a]) for a in alphas}
    assert best[alphas[1]] < best[alphas[0]]
    cov_low = [r for r in rows if r["parameterization"] == "covariance" and float(r["alpha"]) == alphas[0]]
    assert all(r["diverged"] == "false" for r in cov_low)


def test_json_carries_the_sweep(swept):
    out, _ = swept
    data = json.loads((out / "stability_map.json").read_text())
    sw = data["sweep"]
    assert sw["parameterizations"] == ["covariance", "natural"] and sw["axis"] == "cov0-scale"
    assert sw["axis_values"] == [0.5, 1.0] and sw["steps"] == 2000 and sw["seeds"] == [0, 1, 2, 3]
    assert sw["base"]["target"]["cov"] == [[1.0, 0.48], [0.48, 0.5]]
    from gaussviz.core.sweep import spec_from_dict

    assert spec_from_dict(sw).n_chains == 64


def test_png_is_1600_wide_not_blank_and_carries_the_settings(swept, qapp):
    from PySide6 import QtGui

    out, _ = swept
    img = QtGui.QImage(str(out / "stability_map.png"))
    assert not img.isNull()
    assert img.width() == 1600 and img.height() > 500
    assert len(distinct_colours(img)) > 50
    meta = json.loads(img.text("gaussviz-sweep"))
    assert meta["alphas"][-1] == pytest.approx(0.2)
    assert img.text("Software").startswith("gaussviz")


def test_heat_map_cells_have_the_right_colours(qapp):
    from PySide6 import QtGui

    from gaussviz.core.sweep import make_spec, run_sweep
    from gaussviz.gui.heatmap import diverged_color, kl_scale, render_stability_map

    res = run_sweep(make_spec(1e-3, 0.2, 4, ["covariance", "natural"], "cov0-scale", [0.5, 1.0], 4, 2000))
    img, geo = render_stability_map(res, width=1000)
    assert img.width() == 1000
    assert len(geo.panels) == 2 and len(geo.x_edges) == 5
    frac = res.diverged_fraction
    scale = kl_scale(res)
    for p, left, top, w, h in geo.panels:
        rows = geo.row_edges[p]
        for r in range(2):
            for a in range(4):
                x = (geo.x_edges[a] + geo.x_edges[a + 1]) // 2
                y = (rows[r] + rows[r + 1]) // 2
                assert geo.cell_at(x, y) == (p, 1 - r, a)  # largest axis value on top
                colour = QtGui.QColor(img.pixel(x, y))
                v = 1 - r
                if frac[p, v, a] > 0:
                    assert colour == diverged_color(frac[p, v, a])
                else:
                    assert colour == scale.color(res.median_kl[p, v, a])  # the blue-green KL scale
                    assert colour.green() > colour.red()
    assert geo.cell_at(5, 5) is None
    # covariance at alpha = 0.2 diverged for all seeds: the darkest red
    top = geo.panels[0][2]
    x = (geo.x_edges[3] + geo.x_edges[4]) // 2
    assert QtGui.QColor(img.pixel(x, top + 3)) == diverged_color(1.0)


def test_width_option(tmp_path, qapp):
    from PySide6 import QtGui

    r = run_cli("sweep", "--alpha-count", "3", "--alpha-min", "0.001", "--alpha-max", "0.1", "--seeds", "2",
                "--steps", "200", "--parameterizations", "natural", "--axis", "batch-size",
                "--axis-values", "1,8", "--width", "800", "--out", str(tmp_path / "w"))
    assert r.returncode == 0, r.stderr
    img = QtGui.QImage(str(tmp_path / "w" / "stability_map.png"))
    assert img.width() == 800 and len(distinct_colours(img)) > 20
    with open(tmp_path / "w" / "stability_map.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["batch_size"] for r in rows} == {"1", "8"} and len(rows) == 12


def test_existing_files_need_force(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "stability_map.csv").write_text("keep me")
    args = ["sweep", *GRID, "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "--force" in err[0]
    assert (out / "stability_map.csv").read_text() == "keep me"
    assert sorted(os.listdir(out)) == ["stability_map.csv"]  # nothing else written, no temp files


def test_force_overwrites(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "stability_map.csv").write_text("old")
    r = run_cli("sweep", "--alpha-count", "2", "--alpha-min", "0.01", "--alpha-max", "0.1", "--seeds", "1",
                "--steps", "100", "--parameterizations", "natural", "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert (out / "stability_map.csv").read_text().startswith("chain,parameterization")
    assert sorted(os.listdir(out)) == ["stability_map.csv", "stability_map.json", "stability_map.png"]


def test_unwritable_out_is_one_line_exit_2(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, fragment in [(afile, "is a file, not a folder"), (afile / "sub", "cannot create folder")]:
        assert main(["sweep", *GRID, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0] and str(afile) in err[0]


@pytest.mark.parametrize("args,fragment", [
    (["--alpha-min", "0"], "alpha-min"),
    (["--alpha-min", "1", "--alpha-max", "0.1"], "must not exceed"),
    (["--alpha-min", "abc"], "--alpha-min"),
    (["--alpha-count", "0"], "alpha-count"),
    (["--parameterizations", "covariance,polar"], "--parameterizations"),
    (["--axis", "dimension"], "--axis"),
    (["--axis", "batch-size", "--axis-values", "2.5"], "whole numbers"),
    (["--axis", "cov0-scale", "--axis-values", "-1"], "cov0-scale values"),
    (["--axis-values", "a,b"], "--axis-values"),
    (["--seeds", "0"], "seeds"),
    (["--steps", "0"], "steps"),
    (["--width", "10"], "--width"),
    (["--preset", "nope"], "--preset"),
    (["--axis", "target-cond", "--axis-values", "10", "--preset", "seed-question"], "dimension >= 2"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, args, fragment):
    assert main(["sweep", *args, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert fragment in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "x" / "stability_map.png").exists()


def test_missing_out_exits_2(capsys):
    assert main(["sweep"]) == 2
    assert "--out" in capsys.readouterr().err
