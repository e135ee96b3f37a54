"""Issue 10, class 4: linear cost.

Replaying a timeline of n changes costs O(n): the replay touches each change a bounded number
of times (counted, not timed), never shifts the list (``pop(0)``), and a timeline of a million
and a half changes runs through the session reader and the CLI (the timing itself is in
``benchmarks/replay_timeline.py``). A CSV file is read with peak memory within ~3x its size.
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

from gaussviz.cli import main
from gaussviz.core import csvdata
from gaussviz.core.presets import get_preset
from gaussviz.core.session import read_session
from gaussviz.core.settings import build_run, to_dict


class CountingList(list):
    """A timeline that counts how often the replay reads it and refuses to be shifted."""

    def __init__(self, *a):
        super().__init__(*a)
        self.reads = 0

    def __getitem__(self, i):
        self.reads += 1
        return super().__getitem__(i)

    def pop(self, i=-1):
        raise AssertionError("the replay shifted the timeline (pop)")

    def __delitem__(self, i):
        raise AssertionError("the replay shifted the timeline (del)")

    def insert(self, i, x):
        raise AssertionError("the replay shifted the timeline (insert)")


def _timeline(n: int, every: int, fields=("alpha",)) -> list[dict]:
    values = {"alpha": (0.002, 0.003), "schedule": ("constant", "inverse"), "batch_size": (1, 2),
              "symmetrize": (True, False), "sign": (["loglik", "ascent"], ["neg-loglik", "descent"])}
    out = []
    for i in range(n):
        f = fields[i % len(fields)]
        out.append({"step": i * every, "chain": 0, "field": f, "value": values[f][i % 2]})
    return out


@pytest.mark.parametrize("every", [0, 1, 3, 50])
@pytest.mark.parametrize("n", [1_000, 8_000])
@pytest.mark.parametrize("fields", [("alpha",), ("alpha", "schedule", "batch_size", "sign", "symmetrize")],
                         ids=["alpha", "mixed"])
def test_the_replay_reads_each_change_a_bounded_number_of_times(n, every, fields):
    s = get_preset("seed-question")
    changes = CountingList(_timeline(n, every, fields))
    run = build_run(s)
    run._scheduled = changes  # the replay's own list, instrumented
    run.run_to(max(1, n * max(every, 1)) + 10)
    assert run.replayed == n and len(run.changes) == n
    assert changes.reads <= 12 * n + 100, changes.reads  # O(n): a few reads per change, whatever n


def test_a_dense_replay_equals_a_replay_one_update_at_a_time():
    s = get_preset("seed-question")
    s.changes = _timeline(3000, 1, ("alpha", "schedule", "batch_size"))
    dense = build_run(s).run_to(4000)
    one = build_run(s).run_to(4000, chunk=1)
    assert np.array_equal(dense.snapshot().chain.mean, one.snapshot().chain.mean)
    assert np.array_equal(dense.snapshot().chain.cov, one.snapshot().chain.cov)
    assert dense.changes == one.changes
    assert dense.history.n > 100  # the history still has its points


def _write_session(path, n: int, every: int = 1) -> None:
    """A session of n alpha changes, written as text (a million dicts through json.dumps is slow)."""
    d = to_dict(get_preset("seed-question"))
    d["steps"] = n * every
    head = json.dumps({k: v for k, v in d.items() if k != "changes"})[:-1]
    body = ",".join(f'{{"step":{i * every},"chain":0,"field":"alpha","value":{"0.002" if i % 2 else "0.003"}}}'
                    for i in range(n))
    path.write_text(f'{head}, "changes": [{body}]}}')


def test_a_million_and_a_half_changes_through_the_reader_and_the_cli(tmp_path, capsys):
    p = tmp_path / "long.json"
    n = 1_500_000
    _write_session(p, n, every=1)
    s = read_session(p)
    assert len(s.changes) == n and s.steps == n
    assert main(["run", "--session", str(p), "--json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["steps"] == n and out["chains"][0]["settings"]["alpha"] == 0.002


def test_replay_is_linear_in_the_number_of_changes_not_quadratic(tmp_path):
    """Counted: the work per change (kernel calls, samples drawn) does not grow with n."""
    calls = {}
    for n in (2_000, 16_000):
        s = get_preset("seed-question")
        s.changes = _timeline(n, 2)
        run = build_run(s)
        real = run.estimator.advance
        count = {"advance": 0, "rows": 0}

        def advance(Y, *a, **k):
            count["advance"] += 1
            return real(Y, *a, **k)

        real_sample = run.source.sample

        def sample(m):
            count["rows"] += m
            return real_sample(m)

        run.estimator.advance = advance
        run.source.sample = sample
        run.run_to(2 * n)
        calls[n] = dict(count)
    for n, c in calls.items():  # a bounded number of kernel calls per change (one per gap, plus a record
        assert c["advance"] <= 1.3 * n + 10, (n, c)  # per history stride), whatever n
    assert calls[16_000]["rows"] == 8 * calls[2_000]["rows"]


# ------------------------------------------------------------------ CSV memory
def _csv(path, rows: int, cols: int, fmt: str) -> int:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, cols)) * np.arange(1, cols + 1)
    np.savetxt(path, x, fmt=fmt, delimiter=",", header=",".join(f"c{j}" for j in range(cols)), comments="")
    return path.stat().st_size


@pytest.mark.parametrize("rows,cols,fmt", [(400_000, 3, "%.6f"), (200_000, 6, "%.17g"), (100_000, 20, "%.8e"),
                                           (1_000_000, 2, "%.5f")])
def test_csv_peak_memory_stays_within_three_times_the_file(tmp_path, rows, cols, fmt):
    p = tmp_path / "big.csv"
    size = _csv(p, rows, cols, fmt)
    tracemalloc.start()
    try:
        f = csvdata.load_csv(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f.data.shape == (rows, cols)
    assert peak <= 3 * size, f"peak {peak / 2**20:.1f} MB for a {size / 2**20:.1f} MB file"


def test_csv_source_shares_the_data_instead_of_copying_it(tmp_path):
    p = tmp_path / "d.csv"
    size = _csv(p, 300_000, 4, "%.6f")
    f = csvdata.load_csv(p)
    from gaussviz.core.targets import CsvSource

    tracemalloc.start()
    try:
        src = CsvSource(f.data, standardize=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.shares_memory(src.data, f.data)
    assert peak <= size, f"peak {peak / 2**20:.1f} MB building a source of {size / 2**20:.1f} MB of text"

