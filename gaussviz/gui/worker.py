"""The worker: drives the core's ``RunLoop`` in a thread and publishes snapshots.

Why it is shaped like this:

- The hot loop (``RunLoop.advance`` -> numba ``nogil`` kernels) releases the GIL,
  so the GUI thread stays responsive only if the worker spends most of its time
  inside ``advance`` on big enough chunks. Chunk sizes adapt so one chunk takes
  about ``CHUNK_SECONDS`` (longer with several chains: ``chunk_seconds``); the Python
  work around a chunk stays small.
- Snapshots are immutable; the worker puts the newest one in a lock-protected
  slot and the GUI redraws from that slot on its own timer (never from a signal
  per chunk, which would queue frames faster than they can be drawn).
- Commands from the GUI go through a thread-safe queue and are applied between
  chunks to ``run.estimator`` so the current mean and covariance carry over.
- A plain ``threading.Thread`` (not a QThread: a QThread running Python code
  leaves a dummy ``threading`` entry behind). Shutdown sets a stop flag, wakes
  the loop and joins with a timeout (superqt ``_qthreading.py`` pattern); the
  few rare events (running state, errors) cross to the GUI as queued Qt signals.
- The thread never dies of an error: anything unexpected in a chunk, a command
  or a snapshot is reported (``sig_error``), the run is dropped and the worker
  pauses; the next Start, Step, Resume, Reset or preset builds a fresh run.
- Chunks are planned from the mini-batch in force at that update: the adapted
  chunk size is kept in samples (updates x batch), and a chunk ends where a
  replayed session's next change is due, so a batch change from 1 to 100,000
  (live or scheduled) never runs a chunk sized for the old batch.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from PySide6 import QtCore

from ..core.live import LIVE_CHANGES
from ..core.runloop import RunLoop
from ..core.settings import Settings, build_run
from ..core.snapshot import Snapshot
from ..core.timetravel import Rewinder, UpdateAnatomy, take_update
from ..core.validation import one_line

#: CPU time one chunk of updates should take when running flat out. Measured as the
#: worker thread's CPU time, not wall time: when the GUI holds the GIL or the machine
#: is busy, wall time grows, and shrinking chunks then would only add GIL hand-offs.
#: A snapshot is made between chunks, so a frame waits up to a chunk for a fresh one: at
#: 8 ms, 17-30 % of frames found none when due (57 frames/s of 62.5 aimed at); at 4 ms, 2-5 %.
CHUNK_SECONDS = 0.004
#: ... for one chain; with K compared chains, CHUNK_SECONDS * min(CHUNK_GROWTH_MAX, 1 + (K - 1) /
#: CHUNK_GROWTH_CHAINS). The Python work around a chunk (recording every chain's points, with the
#: GIL held) grows with K: five chains held it for ~1.2 of every 3 ms, and with 8 ms chunks they
#: ran 20-37 % more updates under the window (three interleaved 10 s runs: 1.76-1.85 M updates/s
#: against 1.28-1.49 M) with the same timer gaps and frame rate (a frame every ~25 ms).
CHUNK_GROWTH_CHAINS = 4
CHUNK_GROWTH_MAX = 2.0
#: the most updates one chunk may hold (keeps a stop request quick at any speed)
MAX_CHUNK = 1_000_000
#: snapshots are published at most this often: twice the GUI's ~60 frames/s, so a fresh one is
#: ready at each frame (a snapshot is only made once the GUI took the previous one)
MAX_SNAPSHOT_HZ = 120.0
#: a snapshot may cost at most this fraction of the worker's time (matters at large d). Five
#: chains' snapshot costs ~2.2 ms: at 0.1 they came at most every 22 ms, and half the frames
#: found none when due (34 frames/s); at 0.2, 40-50 frames/s.
SNAPSHOT_BUDGET = 0.2


#: the worker thread's nice value above the GUI's (Linux: per thread). On a busy machine the
#: scheduler then gives a core to the GUI thread first: a frame waits for no chunk.
WORKER_NICE = 10


def chunk_seconds(n_chains: int) -> float:
    """CPU time a chunk of ``n_chains`` chains should take (see CHUNK_SECONDS)."""
    return CHUNK_SECONDS * min(CHUNK_GROWTH_MAX, 1.0 + (max(1, n_chains) - 1) / CHUNK_GROWTH_CHAINS)


def lower_thread_priority(nice: int = WORKER_NICE) -> bool:
    """Lower the calling thread's CPU priority where the OS allows it per thread (Linux); True if done.
    Qt's QThread priorities are ignored under Linux's default scheduler, so this uses setpriority
    on the thread's own id."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except (AttributeError, OSError):
        return False
    return True


@dataclass(frozen=True)
class Command:
    """One request from the GUI; ``name`` is one of ``RunWorker.COMMANDS``."""

    name: str
    value: Any = None


class RunWorker(QtCore.QObject):
    """Owns the run and its thread; the GUI talks to it only through ``send`` and ``latest``."""

    #: the loop started (True) or paused (False), including the pause at a divergence
    sig_running = QtCore.Signal(bool)
    #: every running chain diverged; the worker paused (payload: the Snapshot)
    sig_diverged = QtCore.Signal(object)
    #: a command or a rebuild failed (payload: one-line message); the run goes on
    sig_error = QtCore.Signal(str)

    #: the worker's own commands; every live change (``core.live``) is one too
    CONTROL = ("speed", "running", "step", "back", "branch", "rebuild", "wake", "call")
    COMMANDS = (*CONTROL, *LIVE_CHANGES)

    def __init__(self, settings: Settings, running: bool = False,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.Queue[Command] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._seq = 0
        self._taken = 0  # the newest sequence number the GUI has read
        self._settings = settings.copy()
        self._run: RunLoop | None = None
        self._running = bool(running)
        self._speed = float(settings.speed)
        self._pending_steps = 0
        self._publish_now = True
        self._last_publish = 0.0
        self._min_publish_interval = 1.0 / MAX_SNAPSHOT_HZ
        self._n_fast = 256  # updates per chunk, adapted to CHUNK_SECONDS after each chunk ...
        self._fast_batch = 1  # ... at this mini-batch size (rescaled when the batch changes)
        self._rate = 0.0  # updates per second, smoothed
        self._rate_t = time.perf_counter()
        self._rate_step = 0
        self._pace_t0 = 0.0
        self._pace_done = 0
        self._div_reported = False
        #: the last single step's anatomy (published while the run holds still), and the replayer
        #: that takes the run back (rebuilt when the run's session changes)
        self._anatomy: UpdateAnatomy | None = None
        self._rewinder: Rewinder | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ GUI thread
    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="gaussviz-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Ask the loop to stop, wake it and wait; True if the thread ended."""
        self._stop.set()
        self._queue.put(Command("wake"))
        t = self._thread
        if t is None:
            return True
        t.join(timeout)
        return not t.is_alive()

    def where(self) -> str:
        """The worker thread's current stack (for a diagnostic when it won't stop)."""
        t = self._thread
        frame = sys._current_frames().get(t.ident) if t is not None and t.ident else None
        return "".join(traceback.format_stack(frame)) if frame is not None else "(not running)"

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def send(self, name: str, value: Any = None) -> None:
        """Queue a command; it is applied before the next chunk."""
        if name not in self.COMMANDS:
            raise ValueError(f"unknown worker command {name!r}")
        self._queue.put(Command(name, value))

    def wait_for_snapshot(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the first snapshot (sleeping: the worker has the GIL
        meanwhile); True when there is one."""
        deadline = time.monotonic() + timeout
        while self._latest is None and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        return self._latest is not None

    def latest(self) -> tuple[int, Snapshot | None]:
        """(sequence number, newest snapshot); the number grows with every publish."""
        with self._lock:
            self._taken = self._seq
            return self._seq, self._latest

    @property
    def running(self) -> bool:
        return self._running

    # --------------------------------------------------------- worker thread
    def _main(self) -> None:
        lower_thread_priority()
        try:
            self._rebuild(self._settings)
        except Exception as e:  # bad settings: say so and wait for a command (a preset, Reset)
            self._fail(e, "could not build the run")
        while not self._stop.is_set():
            try:
                self._loop_once()
            except Exception as e:  # never die: the GUI shows it, the next Start/Reset rebuilds
                self._fail(e, "the run stopped")

    def _fail(self, e: BaseException, what: str) -> None:
        """Something unexpected: drop the run (its state may be half updated), pause, report.
        The last snapshot stays on screen; Start, Step, Resume, Reset or a preset rebuild."""
        was_running = self._running
        self._run = None
        self._running = False
        self._pending_steps = 0
        self.sig_error.emit(one_line(f"{what}: {type(e).__name__}: {e}. Press Start, Reset or pick a "
                                     "preset to begin again."))
        if was_running:
            self.sig_running.emit(False)

    def _ensure_run(self) -> bool:
        """A run to go on with: after a failure, a fresh one from the current settings."""
        if self._run is None:
            self._rebuild(self._settings)
        return self._run is not None

    def _loop_once(self) -> None:
        self._drain()
        if self._stop.is_set() or self._run is None:
            if self._run is None and not self._stop.is_set():
                self._wait(0.25)
            return
        if self._pending_steps:
            n = min(self._pending_steps, self._chunk_now())
            self._pending_steps -= n
            self._advance(n)
            self._publish_now = True
        elif self._running:
            n = self._plan_chunk()
            if n <= 0:
                return
            self._advance(n)
        else:
            if self._publish_now:
                self._publish()
            self._wait(0.25)
            return
        self._after_chunk()

    def _wait(self, timeout: float) -> None:
        """Sleep until a command arrives or ``timeout`` passes (commands wake the loop at once)."""
        try:
            cmd = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        self._apply(cmd)

    def _drain(self) -> None:
        while True:
            try:
                cmd = self._queue.get_nowait()
            except queue.Empty:
                return
            self._apply(cmd)

    def _apply(self, cmd: Command) -> None:
        name, v = cmd.name, cmd.value
        if name == "wake":
            return
        try:
            if name == "rebuild":
                self._rebuild(v)
            elif name == "running":
                self._set_running(bool(v))
            elif name == "step":
                self._set_running(False)
                if not self._ensure_run():
                    pass
                elif self._run is not None and self._run.all_diverged:
                    self.sig_error.emit("every estimator has diverged: press Resume or Reset first")
                elif int(v or 1) == 1 and self._run is not None and not self._pending_steps:
                    # one update, taken apart: its anatomy goes with the next snapshot
                    self._anatomy = take_update(self._run)
                    self._after_step()
                else:
                    self._pending_steps += max(1, int(v or 1))
            elif name == "back":
                self._set_running(False)
                self._back(max(1, int(v or 1)))
            elif name == "branch":
                self._set_running(False)
                step, estimator = v
                self._branch(int(step), estimator)
            elif name == "speed":
                self._speed = float(v)
                self._settings.speed = self._speed
                self._reset_pace()
            elif name == "resume":
                self._resume()
            elif name == "call":
                # value(run): read the run between two chunks, where its arrays hold still
                # (e.g. the stability forecast copies a chain's state here); keep it quick.
                if self._run is not None:
                    v(self._run)
            elif self._run is not None:
                self._apply_estimator(name, v)
        except ValueError as e:
            self.sig_error.emit(one_line(e))
        except Exception as e:  # unexpected: the run may be half changed, so it is dropped
            self._fail(e, f"the command {name!r} failed")
        self._publish_now = True

    def _apply_estimator(self, name: str, v: Any) -> None:
        """Live changes of the main estimator (chain 0): the current mean and covariance carry over."""
        # Through the run loop, which records the change so a saved session replays it
        # at the same update.
        self._run.apply_change(name, v, chain=0)  # type: ignore[union-attr]
        recorded = self._run.changes[-1]["value"]  # type: ignore[union-attr]
        change = LIVE_CHANGES[name]
        for e in (self._settings.all_estimators() if change.shared else [self._settings.estimator]):
            change.write(e, recorded)

    def _rewinder_for(self, run: RunLoop) -> Rewinder:
        session = run.session()
        if session is None:
            raise ValueError("this run has no session to replay")
        if self._rewinder is None or not self._rewinder.matches(session):
            self._rewinder = Rewinder(session)
        return self._rewinder

    def _after_step(self) -> None:
        run = self._run
        if run is not None and run.all_diverged and not self._div_reported:
            self._div_reported = True
            self.sig_diverged.emit(self._publish())
        self._publish_now = True

    def _back(self, n: int) -> None:
        """Back ``n`` updates by replay (from the run's checkpoints), showing the anatomy of the update
        that led to where it lands; forward steps then take the same updates again."""
        run = self._run
        if run is None or run.step == 0:
            return
        target = max(0, run.step - max(1, n))
        rw = self._rewinder_for(run)
        if target >= 1:
            new, anatomy = rw.anatomy_at(target)
        else:
            new, anatomy = rw.run_at(0), None
        self._run = new
        self._anatomy = anatomy
        self._div_reported = new.all_diverged
        self._publish_now = True

    def _branch(self, step: int, estimator: Any) -> None:
        """A new run from recorded ``step`` (replayed exactly) with ``estimator``'s settings."""
        run = self._run
        if run is None:
            return
        if not 0 <= step <= run.step:
            raise ValueError(f"can only continue from updates 0 to {run.step:,}; got {step:,}")
        self._run = self._rewinder_for(run).branch(step, estimator)
        self._anatomy = None
        self._div_reported = self._run.all_diverged
        self._publish_now = True

    def _rebuild(self, settings: Settings) -> None:
        s = settings.copy()
        run = build_run(s)  # ValueError on bad settings: the old run stays
        self._settings = s
        self._speed = float(s.speed)
        self._run = run
        self._pending_steps = 0
        self._div_reported = False
        self._anatomy = None
        self._rewinder = None
        self._n_fast = 256
        self._fast_batch = run.estimator.batch_size
        self._rate = 0.0
        self._rate_t = time.perf_counter()
        self._rate_step = 0
        self._reset_pace()
        self._publish()

    def _set_running(self, running: bool) -> None:
        if running and not self._ensure_run():
            return
        if running and self._run is not None and self._run.all_diverged:
            # Start after a divergence means "go on": resume from the last good state.
            self._resume()
        if running != self._running:
            self._running = running
            self._reset_pace()
            self.sig_running.emit(running)

    def _resume(self) -> None:
        if self._run is None:
            self._ensure_run()  # after a failure: a fresh run, nothing to resume
            return
        self._run.apply_change("resume")
        self._div_reported = False

    def _reset_pace(self) -> None:
        self._pace_t0 = time.perf_counter()
        self._pace_done = 0

    def _chunk_now(self) -> int:
        """Updates for the next chunk: the adapted size, rescaled to the mini-batch in force now
        (its cost grows with the samples drawn), and ending where the next replayed change is
        due (which may change the batch: the chunk after it is planned again)."""
        run = self._run
        if run is None:
            return 0
        run.apply_due_changes()  # a change due now (e.g. batch 1 -> 100,000) counts for this plan
        b = run.estimator.batch_size
        n = max(1, self._n_fast * self._fast_batch // b)
        at = run.next_change_at
        if at is not None and at > run.step:
            n = min(n, at - run.step)
        return n

    def _plan_chunk(self) -> int:
        """Updates to run now: flat out, or paced to ``speed`` updates per second."""
        fast = self._chunk_now()
        if self._speed <= 0:
            return fast
        now = time.perf_counter()
        due = int((now - self._pace_t0) * self._speed) - self._pace_done
        # Small chunks cost Python overhead with the GIL held: batch at least ~10 ms of work.
        quantum = max(1, min(fast, int(self._speed * 0.01)))
        if due < quantum:
            wait = (self._pace_done + quantum) / self._speed - (now - self._pace_t0)
            self._wait(min(max(wait, 0.0), 0.05))
            return 0
        if due > 4 * fast + self._speed * 0.1:
            # Can't keep up (or we were asleep): don't try to catch up in a burst.
            self._reset_pace()
            due = fast
        n = min(due, fast)
        self._pace_done += n
        return n

    def _advance(self, n: int) -> None:
        self._anatomy = None  # more than one update: no single one to take apart
        run = self._run
        b = run.estimator.batch_size  # type: ignore[union-attr]
        t = time.thread_time()
        run.advance(n)  # type: ignore[union-attr]
        dt = time.thread_time() - t
        if run.estimator.batch_size != b:  # type: ignore[union-attr]
            return  # a replayed change switched the batch inside the chunk: no clean measurement
        goal = chunk_seconds(run.estimator.K)  # type: ignore[union-attr]
        if dt > 0 and (n >= 16 or dt > goal / 4):
            # Adapt the chunk so one takes ~chunk_seconds(K) of CPU; grow at most 4x per chunk.
            # Kept with its batch: at another batch it is rescaled (``_chunk_now``).
            target = n * goal / dt
            self._n_fast = int(min(MAX_CHUNK, max(1, min(4 * n, target))))
            self._fast_batch = b

    def _after_chunk(self) -> None:
        run = self._run
        if run is None:
            return
        if run.all_diverged and not self._div_reported:
            self._div_reported = True
            was_running = self._running
            self._running = False
            snap = self._publish()
            self.sig_diverged.emit(snap)
            if was_running:
                self.sig_running.emit(False)
            return
        now = time.perf_counter()
        if self._publish_now:
            self._publish()
        elif now - self._last_publish >= self._min_publish_interval:
            # Only when the GUI has taken the last one: a snapshot nobody draws is wasted
            # GIL time (each numpy copy is a chance for a GIL hand-off).
            with self._lock:
                taken = self._taken == self._seq
            if taken:
                self._publish()

    def _publish(self) -> Snapshot | None:
        run = self._run
        if run is None:
            return None
        t = time.perf_counter()
        if t - self._rate_t >= 0.25:
            inst = (run.step - self._rate_step) / (t - self._rate_t)
            self._rate = inst if self._rate == 0.0 else 0.5 * self._rate + 0.5 * inst
            self._rate_t, self._rate_step = t, run.step
        if not self._running and not self._pending_steps:
            self._rate = 0.0
        cpu = time.thread_time()
        snap = run.snapshot(extra={
            "running": self._running, "updates_per_s": self._rate, "chunk": self._n_fast,
            "speed": self._speed, "replayed": run.replayed,
            **({"anatomy": self._anatomy} if self._anatomy is not None and not self._running else {}),
        })
        # CPU time, not wall time: waiting for the GIL while the GUI draws is not the
        # snapshot's cost and must not slow the publishing down (as for chunk sizing).
        cost = time.thread_time() - cpu
        done = time.perf_counter()
        with self._lock:
            self._latest = snap
            self._seq += 1
        # Big snapshots (large d) are throttled so they stay a small part of the work.
        self._min_publish_interval = max(1.0 / MAX_SNAPSHOT_HZ, cost / SNAPSHOT_BUDGET)
        self._last_publish = done
        self._publish_now = False
        return snap
