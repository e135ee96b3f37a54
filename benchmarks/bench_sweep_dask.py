"""Stability-map sweeps: chain-updates/s in this process vs a Dask LocalCluster (local:2), and the
per-task costs behind the README's scaling estimate (issue 17).

    python benchmarks/bench_sweep_dask.py [--quick] [--workers 2]

Every figure is printed beside the in-process baseline measured moments before in
the same run (this machine is shared: absolute numbers wander, ratios less so).
Lines ``RESULT key value op target`` are for benchmarks/run.py.

Measured per sweep size (d = 2 and d = 10):
- in-process: ``run_sweep`` (all cores, the default) and the CLI's task route
  (``run_tasks`` without a cluster), chain-updates/s;
- local:N: ``run_tasks`` on a LocalCluster of N worker processes (started and
  warmed up first: its start-up is reported on its own), chain-updates/s and the
  ratio to the in-process baseline.
Per-task costs: one chain-update on one core (``estimate_cost``), the fixed cost
of a task on a worker (sources, estimators, KL for one chain), the scheduler's
round trip for a trivial task, and tiny tasks per second through the scheduler.
"""

from __future__ import annotations

import argparse
import operator
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from gaussviz.core.cluster import (  # noqa: E402
    TASK_SECONDS,
    estimate_cost,
    open_cluster,
    parse_scheduler,
    run_tasks,
)
from gaussviz.core.settings import Settings, StartSettings, TargetSettings  # noqa: E402
from gaussviz.core.sweep import default_base, make_spec, run_chains, run_sweep  # noqa: E402

RESULTS: dict[str, float] = {}


def record(key: str, value: float, unit: str = "", goal: tuple[str, float] | None = None) -> None:
    RESULTS[key] = float(value)
    op, target = goal if goal else ("-", 0.0)
    mark = ""
    if goal:
        ok = value >= target if op == ">=" else value <= target
        mark = f"   goal {op} {target:g}: {'met' if ok else 'NOT MET'}"
    print(f"  {key:<44} {value:>12.4g} {unit}{mark}", flush=True)
    print(f"RESULT {key} {value!r} {op} {target!r}", flush=True)


def specs(quick: bool) -> dict[int, object]:
    """Sweeps of all five rules at small learning rates (rates count the updates really run)."""
    s = 1 if quick else 3
    d2 = make_spec(1e-4, 2e-3, 20, seeds=16, steps=20_000 * s, base=default_base())
    base10 = Settings(target=TargetSettings(dim=10, cond=10.0), start=StartSettings(mean=0.0))
    d10 = make_spec(1e-4, 1e-3, 8, seeds=8, steps=4000 * s, base=base10)
    return {2: d2, 10: d10}


def updates(res) -> int:
    """Chain-updates a sweep really ran (a diverged chain stops at its failed update)."""
    return int(np.where(res.diverged, res.failed_update, res.spec.steps).sum())


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sweeps (about a minute)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes of the local cluster (default 2)")
    a = ap.parse_args()
    sweeps = specs(a.quick)
    print(f"sweep benchmark ({'quick' if a.quick else 'full'}), {os.cpu_count()} cores, local:{a.workers}",
          flush=True)

    print("7a. per chain-update and per task (one core)")
    costs = {}
    for d, spec in sweeps.items():
        run_sweep(make_spec(1e-3, 1e-3, 1, seeds=1, steps=2, base=spec.base))  # compiled kernels loaded
        costs[d] = min(estimate_cost(spec, budget=0.3) for _ in range(3))
        record(f"sweep.d{d}.seconds_per_chain_update", costs[d], "s")
        one = make_spec(1e-3, 1e-3, 1, ["natural"], seeds=1, steps=1, base=spec.base)
        fixed = min(timed(lambda one=one: run_chains(one, [0], parallel=False))[0] for _ in range(20))
        record(f"sweep.d{d}.task_fixed_seconds", fixed, "s")

    rates: dict[str, float] = {}
    print("7b. in this process (chain-updates/s)")
    for d, spec in sweeps.items():
        t, res = timed(lambda spec=spec: run_sweep(spec))
        work = updates(res)
        rates[f"d{d}.inprocess"] = work / t
        record(f"sweep.d{d}.in_process", work / t, f"chain-updates/s ({spec.n_chains} chains x {spec.steps})")
        t, _ = timed(lambda spec=spec, d=d: run_tasks(spec, cost=costs[d]))
        record(f"sweep.d{d}.in_process_tasks", work / t, "chain-updates/s (the CLI's route: tasks, resumable)")
        record(f"sweep.d{d}.in_process_tasks.ratio", (work / t) / rates[f"d{d}.inprocess"], "x in-process")

    print(f"7c. local:{a.workers}, a LocalCluster of {a.workers} worker processes (chain-updates/s)")
    t_start, cluster_cm = timed(lambda: open_cluster(parse_scheduler(f"local:{a.workers}")))
    t_enter, cluster = timed(cluster_cm.__enter__)
    try:
        record("sweep.local.start_seconds", t_start + t_enter, "s (start the cluster)")
        for spec in sweeps.values():  # warm up: every worker loads the compiled kernels once
            tiny = make_spec(1e-3, 1e-3, 1, seeds=4 * a.workers, steps=2, base=spec.base)
            run_tasks(tiny, cluster=cluster, cost=1.0)
        client = cluster.client
        rt = []
        for _ in range(30):
            t, _ = timed(lambda: client.submit(operator.add, 1, 1, pure=False).result())
            rt.append(t)
        record("sweep.scheduler_round_trip_seconds", float(np.median(rt)), "s (submit + result, one task)")
        n = 400
        t, _ = timed(lambda: client.gather(client.map(operator.add, range(n), range(n), pure=False)))
        record("sweep.scheduler_tiny_tasks_per_second", n / t, "tasks/s")
        for d, spec in sweeps.items():
            t, res = timed(lambda spec=spec, d=d: run_tasks(spec, cluster=cluster, cost=costs[d]))
            work = updates(res)
            record(f"sweep.d{d}.local{a.workers}", work / t, "chain-updates/s")
            record(f"sweep.d{d}.local{a.workers}.ratio", (work / t) / rates[f"d{d}.inprocess"], "x in-process")
    finally:
        cluster_cm.__exit__(None, None, None)

    print("7d. scaling estimate (README: Sweeps on a cluster)")
    rt = RESULTS["sweep.scheduler_round_trip_seconds"]
    per_task_sched = 1.0 / RESULTS["sweep.scheduler_tiny_tasks_per_second"]
    for d in sweeps:
        fixed = RESULTS[f"sweep.d{d}.task_fixed_seconds"]
        eff = TASK_SECONDS / (TASK_SECONDS + fixed + rt)
        record(f"sweep.d{d}.task_efficiency", eff, f"(a {TASK_SECONDS:g} s task: its work / its wall time)")
    record("sweep.scheduler_bound_worker_threads", TASK_SECONDS / per_task_sched,
           f"worker threads before the scheduler ({per_task_sched * 1e3:.2g} ms a task) is the bottleneck")
    big = 5 * 100 * 20 * 64 * 1e6  # the map: 5 rules x 100 alphas x 20 conditions x 64 seeds x 1e6
    core_hours = big * costs[10] / 3600
    record("sweep.issue_map_d10_core_hours", core_hours, "core-hours (one core, d = 10)")
    for machines, per in ((1, 2), (10, 32), (100, 32)):
        eff = RESULTS["sweep.d10.task_efficiency"]
        hours = core_hours / (machines * per * eff)
        record(f"sweep.issue_map_d10_hours_on_{machines}x{per}_cores", hours, "h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
