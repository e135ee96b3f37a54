"""Readable at any size: at 1024x640, 1280x720, 1600x1000 and 2560x1440 every plot, its title, its
axis labels and the legend lie fully inside the visible area, checked from the widgets' geometry
(a screenshot of each is written to the test's temporary folder)."""

from __future__ import annotations

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

from gaussviz.gui.plots import PARTS

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")

SIZES = [(1024, 640), (1280, 720), (1600, 1000), (2560, 1440)]


def _window_rect(w, widget: QtWidgets.QWidget, rect: QtCore.QRect | None = None) -> QtCore.QRect:
    """A widget's rectangle (or a rectangle in its coordinates) in the window's coordinates."""
    r = widget.rect() if rect is None else rect
    return QtCore.QRect(widget.mapTo(w, r.topLeft()), r.size())


def _scene_rect_in_window(w, item) -> QtCore.QRect:
    view = w.plots._glw
    poly = view.mapFromScene(item.mapRectToScene(item.boundingRect()))
    return _window_rect(w, view, poly.boundingRect())


def _text_rect_in_window(w, item) -> QtCore.QRect:
    """Where a text item's text is (its bounding rect less the document's empty margin)."""
    m = item.document().documentMargin()
    view = w.plots._glw
    poly = view.mapFromScene(item.mapRectToScene(item.boundingRect().adjusted(m, m, -m, -m)))
    return _window_rect(w, view, poly.boundingRect())


def _inside(inner: QtCore.QRect, outer: QtCore.QRect, slack: int = 1) -> bool:
    return outer.adjusted(-slack, -slack, slack, slack).contains(inner)


def _settle(qtbot, w, size) -> None:
    w.resize(*size)
    qtbot.wait(50)
    QtWidgets.QApplication.processEvents()
    w.redraw(complete=True)
    QtWidgets.QApplication.processEvents()
    qtbot.wait(20)


def _paused_after(qtbot, w, step: int) -> None:
    qtbot.waitUntil(lambda: w.shown_snapshot.step >= step, timeout=WAIT_MS)
    w.set_running(False)
    qtbot.waitUntil(lambda: not w.worker.running and not w.shown_snapshot.extra.get("running", True),
                    timeout=WAIT_MS)


def _dark_pixels(img, rect: QtCore.QRect) -> int:
    part = img.copy(rect)
    return sum(1 for x in range(part.width()) for y in range(part.height())
               if QtGui.QColor(part.pixel(x, y)).lightness() < 110)


def check_readable(w, size) -> list[str]:
    """Every problem found (an empty list: everything can be read)."""
    problems = []
    plots = w.plots
    img = w.grab().toImage()
    viewport = _window_rect(w, plots.scroll.viewport())
    visible = viewport & w.rect()
    for name in PARTS:
        plot = plots.plot_items[name]
        pr = _scene_rect_in_window(w, plot)
        if not _inside(pr, visible):
            problems.append(f"{size} {name}: plot {pr} outside the visible area {visible}")
        item = plot.titleLabel.item
        tr = _text_rect_in_window(w, item)
        if not plot.titleLabel.isVisible() or not item.toPlainText().strip():
            problems.append(f"{size} {name}: no title shown")
        if not _inside(tr, pr) or not _inside(tr, visible):
            problems.append(f"{size} {name}: title {item.toPlainText()!r} at {tr} cut off (plot {pr})")
        label_rect = _scene_rect_in_window(w, plot.titleLabel)
        if tr.width() > label_rect.width() + 2:
            problems.append(f"{size} {name}: title wider than its place ({tr.width()} > {label_rect.width()})")
        if "…" in item.toPlainText():
            problems.append(f"{size} {name}: title elided")
        if _dark_pixels(img, tr) < 20:  # laid out is not enough: it must be painted
            problems.append(f"{size} {name}: title {item.toPlainText()!r} not painted at {tr}")
        for side in ("left", "bottom", "right"):
            axis = plot.getAxis(side)
            if not axis.isVisible() or not axis.labelText:
                continue
            lr = _text_rect_in_window(w, axis.label)
            if not _inside(lr, pr, slack=1):
                problems.append(f"{size} {name}: {side} axis label {axis.labelText!r} at {lr} outside the plot {pr}")
            if _dark_pixels(img, lr) < 10:
                problems.append(f"{size} {name}: {side} axis label {axis.labelText!r} not painted")
    for sample, label in plots.legend.items:
        for it in (sample, label):
            r = _scene_rect_in_window(w, it)
            if not _inside(r, visible):
                problems.append(f"{size}: legend entry {label.text!r} at {r} outside {visible}")
        if _dark_pixels(img, _text_rect_in_window(w, label.item)) < 10:
            problems.append(f"{size}: legend entry {label.text!r} not painted")
    kr = _scene_rect_in_window(w, plots.key.item)
    if plots.key_text() and not _inside(kr, visible):
        problems.append(f"{size}: key at {kr} outside {visible}")
    if plots.key_text() and _dark_pixels(img, kr) < 20:
        problems.append(f"{size}: key not painted")
    return problems


def _stepped_to(qtbot, w, step: int) -> None:
    """Exactly ``step`` updates, then paused: the same state however busy the machine is (a run
    paused "after" a step stopped anywhere from there to millions of updates later)."""
    w.worker.send("step", step)
    qtbot.waitUntil(lambda: w.shown_snapshot.step >= step and not w.shown_snapshot.extra.get("running", True),
                    timeout=WAIT_MS)
    assert w.shown_snapshot.step == step


@pytest.mark.parametrize("preset, step", [
    ("what-am-i-missing", 500),
    # a second chain has diverged by then: the folded banner stays one line (elided) at 1024 wide
    ("what-am-i-missing", 200_000),
    ("seed-question", 300), ("drifting-target", 3500)])
def test_every_plot_title_axis_and_legend_fits_at_every_size(qtbot, make_window, tmp_path, preset, step):
    w = make_window(preset, show=True)
    _stepped_to(qtbot, w, step)
    if preset == "what-am-i-missing":
        assert w.banner_text()  # the divergence banner takes its room too
    problems = []
    for size in SIZES:
        _settle(qtbot, w, size)
        assert (w.width(), w.height()) == size
        w.grab().save(str(tmp_path / f"{preset}_{size[0]}x{size[1]}.png"))
        problems += check_readable(w, size)
        # no scrolling needed at these sizes: every plot is on screen at once
        assert not w.plots.scroll.verticalScrollBar().isVisible(), (size, "the plots scroll")
    assert not problems, "\n".join(problems)


def test_the_grid_reflows_to_fewer_columns_when_narrow_and_panels_fold(qtbot, make_window):
    w = make_window("ill-conditioned-natural", show=True)
    _settle(qtbot, w, (1600, 1000))
    assert w.controls_visible() and w.lesson_visible() and w.plots.columns() == 3
    _settle(qtbot, w, (1024, 640))
    # small: the control panel and the lesson's paragraph fold away by themselves ...
    assert not w.controls_visible() and not w.lesson_visible()
    assert w.lesson_title.isVisible() and "ill-conditioned-natural" in w.lesson_title.text()
    # ... and can be opened; the plots then take fewer columns or scroll, but nothing is cut off
    w.controls_button.click()
    w.lesson_button.click()
    _settle(qtbot, w, (1024, 640))
    assert w.controls_visible() and w.lesson_visible()
    assert w.plots.columns() < 3
    viewport = _window_rect(w, w.plots.scroll.viewport())
    for name in PARTS:
        plot = w.plots.plot_items[name]
        pr = _scene_rect_in_window(w, plot)
        assert viewport.left() - 1 <= pr.left() and pr.right() <= viewport.right() + 1, name  # never cut sideways
        tr = _text_rect_in_window(w, plot.titleLabel.item)
        assert _inside(tr, pr), name
    # a choice by hand stays when the window grows and shrinks again
    _settle(qtbot, w, (1600, 1000))
    _settle(qtbot, w, (1024, 640))
    assert w.controls_visible()
    w.set_controls_visible(False, by_user=True)
    _settle(qtbot, w, (1600, 1000))
    assert not w.controls_visible() and w.plots.columns() == 3


@pytest.mark.parametrize("size", SIZES)
def test_the_status_bar_never_squeezes_its_fields(qtbot, make_window, size):
    """Every field and button of the status bar (the history bar among them) gets its full
    width: a narrow window drops the frame rate, then the update rate, then α_t, instead of cutting
    "Continue from here" to "C…e" and overlapping the history label (1024 wide, before)."""
    w = make_window("what-am-i-missing", show=True)
    _settle(qtbot, w, size)
    for b in (w.branch_button, w.now_button, w.scrub_label, w.status_state, w.status_updates):
        assert b.isVisible() and b.width() >= b.minimumSizeHint().width(), (size, b.text())
    shown = [f for f in w.status_optional if f.isVisible()]
    for f in shown:
        assert f.width() >= f.minimumSizeHint().width(), size
    history = _window_rect(w, w.scrubber.parentWidget())
    assert _inside(history, w.rect())
    if size[0] >= 1600:
        assert shown == list(w.status_optional)  # wide: nothing dropped
    if size[0] <= 1024:
        assert w.status_fps not in shown and w.status_alpha in shown  # the frame rate goes first
    # the red recording indicator takes room of its own: the fields still keep their widths
    w._show_recording(7.0)
    qtbot.wait(30)
    assert w.status_rec.isVisible() and w.status_rec.width() >= w.status_rec.minimumSizeHint().width()
    for b in (w.branch_button, w.now_button, w.scrub_label, w.status_state, w.status_updates,
              *(f for f in w.status_optional if f.isVisible())):
        assert b.width() >= b.minimumSizeHint().width(), (size, b.text())


def test_the_divergence_banner_folds_to_one_line(qtbot, make_window):
    w = make_window("heavy-tails", running=True, show=True, speed=0.0)
    qtbot.waitUntil(lambda: sum(c.divergence is not None for c in w.shown_snapshot.chains) >= 2,
                    timeout=60_000)
    full = w.banner_text()
    assert full.count("\n") >= 1  # two messages
    assert "(+1 more)" in w.banner.text() and w.banner.text().count("\n") == 0
    assert w.banner.toolTip() == full  # folded: the whole text on hover
    # narrow, the folded line is elided to the banner's width, never wrapped
    _settle(qtbot, w, (1024, 640))
    fm = w.banner.fontMetrics()
    assert w.banner.text().endswith("(+1 more)")
    assert fm.horizontalAdvance(w.banner.text()) <= w.banner.contentsRect().width()
    assert w.banner.height() <= 2 * fm.height() + 12  # one line and the padding
    w.banner_button.click()
    assert w.banner.text() == full and w.banner.toolTip() == ""
    assert w.banner_text() == full  # folded or not, the whole text is there


def test_text_that_changes_while_the_window_keeps_its_size_is_painted(qtbot, make_window):
    """The key and the titles change as a run goes on (a divergence adds to the key and wraps it):
    what they say then must be painted, not a blank left by a stale cached picture."""
    w = make_window("what-am-i-missing", show=True, speed=0.0)
    _settle(qtbot, w, (1280, 720))
    key_before = w.plots.key_text()
    assert "divergence" not in key_before
    w.set_running(True)
    _paused_after(qtbot, w, 150)
    assert any(c.divergence is not None for c in w.shown_snapshot.chains)
    qtbot.wait(50)
    assert "divergence" in w.plots.key_text() and w.plots.key_text() != key_before
    assert (w.width(), w.height()) == (1280, 720)
    assert not check_readable(w, (1280, 720)), "\n".join(check_readable(w, (1280, 720)))


def test_showing_the_window_lays_the_grid_out_once_to_its_final_size(qtbot, make_window, monkeypatch):
    """Start-up (issue 13): showing the window resizes the plots two or three times as its panels
    settle; the grid (15-90 ms a fit) is laid out once, to the size the plots end with, and the
    first frame is readable without any later resize."""
    w = make_window("ill-conditioned-natural")  # built, not shown
    fits = []
    real = type(w.plots)._fit_layout
    monkeypatch.setattr(type(w.plots), "_fit_layout", lambda self: (fits.append(self.size()), real(self))[1])
    w.show()
    qtbot.waitExposed(w)
    viewport = w.plots.scroll.viewport()
    # the scroll area drops its scroll bar once it sees the grid fit (a posted event, as before)
    qtbot.waitUntil(lambda: viewport.width() == w.plots._glw.width(), timeout=2000)
    assert not w.plots.scroll.verticalScrollBar().isVisible()
    assert len(fits) == 1 and fits[0] == w.plots.size() == w.plots._glw.size()
    w.redraw(complete=True)
    assert check_readable(w, (w.width(), w.height())) == []
