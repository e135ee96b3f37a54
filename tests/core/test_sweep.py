"""The stability-map sweep: batched chains equal single runs, aggregates, chunking, cancel, validation."""

import csv
import io
import itertools
import json

import numpy as np
import pytest

from gaussviz.core import Estimator
from gaussviz.core.metrics import eig_and_kl
from gaussviz.core.presets import ILL_COV
from gaussviz.core.settings import StartSettings, TargetSettings, build_run, cov_from_condition
from gaussviz.core.sources import GaussianSource
from gaussviz.core.sweep import (
    SweepCancelled,
    assemble,
    default_base,
    make_spec,
    run_chains,
    run_sweep,
    spec_from_dict,
)

SMALL = dict(alpha_min=1e-3, alpha_max=0.2, alpha_count=4, parameterizations=["covariance", "natural"],
             seeds=4, steps=2000)


@pytest.fixture(scope="module")
def small():
    return run_sweep(make_spec(**SMALL))


def single_run(p, alpha, seed, steps, scale=1.0, batch=1, cov=ILL_COV):
    """One chain the plain way: an Estimator fed its seed's whole stream at once."""
    est = Estimator([1.0, 1.0], scale * np.eye(2), parameterization=p, alpha=alpha, batch_size=batch,
                    symmetrize=True)
    src = GaussianSource([0.0, 0.0], cov, seed)
    est.update(src.sample(steps * batch))
    return est, src


def test_covariance_diverges_at_large_alpha_natural_does_not(small):
    frac = small.diverged_fraction  # (P, V, A)
    assert small.spec.alphas[-1] == pytest.approx(0.2)
    assert frac[0, 0, -1] == 1.0  # covariance, alpha = 0.2: every seed left the PD cone
    assert np.all(frac[1] == 0.0)  # natural: none at any alpha
    assert frac[0, 0, 0] == 0.0  # covariance is fine at alpha = 1e-3
    med = small.median_kl
    assert np.isnan(med[0, 0, -1])
    assert np.all(np.isfinite(med[1])) and np.all(med[1] > 0)
    reasons = {small.reason[i] for i in range(small.n_chains) if small.diverged[i]}
    assert reasons <= {"not-positive-definite", "exploded", "non-finite"}
    assert "not-positive-definite" in reasons


@pytest.mark.parametrize("axis,values", [("cov0-scale", [0.5, 2.0]), ("batch-size", [1, 4]),
                                         ("target-cond", [3.0, 30.0])])
def test_batched_chains_equal_single_estimator_runs(axis, values):
    spec = make_spec(1e-3, 0.3, 3, ["covariance", "log-cholesky", "natural"], axis, values, seeds=2, steps=600)
    # Tiny blocks and chunks: several BatchEstimators, many chunks per chain.
    res = run_sweep(spec, max_chains=5, chunk_work=700)
    checked = 0
    for i in range(0, res.n_chains, 5):
        c = res.chain(i)
        kw = {"cov0-scale": dict(scale=c.axis_value), "batch-size": dict(batch=int(c.axis_value)),
              "target-cond": dict(cov=cov_from_condition(2, c.axis_value, 30.0))}[axis]
        est, src = single_run(c.parameterization, c.alpha, c.seed, spec.steps, **kw)
        div = est.divergence
        assert c.diverged == (div is not None)
        if div is not None:
            assert (c.failed_update, c.reason, c.message) == (div.step, div.reason, div.message)
            assert np.isnan(c.final_kl)
        else:
            _, kl = eig_and_kl(est.mean[None], est.cov[None], src.mean, src.cov)
            assert c.final_kl == kl[0]  # bit-identical
        assert np.array_equal(res.final_mean[i], est.mean)
        assert np.array_equal(res.final_cov[i], est.cov)
        checked += 1
    assert checked >= 7


def test_chunking_and_blocks_do_not_change_anything(small):
    other = run_sweep(small.spec, max_chains=4, chunk_work=333)
    assert np.array_equal(other.diverged, small.diverged)
    assert np.array_equal(other.failed_update, small.failed_update)
    assert np.array_equal(other.final_kl, small.final_kl, equal_nan=True)
    assert np.array_equal(other.final_cov, small.final_cov)
    assert other.reason == small.reason


@pytest.mark.parametrize("kind", ["gaussian", "student-t"])
def test_any_split_into_tasks_gives_the_same_bytes(kind):
    # d = 8: where a sample once depended on the chunk it was drawn in (BLAS rounding)
    base = default_base()
    base.target = TargetSettings(kind=kind, dim=8, cond=30.0, seed=3)
    base.start = StartSettings(mean=0.0, cov_scale=1.0)
    spec = make_spec(1e-3, 0.3, 5, ["covariance", "cholesky", "natural"], "cov0-scale", [0.5, 2.0],
                     seeds=3, steps=300, base=base)
    whole = run_sweep(spec)
    assert 0 < whole.diverged.sum() < whole.n_chains
    rng = np.random.default_rng(0)
    K = spec.n_chains
    for _ in range(2):
        cuts = [0, *np.sort(rng.choice(np.arange(1, K), 6, replace=False)).tolist(), K]
        parts = [run_chains(spec, np.arange(lo, hi), chunk_work=int(rng.integers(50, 3000)),
                            max_chains=int(rng.integers(1, 40)), parallel=bool(rng.integers(2)))
                 for lo, hi in itertools.pairwise(cuts)]
        split = assemble(spec, parts[::-1])  # gathered in any order
        assert split.csv_text() == whole.csv_text()
        assert split.spec_json() == whole.spec_json()
        assert np.array_equal(split.final_cov, whole.final_cov)
        assert np.array_equal(split.final_kl, whole.final_kl, equal_nan=True)


def test_assemble_needs_every_chain_once(small):
    spec = small.spec
    a = run_chains(spec, np.arange(0, 10))
    b = run_chains(spec, np.arange(10, spec.n_chains))
    assert assemble(spec, [b, a]).csv_text() == small.csv_text()
    with pytest.raises(ValueError, match="have no result"):
        assemble(spec, [a])
    with pytest.raises(ValueError, match="in two parts"):
        assemble(spec, [a, b, run_chains(spec, [3])])
    with pytest.raises(ValueError, match="listed twice"):
        run_chains(spec, [1, 1])
    with pytest.raises(ValueError, match="chain indices"):
        run_chains(spec, [spec.n_chains])


def test_parameterizations_of_one_seed_share_its_samples():
    # alpha tiny: after one update mu moved by alpha * (y_1 - mu) (natural) or alpha * P (y_1 - mu)
    # (covariance, P = I at the start): the same y_1 for both means the same first step.
    spec = make_spec(1e-6, 1e-6, 1, ["covariance", "natural"], seeds=2, steps=1)
    res = run_sweep(spec)
    m = res.final_mean.reshape(2, 2, 2)  # (P, seed, d) with one axis value and one alpha
    assert np.array_equal(m[0, 0], m[1, 0])
    assert not np.array_equal(m[0, 0], m[0, 1])  # different seeds, different samples


def test_aggregates_match_the_chains():
    spec = make_spec(0.005, 0.05, 5, ["covariance", "cholesky"], seeds=6, steps=1500)
    res = run_sweep(spec)
    P, _, A, S = spec.shape
    partial = 0
    for p in range(P):
        for a in range(A):
            idx = [np.ravel_multi_index((p, 0, a, s), spec.shape) for s in range(S)]
            div = res.diverged[idx]
            assert res.diverged_fraction[p, 0, a] == div.mean()
            ok = res.final_kl[idx][~div]
            if ok.size:
                assert res.median_kl[p, 0, a] == pytest.approx(np.median(ok), rel=1e-15)
            else:
                assert np.isnan(res.median_kl[p, 0, a])
            partial += 0 < div.sum() < S
    assert partial >= 1, "the grid should have a cell where only some seeds diverged"


def test_progress_and_cancel():
    spec = make_spec(**SMALL)
    seen = []
    run_sweep(spec, progress=seen.append, chunk_work=spec.n_chains * 100)
    assert len(seen) >= 10
    assert all(b >= a for a, b in itertools.pairwise(seen))
    assert seen[-1] == 1.0
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(SweepCancelled):
        run_sweep(spec, cancel=cancel, chunk_work=spec.n_chains * 100)
    assert len(calls) == 4  # stopped at the first check that said so


def test_cell_settings_reproduce_a_chain_in_the_live_run_loop(small):
    i = int(np.flatnonzero(~small.diverged)[-1])
    p, v, a, s = small.grid_index(i)
    st = small.cell_settings(p, v, a, s)
    assert (st.estimator.parameterization, st.estimator.alpha, st.target.seed) == \
        (small.spec.parameterizations[p], small.spec.alphas[a], small.spec.seeds[s])
    run = build_run(st)
    run.advance(st.steps)
    assert np.array_equal(run.estimator.means[0], small.final_mean[i])
    assert np.array_equal(run.estimator.covs[0], small.final_cov[i])
    assert run.snapshot().chain.kl == small.final_kl[i]


def test_result_csv_has_every_chain(small):
    rows = list(csv.DictReader(io.StringIO(small.csv_text())))
    assert len(rows) == small.n_chains
    assert list(rows[0]) == ["chain", "parameterization", "alpha", "cov0_scale", "seed", "steps", "diverged",
                             "failed_update", "reason", "final_kl", "message"]
    for i, r in enumerate(rows):
        c = small.chain(i)
        assert int(r["chain"]) == i and r["parameterization"] == c.parameterization
        assert float(r["alpha"]) == c.alpha and int(r["seed"]) == c.seed
        assert r["diverged"] == ("true" if c.diverged else "false")
        if c.diverged:
            assert int(r["failed_update"]) == c.failed_update and r["reason"] == c.reason
            assert r["final_kl"] == ""
        else:
            assert r["failed_update"] == r["reason"] == ""
            assert float(r["final_kl"]) == c.final_kl
    assert "nan" not in small.csv_text().lower()


def test_spec_round_trips_through_json(small):
    data = json.loads(small.spec_json())["sweep"]
    again = spec_from_dict(data)
    assert again == small.spec
    assert again.base.target.cov == small.spec.base.target.cov


def test_default_base_is_the_ill_conditioned_target():
    b = default_base()
    assert b.target.cov == ILL_COV and b.start.mean == [1.0, 1.0] and b.start.cov_scale == 1.0
    assert b.estimator.symmetrize is True
    ev = np.linalg.eigvalsh(np.array(ILL_COV))
    assert ev[0] == pytest.approx(0.209, abs=1e-3)


@pytest.mark.parametrize("kw,fragment", [
    (dict(alpha_min=0), "alpha-min"),
    (dict(alpha_min=float("nan")), "alpha-min"),
    (dict(alpha_min=0.5, alpha_max=0.1), "must not exceed"),
    (dict(alpha_count=0), "alpha-count"),
    (dict(alpha_count=1), "alpha-count must be >= 2"),
    (dict(parameterizations=[]), "at least one parameterization"),
    (dict(parameterizations=["polar"]), "parameterization must be one of"),
    (dict(parameterizations=["natural", "natural"]), "listed twice"),
    (dict(axis="dimension"), "axis must be one of"),
    (dict(axis="cov0-scale", axis_values=[0.0]), "cov0-scale values must be from"),
    (dict(axis="cov0-scale", axis_values=["x"]), "must be numbers"),
    (dict(axis="batch-size", axis_values=[2.5]), "whole numbers"),
    (dict(axis="target-cond", axis_values=[0.5]), "target-cond values must be from"),
    (dict(axis="cov0-scale", axis_values=[1, 1]), "listed twice"),
    (dict(axis="cov0-scale", axis_values=[]), "at least one"),
    (dict(seeds=0), "seeds"),
    (dict(steps=0), "steps"),
    (dict(steps=2.5), "steps"),
])
def test_bad_specs_say_what_is_wrong(kw, fragment):
    with pytest.raises(ValueError, match=fragment):
        make_spec(**kw)


def test_target_cond_needs_two_dimensions():
    from gaussviz.core.presets import get_preset

    with pytest.raises(ValueError, match="dimension >= 2"):
        make_spec(axis="target-cond", axis_values=[10], base=get_preset("seed-question"))


def test_default_axis_value_is_the_bases_own():
    assert make_spec(axis="batch-size").axis_values == (1,)
    assert make_spec(axis="cov0-scale").axis_values == (1.0,)
    cond = make_spec(axis="target-cond").axis_values[0]
    ev = np.linalg.eigvalsh(np.array(ILL_COV))
    assert cond == pytest.approx(ev[1] / ev[0])
