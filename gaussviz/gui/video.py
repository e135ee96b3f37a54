"""Videos of the window's plots: ``gaussviz render --video`` (headless, paced like the window) and
the window's File > Record (the plots area while the user works).

Headless (``render_video``): the one run loop (``core.settings.build_run``) advanced frame by frame
to the steps of ``core.video.plan_frames`` (the window's pace), each new snapshot drawn by the
window's own ``LivePlots`` (``render.offscreen_plots``, the stills' surface) and rendered as the
window draws it (``image_export.render_raster``: the canvases' raster images at the video's
resolution), then encoded by ``core.video.VideoWriter`` (ffmpeg in its own process, into a
temporary file that takes its name at the end). Frames where the run did not move reuse the
last picture. The same session gives the same frames.

Window (``Recorder``): after each frame the pacer completes (and at most once per video frame
time), the plots area is grabbed on the GUI thread and offered to a ``BackgroundEncoder`` (a
thread behind a bounded queue): a full queue drops the frame (counted, reported at the end), the
GUI never waits for the encoder. Frame times with nothing new hold the previous frame, so the
video runs in real time.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..core.settings import Settings, build_run
from ..core.snapshot import Snapshot
from ..core.video import (
    DEFAULT_FPS,
    DEFAULT_WIDTH,
    BackgroundEncoder,
    FramePlan,
    RecordingResult,
    VideoWriter,
    check_fps,
    even,
    paced_snapshots,
    video_format,
)
from .image_export import PLOT_NAMES, plot_item, render_raster, scaled_axis_pens, scene_rect
from .plots import LivePlots

#: how often the recording indicator's elapsed time is refreshed, and the recorder looks for a
#: change the pacer did not draw (a view switched while paused) (ms)
RECORD_TICK_MS = 250


#: 32-bit formats whose bytes are B, G, R, A (little endian) and, for an opaque image, the colours
#: themselves (premultiplied by an alpha of 1): copied as they are
_BGRA = (QtGui.QImage.Format.Format_RGB32, QtGui.QImage.Format.Format_ARGB32,
         QtGui.QImage.Format.Format_ARGB32_Premultiplied)


def qimage_bgra(img: QtGui.QImage) -> np.ndarray:
    """An opaque image's pixels as a fresh (height, width, 4) uint8 array of B, G, R, A (one copy,
    no conversion: the encoder takes BGRA)."""
    if img.format() not in _BGRA or sys.byteorder != "little":
        img = img.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    h, w = img.height(), img.width()
    raw = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * img.bytesPerLine())
    return raw.reshape(h, img.bytesPerLine())[:, : 4 * w].reshape(h, w, 4).copy()


def qimage_rgb(img: QtGui.QImage) -> np.ndarray:
    """An opaque image's pixels as a fresh (height, width, 3) uint8 RGB array."""
    return np.ascontiguousarray(qimage_bgra(img)[..., 2::-1])


def floor_even(n: int) -> int:
    """The even number of pixels at or below ``n`` (at least 2): H.264's yuv420p needs even sizes."""
    return max(2, int(n) - int(n) % 2)


def check_plot_names(names: Sequence[str]) -> tuple[str, ...]:
    """A subset of the five plots, in the order given (ValueError naming the bad ones)."""
    out = tuple(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    bad = [n for n in out if n not in PLOT_NAMES]
    if bad or not out:
        raise ValueError(f"plots must be a comma-separated subset of {','.join(PLOT_NAMES)}; "
                         f"got {','.join(names) or 'nothing'}")
    return out


class FrameRenderer:
    """Frames of a ``LivePlots``, ``width`` pixels wide (even sizes): all five plots with the legend
    as the window lays them out, or some of them under the legend in a grid of up to 3 columns.

    Use as a context manager: the axes' pens are widened for the whole video (their cached
    pictures then survive from frame to frame).
    """

    def __init__(self, plots: LivePlots, width: int, names: Sequence[str] = PLOT_NAMES) -> None:
        self.plots = plots
        self.width = even(width)
        self.names = check_plot_names(names)
        self.size: tuple[int, int] | None = None
        self._pens = None
        self._cached: list = []

    def _layout(self) -> tuple[float, list[tuple[QtCore.QRectF, int, int, int, int]]]:
        """(the plots' scale, [(scene rect, x, y, width, height) of each piece of the frame])."""
        p = self.plots
        W = self.width
        if set(self.names) == set(PLOT_NAMES):
            src = scene_rect(plot_item(p, "plots"))
            return W / src.width(), [(src, 0, 0, W, round(src.height() * W / src.width()))]
        pieces = []
        head = scene_rect(p.legend).united(scene_rect(p.key))
        head_h = round(head.height() * W / head.width())
        pieces.append((head, 0, 0, W, head_h))
        n = len(self.names)
        cols = 2 if n == 4 else min(n, 3)
        cell_w = W // cols
        scale = cell_w / scene_rect(p.plot_items[self.names[0]]).width()
        y = head_h
        for r in range(math.ceil(n / cols)):
            row = self.names[r * cols:(r + 1) * cols]
            rects = [scene_rect(p.plot_items[name]) for name in row]
            row_h = max(round(rc.height() * cell_w / rc.width()) for rc in rects)
            for c, rc in enumerate(rects):
                pieces.append((rc, c * cell_w, y, cell_w, round(rc.height() * cell_w / rc.width())))
            y += row_h
        return scale, pieces

    def __enter__(self) -> FrameRenderer:
        scale, _ = self._layout()
        items = [plot_item(self.plots, "plots")]
        self._pens = scaled_axis_pens(items, scale)
        self._pens.__enter__()
        self._cached: list = []
        return self

    def _no_caches(self) -> None:
        """Axes and labels keep a device-pixel cache for the window's repaints; a render into an
        image reuses it even after their ticks changed (stale tick labels): no caches while the
        video is drawn (items made since, e.g. a new title, included)."""
        none = QtWidgets.QGraphicsItem.CacheMode.NoCache
        for it in self.plots._glw.scene().items():
            mode = it.cacheMode()
            if mode != none:
                self._cached.append((it, mode))
                it.setCacheMode(none)

    def __exit__(self, *exc) -> None:
        if self._pens is not None:
            self._pens.__exit__(None, None, None)
            self._pens = None
        for it, mode in getattr(self, "_cached", []):
            with contextlib.suppress(RuntimeError):  # an item deleted meanwhile
                it.setCacheMode(mode)
        self._cached = []

    def frame(self, bgra: bool = False) -> np.ndarray:
        """The plots as they are drawn now, as an RGB array of the video's size (``bgra``: the
        image's B, G, R, A bytes, which the encoder takes without a conversion)."""
        _, pieces = self._layout()
        if self._pens is not None:
            self._no_caches()
        scene = self.plots._glw.scene()
        if len(pieces) == 1:
            src, _, _, w, h = pieces[0]
            img = render_raster(scene, src, w, h)
        else:
            total_h = max(y + h for _, _, y, _, h in pieces)
            img = QtGui.QImage(self.width, total_h, QtGui.QImage.Format.Format_RGB32)
            img.fill(QtGui.QColor("white"))
            painter = QtGui.QPainter(img)
            try:
                for src, x, y, w, h in pieces:
                    painter.drawImage(x, y, render_raster(scene, src, w, h))
            finally:
                painter.end()
        if self.size is None:
            self.size = (floor_even(img.width()), floor_even(img.height()))
        w, h = self.size
        if (img.width(), img.height()) != (w, h):
            # the first frame fixed the size (even numbers of pixels): crop the odd row, or scale a
            # frame whose layout changed
            if 0 <= img.width() - w <= 1 and 0 <= img.height() - h <= 1:
                img = img.copy(0, 0, w, h)
            else:
                img = img.scaled(w, h, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                 QtCore.Qt.TransformationMode.SmoothTransformation)
        return qimage_bgra(img) if bgra else qimage_rgb(img)


@dataclass(frozen=True)
class VideoResult:
    path: Path
    frames: int
    size: tuple[int, int]
    plan: FramePlan
    last: Snapshot | None


def render_video(settings: Settings, path: str | os.PathLike, plan: FramePlan,
                 width: int | None = None, names: Sequence[str] = PLOT_NAMES, force: bool = False,
                 progress: Callable[[int], None] | None = None) -> VideoResult:
    """The run of ``settings`` as an MP4 or GIF: one frame per step of ``plan``, drawn by the
    window's plots with the settings' step axis; written atomically (``VideoError`` and no file if
    the encoder is missing or fails)."""
    from .qtapp import application
    from .render import offscreen_plots

    fmt = video_format(path)
    check_fps(plan.fps, fmt)
    width = DEFAULT_WIDTH[fmt] if width is None else width
    names = check_plot_names(names)
    app = application(headless=True)
    run = build_run(settings)
    with VideoWriter(path, plan.fps, force=force) as writer, offscreen_plots(settings) as plots:
        renderer = FrameRenderer(plots, width, names)
        frame: np.ndarray | None = None
        last: Snapshot | None = None
        entered = False
        try:
            for snap, new in paced_snapshots(run, plan, progress):
                if new or frame is None:
                    plots.show_snapshot(snap)
                    app.processEvents()  # titles and axes re-lay out as in the window
                    if not entered:
                        renderer.__enter__()
                        entered = True
                    frame = renderer.frame(bgra=True)
                    last = snap
                writer.append(frame)
        finally:
            if entered:
                renderer.__exit__(None, None, None)
    return VideoResult(writer.path, writer.frames, writer.size or (0, 0), plan, last)


class Recorder(QtCore.QObject):
    """File > Record: frames of ``widget`` (the plots area) into an MP4 or GIF while the user works.

    ``start(path)`` checks the target and starts the encoder thread; the window calls
    ``on_frame()`` after each frame it completes; ``stop()`` finishes the file and joins the
    thread (``RecordingResult``: frames, dropped frames, seconds, or the error). GIFs are scaled to
    at most ``DEFAULT_WIDTH["gif"]`` pixels wide (a GIF of the whole plots area is huge).
    """

    sig_tick = QtCore.Signal(float)  # seconds recorded so far, 4 times a second
    sig_stopped = QtCore.Signal(object)  # RecordingResult
    _sig_done = QtCore.Signal(object)  # from a finishing thread: queued to the GUI thread

    def __init__(self, widget: QtWidgets.QWidget, fps: float = DEFAULT_FPS,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.widget = widget
        self.fps = float(fps)
        self.encoder: BackgroundEncoder | None = None
        self.path: Path | None = None
        self.size: tuple[int, int] = (0, 0)
        self.grab_seconds = 0.0  # GUI-thread wall time spent grabbing (the cost of recording)
        self.grab_cpu = 0.0  # ... and its CPU time (what a busy machine does not inflate)
        self.grabs = 0
        self._t0 = 0.0
        self._slot = -1  # the frame time of the last frame offered
        self._last_grab = 0.0
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(RECORD_TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last_result: RecordingResult | None = None
        self._finishing: list[threading.Thread] = []
        self._sig_done.connect(self._finished)

    @property
    def recording(self) -> bool:
        return self.encoder is not None

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0 if self.recording else 0.0

    def start(self, path: str | os.PathLike, force: bool = False, max_queue: int | None = None) -> None:
        """Begin recording into ``path`` (.mp4 or .gif). ValueError/OSError (VideoError) with one
        line if the name, the folder or the encoder is not right; nothing is left behind then."""
        if self.recording:
            raise ValueError("already recording: stop the recording first")
        fmt = video_format(path)
        fps = check_fps(self.fps, fmt)
        img = self._grab()
        w, h = img.width(), img.height()
        if fmt == "gif" and w > DEFAULT_WIDTH["gif"]:
            w, h = DEFAULT_WIDTH["gif"], h * DEFAULT_WIDTH["gif"] / w
        self.size = (floor_even(round(w)), floor_even(round(h)))
        kwargs = {} if max_queue is None else {"max_frames": max_queue}
        self.encoder = BackgroundEncoder(path, fps, force=force, **kwargs)
        self.path = Path(path)
        self._t0 = time.perf_counter()
        self._slot = -1
        self.grab_seconds = self.grab_cpu = 0.0
        self.grabs = 0
        self._offer(img, 0)
        self.timer.start()
        self.sig_tick.emit(0.0)

    def _grab(self) -> QtGui.QImage:
        return self.widget.grab().toImage()

    def _to_frame(self, img: QtGui.QImage) -> np.ndarray:
        w, h = self.size
        if (img.width(), img.height()) != (w, h):
            if 0 <= img.width() - w <= 1 and 0 <= img.height() - h <= 1:
                img = img.copy(0, 0, w, h)  # the odd row or column
            else:  # a GIF's smaller size, or the window was resized while recording
                img = img.scaled(w, h, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                                 QtCore.Qt.TransformationMode.SmoothTransformation)
        return qimage_bgra(img)

    def _offer(self, img: QtGui.QImage | None, slot: int) -> None:
        enc = self.encoder
        if enc is None:
            return
        gap = slot - self._slot if self._slot >= 0 else 1
        self._slot = slot
        enc.offer(None if img is None else self._to_frame(img), gap)

    def on_frame(self, idle: bool = False) -> None:
        """After the window drew a frame (GUI thread): grab it if a new video frame time began.
        ``idle``: called by the recorder's own timer, grabbing only if nothing was grabbed lately."""
        enc = self.encoder
        if enc is None:
            return
        now = time.perf_counter()
        slot = int((now - self._t0) * self.fps)
        if slot <= self._slot or (idle and now - self._last_grab < RECORD_TICK_MS / 1000):
            return
        self._last_grab = now
        if not enc.has_room():  # the encoder is behind: drop this frame without grabbing it
            self._offer(None, slot)
            return
        t, c = time.perf_counter(), time.thread_time()
        img = self._grab()
        self._offer(img, slot)
        self.grab_seconds += time.perf_counter() - t
        self.grab_cpu += time.thread_time() - c
        self.grabs += 1

    def _tick(self) -> None:
        self.on_frame(idle=True)
        if self.recording:
            self.sig_tick.emit(self.elapsed())

    def stop(self, wait: bool = True) -> RecordingResult | None:
        """Finish the file (the last frame held to the end) and join the encoder thread.

        ``wait=False`` (the menu): the encoder drains its queue and finishes the file in a thread
        of its own, so the window goes on at once; ``sig_stopped`` reports the result (``join()``
        waits for it, as closing the window does).
        """
        enc = self.encoder
        if enc is None:
            return None
        self.timer.stop()
        end = max(self._slot + 1, round(self.elapsed() * self.fps))
        enc.add_slots(end - self._slot)
        self.encoder = None
        if wait:
            return self._finished(enc.finish())
        t = threading.Thread(target=lambda: self._sig_done.emit(enc.finish()),
                             name="gaussviz-video-finish", daemon=True)
        self._finishing = [x for x in self._finishing if x.is_alive()] + [t]
        t.start()
        return None

    def _finished(self, result: RecordingResult) -> RecordingResult:
        self.last_result = result
        self.sig_stopped.emit(result)
        return result

    @property
    def finishing(self) -> bool:
        """A stopped recording's file is still being finished (``stop(wait=False)``)."""
        return any(t.is_alive() for t in self._finishing)

    def join(self, timeout: float = 60.0) -> None:
        """Wait for the files of stopped recordings to be finished (their threads end)."""
        for t in self._finishing:
            t.join(timeout)
        self._finishing = [t for t in self._finishing if t.is_alive()]

    def abort(self) -> None:
        """Stop without writing (the file is removed); the thread is joined."""
        enc = self.encoder
        if enc is None:
            return
        self.timer.stop()
        self.encoder = None
        enc.abort()


__all__ = ["FrameRenderer", "Recorder", "VideoResult", "check_plot_names", "qimage_bgra", "qimage_rgb",
           "render_video"]
