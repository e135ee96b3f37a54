"""Targets beyond one Gaussian: moments match the stated truth, streams are chunk-proof,
the CSV loader survives broken files, and settings / CLI reach all of it."""

import math
import time
from pathlib import Path

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core import csvdata
from gaussviz.core import targets as tg
from gaussviz.core.presets import ILL_COV
from gaussviz.core.session import from_json, to_json
from gaussviz.core.settings import Settings, TargetSettings, build_run, build_source
from gaussviz.core.sources import SampleSource

MEAN = np.array([1.0, -2.0])
COV = np.array(ILL_COV)
ROOT = Path(__file__).resolve().parents[2]


def _sources(seed=7):
    return {
        "student-t": tg.StudentTSource(MEAN, COV, df=6.0, seed=seed),
        "mixture": tg.MixtureSource(*tg.mixture_from_moments(MEAN, COV, 3.0, 0.3), seed=seed),
        "drifting": tg.DriftingSource(MEAN, COV, drift_rate=0.01, rotation_rate=0.05, seed=seed),
        "csv": tg.CsvSource(np.random.default_rng(0).standard_normal((97, 2)) @ [[1, 0.5], [0, 2]], seed=seed),
    }


@pytest.mark.parametrize("kind", ["student-t", "mixture", "drifting", "csv"])
def test_stream_is_seeded_and_chunk_independent(kind):
    whole = _sources()[kind].sample(1000)
    src = _sources()[kind]
    parts = np.concatenate([src.sample(n) for n in (1, 7, 100, 392, 500)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, _sources(seed=8)[kind].sample(1000))
    assert isinstance(src, SampleSource)
    # heldout: fixed, and not the training stream
    h1, h2 = src.heldout(300), _sources()[kind].heldout(300)
    assert np.array_equal(h1, h2)
    assert not np.array_equal(h1, whole[:300])
    assert src.mean.shape == (2,) and src.cov.shape == (2, 2)


@pytest.mark.parametrize("kind", ["gaussian", "student-t", "mixture", "drifting"])
@pytest.mark.parametrize("dim", [4, 8, 17])
def test_stream_is_chunk_independent_to_the_last_bit_in_higher_dimensions(kind, dim):
    # BLAS's blocked z @ L.T rounds a row differently with the number of rows (here d >= 4:
    # chunks of 3, 7 or 33 rows differed in the last bit); the sources transform row by row.
    t = TargetSettings(kind=kind, dim=dim, cond=30.0, seed=5,
                       params={"drift_rate": 0.01, "rotation_rate": 0.5} if kind == "drifting" else {})
    whole = build_source(t).sample(3000)
    for sizes in ((1,) * 40 + (2960,), (3, 7, 33, 2957), (4097,)):
        src = build_source(t)
        got, n = [], 0
        for k in sizes:
            k = min(k, 3000 - n)
            got.append(src.sample(k))
            n += k
        assert np.array_equal(np.concatenate(got), whole)


def test_student_t_moments_and_heavy_tails():
    src = tg.StudentTSource(MEAN, COV, df=10.0, seed=1)
    Y = src.sample(400_000)
    np.testing.assert_allclose(src.mean, MEAN)
    np.testing.assert_allclose(src.cov, COV)
    np.testing.assert_allclose(Y.mean(0), MEAN, atol=0.01)
    np.testing.assert_allclose(np.cov(Y.T), COV, rtol=0.03, atol=0.01)
    # the tails: a t_10 marginal has excess kurtosis 6 / (df - 4) = 1 (a Gaussian: 0)
    z = (Y[:, 0] - MEAN[0]) / math.sqrt(COV[0, 0])
    assert np.mean(z**4) - 3.0 == pytest.approx(1.0, abs=0.25)


def test_student_t_rejects_df_at_most_2():
    with pytest.raises(ValueError, match=r"'df'.*> 2"):
        tg.StudentTSource(MEAN, COV, df=2.0)


def test_mixture_from_moments_has_the_target_moments_and_is_bimodal():
    w, m, c = tg.mixture_from_moments(MEAN, COV, separation=4.0, weight=0.5)
    src = tg.MixtureSource(w, m, c, seed=2)
    np.testing.assert_allclose(src.mean, MEAN, atol=1e-12)
    np.testing.assert_allclose(src.cov, COV, atol=1e-12)
    Y = src.sample(300_000)
    np.testing.assert_allclose(Y.mean(0), MEAN, atol=0.01)
    np.testing.assert_allclose(np.cov(Y.T), COV, atol=0.01)
    # along the widest axis: two modes, a dip in the middle
    u = np.linalg.eigh(COV)[1][:, -1]
    proj = (Y - MEAN) @ u
    half = 0.5 * abs((m[0] - m[1]) @ u)
    near_centre = np.mean(np.abs(proj) < 0.1 * half)
    near_mode = np.mean(np.abs(proj - half) < 0.1 * half)
    assert near_mode > 3 * near_centre


def test_explicit_mixture_truth_is_its_overall_moments():
    w = [0.2, 0.8]
    m = [[0.0, 0.0], [3.0, 1.0]]
    c = [[[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.2], [0.2, 2.0]]]
    src = tg.MixtureSource(w, m, c, seed=3)
    mean = 0.8 * np.array([3.0, 1.0])
    dm = np.array(m) - mean
    cov = 0.2 * np.array(c[0]) + 0.8 * np.array(c[1]) + 0.2 * np.outer(dm[0], dm[0]) + 0.8 * np.outer(dm[1], dm[1])
    np.testing.assert_allclose(src.mean, mean)
    np.testing.assert_allclose(src.cov, cov)
    Y = src.sample(300_000)
    np.testing.assert_allclose(Y.mean(0), mean, atol=0.015)
    np.testing.assert_allclose(np.cov(Y.T), cov, atol=0.03)
    with pytest.raises(ValueError, match="'weights'"):
        tg.MixtureSource([0.5, 0.6], m, c)
    with pytest.raises(ValueError, match=r"'covs\[1\]'.*positive definite"):
        tg.MixtureSource(w, m, [c[0], [[1.0, 2.0], [2.0, 1.0]]])


def test_drifting_truth_is_the_distribution_of_the_next_sample():
    src = tg.DriftingSource(MEAN, COV, drift_rate=0.02, rotation_rate=0.01, seed=4)
    np.testing.assert_allclose(src.mean, MEAN)
    np.testing.assert_allclose(src.cov, COV)
    n = 20_000
    means = np.empty((n, 2))
    ys = np.empty((n, 2))
    whitened = np.empty((n, 2))
    for i in range(n):
        means[i] = src.mean
        L = np.linalg.cholesky(src.cov)
        ys[i] = src.sample(1)[0]
        whitened[i] = np.linalg.solve(L, ys[i] - means[i])
    # each sample is N(current mean, current covariance): whitened, it is N(0, I)
    np.testing.assert_allclose(whitened.mean(0), 0.0, atol=0.03)
    np.testing.assert_allclose(np.cov(whitened.T), np.eye(2), atol=0.04)
    # the mean walks with steps N(0, rate^2 Sigma_0)
    steps = np.diff(np.vstack([means, src.mean]), axis=0)
    np.testing.assert_allclose(np.cov(steps.T) / 0.02**2, COV, atol=0.04)
    # the covariance turned by n * 0.01 degrees = 200 degrees
    th = math.radians(0.01 * n)
    R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    np.testing.assert_allclose(src.cov, R @ COV @ R.T, atol=1e-12)
    assert abs(np.linalg.norm(src.mean - MEAN)) > 0.1  # it did move


def test_drifting_fork_starts_from_the_current_truth():
    src = tg.DriftingSource(MEAN, COV, drift_rate=0.01, rotation_rate=0.1, seed=5)
    src.sample(1234)
    f = src.fork(99)
    np.testing.assert_allclose(f.mean, src.mean)
    np.testing.assert_allclose(f.cov, src.cov)


# ------------------------------------------------------------------- CSV
def _write(tmp_path, text, name="data.csv", mode="w"):
    p = tmp_path / name
    if mode == "wb":
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


@pytest.mark.parametrize("text, message", [
    ("", "is empty"),
    ("\n  \n\n", "is empty"),
    ("x,y\n", "header but no data rows"),
    ("name,town\nfoo,bar\nbaz,qux\n", "no numeric column"),
    ("x,y\n1,2\n2,abc\n", r"only 1 usable row\(s\) for 2 column\(s\); need at least 3 .*line 3"),
    ("a,b\n1,2\n2,4\n3,6\n", "linearly dependent"),
    ("a,b\n1,5\n2,5\n3,5\n", "column 'b' is constant"),
])
def test_csv_loader_rejects_unusable_files(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        csvdata.load_csv(_write(tmp_path, text))


def test_csv_loader_not_utf8_names_the_line(tmp_path):
    p = _write(tmp_path, b"a,b\n1,2\n3,4\n\xe9t\xe9,5\n", mode="wb")
    with pytest.raises(ValueError, match=r"not UTF-8 text \(invalid byte 0xe9 on line 4\)"):
        csvdata.load_csv(p)


def test_csv_loader_skips_bad_lines_and_reports_each(tmp_path):
    text = "x,y\n1,2\n3,abc\n4,5,6\n7\nnan,1\n2,inf\n\n# a comment\n5,7\n1,\n8,3\n"
    f = csvdata.load_csv(_write(tmp_path, text))
    np.testing.assert_array_equal(f.data, [[1, 2], [5, 7], [8, 3]])
    assert f.columns == ["x", "y"] and f.has_header
    assert [(p.line, p.message) for p in f.problems] == [
        (3, "column 'y' is not a number: 'abc'"),
        (4, "3 field(s), expected 2"),
        (5, "1 field(s), expected 2"),
        (6, "column 'x' is not finite: 'nan'"),
        (7, "column 'y' is not finite: 'inf'"),
        (11, "column 'y' is empty"),
    ]
    assert f.n_skipped == 6
    assert f.problem_lines(2) == ["line 3: column 'y' is not a number: 'abc'", "line 4: 3 field(s), expected 2",
                                  "... 4 more skipped line(s) (6 in all)"]


def test_csv_loader_columns_header_delimiters(tmp_path):
    # quoted header and a quoted text field with a comma; the text column is left out
    p = _write(tmp_path, '"x","y","name"\n1,2,"a, b"\n3,4,c\n5,7,d\n')
    f = csvdata.load_csv(p)
    assert f.columns == ["x", "y"]
    np.testing.assert_array_equal(f.data, [[1, 2], [3, 4], [5, 7]])
    assert csvdata.load_csv(p, columns="y,x").columns == ["y", "x"]
    assert csvdata.load_csv(p, columns=[1]).data[:, 0].tolist() == [2, 4, 7]
    with pytest.raises(ValueError, match=r"column 'z' not found .*its columns are x, y, name"):
        csvdata.load_csv(p, columns="x,z")
    with pytest.raises(ValueError, match="index 5 is out of range"):
        csvdata.load_csv(p, columns=[5])
    # no header, semicolons, whitespace, CRLF line ends
    f = csvdata.load_csv(_write(tmp_path, "1;2\r\n3;4\r\n5;7\r\n", "semi.csv"))
    assert not f.has_header and f.columns == ["0", "1"]
    np.testing.assert_array_equal(f.data, [[1, 2], [3, 4], [5, 7]])
    f = csvdata.load_csv(_write(tmp_path, "1 2\n3   5\n6\t1\n", "ws.txt"))
    np.testing.assert_array_equal(f.data, [[1, 2], [3, 5], [6, 1]])
    with pytest.raises(ValueError, match="no header: use 0-based indices"):
        csvdata.load_csv(tmp_path / "semi.csv", columns="x")


def test_csv_loader_one_column(tmp_path):
    p = _write(tmp_path, "v\n1\n2\n4\n")
    f = csvdata.load_csv(p)
    assert f.data.shape == (3, 1) and f.columns == ["v"]
    src = tg.CsvSource(f.data)
    assert src.dim == 1
    assert src.cov[0, 0] == pytest.approx(np.var([1, 2, 4]))
    with pytest.raises(ValueError, match="column 'w' not found"):
        csvdata.load_csv(p, columns="v,w")


def test_csv_loader_missing_file():
    with pytest.raises(ValueError, match=r"not found.*old-faithful"):
        csvdata.load_csv("/nonexistent/file.csv")


def test_csv_loader_large_file(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1_000_000, 3)) * [1.0, 2.0, 3.0] + [0.0, 1.0, 2.0]
    p = tmp_path / "big.csv"
    np.savetxt(p, x, fmt="%.5f", delimiter=",", header="a,b,c", comments="")
    t = time.perf_counter()
    f = csvdata.load_csv(p, columns="a,c")
    elapsed = time.perf_counter() - t
    assert f.data.shape == (1_000_000, 2) and f.n_skipped == 0
    np.testing.assert_allclose(f.data.mean(0), x[:, [0, 2]].mean(0), atol=1e-5)
    assert elapsed < 30.0  # about 1 s here; generous for a busy CI machine


def test_csv_source_streams_shuffled_epochs_and_truth():
    data = np.arange(20.0).reshape(10, 2) ** 1.5
    src = tg.CsvSource(data, seed=3)
    np.testing.assert_allclose(src.mean, data.mean(0))
    np.testing.assert_allclose(src.cov, np.cov(data.T, bias=True))
    e1, e2, e3 = src.sample(10), src.sample(10), src.sample(10)
    for e in (e1, e2, e3):  # each pass uses every row once
        assert sorted(map(tuple, e)) == sorted(map(tuple, data))
    assert not np.array_equal(e1, data) and not np.array_equal(e1, e2)  # shuffled, reshuffled
    assert src.epoch == 3


def test_old_faithful_ships_and_matches_known_statistics():
    p = ROOT / "resources" / "old_faithful.csv"
    assert p.read_text().splitlines()[0] == "eruptions,waiting"
    f = csvdata.load_csv(csvdata.dataset_path("old-faithful"))
    assert Path(f.path).resolve() == p.resolve()
    assert f.data.shape == (272, 2) and f.n_skipped == 0 and f.columns == ["eruptions", "waiting"]
    np.testing.assert_allclose(f.data.mean(0), [3.487783, 70.897059], atol=1e-6)
    np.testing.assert_allclose(f.data.min(0), [1.6, 43.0])
    np.testing.assert_allclose(f.data.max(0), [5.1, 96.0])
    readme = (ROOT / "resources" / "README.md").read_text()
    assert "faithful" in readme and "Härdle" in readme and "licen" in readme.lower()


# --------------------------------------------------------------- settings
@pytest.mark.parametrize("kind, params", [
    ("student-t", {"df": 4.0}),
    ("mixture", {"separation": 3.0, "weight": 0.4}),
    ("drifting", {"drift_rate": 0.01, "rotation_rate": 0.1}),
    ("csv", {"dataset": "old-faithful", "standardize": True}),
])
def test_settings_build_every_kind_and_round_trip(kind, params):
    s = Settings(target=TargetSettings(kind=kind, dim=2, cov=ILL_COV, seed=3, params=params))
    s.estimator.parameterization = "natural"
    s.estimator.alpha = 0.01
    run = build_run(s)
    assert type(run.source).__name__ == {"student-t": "StudentTSource", "mixture": "MixtureSource",
                                         "drifting": "DriftingSource", "csv": "CsvSource"}[kind]
    run.advance(3000)
    snap = run.snapshot()
    assert snap.chain.divergence is None and np.isfinite(snap.chain.kl)
    if kind == "csv":
        np.testing.assert_allclose(snap.true_mean, 0.0, atol=1e-12)  # standardized
    elif kind != "drifting":
        np.testing.assert_allclose(snap.true_cov, ILL_COV, atol=1e-12)
    back = from_json(to_json(s))
    assert back.target.kind == kind and back.target.params == params
    np.testing.assert_array_equal(build_source(back.target).sample(50), build_source(s.target).sample(50))


@pytest.mark.parametrize("kind, params, message", [
    ("student-t", {"df": 1.5}, "student-t: parameter 'df'"),
    ("student-t", {"df": "five"}, "student-t: parameter 'df' must be a finite number"),
    ("student-t", {"nu": 3}, r"unknown parameter\(s\) nu \(allowed: df\)"),
    ("mixture", {"weight": 1.0}, "mixture: parameter 'weight'"),
    ("mixture", {"separation": -1}, "mixture: parameter 'separation'"),
    ("mixture", {"means": [[0, 0], [1, 1]]}, "missing weights, covs"),
    ("drifting", {"drift_rate": -0.1}, "drifting: parameter 'drift_rate'"),
    ("drifting", {"rotation_rate": float("nan")}, "drifting: parameter 'rotation_rate'"),
    ("csv", {}, "csv: parameter 'path'"),
    ("csv", {"dataset": "old-faithful", "columns": 3}, "csv: parameter 'columns'"),
    ("csv", {"dataset": "old-faithful", "standardize": "yes"}, "csv: parameter 'standardize'"),
    ("gaussian", {"df": 3}, r"gaussian: unknown parameter\(s\) df"),
    ("cauchy", {}, "target kind must be one of"),
])
def test_settings_validation_names_the_parameter(kind, params, message):
    s = Settings(target=TargetSettings(kind=kind, params=params))
    with pytest.raises(ValueError, match=message):
        s.validate()


def test_csv_target_sets_the_dimension(tmp_path):
    p = _write(tmp_path, "a,b,c\n1,2,0\n2,1,5\n3,3,1\n0,5,2\n")
    s = Settings(target=TargetSettings(kind="csv", dim=2, params={"path": str(p)}))
    s.validate()
    assert s.target.dim == 3
    assert build_run(s).estimator.d == 3


# -------------------------------------------------------------------- CLI
def test_cli_runs_each_target(capsys):
    assert main(["run", "--target", "student-t", "--df", "5", "--steps", "2000", "--json"]) == 0
    assert main(["run", "--target", "mixture", "--mixture-sep", "3", "--steps", "2000"]) == 0
    assert main(["run", "--target", "drifting", "--drift-rate", "0.01", "--rotation-rate", "0.1",
                 "--parameterization", "natural", "--alpha", "0.02", "--steps", "2000"]) == 0
    assert main(["run", "--csv", "old-faithful", "--columns", "eruptions,waiting", "--standardize",
                 "--parameterization", "natural", "--alpha", "0.01", "--steps", "5000"]) == 0
    out = capsys.readouterr()
    assert out.out.count("updates run: ") == 3 and '"chains"' in out.out  # the summary names the updates run
    assert "warning" not in out.err


def test_cli_drifting_constant_rate_beats_inverse(capsys):
    common = ["run", "--target", "drifting", "--drift-rate", "0.01", "--rotation-rate", "0.05",
              "--parameterization", "natural", "--steps", "40000", "--json"]
    import json

    assert main([*common, "--alpha", "0.02"]) == 0
    const = json.loads(capsys.readouterr().out)["chains"][0]["kl"]
    assert main([*common, "--alpha", "0.5", "--schedule", "inverse"]) == 0
    inverse = json.loads(capsys.readouterr().out)["chains"][0]["kl"]
    assert const < 0.1 < inverse


def test_cli_csv_problems_are_capped_warnings(tmp_path, capsys):
    rows = ["x,y"] + [f"{i},{(i * 7) % 11}" for i in range(70)]
    for k in range(30):
        rows[5 + k] = f"{k},oops"
    p = _write(tmp_path, "\n".join(rows) + "\n")
    assert main(["run", "--csv", str(p), "--parameterization", "natural", "--steps", "100"]) == 0
    err = capsys.readouterr().err.splitlines()
    warn = [e for e in err if e.startswith("gaussviz: warning:")]
    assert len(warn) == 22  # 20 problems, the rest counted, the total
    assert warn[0].endswith("line 6: column 'y' is not a number: 'oops'")
    assert "10 more skipped line(s) (30 in all)" in warn[20]
    assert "skipped 30 line(s), using 40 row(s)" in warn[21]


@pytest.mark.parametrize("args, message", [
    (["--df", "3"], "--df applies to --target student-t, not gaussian"),
    (["--target", "csv"], "--target csv needs --csv FILE"),
    (["--target", "student-t", "--df", "2"], "student-t: parameter 'df'"),
    (["--csv", "no_such_file.csv"], "not found"),
    (["--target", "mixture", "--drift-rate", "0.1"], "--drift-rate applies to --target drifting"),
])
def test_cli_target_errors_exit_2(capsys, args, message):
    assert main(["run", *args, "--steps", "10"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_drifting_history_is_measured_against_the_truth_of_its_moment():
    """Big chunks must not show KL spikes: each history point uses the truth when it was recorded."""
    from gaussviz.core.presets import get_preset
    from gaussviz.core.settings import build_run

    s = get_preset("drifting-target")
    big, small = build_run(s), build_run(s)
    big.advance(100_000)  # one chunk, history points every 391 updates inside it
    while small.step < 100_000:
        small.advance(min(391, 100_000 - small.step))  # a chunk per history point
    hb, hs = big.snapshot().history, small.snapshot().history
    common, ib, is_ = np.intersect1d(hb.steps, hs.steps, return_indices=True)
    assert common.size >= 50
    np.testing.assert_allclose(hb.kl[:, ib], hs.kl[:, is_], rtol=1e-9)
