"""``gaussviz render``: the final snapshot of a headless run drawn by the window's own ``LivePlots``.

The plots are laid out at a fixed logical size (about the window's plot area at
its default size), then exported by the same code as the window's Export all
(``gui.image_export``), so a rendered PNG looks like the window's export of the same
run, with the step axis the settings choose (``Settings.view``, a preset's own). Videos
(``gui/video.py``) draw on the same offscreen plots. Without a display it draws offscreen
(``qtapp.application(headless=True)``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ..core.settings import Settings
from ..core.snapshot import Snapshot

if TYPE_CHECKING:
    from .plots import LivePlots

#: logical size of the plot grid (the window's plot area at its default 1600 x 1000 is about this)
RENDER_SIZE = (1200, 860)


@contextlib.contextmanager
def offscreen_plots(settings: Settings) -> Iterator[LivePlots]:
    """The window's ``LivePlots``, laid out offscreen at ``RENDER_SIZE`` with the settings' step
    axis (``Settings.view``), closed afterwards: the stills' and the videos' drawing surface."""
    from PySide6 import QtCore

    from .plots import LivePlots
    from .qtapp import application

    app = application(headless=True)
    plots = LivePlots()
    plots.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    plots.resize(*RENDER_SIZE)
    plots.set_step_axis(settings.view.step_axis, settings.view.step_window)
    plots.set_pspace_scale(settings.view.pspace_sigma)
    plots.show()  # lays out the plot grid
    app.processEvents()
    try:
        yield plots
    finally:
        plots.close()
        plots.deleteLater()
        app.processEvents()


def render_files(snap: Snapshot, settings: Settings, formats: Sequence[str] = ("png", "svg"),
                 width: int = 1600, plots_shown: Sequence[str] | None = None) -> list:
    """Every plot of ``snap`` (or those named in ``plots_shown``) as PNG/SVG, the history CSV and
    the session JSON, as ``ExportFile``s."""
    from .image_export import build_files
    from .qtapp import application

    with offscreen_plots(settings) as plots:
        plots.show_snapshot(snap)
        application(headless=True).processEvents()
        # drawn once more now that the layout settled (the field's arrows are sized in pixels)
        plots._draw(snap, ("pspace",), redraw=True)
        application(headless=True).processEvents()
        return build_files(plots, snap, settings, formats, width, names=plots_shown)


__all__ = ["RENDER_SIZE", "offscreen_plots", "render_files"]
