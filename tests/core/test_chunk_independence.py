"""Issue 10, class 9: sample streams do not depend on chunking, bit for bit, for every source
kind and every dimension up to 50.

A session recorded at slow speed (one update per chunk) or by single steps must replay
exactly: many one-row draws equal one big draw, and so do mixed chunk sizes; the held-out
batch of n rows begins with the held-out batch of k < n rows; and whole runs advanced one
update at a time equal runs advanced in big chunks.
"""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core.presets import get_preset
from gaussviz.core.settings import Settings, TargetSettings, build_run, build_source
from gaussviz.core.targets import CsvSource

DIMS = [1, 2, 3, 5, 10, 20, 50]
KINDS = ["gaussian", "student-t", "mixture", "drifting", "csv"]
N = 120


def _cov(d: int, seed: int = 7) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d))
    c = a @ a.T / d + np.eye(d)
    return (0.5 * (c + c.T)).tolist()


def _source(kind: str, d: int, seed: int = 3):
    if kind == "csv":
        rng = np.random.default_rng(d)
        data = rng.standard_normal((40 + 3 * d, d)) @ np.linalg.cholesky(np.array(_cov(d))).T
        return CsvSource(data, seed=seed, standardize=True)
    params = {"student-t": {"df": 4.0}, "mixture": {"separation": 3.0}, "drifting": {"drift_rate": 0.01,
                                                                                      "rotation_rate": 1.0}}
    t = TargetSettings(kind=kind, dim=d, mean=[0.1 * i for i in range(d)] if d > 1 else 0.5, cov=_cov(d), seed=seed,
                       params=params.get(kind, {}))
    t.validate()
    return build_source(t)


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("kind", KINDS)
def test_many_one_row_draws_equal_one_big_draw(kind, d):
    big = _source(kind, d).sample(N)
    src = _source(kind, d)
    rows = np.vstack([src.sample(1) for _ in range(N)])
    assert rows.shape == big.shape
    assert np.array_equal(rows, big), f"{int(np.sum(np.any(rows != big, axis=1)))} of {N} rows differ"


@pytest.mark.parametrize("d", [2, 7, 50])
@pytest.mark.parametrize("kind", KINDS)
def test_mixed_chunk_sizes_equal_one_big_draw(kind, d):
    sizes = [1, 2, 1, 5, 3, 1, 17, 1, 64, 1, 25]
    big = _source(kind, d).sample(sum(sizes))
    src = _source(kind, d)
    parts = np.vstack([src.sample(n) for n in sizes])
    assert np.array_equal(parts, big)


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("kind", KINDS)
def test_heldout_rows_do_not_depend_on_how_many_are_asked_for(kind, d):
    src = _source(kind, d)
    full = src.heldout(200)
    for k in (1, 2, 13, 199):
        assert np.array_equal(src.heldout(k), full[:k])


@pytest.mark.parametrize("preset", ["ill-conditioned-natural", "heavy-tails", "misspecified-mixture",
                                    "drifting-target", "old-faithful", "what-am-i-missing"])
def test_a_run_stepped_one_update_at_a_time_replays_bit_for_bit(preset):
    s = get_preset(preset)
    one = build_run(s)
    for _ in range(300):
        one.advance(1)
    big = build_run(s).run_to(300)
    a, b = one.snapshot(), big.snapshot()
    for ca, cb in zip(a.chains, b.chains):
        assert np.array_equal(ca.mean, cb.mean) and np.array_equal(ca.cov, cb.cov)
    assert np.array_equal(a.recent, b.recent)


@pytest.mark.parametrize("d", [2, 10, 50])
def test_a_high_dimensional_run_replays_bit_for_bit(d):
    s = Settings(target=TargetSettings(dim=d, cov=_cov(d), seed=5))
    s.estimator.parameterization = "natural"
    s.estimator.alpha = 0.01
    one = build_run(s)
    for n in [1] * 40 + [3, 1, 7]:
        one.advance(n)
    big = build_run(s).run_to(one.step)
    assert np.array_equal(one.snapshot().chain.cov, big.snapshot().chain.cov)
