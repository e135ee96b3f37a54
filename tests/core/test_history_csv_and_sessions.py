"""History CSV, session files, reproducibility and atomic writes."""

import csv
import errno
import io
import json
import os
import sys

import numpy as np
import pytest

from gaussviz import __version__
from gaussviz.core import fileio
from gaussviz.core.fileio import OverwriteError, atomic_write_bytes, atomic_write_text, ensure_folder
from gaussviz.core.history_csv import (
    history_csv,
    history_header,
    parse_history_csv,
    read_history_csv,
    write_history_csv,
)
from gaussviz.core.presets import get_preset
from gaussviz.core.session import read_session as load_session
from gaussviz.core.session import replay, save_session
from gaussviz.core.settings import build_run, to_dict


@pytest.fixture(scope="module")
def compare_run():
    """Five parameterizations on one stream; covariance leaves the PD cone at update 85."""
    s = get_preset("what-am-i-missing")
    run = build_run(s)
    for n in (500, 1000, 1500):
        run.advance(n)
    return s, run, run.snapshot()


def rows_of(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_history_csv_columns_and_values_match_the_snapshot(compare_run):
    _, _, snap = compare_run
    text = history_csv(snap)
    assert "nan" not in text.lower() and "inf" not in text.lower()
    header = next(csv.reader(io.StringIO(text)))
    assert header == history_header(2)
    assert header[:4] == ["chain", "label", "step", "alpha_t"]
    assert header[4:10] == ["mean_0", "mean_1", "cov_0_0", "cov_0_1", "cov_1_0", "cov_1_1"]
    assert header[-6:] == ["eig_0", "eig_1", "asymmetry", "kl", "ref_kl", "status"]
    rows = rows_of(text)
    h = snap.history
    K = len(snap.chains)
    assert len(rows) == K * h.n
    for k, c in enumerate(snap.chains):
        block = rows[k * h.n:(k + 1) * h.n]
        assert {r["chain"] for r in block} == {str(k)} and {r["label"] for r in block} == {c.label}
        assert [int(r["step"]) for r in block] == h.steps.tolist()
        if c.divergence is None:
            last = block[-1]
            assert int(last["step"]) == snap.step
            assert [float(last["mean_0"]), float(last["mean_1"])] == c.mean.tolist()
            assert float(last["cov_0_1"]) == c.cov[0, 1] and float(last["cov_1_1"]) == c.cov[1, 1]
            assert float(last["kl"]) == pytest.approx(c.kl, rel=1e-12)
            assert float(last["alpha_t"]) == c.alpha_t
            assert {r["status"] for r in block} == {"ok"}
        # every row against the history itself, bit for bit
        for n in (0, 1, h.n // 2, h.n - 1):
            r = block[n]
            if np.isfinite(h.mean[k, n, 0]):
                assert float(r["eig_0"]) == h.eig[k, n, 0] and float(r["cov_1_0"]) == h.cov[k, n, 1, 0]
            if np.isfinite(h.ref_kl[n]):
                assert float(r["ref_kl"]) == h.ref_kl[n]
            else:
                assert r["ref_kl"] == ""


def test_rows_after_a_divergence_say_why_and_hold_no_numbers(compare_run):
    _, _, snap = compare_run
    cov = snap.chains[0]
    assert cov.divergence is not None and cov.divergence.reason == "not-positive-definite"
    rows = [r for r in rows_of(history_csv(snap)) if r["chain"] == "0"]
    dead = [r for r in rows if int(r["step"]) >= cov.divergence.step]
    alive = [r for r in rows if int(r["step"]) < cov.divergence.step]
    assert dead and alive
    assert {r["status"] for r in alive} == {"ok"}
    assert {r["status"] for r in dead} == {f"diverged: not-positive-definite at update {cov.divergence.step}"}
    for r in dead:
        assert r["mean_0"] == r["cov_0_0"] == r["eig_1"] == r["kl"] == r["alpha_t"] == ""
        assert r["ref_kl"] != ""  # the reference goes on


def test_history_csv_reads_back_exactly(compare_run, tmp_path):
    _, _, snap = compare_run
    path = write_history_csv(tmp_path / "h.csv", snap)
    t = read_history_csv(path)
    h = snap.history
    assert t.d == 2 and t.chains() == list(range(5)) and t.n_rows == 5 * h.n
    for k in range(5):
        i = t.rows_of(k)
        assert np.array_equal(t.step[i], h.steps)
        assert np.array_equal(t.mean[i], h.mean[k], equal_nan=True)
        assert np.array_equal(t.cov[i], h.cov[k], equal_nan=True)
        assert np.array_equal(t.eig[i], h.eig[k], equal_nan=True)
        assert np.array_equal(t.kl[i], h.kl[k], equal_nan=True)
        assert np.array_equal(t.ref_kl[i], h.ref_kl, equal_nan=True)
    assert t.label[0] == snap.chains[0].label


def test_history_of_a_bare_view(compare_run):
    _, _, snap = compare_run
    rows = rows_of(history_csv(snap.history))
    assert rows[0]["label"] == "chain 0"
    assert rows[-1]["status"] == "ok"
    assert {r["status"] for r in rows if r["chain"] == "0" and r["mean_0"] == ""} == {"diverged"}
    with pytest.raises(ValueError, match="5 chains but 2 labels"):
        history_csv(snap.history, labels=["a", "b"])


GOOD = "chain,label,step,alpha_t,mean_0,cov_0_0,eig_0,asymmetry,kl,ref_kl,status\n0,x,1,0.1,0.5,1.0,1.0,0.0,0.2,,ok\n"


@pytest.mark.parametrize("text,fragment", [
    ("", "is empty"),
    ("   \n\n", "is empty"),
    (GOOD.splitlines()[0] + "\n", "header but no data rows"),
    ("step\n1\n2\n", "no mean_0 column"),
    ("chain,step,mean_0,kl\n0,1,2,3\n", "missing column"),
    (GOOD.replace("0.5,1.0", "abc,1.0"), "line 2, column mean_0: 'abc' is not a number"),
    (GOOD.replace("0.5,1.0", "nan,1.0"), "line 2, column mean_0: 'nan' is not finite"),
    (GOOD.replace("0.2,,ok", "inf,,ok"), "line 2, column kl: 'inf' is not finite"),
    (GOOD + "0,x,2,0.1\n", "line 3: 4 cells, expected 11"),
    (GOOD.replace("0,x,1,", "0,x,1.5,"), "column step: '1.5' is not a whole number"),
    (GOOD.replace("mean_0,cov", "mean_0,mean_0,cov"), "duplicate column"),
])
def test_broken_history_csv_gives_a_clear_error(text, fragment):
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(")):
        parse_history_csv(text, where="h.csv")


def test_history_csv_not_utf8_or_missing(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"chain,step\n\xff\xfe\x00garbage\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        read_history_csv(p)
    with pytest.raises(OSError, match="no such file"):
        read_history_csv(tmp_path / "nope.csv")


def test_large_history_csv_parses():
    row = "0,x,{},0.1,0.5,1.0,1.0,0.0,0.2,,ok\n"
    text = GOOD.splitlines()[0] + "\n" + "".join(row.format(i) for i in range(100_000))
    t = parse_history_csv(text)
    assert t.n_rows == 100_000 and t.step[-1] == 99_999 and np.all(t.mean == 0.5)


# ------------------------------------------------------------------ sessions
def test_session_round_trip_and_replay_gives_the_same_numbers(compare_run, tmp_path):
    s, run, snap = compare_run
    path = save_session(tmp_path / "session.json", s, steps_run=run.step)
    data = json.loads(path.read_text())
    assert data["version"] == __version__ and data["app"] == "gaussviz"
    assert data["steps"] == 3000
    assert data["estimator"]["parameterization"] == "covariance"
    assert [c["parameterization"] for c in data["compare"]] == ["precision", "cholesky", "log-cholesky", "natural"]
    loaded = load_session(path)
    expect = to_dict(s)
    expect["steps"] = 3000
    assert to_dict(loaded) == expect
    # replayed in other chunks: the same numbers
    again = replay(loaded, chunk=777).snapshot()
    assert again.step == snap.step
    for a, b in zip(again.chains, snap.chains):
        assert np.array_equal(a.mean, b.mean) and np.array_equal(a.cov, b.cov)
        assert a.divergence == b.divergence
        assert a.kl == pytest.approx(b.kl, rel=1e-12, abs=1e-15)
    assert np.allclose(again.ref_cov, snap.ref_cov, rtol=1e-12, atol=1e-15)
    assert again.ref_kl == pytest.approx(snap.ref_kl, rel=1e-9)


@pytest.mark.parametrize("preset", ["seed-question", "ill-conditioned-natural", "asymmetry-drift"])
def test_build_run_reproduces_to_1e12_however_chunked(preset):
    s = get_preset(preset)
    n = 20_000
    a = replay(s, steps=n, chunk=n)
    b = build_run(s)
    for c in (1, 2, 997, 3000, 6000, 10_000):
        b.advance(c)
    assert a.step == b.step == n
    sa, sb = a.snapshot(), b.snapshot()
    for x, y in zip(sa.chains, sb.chains):
        assert np.allclose(x.mean, y.mean, rtol=0, atol=1e-12)
        assert np.allclose(x.cov, y.cov, rtol=0, atol=1e-12)
        assert x.divergence == y.divergence
    assert np.allclose(sa.ref_mean, sb.ref_mean, rtol=0, atol=1e-12)
    assert np.allclose(sa.ref_cov, sb.ref_cov, rtol=0, atol=1e-12)


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not valid JSON"),
    ("[]", "must hold a JSON object"),
    ('{"target": {}, "start": {}}', "missing key 'estimator'"),
    ('{"format": 99, "target": {}, "start": {}, "estimator": {}}', "newer than this gaussviz"),
    ('{"target": {"dim": "two"}, "start": {}, "estimator": {}}', "target.dim"),
])
def test_bad_session_files_name_the_file_and_the_problem(tmp_path, content, fragment):
    p = tmp_path / "s.json"
    p.write_text(content)
    with pytest.raises(ValueError, match=fragment) as e:
        load_session(p)
    assert str(p) in str(e.value)


def test_session_save_refuses_to_overwrite(tmp_path):
    s = get_preset("seed-question")
    p = save_session(tmp_path / "s.json", s, steps_run=10)
    before = p.read_text()
    with pytest.raises(FileExistsError, match="already exists"):
        save_session(p, s, steps_run=20)
    assert p.read_text() == before
    save_session(p, s, steps_run=20, force=True)
    assert json.loads(p.read_text())["steps"] == 20


# ------------------------------------------------------------- atomic writes
def temp_files(folder):
    return [f for f in os.listdir(folder) if f.endswith(".tmp")]


def test_atomic_write_writes_and_leaves_no_temp_file(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "héllo\n")
    assert p.read_bytes() == "héllo\n".encode()
    assert temp_files(tmp_path) == []
    atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.bin"]


def test_atomic_write_does_not_overwrite_without_force(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(OverwriteError) as e:
        atomic_write_text(p, "new")
    assert isinstance(e.value, FileExistsError)
    assert str(p) in str(e.value) and "force" in str(e.value)
    assert p.read_text() == "old" and temp_files(tmp_path) == []
    atomic_write_text(p, "new", force=True)
    assert p.read_text() == "new" and temp_files(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    p.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(OSError, match=r"cannot write .*a\.txt: the disk is full") as e:
        atomic_write_text(p, "new", force=True)
    assert e.value.errno == errno.ENOSPC
    assert p.read_text() == "old" and temp_files(tmp_path) == []


def test_unwritable_destinations_give_one_clear_line(tmp_path):
    afile = tmp_path / "plain"
    afile.write_text("x")
    cases = [
        (lambda: atomic_write_text(afile / "out.csv", "x"), "cannot write"),
        (lambda: atomic_write_text(tmp_path / "missing" / "out.csv", "x"), "does not exist"),
        (lambda: atomic_write_text(tmp_path, "x"), "it is a folder"),
        (lambda: ensure_folder(afile), "it is a file, not a folder"),
        (lambda: ensure_folder(afile / "sub"), "cannot create folder"),
    ]
    for call, fragment in cases:
        with pytest.raises(OSError, match=fragment) as e:
            call()
        msg = str(e.value)
        assert "\n" not in msg and str(tmp_path) in msg
    assert sorted(os.listdir(tmp_path)) == ["plain"]


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OSError, match="permission denied"):
            atomic_write_text(ro / "a.txt", "x")
        with pytest.raises(OSError, match="cannot write to folder"):
            ensure_folder(ro)
    finally:
        ro.chmod(0o700)


def test_system_folder_is_refused_even_for_root():
    if os.access("/sys", os.W_OK) and not os.path.ismount("/sys"):
        pytest.skip("/sys is writable here")
    with pytest.raises(OSError, match="cannot"):
        ensure_folder("/sys/gaussviz-test")


def test_the_averaged_kl_is_a_column_when_a_chain_averages(tmp_path):
    """A chain keeping a Polyak-Ruppert average: its KL (the KL plot's dotted curve) is written as
    ``avg_kl`` after ``kl`` and reads back exactly; a chain without one has the cell empty, and a
    file where no chain averages keeps the plain layout."""
    from dataclasses import replace

    s = get_preset("ill-conditioned-natural")
    s = replace(s, estimator=replace(s.estimator, averaging=True), compare=[replace(s.estimator, averaging=False)])
    run = build_run(s)
    run.advance(3000)
    snap = run.snapshot()
    h = snap.history
    assert np.isfinite(h.avg_kl[0]).any() and not np.isfinite(h.avg_kl[1]).any()
    text = history_csv(snap)
    header = next(csv.reader(io.StringIO(text)))
    assert header == history_header(2, averaged=True)
    assert header[-4:] == ["kl", "avg_kl", "ref_kl", "status"]
    t = read_history_csv(write_history_csv(tmp_path / "h.csv", snap))
    assert np.array_equal(t.avg_kl[t.rows_of(0)], h.avg_kl[0], equal_nan=True)
    assert np.isnan(t.avg_kl[t.rows_of(1)]).all()
    assert np.array_equal(t.kl[t.rows_of(0)], h.kl[0], equal_nan=True)  # the other columns unmoved
    assert np.array_equal(t.ref_kl[t.rows_of(1)], h.ref_kl, equal_nan=True)
    plain = build_run(get_preset("ill-conditioned-natural"))
    plain.advance(100)
    assert "avg_kl" not in history_csv(plain.snapshot()).splitlines()[0]
    assert parse_history_csv(history_csv(plain.snapshot())).avg_kl is None
