"""Sweeps as tasks: in this process or on a Dask cluster, resumable, with progress, rate and ETA.

A sweep's chains are cut into tasks of a few seconds each: contiguous ranges of
grid indices (``plan_tasks``), sized from the measured cost of a chain-update
for this sweep (``estimate_cost``: it grows with d and differs by rule). A task
is ``run_chains`` on its range; a chain's numbers depend only on the chain,
so every split, every route and every resume give the same result to the bit.

Routes (``parse_scheduler``):

- none: the tasks run one after another in this process (all cores);
- ``local[:N]``: a Dask ``LocalCluster`` of N worker processes (one thread each)
  on this machine, started here and closed at the end;
- ``tcp://HOST:PORT``: the scheduler of an existing Dask cluster; every worker
  needs gaussviz (the same version) installed.

Dask does the scheduling, the retries and the rescheduling of the tasks of a
worker that died (``client.submit`` with ``retries``, ``as_completed``); this
module only keeps a window of tasks in flight, saves each result as it
arrives (``save``, e.g. ``sweep_store.PartialStore.save``) and reports progress.
Dask (``dask[distributed]``, the ``gaussviz[cluster]`` extra) is imported only
when a cluster is opened.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from .. import __version__
from .sweep import MAX_CHAINS, SweepCancelled, SweepPart, SweepResult, SweepSpec, assemble, run_chains

#: a task aims at this many seconds of one core (long enough that Dask's overhead,
#: ~1 ms a task, is noise; short enough for progress, balance and little lost work)
TASK_SECONDS = 3.0
#: how long to wait for a scheduler to answer before giving up (bad address: fail fast)
CONNECT_TIMEOUT = 5.0
#: Dask retries a task that raised this many times (a dead worker's tasks are rescheduled anyway)
RETRIES = 2
#: in flight at once: this many tasks per worker thread (the rest are submitted as tasks finish)
IN_FLIGHT_PER_THREAD = 2
#: seconds between checks of cancel (and of new workers) while tasks run
POLL = 0.05
INSTALL_HINT = "install gaussviz[cluster] (pip install 'gaussviz[cluster]', which brings dask[distributed])"
SCHEDULER_HELP = "empty (in this process), local, local:N (N worker processes here) or tcp://HOST:PORT"


class ClusterError(RuntimeError):
    """A cluster could not be used; ``str(e)`` is one line. ``status``: 2 for a bad setting or
    address (the CLI's usage status), 1 for a failure while the sweep ran."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------ scheduler spec
@dataclass(frozen=True)
class Scheduler:
    """Where a sweep's tasks run: ``local`` (``workers`` processes here) or ``tcp`` (``address``)."""

    kind: str
    workers: int = 0
    address: str = ""

    def describe(self) -> str:
        if self.kind == "local":
            return f"a local Dask cluster of {self.workers} worker process{'es' if self.workers != 1 else ''}"
        return f"the Dask scheduler at {self.address}"


def cores() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_TCP = re.compile(r"^tcp://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-_]+):(\d{1,5})$")


def parse_scheduler(text: str | None) -> Scheduler | None:
    """``None``/empty: in this process; ``local``, ``local:N`` or ``tcp://HOST:PORT``. ValueError otherwise."""
    t = (text or "").strip()
    if not t:
        return None
    if t == "local":
        return Scheduler("local", workers=cores())
    if t.startswith("local:"):
        n = t[len("local:"):].strip()
        if not n.isdigit() or not 1 <= int(n) <= 1024:
            raise ValueError(f"scheduler {t!r}: local:N needs a number of workers N from 1 to 1024")
        return Scheduler("local", workers=int(n))
    m = _TCP.match(t)
    if m:
        port = int(m.group(2))
        if not 1 <= port <= 65535:
            raise ValueError(f"scheduler {t!r}: the port must be from 1 to 65535")
        return Scheduler("tcp", address=t)
    raise ValueError(f"scheduler must be {SCHEDULER_HELP}; got {t!r}")


def require_dask() -> None:
    """ClusterError (status 2) with the install hint when Dask's distributed scheduler is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError(f"a Dask scheduler needs dask[distributed], which is not installed: {INSTALL_HINT}",
                           status=2) from None


# ----------------------------------------------------------------------- cluster
class Cluster:
    """An open Dask client (and the LocalCluster it started, if any); ``close`` ends both."""

    def __init__(self, scheduler: Scheduler, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        require_dask()
        import logging

        import dask
        from distributed import Client, LocalCluster

        self.scheduler = scheduler
        self._local = None
        self.client = None
        try:
            if scheduler.kind == "local":
                # one thread per worker process: the kernel runs one chain block per core
                self._local = LocalCluster(n_workers=scheduler.workers, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", scheduler_port=0, dashboard_address=None,
                                           silence_logs=logging.ERROR, preload=[__name__])
                self.client = Client(self._local)
            else:
                _probe(scheduler.address, connect_timeout)
                # the short timeout only for reaching the scheduler (a bad address fails fast); a local
                # cluster's workers keep Dask's default, which a loaded machine may need
                with dask.config.set({"distributed.comm.timeouts.connect": f"{connect_timeout}s"}):
                    self.client = Client(scheduler.address, timeout=connect_timeout)
        except ClusterError:
            self.close()
            raise
        except Exception as e:
            self.close()
            if scheduler.kind == "tcp":
                raise ClusterError(f"{scheduler.address} did not answer as a Dask scheduler within "
                                   f"{connect_timeout:g} s ({_one_line(e)})", status=2) from None
            raise ClusterError(f"could not start a local Dask cluster: {_one_line(e)}") from None

    def threads(self) -> int:
        """Worker threads in the cluster now (0 while no worker has joined)."""
        try:
            return int(sum(self.client.nthreads().values()))
        except Exception:
            return 0

    def close(self) -> None:
        """Close the client and a cluster started here; drop Dask's idle helper thread and the
        multiprocessing resource tracker so no thread or process is left behind."""
        client, local = self.client, self._local
        self.client = self._local = None
        with contextlib.suppress(Exception):
            if client is not None:
                client.close(timeout=10)
        with contextlib.suppress(Exception):
            if local is not None:
                local.close(timeout=20)
        _release_helpers()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def dask_setup(worker) -> None:
    """Dask preload of a LocalCluster's workers (this module): ignore SIGINT.

    Ctrl-C in a terminal reaches the whole process group; the sweep's own
    process handles it (saves what is done, closes the cluster, says how to
    resume), and the worker processes would only print tracebacks.
    """
    import signal

    with contextlib.suppress(ValueError):  # not the main thread: nothing to do
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def check_reachable(scheduler: Scheduler | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail at once (ClusterError, status 2) when nothing listens at a tcp:// scheduler's address
    (before Dask is even imported); nothing to check for the other routes."""
    if scheduler is not None and scheduler.kind == "tcp":
        _probe(scheduler.address, timeout)


def _probe(address: str, timeout: float) -> None:
    m = _TCP.match(address)
    host, port = m.group(1).strip("[]"), int(m.group(2))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror:
        raise ClusterError(f"no Dask scheduler at {address}: unknown host {host!r}", status=2) from None
    except ConnectionRefusedError:
        raise ClusterError(f"no Dask scheduler at {address}: connection refused (nothing listens on port {port})",
                           status=2) from None
    except OSError as e:
        raise ClusterError(f"no Dask scheduler answered at {address} within {timeout:g} s ({_one_line(e)})",
                           status=2) from None


def _release_helpers() -> None:
    # Dask keeps one idle "Dask-Offload" thread per process after a client closes, and spawning
    # worker processes started multiprocessing's resource tracker; when no client is left, hand
    # Dask a fresh (threadless) executor and stop the tracker, so closing leaves nothing running.
    with contextlib.suppress(Exception):
        from concurrent.futures import ThreadPoolExecutor

        import distributed.utils as du
        from distributed.client import _get_global_client

        if _get_global_client() is None:
            old = du._offload_executor
            du._offload_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="Dask-Offload")
            old.shutdown(wait=True)
    with contextlib.suppress(Exception):
        from multiprocessing import resource_tracker

        tracker = resource_tracker._resource_tracker
        if getattr(tracker, "_pid", None) is not None:
            tracker._stop()


@contextlib.contextmanager
def open_cluster(scheduler: Scheduler | None, connect_timeout: float = CONNECT_TIMEOUT) -> Iterator[Cluster | None]:
    """``with open_cluster(parse_scheduler(text)) as cluster:`` (None: in this process)."""
    if scheduler is None:
        yield None
        return
    c = Cluster(scheduler, connect_timeout)
    try:
        yield c
    finally:
        c.close()


# ---------------------------------------------------------------------- planning
def estimate_cost(spec: SweepSpec, budget: float = 0.05, sample: int = 24) -> float:
    """Seconds per chain-update on one core for this sweep (its d, rules, batch sizes), measured.

    Runs up to ``sample`` chains spread over the grid (after a one-update
    warm-up that loads the compiled kernels) for more and more updates until
    a run takes ``budget`` seconds or all of the sweep's updates.
    """
    K = spec.n_chains
    chains = np.unique(np.linspace(0, K - 1, min(K, sample)).round().astype(np.int64))
    run_chains(replace(spec, steps=1), chains, parallel=False, keep_states=False)
    steps = min(spec.steps, 16)
    while True:
        t0 = time.perf_counter()
        run_chains(replace(spec, steps=steps), chains, parallel=False, keep_states=False)
        t = time.perf_counter() - t0
        if t >= budget or steps >= spec.steps:
            return max(t, 1e-9) / (chains.size * steps)
        steps = min(spec.steps, steps * 4)


def chains_per_task(spec: SweepSpec, cost: float, remaining: int, slots: int = 1,
                    task_seconds: float = TASK_SECONDS) -> int:
    """Chains in one task: about ``task_seconds`` of one core, and at least two tasks per slot
    (worker thread) while there are chains enough, so no worker idles at the end."""
    by_time = int(task_seconds / max(cost * spec.steps, 1e-12))
    n = max(1, min(by_time, MAX_CHAINS))
    if slots > 1:
        n = min(n, max(1, math.ceil(remaining / (2 * slots))))
    return n


def plan_tasks(ranges: Sequence[tuple[int, int]], per_task: int) -> list[tuple[int, int]]:
    """Ranges cut into tasks of at most ``per_task`` chains, in grid order."""
    if per_task < 1:
        raise ValueError("per_task must be >= 1")
    return [(i, min(i + per_task, hi)) for lo, hi in ranges for i in range(lo, hi, per_task)]


# ---------------------------------------------------------------------- progress
@dataclass(frozen=True)
class SweepProgress:
    """How far a sweep is: chains done of all (``resumed`` of them from an earlier run), time so far."""

    done: float
    total: int
    resumed: int = 0
    elapsed: float = 0.0
    steps: int = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 1.0

    @property
    def rate(self) -> float:
        """Chains per second in this run (0 until something finished)."""
        new = self.done - self.resumed
        return new / self.elapsed if self.elapsed > 0 and new > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate; None while unknown."""
        r = self.rate
        return (self.total - self.done) / r if r > 0 else None

    def text(self) -> str:
        """E.g. ``1,234 of 4,096 chains · 812 chains/s (4.1e+06 updates/s) · ETA 0:03:20``."""
        parts = [f"{int(self.done):,} of {self.total:,} chains"]
        if self.rate > 0:
            parts.append(f"{_rate(self.rate)} chains/s" + (f" ({self.rate * self.steps:.2g} updates/s)"
                                                          if self.steps else ""))
        eta = self.eta
        parts.append(f"ETA {_clock(eta)}" if eta is not None else "ETA --")
        return " · ".join(parts)


def _rate(r: float) -> str:
    return f"{r:,.0f}" if r >= 10 else f"{r:.2g}"


def _clock(seconds: float) -> str:
    s = round(seconds)
    if s >= 100 * 3600:
        return f"{s / 86400:.1f} days"
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


# ------------------------------------------------------------------------ running
def _task(spec: SweepSpec, lo: int, hi: int, version: str) -> SweepPart:
    """One task on a worker: chains lo .. hi-1 on one core."""
    if version != __version__:
        raise RuntimeError(f"this worker has gaussviz {__version__}, the sweep was started with {version}")
    return run_chains(spec, np.arange(lo, hi), parallel=False)


def run_tasks(
    spec: SweepSpec,
    done: Sequence[SweepPart] = (),
    cluster: Cluster | None = None,
    save: Callable[[SweepPart], object] | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    task_seconds: float = TASK_SECONDS,
    cost: float | None = None,
) -> SweepResult:
    """Run the chains of ``spec`` that ``done`` does not cover, as tasks; the whole sweep's result.

    ``cluster`` None runs the tasks here, one after another; otherwise they go
    to the Dask cluster. ``save(part)`` is called with each finished task (in
    the order they finish); ``progress`` after each (and, here, after each
    chunk); ``cancel()`` between them (``SweepCancelled``; tasks in flight are
    cancelled). ``cost`` (seconds per chain-update) skips the measurement.
    """
    if not 0.01 <= task_seconds <= 86_400:
        raise ValueError(f"task seconds must be from 0.01 to 86400; got {task_seconds!r}")
    from .sweep_store import missing_ranges

    t0 = time.perf_counter()
    parts = list(done)
    todo = missing_ranges(spec.n_chains, parts)
    resumed = spec.n_chains - sum(hi - lo for lo, hi in todo)

    def report(n_done: float) -> None:
        if progress is not None:
            progress(SweepProgress(n_done, spec.n_chains, resumed, time.perf_counter() - t0, spec.steps))

    report(resumed)
    if todo:
        if cost is None:
            cost = estimate_cost(spec)
        remaining = spec.n_chains - resumed
        slots = 1 if cluster is None else max(1, cluster.threads())
        tasks = plan_tasks(todo, chains_per_task(spec, cost, remaining, slots, task_seconds))
        run = _run_here if cluster is None else _run_on_cluster
        run(spec, tasks, cluster, parts, save, report, resumed, cancel)
    return assemble(spec, parts, time.perf_counter() - t0)


def _run_here(spec, tasks, cluster, parts, save, report, resumed, cancel) -> None:
    n_done = resumed
    for lo, hi in tasks:
        if cancel is not None and cancel():
            raise SweepCancelled("sweep cancelled")
        base = n_done
        part = run_chains(spec, np.arange(lo, hi), progress=lambda w, b=base: report(b + w / spec.steps),
                          cancel=cancel)
        if save is not None:
            save(part)
        parts.append(part)
        n_done += hi - lo
        report(n_done)


def _run_on_cluster(spec, tasks, cluster, parts, save, report, resumed, cancel) -> None:
    from distributed import as_completed

    client = cluster.client
    token = uuid.uuid4().hex[:8]
    queue = deque(tasks)
    ranges: dict[str, tuple[int, int]] = {}
    inflight: dict[str, object] = {}
    ac = as_completed(with_results=True, raise_errors=False)
    n_done = resumed
    threads, checked = 0, 0.0

    def fill() -> None:
        nonlocal threads, checked
        now = time.monotonic()
        if now - checked > 1.0:  # workers may join or leave
            threads, checked = cluster.threads(), now
        limit = max(2, IN_FLIGHT_PER_THREAD * threads)
        while queue and ac.count() < limit:
            lo, hi = queue.popleft()
            f = client.submit(_task, spec, lo, hi, __version__, key=f"gaussviz-sweep-{token}-{lo}-{hi}",
                              retries=RETRIES, pure=False)
            ranges[f.key] = (lo, hi)
            inflight[f.key] = f
            ac.add(f)

    try:
        fill()
        while not ac.is_empty():
            if cancel is not None and cancel():
                raise SweepCancelled("sweep cancelled")
            batch = ac.next_batch(block=False)
            if not batch:
                time.sleep(POLL)
                fill()
                continue
            for future, result in batch:
                lo, hi = ranges.pop(future.key)
                inflight.pop(future.key, None)
                if future.status != "finished":
                    raise ClusterError(f"the task of chains {lo} to {hi - 1} failed on a worker: "
                                       f"{_task_error(result)}")
                if save is not None:
                    save(result)
                parts.append(result)
                n_done += hi - lo
                report(n_done)
            fill()
    finally:
        left = list(inflight.values())
        ac.clear()
        if left:
            with contextlib.suppress(Exception):
                client.cancel(left)


def _task_error(result) -> str:
    exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
    if isinstance(exc, ModuleNotFoundError) and "gaussviz" in str(exc):
        return f"{_one_line(exc)} (install gaussviz {__version__} on every worker)"
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {_one_line(exc)}"
    return _one_line(Exception(str(exc)))


__all__ = [
    "CONNECT_TIMEOUT",
    "INSTALL_HINT",
    "SCHEDULER_HELP",
    "TASK_SECONDS",
    "Cluster",
    "ClusterError",
    "Scheduler",
    "SweepProgress",
    "chains_per_task",
    "check_reachable",
    "cores",
    "estimate_cost",
    "open_cluster",
    "parse_scheduler",
    "plan_tasks",
    "require_dask",
    "run_tasks",
]
