"""Sweeps as tasks (core/cluster.py) and their files on disk (core/sweep_store.py), without a cluster:
scheduler settings, task sizes, progress, resuming, and Dask imported only when a cluster is used.
(The routes on real Dask schedulers and workers: tests/cli/test_cli_sweep_cluster.py.)"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gaussviz.core.cluster import (
    MAX_CHAINS,
    Scheduler,
    SweepProgress,
    chains_per_task,
    cores,
    estimate_cost,
    parse_scheduler,
    plan_tasks,
    run_tasks,
)
from gaussviz.core.sweep import SweepCancelled, make_spec, run_chains, run_sweep
from gaussviz.core.sweep_store import PartialStore, ResumeError, missing_ranges

SPEC = dict(alpha_min=1e-3, alpha_max=0.5, alpha_count=5, parameterizations=["covariance", "natural"],
            axis="cov0-scale", axis_values=[0.5, 2.0], seeds=3, steps=1500)


@pytest.fixture(scope="module")
def spec():
    return make_spec(**SPEC)


@pytest.fixture(scope="module")
def whole(spec):
    return run_sweep(spec)


@pytest.mark.parametrize("text,want", [
    (None, None), ("", None), ("  ", None),
    ("local:3", Scheduler("local", workers=3)),
    (" local:1 ", Scheduler("local", workers=1)),
    ("tcp://127.0.0.1:8786", Scheduler("tcp", address="tcp://127.0.0.1:8786")),
    ("tcp://head-node.example.org:8786", Scheduler("tcp", address="tcp://head-node.example.org:8786")),
    ("tcp://[::1]:8786", Scheduler("tcp", address="tcp://[::1]:8786")),
])
def test_scheduler_settings(text, want):
    assert parse_scheduler(text) == want


def test_local_means_a_worker_per_core():
    assert parse_scheduler("local") == Scheduler("local", workers=cores())


@pytest.mark.parametrize("text,fragment", [
    ("local:0", "from 1 to 1024"), ("local:x", "local:N"), ("local:-2", "local:N"), ("local:2000", "1024"),
    ("tcp://127.0.0.1", "tcp://HOST:PORT"), ("tcp://:8786", "tcp://HOST:PORT"), ("127.0.0.1:8786", "tcp://"),
    ("tcp://host:99999", "port"), ("localhost", "tcp://HOST:PORT"), ("inproc://x", "must be"),
])
def test_bad_scheduler_settings_say_what_is_allowed(text, fragment):
    with pytest.raises(ValueError, match="scheduler") as e:
        parse_scheduler(text)
    assert fragment in str(e.value)


def test_tasks_cover_the_ranges_in_grid_order():
    assert plan_tasks([(0, 10)], 4) == [(0, 4), (4, 8), (8, 10)]
    assert plan_tasks([(3, 5), (7, 20)], 6) == [(3, 5), (7, 13), (13, 19), (19, 20)]
    assert plan_tasks([], 5) == []
    with pytest.raises(ValueError):
        plan_tasks([(0, 3)], 0)


def test_task_size_follows_the_cost_and_keeps_every_worker_busy(spec):
    steps = spec.steps
    # 3 s at 1e-7 s per chain-update of 1500 updates: 20,000 chains, capped by a block
    assert chains_per_task(spec, 1e-7, remaining=10**6) == min(20_000, MAX_CHAINS)
    assert chains_per_task(spec, 1e-3, remaining=10**6) == int(3.0 / (1e-3 * steps))
    assert chains_per_task(spec, 1.0, remaining=10**6) == 1  # a chain longer than a task: one per task
    assert chains_per_task(spec, 1e-6, remaining=100, slots=4) == 13  # two tasks per worker thread
    assert chains_per_task(spec, 1e-6, remaining=100, slots=4, task_seconds=0.01) == 6


def test_cost_grows_with_dimension():
    small = estimate_cost(make_spec(1e-3, 0.01, 2, ["natural"], seeds=8, steps=4000))
    from gaussviz.core.settings import Settings, StartSettings, TargetSettings

    big_base = Settings(target=TargetSettings(dim=12, cond=10.0), start=StartSettings(mean=0.0))
    big = estimate_cost(make_spec(1e-3, 0.01, 2, ["natural"], seeds=8, steps=4000, base=big_base))
    assert 1e-10 < small < 1e-3 and 1e-10 < big < 1e-2
    assert big > 3 * small


def test_progress_reports_rate_and_eta():
    p = SweepProgress(done=300, total=1000, resumed=100, elapsed=4.0, steps=5000)
    assert p.rate == 50.0 and p.eta == 14.0 and p.fraction == 0.3
    assert p.text() == "300 of 1,000 chains · 50 chains/s (2.5e+05 updates/s) · ETA 0:00:14"
    start = SweepProgress(done=100, total=1000, resumed=100, elapsed=0.5)
    assert start.rate == 0.0 and start.eta is None and start.text().endswith("ETA --")
    assert "days" in SweepProgress(done=1, total=10**9, elapsed=1.0).text()


def test_tasks_in_this_process_give_the_sweep_and_save_each_task(tmp_path, spec, whole):
    store = PartialStore(tmp_path)
    store.start(spec)
    saved, seen = [], []

    def save(part):
        assert store.spec_path.exists()  # the spec is stored before any task
        saved.append(store.save(part))

    res = run_tasks(spec, save=save, progress=seen.append, task_seconds=0.01, cost=1e-5)
    assert res.csv_text() == whole.csv_text() and np.array_equal(res.final_cov, whole.final_cov)
    per = chains_per_task(spec, 1e-5, spec.n_chains, 1, 0.01)
    assert len(saved) == len(store.task_files()) == -(-spec.n_chains // per) > 3
    assert saved[0].name == f"chains-0000000000-{per:010d}.npz"
    assert seen[0].done == 0 and seen[-1].done == spec.n_chains == seen[-1].total
    assert all(b.done >= a.done for a, b in itertools.pairwise(seen))


def test_an_interrupted_sweep_resumes_from_its_files(tmp_path, spec, whole):
    store = PartialStore(tmp_path)
    store.start(spec)
    finished = []

    def save(part):
        store.save(part)
        finished.append(part.n_chains)

    with pytest.raises(SweepCancelled):
        run_tasks(spec, save=save, cancel=lambda: len(finished) >= 3, task_seconds=0.01, cost=1e-5)
    again = PartialStore(tmp_path)
    assert again.exists() and again.chains_done() == sum(finished) < spec.n_chains
    parts, problems = again.load(spec)
    assert problems == [] and sum(p.n_chains for p in parts) == sum(finished)
    ran = []
    res = run_tasks(spec, parts, save=lambda p: ran.append(p.n_chains), task_seconds=0.01, cost=1e-5)
    assert sum(ran) == spec.n_chains - sum(finished)  # only the missing chains ran
    assert res.csv_text() == whole.csv_text() and np.array_equal(res.final_mean, whole.final_mean)


def test_a_different_sweep_is_refused(tmp_path, spec):
    store = PartialStore(tmp_path)
    store.start(spec)
    other = make_spec(**{**SPEC, "steps": 1600})
    with pytest.raises(ResumeError, match=r"different sweep \(steps differ\)"):
        store.check(other)
    with pytest.raises(ResumeError, match="alphas"):
        store.load(make_spec(**{**SPEC, "alpha_max": 0.4}))
    store.spec_path.write_text("{not json")
    with pytest.raises(ResumeError, match="not a sweep state"):
        store.check(spec)
    store.spec_path.write_text(json.dumps({"format": 99, "sweep": {}}))
    with pytest.raises(ResumeError, match="format"):
        store.check(spec)


def test_unusable_task_files_run_again(tmp_path, spec, whole):
    store = PartialStore(tmp_path)
    store.start(spec)
    good = store.save(run_chains(spec, np.arange(0, 10)))
    cut = store.save(run_chains(spec, np.arange(10, 20)))
    cut.write_bytes(cut.read_bytes()[:100])  # as if the disk filled up (atomic writes make this rare)
    (store.folder / ".chains-0000000020-0000000030.npz.abc.tmp").write_bytes(b"half")
    (store.folder / "chains-0000000005-0000000012.npz").write_bytes(good.read_bytes())  # wrong range
    parts, problems = store.load(spec)
    assert [(int(p.chains[0]), p.n_chains) for p in parts] == [(0, 10)]
    assert len(problems) == 2 and all("run again" in p for p in problems)
    assert sorted(p.name for p in store.folder.iterdir()) == ["chains-0000000000-0000000010.npz", "spec.json"]
    res = run_tasks(spec, parts, task_seconds=0.01, cost=1e-5)
    assert res.csv_text() == whole.csv_text()
    store.remove()
    assert not store.folder.exists() and not store.exists()


def test_missing_ranges():
    parts = [run_chains(make_spec(**SPEC), np.arange(a, b)) for a, b in [(0, 3), (5, 7)]]
    assert missing_ranges(10, parts) == [(3, 5), (7, 10)]
    assert missing_ranges(7, parts) == [(3, 5)]
    assert missing_ranges(4, []) == [(0, 4)]


def test_dask_is_imported_only_for_a_cluster(tmp_path):
    code = (
        "import sys\n"
        "from gaussviz.cli import main\n"
        "import gaussviz.core.cluster, gaussviz.core.sweep_store, gaussviz.gui.stability_tab\n"
        f"rc = main(['sweep', '--alpha-count', '2', '--steps', '50', '--seeds', '1', '--out', {str(tmp_path)!r}])\n"
        "print(rc, sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "0 []"
