"""`gaussviz sweep --scheduler/--resume` on real Dask schedulers and workers started here on localhost.

The same map through the three routes (in this process, a LocalCluster, an existing scheduler
reached by tcp://), a worker killed mid-sweep, a sweep interrupted (SIGINT, SIGKILL) and resumed,
a bad scheduler address. Every process started here is stopped at the end; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from gaussviz.cli import main

#: bounds on waits: generous, for a loaded 2-core machine
RUN_TIMEOUT = 300
START_TIMEOUT = 90
FILES = ("csv", "json", "png")
#: 2 rules x 5 alphas x 2 start scales x 4 seeds = 80 chains, ~1 s of one core
GRID = ["--alpha-min", "1e-3", "--alpha-max", "0.5", "--alpha-count", "5",
        "--parameterizations", "covariance,natural", "--axis-values", "0.5,2", "--seeds", "4",
        "--steps", "4000"]
#: 3 rules x 8 alphas x 2 scales x 6 seeds = 288 chains x 300,000 updates: ~10 s of one core here
LONG = ["--alpha-min", "1e-3", "--alpha-max", "0.5", "--alpha-count", "8",
        "--parameterizations", "covariance,cholesky,natural", "--axis-values", "0.5,2", "--seeds", "6",
        "--steps", "300000"]


def env() -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1"}


def gaussviz(*args, timeout=RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gaussviz", *args], capture_output=True, text=True,
                          timeout=timeout, env=env())


def start(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gaussviz", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())


def stop(p: subprocess.Popen) -> None:
    """Stop a process started here and everything it started, for sure."""
    try:
        kids = psutil.Process(p.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        kids = []
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(15)
    for k in kids:
        try:
            k.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(kids, timeout=15)
    for f in (p.stdout, p.stderr):
        if f is not None and not f.closed:
            f.close()


def files(out: Path) -> dict[str, bytes]:
    return {ext: (out / f"stability_map.{ext}").read_bytes() for ext in FILES}


def wait_for(cond, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the process ended (status {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout} s")
        time.sleep(0.05)


def task_files(out: Path) -> list[Path]:
    return sorted((out / ".partial").glob("chains-*.npz")) if (out / ".partial").is_dir() else []


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, bytes]:
    """GRID in this process, the embedded default route."""
    out = tmp_path_factory.mktemp("in-process")
    r = gaussviz("sweep", *GRID, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(out)) == [f"stability_map.{e}" for e in FILES]  # .partial removed
    return files(out)


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory) -> dict[str, bytes]:
    """LONG in this process."""
    out = tmp_path_factory.mktemp("long")
    r = gaussviz("sweep", *LONG, "--out", str(out))
    assert r.returncode == 0, r.stderr
    return files(out)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """`dask scheduler` and `dask worker` processes on localhost; the scheduler's tcp:// address."""
    d = tmp_path_factory.mktemp("dask")
    sched_file = d / "scheduler.json"
    procs = []
    logs = [open(d / "scheduler.log", "w"), open(d / "worker.log", "w")]  # closed below
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--dashboard-address", ":0", "--scheduler-file", str(sched_file)],
            stdout=subprocess.DEVNULL, stderr=logs[0], env=env()))
        wait_for(lambda: sched_file.exists() and sched_file.stat().st_size > 0, START_TIMEOUT,
                 "scheduler file", procs[0])
        time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
             "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=logs[1], env=env()))
        from distributed import Client

        with Client(address, timeout=START_TIMEOUT) as c:
            c.wait_for_workers(2, timeout=START_TIMEOUT)
        yield address
    finally:
        for p in reversed(procs):
            stop(p)
        for f in logs:
            f.close()
        from gaussviz.core.cluster import _release_helpers

        _release_helpers()  # the Client above: no Dask thread left behind


def test_local_cluster_gives_the_same_files(tmp_path, reference):
    out = tmp_path / "local"
    r = gaussviz("sweep", *GRID, "--out", str(out), "--scheduler", "local:2", "--task-seconds", "0.05")
    assert r.returncode == 0, r.stderr
    assert "on a local Dask cluster of 2 worker processes" in r.stdout
    assert files(out) == reference
    assert sorted(os.listdir(out)) == [f"stability_map.{e}" for e in FILES]


def test_existing_scheduler_over_tcp_gives_the_same_files(tmp_path, reference, dask_cluster):
    out = tmp_path / "tcp"
    r = gaussviz("sweep", *GRID, "--out", str(out), "--scheduler", dask_cluster, "--task-seconds", "0.05")
    assert r.returncode == 0, r.stderr
    assert f"on the Dask scheduler at {dask_cluster}" in r.stdout
    assert files(out) == reference


def dask_workers_of(p: subprocess.Popen) -> list[psutil.Process]:
    """The worker processes a LocalCluster in process p spawned (not multiprocessing's resource tracker)."""
    out = []
    for k in psutil.Process(p.pid).children(recursive=True):
        try:
            cmd = " ".join(k.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "spawn_main" in cmd:
            out.append(k)
    return out


def test_a_worker_killed_mid_sweep_is_replaced_and_the_map_is_complete(tmp_path, long_reference):
    out = tmp_path / "killed"
    p = start("sweep", *LONG, "--out", str(out), "--scheduler", "local:2", "--task-seconds", "0.3")
    try:
        wait_for(lambda: len(task_files(out)) >= 1, START_TIMEOUT + 60, "finished task", p)
        workers = dask_workers_of(p)
        assert len(workers) == 2
        victim = workers[0]
        victim.kill()
        victim.wait(10)
        assert p.poll() is None, "the sweep should still have been running"
        _, e = p.communicate(timeout=RUN_TIMEOUT)
    finally:
        stop(p)
    assert p.returncode == 0, e
    assert files(out) == long_reference
    assert not (out / ".partial").exists()


def test_interrupted_sweep_resumes_to_the_same_files(tmp_path, long_reference):
    out = tmp_path / "resumed"
    p = start("sweep", *LONG, "--out", str(out), "--task-seconds", "0.2")
    try:
        wait_for(lambda: len(task_files(out)) >= 2, START_TIMEOUT + 60, "two finished tasks", p)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        stop(p)
    assert p.returncode == 130, err
    assert "--resume" in err and str(out / ".partial") in err
    done = task_files(out)
    assert len(done) >= 2 and not (out / "stability_map.csv").exists()
    # a different sweep is refused, and so is starting over on top of the unfinished one
    other = [*LONG[:-1], "100"]  # the same sweep with --steps 100 (an option given twice is an error)
    r = gaussviz("sweep", *other, "--out", str(out), "--resume")
    assert r.returncode == 2 and "different sweep" in r.stderr and "steps" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = gaussviz("sweep", *LONG, "--out", str(out))
    assert r.returncode == 2 and "--resume" in r.stderr and "unfinished sweep" in r.stderr
    assert task_files(out) == done  # nothing lost
    # resumed on a local cluster: only the missing chains run, the files are the in-process ones
    r = gaussviz("sweep", *LONG, "--out", str(out), "--resume", "--scheduler", "local:2")
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr and "resumed" in r.stdout
    assert files(out) == long_reference
    assert sorted(os.listdir(out)) == [f"stability_map.{e}" for e in FILES]


def test_a_killed_sweep_resumes_to_the_same_files(tmp_path, long_reference):
    out = tmp_path / "sigkill"
    p = start("sweep", *LONG, "--out", str(out), "--task-seconds", "0.2")
    try:
        wait_for(lambda: len(task_files(out)) >= 1, START_TIMEOUT + 60, "a finished task", p)
        p.kill()
        p.wait(30)
    finally:
        stop(p)
    (out / ".partial" / ".chains-0000000000-0000000001.npz.x.tmp").write_bytes(b"half a fi")  # a cut write
    r = gaussviz("sweep", *LONG, "--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr
    assert files(out) == long_reference
    assert not (out / ".partial").exists()


@pytest.mark.parametrize("spec,fragment", [
    ("tcp://127.0.0.1:{port}", "connection refused"),
    ("tcp://no-such-host.invalid:8786", "unknown host"),
    ("local:0", "local:N"),
    ("udp://127.0.0.1:8786", "tcp://HOST:PORT"),
])
def test_bad_scheduler_is_one_line_exit_2_and_quick(tmp_path, spec, fragment):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "never"
    t0 = time.monotonic()
    r = gaussviz("sweep", *GRID, "--out", str(out), "--scheduler", spec.format(port=port), timeout=120)
    took = time.monotonic() - t0
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert took < 60  # the connect is bounded (5 s); the rest is Python starting on a busy machine
    assert not out.exists()


def test_without_dask_the_message_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    assert main(["sweep", *GRID, "--out", str(tmp_path / "o"), "--scheduler", "local:2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gaussviz[cluster]" in err[0]
    assert not (tmp_path / "o").exists()


def test_progress_on_a_terminal_shows_chains_rate_and_eta(tmp_path):
    import pty

    leader, follower = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "gaussviz", "sweep", *GRID[:-1], "40000", "--task-seconds",
                          "0.05", "--out", str(tmp_path / "tty")], stdout=subprocess.DEVNULL, stderr=follower,
                         env=env())
    os.close(follower)
    data = b""
    try:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed: the process ended
                break
            if not chunk:
                break
            data += chunk
        p.wait(RUN_TIMEOUT)
    finally:
        os.close(leader)
        stop(p)
    assert p.returncode == 0
    frames = [f.strip() for f in data.decode().split("\r") if f.strip()]
    assert len(frames) >= 2  # rewritten in place
    assert frames[-1].startswith("sweep [") and "80 of 80 chains" in frames[-1]
    assert any("chains/s" in f and "updates/s" in f and "ETA 0:" in f for f in frames)
