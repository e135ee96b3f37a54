"""Long runs through the GUI's run loop: memory stays flat and the history's recent end is right.

``long_run`` drives ``RunLoop.advance`` in chunks the way the window's worker
does (a snapshot after every chunk), at d = 2 with three chains on one stream:
two that converge and one with the wrong sign that diverges early, so the
"no data" path of the history is exercised for the whole run too. It reads the
resident set size from /proc/self/statm before and after.

Run it by hand for the numbers: ``python tests/core/test_long_run.py 1e7``.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

from gaussviz.core.presets import ILL_COV
from gaussviz.core.runloop import RunLoop
from gaussviz.core.settings import EstimatorSettings, Settings, StartSettings, TargetSettings, build_run

#: about what the window's worker advances per chunk at d = 2 when running flat out
CHUNK = 50_000
#: RSS growth over a whole long run that still counts as flat: the history's buffers are
#: allocated up front but their pages become resident as they fill (~1.5 MB here), plus
#: allocator noise. An unbounded history would add ~300 bytes per point recorded.
RSS_SLACK = 16 * 2**20
#: growth allowed over the second half, when the history is full and only thins
RSS_SLACK_SECOND_HALF = 4 * 2**20


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (Linux)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


@dataclass
class LongRunReport:
    updates: int
    seconds: float
    rss_before: int
    rss_half: int
    rss_after: int
    rss_peak_during: int
    history_points: int
    history_capacity: int

    def __str__(self) -> str:
        mb = 2**20
        return (f"{self.updates:,} updates in {self.seconds:.1f} s ({self.updates / self.seconds:,.0f}/s); "
                f"RSS {self.rss_before / mb:.1f} MB -> {self.rss_half / mb:.1f} MB at half way -> "
                f"{self.rss_after / mb:.1f} MB "
                f"(peak {self.rss_peak_during / mb:.1f} MB); history {self.history_points} of "
                f"{self.history_capacity} points")


def long_run_settings() -> Settings:
    """d = 2, the ill-conditioned target of docs/MATH.md; natural and log-Cholesky converge, one wrong sign diverges."""
    return Settings(
        target=TargetSettings(dim=2, mean=[0.0, 0.0], cov=ILL_COV, seed=7),
        start=StartSettings(mean=[1.0, 1.0], cov_scale=1.0),
        estimator=EstimatorSettings(parameterization="natural", alpha=0.005),
        compare=[EstimatorSettings(parameterization="log-cholesky", alpha=0.005),
                 EstimatorSettings(parameterization="covariance", alpha=0.002, direction="descent",
                                   symmetrize=True)],
    )


def check_recent_end(run: RunLoop, every_last: int, n_last: int) -> None:
    """The history ends at the run's step, with the estimators' current state, densely recorded."""
    snap = run.snapshot()
    h = snap.history
    est = run.estimator
    assert h.steps[-1] == run.step == snap.step
    assert h.steps[0] == 0 and np.all(np.diff(h.steps) > 0)
    assert h.n <= run.history.capacity
    for k, div in enumerate(est.divergences()):
        if div is None:
            assert np.array_equal(h.mean[k, -1], est.means[k])
            assert np.array_equal(h.cov[k, -1], est.covs[k])
            assert np.all(np.isfinite(h.kl[k, -32:]))
        else:
            assert np.all(np.isnan(h.mean[k, h.steps >= div.step]))
            assert np.all(np.isfinite(h.mean[k, h.steps < div.step]))
    np.testing.assert_array_equal(h.ref_mean[-1], run.reference.mean)
    # The last chunk's points are all there (thinning always keeps the recent capacity/8),
    # at the stride that chunk recorded with.
    start = run.step - n_last
    expected = start + np.minimum(np.arange(1, -(-n_last // every_last) + 1) * every_last, n_last)
    m = min(expected.size, run.history.capacity // 8)
    np.testing.assert_array_equal(h.steps[-m:], expected[-m:])


def long_run(n_updates: int, chunk: int = CHUNK, settings: Settings | None = None) -> LongRunReport:
    """Run n_updates through RunLoop.advance in chunks, a snapshot after each; check and measure."""
    run = build_run(settings or long_run_settings())
    # Warm up (compiled kernels loaded, history and sample buffers touched) before measuring.
    run.advance(chunk)
    run.snapshot()
    before = rss_bytes()
    peak = half = before
    t0 = time.perf_counter()
    every = n = 0
    while run.step < n_updates:
        n = min(chunk, n_updates - run.step)
        every = max(run.history.stride, -(-n // 256))  # what RunLoop.advance will record at
        run.advance(n)
        run.snapshot()
        if run.step % (20 * chunk) == 0:
            peak = max(peak, rss_bytes())
        if run.step - n < n_updates // 2 <= run.step:
            half = rss_bytes()
    seconds = time.perf_counter() - t0
    after = rss_bytes()
    check_recent_end(run, every, n)
    # the two converging chains are still running and close to the truth
    assert not run.estimator.diverged[0] and not run.estimator.diverged[1]
    assert run.estimator.diverged[2]
    snap = run.snapshot()
    assert snap.chains[0].kl < 0.05 and snap.chains[1].kl < 0.05
    return LongRunReport(n_updates, seconds, before, half, after, max(peak, after), run.history.n,
                         run.history.capacity)


def test_one_million_updates_memory_flat_history_right():
    report = long_run(1_000_000)
    print(report)
    assert report.rss_after - report.rss_before < RSS_SLACK, str(report)


@pytest.mark.slow  # ~3 s here (2 cores): fits in CI, so it is not skipped
def test_ten_million_updates_memory_flat_history_right():
    report = long_run(10_000_000)
    print(report)
    assert report.rss_after - report.rss_before < RSS_SLACK, str(report)
    assert report.rss_after - report.rss_half < RSS_SLACK_SECOND_HALF, str(report)
    assert report.rss_peak_during - report.rss_before < RSS_SLACK, str(report)


if __name__ == "__main__":
    print(long_run(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000))
