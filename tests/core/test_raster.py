"""The live plots' pixels (core/raster.py): lines, widths, dashes, markers, the cloud, clipping."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.core import raster as R

RED = R.argb(255, 0, 0)
BLUE = R.argb(0, 0, 255)


def buf(h: int = 40, w: int = 60) -> np.ndarray:
    return np.zeros((h, w), dtype=np.uint32)


def test_argb_is_premultiplied_and_hex_reads_colours():
    assert R.argb(255, 0, 0) == 0xFFFF0000
    assert R.hex_argb("#0072B2") == 0xFF0072B2
    assert R.argb(255, 255, 255, 0) == 0  # transparent white is all zero


def test_a_horizontal_line_is_width_rows_thick_across_its_columns():
    b = buf()
    R.draw_curve(b, np.array([5.0, 50.0]), np.array([10.5, 10.5]), RED, width=2)
    rows, cols = np.nonzero(b)
    assert set(rows) == {10, 11}
    assert cols.min() == 5 and cols.max() == 51  # 2 px wide: one column more at the end
    b1 = buf()
    R.draw_curve(b1, np.array([5.0, 50.0]), np.array([10.5, 10.5]), RED, width=1)
    assert set(np.nonzero(b1)[0]) == {10}


def test_a_steep_segment_covers_every_row_it_passes_through():
    b = buf()
    R.draw_curve(b, np.array([10.0, 11.0]), np.array([2.0, 30.0]), BLUE, width=1)
    rows = np.nonzero(b)[0]
    assert rows.min() == 2 and rows.max() == 30
    assert set(range(2, 31)) <= set(rows)  # no gaps


def test_column_runs_hold_the_extremes_between_points():
    # a zig-zag inside one column: its run spans both extremes
    c0, top, bot = R.curve_columns(np.array([3.1, 3.5, 3.9]), np.array([5.0, 20.0, 8.0]), 10)
    assert c0 == 3 and top.tolist() == [5.0] and bot.tolist() == [20.0]


def test_dashes_leave_gaps_at_fixed_screen_columns():
    b = buf(h=10, w=40)
    R.draw_curve(b, np.array([0.0, 39.9]), np.array([5.0, 5.0]), RED, width=1, dash=(4, 4))
    drawn = np.flatnonzero(b[5])
    assert set(drawn) == {c for c in range(40) if c % 8 < 4}


def test_markers_along_a_curve_are_every_so_many_pixels():
    b = buf(h=20, w=100)
    mx, my = R.draw_curve(b, np.array([0.0, 99.0]), np.array([10.0, 10.0]), RED, width=2, markers_every=20)
    assert len(mx) == 5 and np.allclose(np.diff(mx), 20) and np.all(my == 10.0)


def test_nothing_outside_the_buffer_and_no_nan_or_inf_trouble():
    b = buf()
    R.draw_curve(b, np.array([-1e9, 1e9]), np.array([20.0, 20.0]), RED, width=2)
    assert b[20].all()  # clipped to the buffer, drawn across
    b2 = buf()
    R.draw_curve(b2, np.array([0.0, 1.0, 2.0, 3.0]), np.array([np.nan, 5.0, np.inf, 6.0]), RED)
    R.draw_path(b2, np.array([np.nan, 1e300]), np.array([0.0, 1.0]), RED)
    R.stamp(b2, np.array([np.nan, 1e30]), np.array([3.0, 3.0]), R.sprite("o", 9, 1), RED, BLUE)
    R.cloud(b2, np.array([np.nan, -5.0, 1e12]), np.array([1.0, 1.0, 1.0]), 3, np.array([7], np.uint32))
    assert np.count_nonzero(b2) > 0  # the finite points still drew
    R.draw_curve(buf(), np.zeros(0), np.zeros(0), RED)  # empty: fine


def test_log_axes_map_log10_and_drop_non_positive_points():
    b = buf(h=30, w=60)
    # x in [1, 1000] mapped to [0, 60): 20 px per decade
    m = (20.0, 0.0, 1.0, 0.0, True, False)
    R.draw_curve(b, np.array([-5.0, 0.0, 1.0, 100.0]), np.array([3.0, 3.0, 10.0, 10.0]), RED, width=1, affine=m)
    cols = np.flatnonzero(b[10])
    assert cols.min() == 0 and cols.max() == 40
    assert not b[3].any()  # the points at x <= 0 are not drawn on a log axis


def test_a_path_closes_and_keeps_its_width():
    b = buf(h=50, w=50)
    t = np.linspace(0, 2 * np.pi, 61)[:-1]
    R.draw_path(b, 25 + 15 * np.cos(t), 25 + 15 * np.sin(t), RED, width=2, closed=True)
    r = np.hypot(*(np.array(np.nonzero(b)) - 24.5))
    assert 13 < r.min() and r.max() < 17.5
    assert b[25, 39:41].any() and b[25, 9:11].any()  # both sides drawn


@pytest.mark.parametrize("symbol", ["o", "s", "d", "t", "^", "x", "+", "_"])
def test_sprites_are_centred_and_sized(symbol):
    spr = R.sprite(symbol, 11, 1.5)
    dy = np.concatenate([spr.fill_dy, spr.edge_dy])
    dx = np.concatenate([spr.fill_dx, spr.edge_dx])
    assert dy.size > 3
    assert abs(dx.mean()) < 1.0 and (abs(dy.mean()) < 2.0)
    assert np.abs(dx).max() <= 7 and np.abs(dy).max() <= 7
    with pytest.raises(ValueError, match="unknown marker"):
        R.sprite("?", 5)


def test_the_cloud_shades_cells_by_how_many_samples_fell_in_them():
    b = buf(h=12, w=12)
    shades = np.array([11, 22, 33], dtype=np.uint32)
    x = np.array([1.0, 1.5, 2.0, 7.0, 7.2, 7.4, 7.6, 10.0])
    y = np.array([1.0, 1.0, 1.0, 7.0, 7.0, 7.0, 7.0, 10.0])
    R.cloud(b, x, y, 3, shades)
    assert b[0, 0] == 33  # three samples in cell (0, 0)
    assert b[6, 6] == 33  # four: the darkest shade
    assert b[9, 9] == 11  # one
    assert b[3, 3] == 0
    assert set(np.unique(b[0:3, 0:3])) == {33}  # the cell is a 3 x 3 block


def test_vertical_lines_and_grid_and_histogram():
    b = buf(h=20, w=30)
    R.vlines(b, [10.0], RED, width=2, dash=(3, 2))
    assert set(np.nonzero(b)[1]) == {10, 11}
    assert set(np.nonzero(b[:, 10])[0]) == {r for r in range(20) if r % 5 < 3}
    g = buf(h=20, w=30)
    R.grid(g, [5.0, 25.0], [7.0], BLUE)
    assert g[:, 5].all() and g[:, 25].all() and g[7].all() and not g[3, 3]
    h = buf(h=20, w=30)
    R.steps(h, np.array([0.0, 10.0, 20.0]), np.array([5.0, 12.0]), 7, 9, affine=(1.0, 0.0, 1.0, 0.0))
    # (y grows downwards here: the bars go from row 0 to their height, the line along that end)
    assert h[5, 3] == 9 and h[3, 3] == 7 and h[6, 3] == 0
    assert h[12, 15] == 9 and h[1, 15] == 7 and h[13, 15] == 0
    f = buf(h=5, w=6)
    R.frame(f, 3)
    assert f[0].all() and f[-1].all() and f[:, 0].all() and f[:, -1].all() and not f[2, 2]


def test_image_is_stretched_over_its_data_rectangle_bottom_row_first():
    from gaussviz.core import raster as rs

    buf = np.full((20, 40), 0xFFFFFFFF, dtype=np.uint32)
    red, blue = rs.argb(255, 0, 0), rs.argb(0, 0, 255)
    img = np.array([[red, red], [blue, 0]], dtype=np.uint32)  # row 0 = bottom; alpha 0 = see-through
    # data x in [0, 4] -> columns 0..40, data y in [0, 2] -> rows 20..0 (y grows upwards)
    rs.image(buf, img, (0.0, 4.0), (0.0, 2.0), (10.0, 0.0, -10.0, 20.0, False, False))
    assert buf[15, 5] == red and buf[15, 35] == red      # bottom half: row 0
    assert buf[5, 5] == blue and buf[5, 35] == 0xFFFFFFFF  # top half: row 1, its see-through pixel
    half = rs.argb(0, 0, 255, 128)
    buf2 = np.full((4, 4), 0xFFFFFFFF, dtype=np.uint32)
    rs.image(buf2, np.array([[half]], dtype=np.uint32), (0.0, 4.0), (0.0, 4.0), (1.0, 0.0, -1.0, 4.0, False, False))
    r, b = (int(buf2[0, 0]) >> 16) & 255, int(buf2[0, 0]) & 255
    assert b == 255 and 120 < r < 135  # blended half over white


def test_segments_are_drawn_apart():
    from gaussviz.core import raster as rs

    buf = np.zeros((30, 30), dtype=np.uint32)
    rs.draw_segments(buf, np.array([2.0, 10.0, 20.0, 28.0]), np.array([5.0, 5.0, 25.0, 25.0]), 7, 1)
    assert buf[5, 2:10].all() and buf[25, 20:28].all()
    assert not buf[15, :].any()  # nothing joins the two lines
