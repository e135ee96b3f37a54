"""The history's fine tail (the rolling window's data), the moving truth's path, and views that
stay as they were while the run goes on (no copies)."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core.history import History
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import build_run


def _append(h: History, start: int, n: int, K: int = 1, d: int = 2) -> None:
    steps = np.arange(start + 1, start + n + 1)
    h.append(steps, np.ones((K, n)), np.zeros((K, n, d)), np.zeros((K, n, d, d)), np.zeros((K, n, d)),
             np.repeat(steps[None] * 1.0, K, 0), np.zeros((K, n)), np.zeros((n, d)), np.zeros((n, d, d)), np.zeros(n))


def test_a_paced_run_keeps_every_recent_update_although_the_long_history_thins():
    run = build_run(get_preset("ill-conditioned-natural"))
    for _ in range(20_000):  # paced: a few updates per chunk
        run.advance(3)
    h = run.snapshot().history
    assert run.history.stride > 1  # the long-term buffer records every stride-th update by now
    assert np.all(np.diff(h.steps[-200:]) >= 1)
    t = h.tail
    assert t is not None and t.n == run.history.tail_capacity
    assert t.steps[-1] == run.step and np.all(np.diff(t.steps) == 1)  # every update
    w = h.last(1000, run.step)
    assert w.steps[0] >= run.step - 1000 and w.steps[-1] == run.step
    assert w.n == 1001  # the state before the last 1,000 updates and after each of them
    np.testing.assert_array_equal(w.kl[0], t.kl[0, -1001:])


def test_a_window_longer_than_the_tail_continues_with_the_long_history():
    h = History(1, 2, capacity=256, tail_capacity=32)
    start = 0
    for n in [1] * 400:
        _append(h, start, n)
        start += n
    v = h.view()
    w = v.last(100)
    assert w.steps[-1] == 400 and w.steps[0] >= 300
    assert np.all(np.diff(w.steps) > 0)
    assert set(range(369, 401)) <= set(w.steps.tolist())  # the tail's 32 points, every one
    np.testing.assert_array_equal(w.kl[0], w.steps)  # values travel with their steps


def test_views_do_not_change_while_the_history_grows_and_thins():
    h = History(2, 2, capacity=64, tail_capacity=16)
    kept = []
    start = 0
    for n in [1] * 70 + [9] * 30 + [300]:
        _append(h, start, n, K=2)
        start += n
        v = h.view()
        kept.append((v, v.steps.copy(), v.kl.copy(), v.tail.steps.copy()))
    for v, steps, kl, tail in kept:
        np.testing.assert_array_equal(v.steps, steps)
        np.testing.assert_array_equal(v.kl, kl)
        np.testing.assert_array_equal(v.tail.steps, tail)
        with pytest.raises(ValueError):
            v.kl[0, 0] = 1.0  # read-only


def test_a_drifting_target_records_the_path_of_its_truth():
    run = build_run(get_preset("drifting-target"))
    run.advance(2000)
    h = run.snapshot().history
    assert h.true_mean is not None and h.true_eig is not None
    assert h.true_mean.shape == (h.n, 2) and np.all(np.isfinite(h.true_mean))
    np.testing.assert_allclose(h.true_mean[-1], run.source.mean)
    assert np.ptp(h.true_mean[:, 0]) > 0.01  # it moved
    np.testing.assert_allclose(h.true_eig[-1], np.linalg.eigvalsh(run.source.cov), rtol=1e-9)
    assert h.tail.true_mean is not None and h.tail.true_mean[-1] == pytest.approx(run.source.mean)
    # a fixed truth records none
    fixed = build_run(get_preset("ill-conditioned-natural"))
    fixed.advance(100)
    assert fixed.snapshot().history.true_mean is None
