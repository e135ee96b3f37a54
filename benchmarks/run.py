"""gaussviz benchmarks: every figure beside a baseline measured in the same run.

    python benchmarks/run.py            # full run
    python benchmarks/run.py --quick --json out.json

These machines are noisy; absolute times alone mean little, so each benchmark
prints the ratio to a baseline timed moments before in the same process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from gaussviz.core import BatchEstimator, Estimator  # noqa: E402
from gaussviz.core.optimizers import NAMES as OPTIMIZER_NAMES  # noqa: E402
from gaussviz.core.parameterizations import NAMES  # noqa: E402
from gaussviz.core.reference import RunningMLE  # noqa: E402

PARAMS = list(NAMES)  # every update rule in the registry
RESULTS: dict[str, float] = {}
GOALS: dict[str, tuple[str, float]] = {}


def record(key: str, value: float, goal: tuple[str, float] | None = None, unit: str = "") -> None:
    RESULTS[key] = float(value)
    mark = ""
    if goal is not None:
        GOALS[key] = goal
        op, target = goal
        ok = value >= target if op == ">=" else value <= target
        mark = f"   goal {op} {target:g}: {'met' if ok else 'NOT MET'}"
    print(f"  {key:<48} {value:>14.4g} {unit}{mark}", flush=True)


def best_of(fn: Callable[[], float], repeat: int) -> float:
    """Largest rate of several runs (the least disturbed by other processes)."""
    return max(fn() for _ in range(repeat))


# ---------------------------------------------------------------- baselines
def seed_loop(Y: np.ndarray, mu: np.ndarray, sigma: np.ndarray, a: float) -> float:
    """The seed question's update written the obvious way: per sample, inv, outer, add."""
    t0 = time.perf_counter()
    for y in Y:
        P = np.linalg.inv(sigma)
        r = y - mu
        Pr = P @ r
        G = -0.5 * (P - np.outer(Pr, Pr))
        mu = mu + a * Pr
        sigma = sigma + a * G
    return Y.shape[0] / (time.perf_counter() - t0)


def python_welford(Y: list[list[float]]) -> float:
    """Per-sample pure-Python Welford (the way river's MultivariateGaussian updates)."""
    t0 = time.perf_counter()
    d = len(Y[0])
    n = 0
    mean = [0.0] * d
    m2 = [[0.0] * d for _ in range(d)]
    for y in Y:
        n += 1
        delta = [y[i] - mean[i] for i in range(d)]
        for i in range(d):
            mean[i] += delta[i] / n
        for i in range(d):
            di = delta[i]
            row = m2[i]
            for j in range(d):
                row[j] += di * (y[j] - mean[j])
    return len(Y) / (time.perf_counter() - t0)


# ---------------------------------------------------------------- benchmarks
def bench_single_chain(quick: bool) -> None:
    print("1. single chain, divergence checks on (updates/s)")
    for d in (2, 10):
        rng = np.random.default_rng(0)
        n_base = 20_000 if quick else 100_000
        n = 2_000_000 if d == 2 else 300_000
        if quick:
            n //= 4
        Y = rng.standard_normal((n, d))
        base = best_of(lambda: seed_loop(Y[:n_base], np.zeros(d), np.eye(d), 1e-4), 2 if quick else 3)
        record(f"single.d{d}.seed_numpy_loop", base, unit="updates/s")
        goal = 1e6 if d == 2 else 1e5
        for p in PARAMS:
            Estimator(np.zeros(d), np.eye(d), parameterization=p).update(Y[:4])  # compile

            def rate(p=p):
                est = Estimator(np.zeros(d), np.eye(d), parameterization=p, alpha=1e-4, symmetrize=True)
                t0 = time.perf_counter()
                k = est.update(Y)
                return k / (time.perf_counter() - t0)

            r = best_of(rate, 2 if quick else 3)
            record(f"single.d{d}.{p}", r, (">=", goal), unit="updates/s")
            record(f"single.d{d}.{p}.ratio", r / base, (">=", 20.0) if d == 2 else None, unit="x loop")


def bench_reference(quick: bool) -> None:
    print("2. exact running MLE (samples/s)")
    for d in (2, 10):
        rng = np.random.default_rng(1)
        n_py = 20_000 if quick else 100_000
        Y = rng.standard_normal((2_000_000 if not quick else 500_000, d))
        base = best_of(lambda: python_welford(Y[:n_py].tolist()), 2)
        record(f"reference.d{d}.python_welford", base, unit="samples/s")

        def rate():
            ref = RunningMLE(d)
            t0 = time.perf_counter()
            for k in range(0, Y.shape[0], 10_000):
                ref.update(Y[k:k + 10_000])
            return Y.shape[0] / (time.perf_counter() - t0)

        r = best_of(rate, 3)
        record(f"reference.d{d}.chunked", r, unit="samples/s")
        record(f"reference.d{d}.ratio", r / base, (">=", 20.0), unit="x loop")


def bench_batched(quick: bool) -> None:
    print("3. batched chains, d = 2 (chain-updates/s)")
    K = 10_000
    steps = 500 if quick else 2000
    rng = np.random.default_rng(2)
    Y = rng.standard_normal((steps, 2))
    Yb = rng.standard_normal((20_000 if quick else 100_000, 2))
    base = best_of(lambda: seed_loop(Yb, np.zeros(2), np.eye(2), 1e-4), 2)
    record("batched.seed_numpy_loop", base, unit="updates/s")
    for p in ("covariance", "natural"):
        alphas = np.geomspace(1e-4, 1e-2, K)
        BatchEstimator(np.zeros(2), np.eye(2), parameterization=p, alpha=alphas, n_chains=K).advance(Y[:100])

        def rate(p=p, alphas=alphas):
            b = BatchEstimator(np.zeros(2), np.eye(2), parameterization=p, alpha=alphas, symmetrize=True,
                               n_chains=K)
            t0 = time.perf_counter()
            b.advance(Y)
            return K * steps / (time.perf_counter() - t0)

        r = best_of(rate, 3)
        record(f"batched.k{K}.{p}", r, (">=", 2e7), unit="chain-updates/s")
        record(f"batched.k{K}.{p}.ratio", r / base, (">=", 300.0), unit="x loop")


OPTIMIZERS = list(OPTIMIZER_NAMES)  # every optimizer in the registry


def bench_optimizers(quick: bool) -> None:
    """Each optimizer against sgd timed in the same run (goal: adam at least half sgd's rate)."""
    print("7. optimizers on the covariance rule, d = 2 (ratio to sgd in this run)")
    rng = np.random.default_rng(3)
    n = 500_000 if quick else 2_000_000
    Y = rng.standard_normal((n, 2))
    single = {}
    for o in OPTIMIZERS:
        Estimator(np.zeros(2), np.eye(2), optimizer=o).update(Y[:4])  # compile

        def rate(o=o):
            est = Estimator(np.zeros(2), np.eye(2), alpha=1e-4, symmetrize=True, optimizer=o)
            t0 = time.perf_counter()
            k = est.update(Y)
            return k / (time.perf_counter() - t0)

        single[o] = best_of(rate, 5)
        record(f"optimizer.single.d2.{o}", single[o], unit="updates/s")
    for o in OPTIMIZERS[1:]:
        record(f"optimizer.single.d2.{o}.ratio", single[o] / single["sgd"],
               (">=", 0.5) if o == "adam" else None, unit="x sgd")
    K = 10_000
    steps = 500 if quick else 2000
    Yb = rng.standard_normal((steps, 2))
    alphas = np.geomspace(1e-4, 1e-2, K)
    batched = {}
    for o in OPTIMIZERS:
        BatchEstimator(np.zeros(2), np.eye(2), alpha=alphas, n_chains=K, optimizer=o).advance(Yb[:100])

        def brate(o=o):
            b = BatchEstimator(np.zeros(2), np.eye(2), alpha=alphas, symmetrize=True, n_chains=K, optimizer=o)
            t0 = time.perf_counter()
            b.advance(Yb)
            return K * steps / (time.perf_counter() - t0)

        batched[o] = best_of(brate, 5)
        record(f"optimizer.batched.k{K}.{o}", batched[o], unit="chain-updates/s")
    for o in OPTIMIZERS[1:]:
        record(f"optimizer.batched.k{K}.{o}.ratio", batched[o] / batched["sgd"], unit="x sgd")
    # The headless run loop with a Polyak-Ruppert average: it advances in pieces ending at its
    # record points to read the average there (core/runloop.py); what that costs.
    from gaussviz.core.settings import Settings, build_run

    n_run = 200_000 if quick else 1_000_000
    loop = {}
    for averaging in (False, True):
        def lrate(averaging=averaging):
            s = Settings()
            s.estimator.alpha, s.estimator.symmetrize, s.estimator.averaging = 1e-3, True, averaging
            run = build_run(s)
            t0 = time.perf_counter()
            run.run_to(n_run)
            return n_run / (time.perf_counter() - t0)

        lrate()
        loop[averaging] = best_of(lrate, 3)
        record(f"optimizer.runloop.d2.{'averaging' if averaging else 'plain'}", loop[averaging], unit="updates/s")
    record("optimizer.runloop.d2.averaging.ratio", loop[True] / loop[False], unit="x plain")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def bench_memory(quick: bool) -> None:
    print("5. memory over a long window-less run through the GUI's run loop (MB)")
    from gaussviz.core.presets import get_preset
    from gaussviz.core.settings import build_run

    run = build_run(get_preset("ill-conditioned-natural"))
    total_long = 10_000_000 if not quick else 2_000_000
    chunk = 50_000
    while run.step < 100_000:
        run.advance(chunk)
        run.snapshot()
    before = rss_mb()
    t0 = time.perf_counter()
    while run.step < total_long:
        run.advance(chunk)
        if (run.step // chunk) % 20 == 0:
            run.snapshot()
    dt = time.perf_counter() - t0
    after = rss_mb()
    record("memory.rss_after_1e5_mb", before, unit="MB")
    record(f"memory.rss_after_{total_long:.0e}_mb".replace("+0", ""), after, unit="MB")
    record("memory.growth_mb", after - before, ("<=", 20.0), unit="MB")
    record("memory.run_loop_updates_per_s", (total_long - 100_000) / dt, unit="updates/s")
    snap = run.snapshot()
    assert snap.history.steps[-1] == run.step
    record("memory.history_points", snap.history.n, unit="points")


def bench_gui(quick: bool) -> None:
    """4 and 6 need the window: run in a subprocess (offscreen) so Qt does not touch this process."""
    script = os.path.join(HERE, "gui_bench.py")
    if not os.path.exists(script):
        print("4./6. window benchmarks: benchmarks/gui_bench.py not present, skipped")
        return
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = [sys.executable, script] + (["--quick"] if quick else [])
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, check=False)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        print(out.stderr[-2000:])
        return
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, value, op, target = line.split()
            RESULTS[key] = float(value)
            if op != "-":
                GOALS[key] = (op, float(target))


def bench_sweep(quick: bool) -> None:
    """7. sweeps in this process vs a Dask LocalCluster (issue 17): a subprocess, since the
    cluster's worker processes are spawned and import the main module."""
    script = os.path.join(HERE, "bench_sweep_dask.py")
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("7. sweeps on Dask: dask[distributed] not installed (pip install -e '.[cluster]'), skipped")
        return
    args = [sys.executable, script] + (["--quick"] if quick else [])
    out = subprocess.run(args, capture_output=True, text=True, timeout=1800, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, value, op, target = line.split()
            RESULTS[key] = float(value)
            if op != "-":
                GOALS[key] = (op, float(target))
        else:
            print(line)
    if out.returncode != 0:
        print(out.stderr[-2000:])


def bench_video(quick: bool) -> None:
    """8. videos (issue 16): encoding 10 s of 1280x800 at 30 frames/s in at most 2x real time; drawing
    and encoding; the window's Record. A subprocess: it draws with Qt (offscreen)."""
    script = os.path.join(HERE, "bench_video.py")
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        print("8. videos: imageio-ffmpeg not installed (python -m pip install -e .), skipped")
        return
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = [sys.executable, script] + (["--quick"] if quick else [])
    out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=1200, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, value, op, target = line.split()
            RESULTS[key] = float(value)
            if op != "-":
                GOALS[key] = (op, float(target))
        else:
            print(line)
    if out.returncode != 0:
        print(out.stderr[-2000:])


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (platform.processor() is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("numba", "scipy", "PySide6", "pyqtgraph", "dask", "distributed", "imageio", "imageio_ffmpeg"):
        try:
            out[name] = __import__(name).__version__
        except Exception:
            pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short version of everything (< 2 min)")
    ap.add_argument("--json", help="write every figure and ratio to this file")
    ap.add_argument("--only",
                    help="comma-separated subset: single,reference,batched,optimizers,gui,memory,sweep,video")
    a = ap.parse_args()
    benches = {"single": bench_single_chain, "reference": bench_reference, "batched": bench_batched,
               "optimizers": bench_optimizers, "gui": bench_gui, "memory": bench_memory, "sweep": bench_sweep,
               "video": bench_video}
    chosen = a.only.split(",") if a.only else list(benches)
    v = versions()
    print(f"gaussviz benchmarks ({'quick' if a.quick else 'full'}) on {cpu_model()}, {os.cpu_count()} cores, "
          + ", ".join(f"{k} {x}" for k, x in v.items()), flush=True)
    t0 = time.perf_counter()
    for name in chosen:
        benches[name](a.quick)
    elapsed = time.perf_counter() - t0
    unmet = [k for k, (op, t) in GOALS.items()
             if not (RESULTS[k] >= t if op == ">=" else RESULTS[k] <= t)]
    print(f"done in {elapsed:.1f} s; goals met: {len(GOALS) - len(unmet)}/{len(GOALS)}"
          + (f"; not met: {', '.join(unmet)}" if unmet else ""))
    if a.json:
        payload = {"quick": a.quick, "elapsed_s": elapsed, "machine": {
            "cpu_count": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(), **v},
            "results": RESULTS, "goals": {k: {"op": op, "target": t} for k, (op, t) in GOALS.items()},
            "unmet": unmet}
        with open(a.json, "w") as f:
            json.dump(payload, f, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
