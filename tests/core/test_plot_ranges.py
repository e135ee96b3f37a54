"""The cloud's view keeps still while fresh samples of the same distribution arrive: each move
re-lays out both axes (2-5 ms of the GUI thread, the window's slowest frames)."""

from __future__ import annotations

import numpy as np

from gaussviz.core.plotdata import ViewBox, quantile_box


def test_the_cloud_view_does_not_follow_sampling_noise():
    moves = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        view = ViewBox()
        for _ in range(300):  # 300 frames of 5,000 fresh samples
            x = rng.standard_normal((5000, 2)) * [1.0, 3.0]
            moves += view.update(quantile_box(x[:, 0], x[:, 1]))
    assert moves == 10  # each view is set once, at its first frame (a 4 % pad: 51 moves)


def test_the_cloud_view_follows_a_real_change():
    rng = np.random.default_rng(0)
    view = ViewBox()
    x = rng.standard_normal((5000, 2))
    view.update(quantile_box(x[:, 0], x[:, 1]))
    assert view.update(quantile_box(3 * x[:, 0], x[:, 1]))  # three times wider: it moves
    box = view.box
    assert box[0] < -3 * 2.5 and box[1] > 3 * 2.5
    assert view.update(quantile_box(x[:, 0] / 3, x[:, 1]))  # much narrower: it shrinks
    assert view.box[1] - view.box[0] < 0.5 * (box[1] - box[0])


def test_quantile_range_is_the_nearest_rank_below_and_above():
    """quantile_range (the 1-D cloud's x range) picks the order statistics np.percentile's 'lower'
    and 'higher' methods pick, without np.percentile (its first call imports numpy.ma: ~50 ms at
    the first update of a run whose cloud is a histogram)."""
    from gaussviz.core.plotdata import quantile_range

    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 200, 5001):
        a = rng.standard_normal(n)
        for q in (0.0, 0.005, 0.1):
            lo, hi = quantile_range(a, q)
            assert lo == np.percentile(a, 100 * q, method="lower")
            assert hi == np.percentile(a, 100 * (1 - q), method="higher")
            assert lo <= hi
    assert quantile_range(np.array([])) is None
    a = rng.standard_normal(1000)
    assert quantile_range(a) == quantile_range(a.reshape(10, 100))  # flattened
