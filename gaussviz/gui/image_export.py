"""Images of the live plots and the file sets of an export: plot PNG/SVG, window PNG, history CSV, session.

The window and the headless renderer share this code, so both write the same
images of the same ``LivePlots`` widget. Every file is built in memory first
(QBuffer) and then written with ``core.fileio.atomic_write_bytes``: no half
files, and nothing is overwritten unless the caller says so.

PNG scaling: a plot is rendered from its on-screen layout scaled to the chosen
width, so text keeps its proportions and stays crisp (it is drawn at the
target resolution, not blown up). pyqtgraph's cosmetic pens (and our grid)
would stay 1-2 device pixels wide at any scale and look hairline at 1600 px;
``_ScaledPenPainter`` and ``_scaled_axis_pens`` widen them by the same factor.

Every PNG carries the session (settings + updates run) in its text metadata
under ``gaussviz-session``; every SVG in a ``<metadata>`` element.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..core.fileio import ensure_folder, safe_name, write_file_set
from ..core.session import SESSION_KEY, shown_session_text
from ..core.settings import Settings

if TYPE_CHECKING:
    from ..core.snapshot import Snapshot
    from .plots import LivePlots

#: the live plots, by their key in ``LivePlots.plot_items``
PLOT_NAMES: tuple[str, ...] = ("cloud", "mean", "covariance", "spectrum", "kl", "pspace")
#: "plots": all of them with the legend, as one picture
ALL_PLOTS = "plots"
DEFAULT_WIDTH = 1600
MIN_WIDTH, MAX_WIDTH = 200, 20_000
FORMATS = ("png", "svg")


def check_width(width: object) -> int:
    """A PNG width in pixels, or a ValueError saying what is allowed."""
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ValueError(f"PNG width must be a whole number of pixels from {MIN_WIDTH} to {MAX_WIDTH}; got {width!r}")
    return width


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ValueError(f"formats must be a comma-separated subset of {','.join(FORMATS)}; "
                         f"got {','.join(formats) or 'nothing'}")
    return out


# ----------------------------------------------------------------- rendering
class _ScaledPenPainter(QtGui.QPainter):
    """A painter that widens cosmetic pens by ``scale`` (pyqtgraph's Python items set pens through it)."""

    def __init__(self, device: QtGui.QPaintDevice, scale: float) -> None:
        super().__init__(device)
        self._scale = float(scale)

    def setPen(self, pen) -> None:
        if isinstance(pen, QtGui.QPen) and pen.isCosmetic() and pen.style() != QtCore.Qt.PenStyle.NoPen:
            pen = QtGui.QPen(pen)
            pen.setWidthF(max(pen.widthF(), 1.0) * self._scale)
        super().setPen(pen)


@contextlib.contextmanager
def _scaled_axis_pens(items: Sequence[QtWidgets.QGraphicsItem], scale: float) -> Iterator[None]:
    """Axes draw from a cached QPicture (pens set in C++): widen their pens for the export only."""
    # AxisItem.setPen would also recolour the axis label: swap the private pen instead.
    saved = []
    for item in items:
        for axis in _axes_of(item):
            pen = axis._pen
            saved.append((axis, pen))
            wide = QtGui.QPen(axis.pen())
            wide.setWidthF(max(wide.widthF(), 1.0) * scale)
            axis._pen = wide
            axis.picture = None
    try:
        yield
    finally:
        for axis, pen in saved:
            axis._pen = pen
            axis.picture = None
            axis.update()


def _axes_of(item: QtWidgets.QGraphicsItem) -> list[pg.AxisItem]:
    if isinstance(item, pg.PlotItem):
        return [item.getAxis(n) for n in ("left", "bottom", "right", "top") if item.getAxis(n).isVisible()]
    if isinstance(item, pg.GraphicsLayout):
        out = []
        for child in item.items:
            out += _axes_of(child)
        return out
    return []


def scene_rect(item: QtWidgets.QGraphicsItem) -> QtCore.QRectF:
    """Where ``item`` is in its scene (ValueError if it is in none or not laid out yet)."""
    if item.scene() is None:
        raise ValueError("the plot is not in a scene (was its window closed?)")
    src = item.mapRectToScene(item.boundingRect())
    if not (src.width() > 0 and src.height() > 0):
        raise ValueError("the plot has no size yet (the window is not laid out)")
    return src


def render_raster(scene: QtWidgets.QGraphicsScene, src: QtCore.QRectF, width: int,
                  height: int | None = None) -> QtGui.QImage:
    """A part of the scene drawn as the window draws it (the canvases' raster images, at the target
    resolution: crisp at any width) ``width`` pixels wide: video frames, many a second.

    Cosmetic pens are widened by the scale like ``render_item``'s; the axes' pens are left to the
    caller (``scaled_axis_pens`` held for the whole video, so the axes keep their cached pictures).
    """
    scale = width / src.width()
    height = max(1, round(src.height() * scale)) if height is None else height
    img = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("white"))
    painter = _ScaledPenPainter(img, scale)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
        scene.render(painter, QtCore.QRectF(0, 0, width, height), src,
                     QtCore.Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    return img


#: the axes' pens widened by a scale while a block runs (``render_raster`` frames)
scaled_axis_pens = _scaled_axis_pens


def _exporters():
    """pyqtgraph's exporters, imported at the first export: with the parameter trees they bring,
    ~45 ms that a start-up need not spend (issue 13)."""
    import pyqtgraph.exporters

    return pyqtgraph.exporters


def render_item(item: QtWidgets.QGraphicsItem, width: int = DEFAULT_WIDTH, background: str = "white") -> QtGui.QImage:
    """The item as laid out on screen, drawn at ``width`` pixels (height keeps the aspect) on ``background``."""
    width = check_width(width)
    scene = item.scene()
    src = scene_rect(item)
    scale = width / src.width()
    height = max(1, round(src.height() * scale))
    img = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor(background))
    painter = _ScaledPenPainter(img, scale)
    exporter = _exporters().Exporter(item)
    try:
        with _scaled_axis_pens([item], scale):
            exporter.setExportMode(True, {"antialias": True, "background": QtGui.QColor(background),
                                          "painter": painter, "resolutionScale": scale})
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QtGui.QPainter.RenderHint.TextAntialiasing, True)
            scene.render(painter, QtCore.QRectF(0, 0, width, height), src)
    finally:
        exporter.setExportMode(False)
        painter.end()
    # ~96 dpi at the on-screen size, so viewers that honour dpi show it at a sensible size. Set only
    # now: a QPicture (the axes) played onto a high-dpi image would scale its fonts up again.
    dpm = round(96 / 0.0254 * scale)
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    return img


def encode_png(img: QtGui.QImage, session: str | None = None, title: str = "") -> bytes:
    """PNG bytes; the session JSON goes into the text metadata."""
    img = QtGui.QImage(img)  # setText on a copy: the caller's image stays as it was
    img.setText("Software", f"gaussviz {__version__}")
    if title:
        img.setText("Title", title)
    if session is not None:
        img.setText(SESSION_KEY, session)
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    ok = img.save(buf, "PNG")
    data = bytes(buf.data())
    buf.close()
    if not ok or not data:
        raise OSError(f"could not encode {title or 'the image'} as PNG")
    return data


def svg_bytes(item: QtWidgets.QGraphicsItem, session: str | None = None, title: str = "",
              background: str = "white") -> bytes:
    """The item as SVG (pyqtgraph's exporter) on ``background``, with the session in a ``<metadata>`` element."""
    if item.scene() is None:
        raise ValueError("the plot is not in a scene (was its window closed?)")
    exporter = _exporters().SVGExporter(item)
    exporter.params["background"] = QtGui.QColor(background)
    data = exporter.export(toBytes=True)
    text = data.decode("utf-8") if isinstance(data, bytes) else bytes(data).decode("utf-8")
    extra = ""
    if title:
        text = text.replace("<title>pyqtgraph SVG export</title>", f"<title>{_xml(title)}</title>", 1)
    if session is not None:
        extra = f'<metadata id="{SESSION_KEY}">{_xml(session)}</metadata>\n'
    if extra:
        end = text.find(">", text.find("<svg")) + 1
        text = text[:end] + "\n" + extra + text[end:]
    return text.encode("utf-8")


def _xml(s: str) -> str:
    import xml.sax.saxutils  # here: it imports urllib.request (http, email, ssl), ~40 ms of a window's start

    return xml.sax.saxutils.escape(s)


def plot_item(plots: LivePlots, name: str) -> QtWidgets.QGraphicsItem:
    """One plot's item, or the whole plot grid with the legend for ``ALL_PLOTS``."""
    if name == ALL_PLOTS:
        return plots._glw.ci
    if name not in plots.plot_items:
        raise ValueError(f"no plot named {name!r}; plots: {', '.join([*PLOT_NAMES, ALL_PLOTS])}")
    return plots.plot_items[name]


def plot_png(plots: LivePlots, name: str, width: int = DEFAULT_WIDTH, session: str | None = None) -> bytes:
    # the plots' background: white unless the window's dark colours were asked for (export_menu)
    return encode_png(render_item(plot_item(plots, name), width, plots.theme.background), session,
                      f"gaussviz {name}")


def plot_svg(plots: LivePlots, name: str, session: str | None = None) -> bytes:
    return svg_bytes(plot_item(plots, name), session, f"gaussviz {name}", plots.theme.background)


def widget_png(widget: QtWidgets.QWidget, session: str | None = None, title: str = "gaussviz window") -> bytes:
    """A whole widget (the window) as PNG, at its on-screen size."""
    return encode_png(widget.grab().toImage(), session, title)


# ------------------------------------------------------------ file sets
@dataclass(frozen=True)
class ExportFile:
    """One file to write: its name, its bytes, and what it is (for messages)."""

    name: str
    data: bytes
    what: str


def check_plots(names: Sequence[str] | None) -> tuple[str, ...]:
    """A selection of plots to write (None: all of them and ``plots``), or a ValueError listing them."""
    if names is None:
        return (*PLOT_NAMES, ALL_PLOTS)
    out = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    allowed = (*PLOT_NAMES, ALL_PLOTS)
    bad = [n for n in out if n not in allowed]
    if bad or not out:
        raise ValueError(f"plots must be a comma-separated subset of {','.join(allowed)}; "
                         f"got {','.join(names) or 'nothing'}")
    return tuple(n for n in allowed if n in out)


def file_names(formats: Sequence[str] = FORMATS, prefix: str = "", window: bool = False,
               plots: Sequence[str] | None = None) -> list[str]:
    """The names ``build_files`` uses, in its order (to check for existing files before a long run)."""
    formats = check_formats(formats)
    names = [f"{prefix}{n}.{f}" for n in check_plots(plots) for f in FORMATS if f in formats]
    if window:
        names.append(f"{prefix}window.png")
    return [*names, f"{prefix}history.csv", f"{prefix}session.json"]


def build_files(plots: LivePlots, snap: Snapshot, settings: Settings, formats: Sequence[str] = FORMATS,
                width: int = DEFAULT_WIDTH, window: QtWidgets.QWidget | None = None,
                prefix: str = "", names: Sequence[str] | None = None) -> list[ExportFile]:
    """Every export of one snapshot, in memory: each plot of ``names`` (default: each plot and all
    of them) as PNG/SVG, the window PNG (if given), the history CSV and the session JSON."""
    from ..core.history_csv import history_csv  # at the first export: not a start-up cost

    formats = check_formats(formats)
    width = check_width(width)
    session = shown_session_text(settings, snap)
    files: list[ExportFile] = []
    for name in check_plots(names):
        if "png" in formats:
            files.append(ExportFile(f"{prefix}{name}.png", plot_png(plots, name, width, session),
                                    f"{_what(name)}, PNG {width} px wide"))
        if "svg" in formats:
            files.append(ExportFile(f"{prefix}{name}.svg", plot_svg(plots, name, session), f"{_what(name)}, SVG"))
    if window is not None:
        files.append(ExportFile(f"{prefix}window.png", widget_png(window, session), "the whole window"))
    files.append(ExportFile(f"{prefix}history.csv", history_csv(snap).encode("utf-8"),
                            f"history, {snap.history.steps.shape[0]:,} rows per chain"))
    files.append(ExportFile(f"{prefix}session.json", session.encode("utf-8"),
                            f"session, {snap.step:,} updates"))
    return files


def _what(name: str) -> str:
    return "all plots with the legend" if name == ALL_PLOTS else f"{name} plot"


def existing(folder: str | os.PathLike, names: Sequence[str]) -> list[Path]:
    """The files among ``names`` that already exist in ``folder``."""
    return [Path(folder) / n for n in names if (Path(folder) / n).exists()]


def write_files(folder: str | os.PathLike, files: Sequence[ExportFile], force: bool = False) -> list[Path]:
    """Write every file into ``folder`` (created if needed), all of them or none.

    Without ``force`` nothing is written if any file exists (``OverwriteError``
    for the first one). Every name must be a plain file name (never a path
    elsewhere); a failure or an interrupt part way leaves the folder as it was
    (``core.fileio.write_file_set``).
    """
    out = ensure_folder(folder)
    return write_file_set(out, [(f.name, f.data) for f in files], force=force)


def file_prefix(settings: Settings, snap: Snapshot | None) -> str:
    """Names for the window's export-all: ``<preset or custom>_<updates>_`` so exports don't collide.
    The preset name may come from a stranger's session: only a safe base name of it is used."""
    return f"{safe_name(settings.preset)}_{int(snap.step) if snap is not None else 0}_"


__all__ = [
    "ALL_PLOTS",
    "DEFAULT_WIDTH",
    "FORMATS",
    "PLOT_NAMES",
    "ExportFile",
    "build_files",
    "check_formats",
    "check_plots",
    "check_width",
    "encode_png",
    "existing",
    "file_names",
    "file_prefix",
    "plot_png",
    "plot_svg",
    "render_item",
    "render_raster",
    "scaled_axis_pens",
    "scene_rect",
    "widget_png",
    "write_files",
]
