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
