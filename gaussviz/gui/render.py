"""``gaussviz render``: the final snapshot of a headless run drawn by the window's own ``LivePlots``.

The plots are laid out at a fixed logical size (about the window's plot area at
its default size), then exported by the same code as the window's Export all
(``gui.image_export``), so a rendered PNG looks like the window's export of the same
run. Without a display it draws offscreen (``qtapp.application(headless=True)``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.settings import Settings
from ..core.snapshot import Snapshot

#: logical size of the plot grid (the window's plot area at its default 1600 x 1000 is about this)
RENDER_SIZE = (1200, 860)


def render_files(snap: Snapshot, settings: Settings, formats: Sequence[str] = ("png", "svg"),
                 width: int = 1600, plots_shown: Sequence[str] | None = None) -> list:
    """Every plot of ``snap`` (or those named in ``plots_shown``) as PNG/SVG, the history CSV and
    the session JSON, as ``ExportFile``s."""
    from PySide6 import QtCore

    from .image_export import build_files
    from .plots import LivePlots
    from .qtapp import application

    app = application(headless=True)
    plots = LivePlots()
    plots.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    plots.resize(*RENDER_SIZE)
    plots.show()  # lays out the plot grid
    app.processEvents()
    try:
        plots.set_pspace_scale(settings.view.pspace_sigma)
        plots.show_snapshot(snap)
        app.processEvents()
        # drawn once more now that the layout settled (the field's arrows are sized in pixels)
        plots._draw(snap, ("pspace",), redraw=True)
        app.processEvents()
        return build_files(plots, snap, settings, formats, width, names=plots_shown)
    finally:
        plots.close()
        plots.deleteLater()
        app.processEvents()


__all__ = ["RENDER_SIZE", "render_files"]
