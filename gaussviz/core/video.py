"""Videos of a run (MP4, GIF): which step each frame shows, and the encoders, written atomically.

No Qt here: a frame is an RGB array (height, width, 3) of uint8. ``gui/video.py`` draws the
frames with the window's own plots, for ``gaussviz render --video`` and the window's File >
Record.

- The frame schedule (``plan_frames``): frame ``i`` is shown ``i / fps`` seconds in and shows the
  run after ``floor(i * pace / fps)`` updates, the pace (updates per second) being the window's
  (a preset's own, or a session's saved speed). A function of the settings alone, so the same
  session gives the same frames.
- The encoders are ffmpeg's, from imageio-ffmpeg's own binary (no system ffmpeg needed), fed
  frame by frame through imageio-ffmpeg's ``write_frames``: MP4 (H.264, yuv420p, for slides and
  browsers) and GIF (one palette from the first frame, frame delays that add up to real time).
  imageio's own FFMPEG format will not write GIF, and Pillow's GIF writer keeps every frame in
  memory until the end and quantizes at ~100 ms a frame. ffmpeg runs in its own process, so
  encoding overlaps drawing. imageio (v3) reads each finished file back before it takes its
  name: a file that does not open as a video of the right size is never left.
- ``VideoWriter`` encodes into a temporary file beside the target (``fileio.atomic_output``):
  the video takes its name only when the encoder finished cleanly; a missing or failing
  encoder raises ``VideoError`` (one line) and leaves no file behind.
- ``BackgroundEncoder`` runs a ``VideoWriter`` in a thread behind a bounded queue: the window
  offers frames without ever waiting; a full queue drops the frame (counted) and the next
  frame that gets in stands for the dropped one too, so the video keeps real time.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileio import WriteError, atomic_output, check_can_create
from .runloop import RunLoop
from .snapshot import Snapshot

#: file name suffix -> format
VIDEO_FORMATS: dict[str, str] = {".mp4": "mp4", ".gif": "gif"}
DEFAULT_FPS = 30.0
MIN_FPS, MAX_FPS = 1.0, 60.0
#: a GIF's frame delays are whole hundredths of a second, and browsers slow anything faster
#: than 50 frames/s down to 10
GIF_MAX_FPS = 50.0
DEFAULT_SECONDS = 10.0
#: the longest video (seconds): 10 minutes
MAX_SECONDS = 600.0
#: video widths (pixels); even sizes only (H.264's yuv420p halves both)
MIN_VIDEO_WIDTH, MAX_VIDEO_WIDTH = 160, 3840
DEFAULT_WIDTH = {"mp4": 1280, "gif": 640}
#: imageio-ffmpeg's quality (1-10) for MP4: 7 is x264 crf 15, lines and text on white stay sharp
MP4_QUALITY = 7.0
#: x264's speed preset: "veryfast" encodes at about half the CPU of the default "medium" for ~8 %
#: more bytes (plots are flat colour on white); measured in benchmarks/bench_video.py
MP4_PRESET = "veryfast"
#: ffmpeg's filters for a GIF: one palette made from the first frame (it already holds the legend's
#: colours, text and grid), so unchanged pixels keep their index and frames store only what changed
#: (3-4x smaller than a palette per frame, measured on what-am-i-missing); no dithering (dither
#: noise on a white background costs size and looks like dirt)
GIF_FILTER = ("split[a][b];[a]trim=end_frame=1,palettegen=max_colors=256[p];"
              "[b][p]paletteuse=dither=none:diff_mode=rectangle")
#: frames the window's recorder may hold for its encoder thread (about 1.5 s at 30 frames/s)
QUEUE_FRAMES = 48


class VideoError(WriteError):
    """A video could not be written: the encoder is missing or failed; one line naming the file."""


def video_format(path: str | os.PathLike) -> str:
    """"mp4" or "gif" from the file name, or a ValueError saying which names are allowed."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_FORMATS:
        raise ValueError(f"a video file name must end in {' or '.join(VIDEO_FORMATS)}; got {Path(path).name!r}")
    return VIDEO_FORMATS[suffix]


def check_fps(fps: object, fmt: str = "mp4") -> float:
    """Frames per second for the format, or a ValueError saying what is allowed."""
    hi = GIF_MAX_FPS if fmt == "gif" else MAX_FPS
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) \
            or not MIN_FPS <= fps <= hi:
        raise ValueError(f"frames per second for {fmt.upper()} must be from {MIN_FPS:g} to {hi:g}; got {fps!r}")
    return float(fps)


def check_video_width(width: object) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or not MIN_VIDEO_WIDTH <= width <= MAX_VIDEO_WIDTH:
        raise ValueError(f"video width must be a whole number of pixels from {MIN_VIDEO_WIDTH} to "
                         f"{MAX_VIDEO_WIDTH}; got {width!r}")
    return width


def even(n: float) -> int:
    """The even number of pixels nearest ``n`` (at least 2): H.264's yuv420p needs even sizes."""
    return max(2, 2 * round(n / 2))


# ------------------------------------------------------------------ the schedule
@dataclass(frozen=True)
class FramePlan:
    """What a video shows: ``steps[i]`` is the update count frame ``i`` shows, at ``fps``."""

    fps: float
    steps: np.ndarray
    pace: float

    @property
    def n_frames(self) -> int:
        return int(self.steps.shape[0])

    @property
    def seconds(self) -> float:
        return self.n_frames / self.fps


def plan_frames(pace: float, fps: float, seconds: float | None = None, steps: int | None = None,
                spread_steps: int = 0) -> FramePlan:
    """The frames of a video of a run watched at ``pace`` updates per second.

    ``seconds`` long (default ``DEFAULT_SECONDS``), or until ``steps`` updates (the last frame
    shows exactly that many). At pace 0 (the window's "as fast as possible", which has no
    timing of its own) the video spreads ``steps`` (or ``spread_steps``) evenly over its frames.
    """
    if seconds is not None and steps is not None:
        raise ValueError("give the video's length in seconds or in steps, not both")
    fps = float(fps)
    if not (math.isfinite(pace) and pace >= 0):
        raise ValueError(f"the pace must be >= 0 updates per second; got {pace!r}")
    if seconds is not None and (not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS):
        raise ValueError(f"seconds must be more than 0 and at most {MAX_SECONDS:g}; got {seconds!r}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps!r}")
    if steps is not None and pace > 0:
        n = math.ceil(steps * fps / pace) + 1
        if n / fps > MAX_SECONDS:
            raise ValueError(f"{steps:,} steps at {pace:g} updates/s take {steps / pace:,.0f} s of video; "
                             f"at most {MAX_SECONDS:g} s (use --seconds, or fewer steps)")
        i = np.arange(n, dtype=np.int64)
        return FramePlan(fps, np.minimum((i * pace / fps).astype(np.int64), steps), float(pace))
    n = max(1, round((DEFAULT_SECONDS if seconds is None else seconds) * fps))
    i = np.arange(n, dtype=np.int64)
    if pace > 0:
        return FramePlan(fps, np.floor(i * (pace / fps)).astype(np.int64), float(pace))
    total = steps if steps is not None else int(spread_steps)
    shown = (i * total) // (n - 1) if n > 1 else np.array([total], dtype=np.int64)
    return FramePlan(fps, np.minimum(shown, total), total / max(n / fps, 1e-9))


#: what a video's snapshots say about their run: "not running" makes every frame complete
#: (the spectrum's numbers are otherwise throttled by the wall clock), so frames are a function
#: of the session alone
VIDEO_EXTRA = {"running": False}


def paced_snapshots(run: RunLoop, plan: FramePlan,
                    progress: Callable[[int], None] | None = None) -> Iterator[tuple[Snapshot, bool]]:
    """The snapshot of each frame of ``plan``, from the one run loop: (snapshot, new) with ``new``
    False when no update happened since the previous frame (the same snapshot object again).

    Like the headless run (``RunLoop.run_to``), updates stop once every chain has diverged and no
    replayed change (a Resume) is still to come; later frames hold the last picture.
    """
    snap: Snapshot | None = None
    for i, target in enumerate(plan.steps):
        target = int(target)
        moved = False
        while run.step < target and not (run.all_diverged and run.pending_changes == 0):
            run.advance(target - run.step)
            moved = True
        new = snap is None or moved
        if new:
            snap = run.snapshot(extra={**VIDEO_EXTRA, "speed": plan.pace})
        if progress is not None:
            progress(i + 1)
        yield snap, new  # type: ignore[misc]


# ------------------------------------------------------------------ encoders
def ffmpeg_exe() -> str:
    """The ffmpeg binary imageio-ffmpeg ships (or IMAGEIO_FFMPEG_EXE), or a VideoError saying how
    to get one."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise VideoError("cannot write videos: imageio-ffmpeg is not installed "
                         "(python -m pip install imageio imageio-ffmpeg)") from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        raise VideoError("cannot write videos: imageio-ffmpeg found no ffmpeg binary "
                         "(reinstall imageio-ffmpeg, or set IMAGEIO_FFMPEG_EXE)") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:200]


class VideoWriter:
    """One MP4 or GIF written frame by frame into a temporary file beside ``path``; ``close()``
    gives it its name, ``abort()`` (or any error) removes it.

    Frames are RGB (height, width, 3) or BGRA (height, width, 4, a Qt image's bytes as they are),
    all of the first one's size and kind (even numbers of pixels: odd ones are padded with white).
    ``append(frame, repeat)`` writes a frame ``repeat`` times (a still moment).
    """

    def __init__(self, path: str | os.PathLike, fps: float, force: bool = False,
                 quality: float = MP4_QUALITY) -> None:
        self.path = Path(path)
        self.format = video_format(self.path)
        self.fps = check_fps(fps, self.format)
        self.force = force
        self.quality = quality
        self.frames = 0
        self.size: tuple[int, int] | None = None  # (width, height)
        self.channels = 3  # 3: RGB, 4: BGRA (a QImage's bytes as they are: no conversion)
        self._exe = ffmpeg_exe()
        self._out = atomic_output(self.path, force)
        self.tmp = self._out.__enter__()
        self._writer = None
        self._proc = None
        self._closed = False

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _open(self, width: int, height: int, channels: int) -> None:
        import imageio_ffmpeg

        self.size = (width, height)
        self.channels = channels
        if self.format == "mp4":
            opts = dict(codec="libx264", quality=self.quality, pix_fmt_out="yuv420p", macro_block_size=2,
                        output_params=["-preset", MP4_PRESET, "-movflags", "+faststart", "-f", "mp4"])
        else:
            opts = dict(codec="gif", pix_fmt_out="pal8", macro_block_size=1,
                        output_params=["-filter_complex", GIF_FILTER, "-loop", "0", "-f", "gif"])
        gen = imageio_ffmpeg.write_frames(str(self.tmp), (width, height), fps=self.fps,
                                          pix_fmt_in="rgb24" if channels == 3 else "bgra",
                                          ffmpeg_log_level="error", **opts)
        gen.send(None)  # starts ffmpeg
        self._writer = gen
        # imageio-ffmpeg leaves the pipe to an ffmpeg that died open: kept to close it then
        frame = getattr(gen, "gi_frame", None)
        self._proc = frame.f_locals.get("p") if frame is not None else None

    def append(self, frame: np.ndarray, repeat: int = 1) -> None:
        if self._closed:
            raise VideoError(f"cannot write {self.path}: the video is already closed")
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] not in (3, 4) or frame.dtype != np.uint8:
            raise ValueError("a video frame must be (height, width, 3) RGB or (height, width, 4) BGRA uint8; "
                             f"got {frame.shape} {frame.dtype}")
        h, w, c = frame.shape
        if h % 2 or w % 2:
            frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
            h, w = frame.shape[:2]
        if self.size is None:
            self._guard(lambda: self._open(w, h, c))
        elif (w, h) != self.size or c != self.channels:
            raise ValueError(f"frame {w}x{h}x{c} differs from the video's "
                             f"{self.size[0]}x{self.size[1]}x{self.channels}")
        frame = np.ascontiguousarray(frame)
        for _ in range(max(0, int(repeat))):
            self._guard(lambda: self._write(frame))
            self.frames += 1

    def _write(self, frame: np.ndarray) -> None:
        self._writer.send(frame)  # type: ignore[union-attr]

    def _guard(self, fn: Callable[[], None]) -> None:
        """Run an encoder call; any failure removes the temporary file and raises one line."""
        try:
            fn()
        except VideoError:
            self.abort()
            raise
        except Exception as e:  # imageio/ffmpeg raise OSError, RuntimeError, BrokenPipeError, ...
            self.abort()
            raise VideoError(f"cannot write {self.path}: the {self.format.upper()} encoder (ffmpeg) failed: "
                             f"{_first_line(e)}") from None

    def _finish_encoder(self) -> None:
        """Close ffmpeg's input and wait for it (it writes the file's end); always closes the pipe."""
        w, self._writer = self._writer, None
        proc, self._proc = getattr(self, "_proc", None), None
        try:
            if w is not None:
                w.close()  # GeneratorExit inside: imageio-ffmpeg closes stdin and waits for ffmpeg
        finally:
            if proc is not None:
                for pipe in (proc.stdin, proc.stdout):
                    with contextlib.suppress(Exception):
                        pipe.close()
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                elif proc.returncode != 0 and w is not None:
                    raise OSError(f"ffmpeg exited with status {proc.returncode}")

    def _verify(self) -> None:
        """The finished file opens as a video of every frame written: MP4 counted by ffmpeg
        (imageio-ffmpeg's ``count_frames_and_secs``), GIF read back by imageio (v3)."""
        if self.format == "mp4":
            import imageio_ffmpeg

            n = imageio_ffmpeg.count_frames_and_secs(str(self.tmp))[0]
        else:
            import imageio.v3 as iio

            props = iio.improps(self.tmp, index=None)
            n = props.n_images
            if (props.shape[2], props.shape[1]) != self.size:
                raise OSError(f"the written GIF reads back as {props.shape[2]}x{props.shape[1]}")
        if n != self.frames:
            raise OSError(f"the written video holds {n} frames, not {self.frames}")

    def close(self) -> Path:
        """Finish the encoder and give the file its name (VideoError, no file, if it failed)."""
        if self._closed:
            return self.path
        if self.frames == 0:
            self.abort()
            raise VideoError(f"cannot write {self.path}: no frames were recorded")
        try:
            self._finish_encoder()
            if not self.tmp.exists() or self.tmp.stat().st_size == 0:
                raise OSError("the encoder wrote nothing")
            self._verify()
        except Exception as e:
            self.abort()
            raise VideoError(f"cannot write {self.path}: the {self.format.upper()} encoder (ffmpeg) failed: "
                             f"{_first_line(e)}") from None
        self._closed = True
        try:
            self._out.__exit__(None, None, None)  # link or rename into place
        except OSError:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
            raise
        return self.path

    def abort(self) -> None:
        """Stop the encoder and remove the temporary file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._finish_encoder()
        with contextlib.suppress(Exception):
            self._out.__exit__(VideoError, VideoError("aborted"), None)
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@dataclass
class RecordingResult:
    """What a finished recording wrote (``path`` None if it failed or had no frames)."""

    path: Path | None
    frames: int
    dropped: int
    seconds: float
    error: str = ""


class BackgroundEncoder:
    """A ``VideoWriter`` fed from a thread behind a bounded queue.

    ``offer(frame, slots)`` never waits: when the queue is full the frame is dropped and counted,
    and its slots go to the next frame that gets in (the video keeps real time; the dropped
    moment shows the frame before it a little longer). ``finish()`` drains the queue, closes the
    file and joins the thread; ``abort()`` removes the file. The checks of the target (folder,
    overwriting, the encoder's binary) happen in the constructor, on the caller's thread.
    """

    def __init__(self, path: str | os.PathLike, fps: float, force: bool = False,
                 max_frames: int = QUEUE_FRAMES) -> None:
        check_can_create(path, force)
        self.writer = VideoWriter(path, fps, force=force)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(max_frames)))
        self.offered = 0
        self.dropped = 0
        self._carry = 0  # slots of dropped frames, given to the next frame that gets in
        self._error: str = ""
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._main, name="gaussviz-video-encoder", daemon=True)
        self._thread.start()

    @property
    def error(self) -> str:
        return self._error

    def has_room(self) -> bool:
        """False when a frame offered now would be dropped (the caller may skip grabbing it)."""
        return not self._queue.full() and not self._error

    def offer(self, frame: np.ndarray | None, slots: int = 1) -> bool:
        """Queue ``frame``, shown ``slots`` frame times after the previous one offered; False
        (dropped, counted) when the queue is full or ``frame`` is None (the caller skipped grabbing
        because ``has_room()`` was False)."""
        self.offered += 1
        slots = max(0, int(slots)) + self._carry
        if frame is None or self._error:
            self.dropped += 1
            self._carry = slots
            return False
        try:
            self._queue.put_nowait((frame, slots))
        except queue.Full:
            self.dropped += 1
            self._carry = slots
            return False
        self._carry = 0
        return True

    def add_slots(self, slots: int) -> None:
        """The video ends ``slots`` frame times after the last frame offered (it is held so long)."""
        if slots > 0:
            self._carry += int(slots)

    def _main(self) -> None:
        last = None
        while True:
            item = self._queue.get()
            if item is None or self._abort.is_set():
                break
            frame, slots = item
            if self._error:
                continue
            try:
                # ``slots``: how many frame times the previous frame covers (it was written once);
                # the very first frame has no previous one
                if last is not None and slots > 1:
                    self.writer.append(last, slots - 1)
                self.writer.append(frame, 1)
                last = frame
            except Exception as e:  # the writer already removed its file
                self._error = _first_line(e)
        self._last = last

    def finish(self, timeout: float = 60.0) -> RecordingResult:
        """Write what is queued (and the held-over slots), close the file and join the thread."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort.set()
            self.writer.abort()
            self._thread.join(5.0)
            return RecordingResult(None, self.writer.frames, self.dropped, 0.0,
                                   f"the encoder did not finish within {timeout:g} s")
        last = getattr(self, "_last", None)
        if not self._error and last is not None and self._carry > 1:
            try:
                self.writer.append(last, self._carry - 1)
            except Exception as e:
                self._error = _first_line(e)
        if self._error:
            self.writer.abort()
            return RecordingResult(None, self.writer.frames, self.dropped, 0.0, self._error)
        try:
            path = self.writer.close()
        except (VideoError, OSError) as e:
            return RecordingResult(None, self.writer.frames, self.dropped, 0.0, _first_line(e))
        return RecordingResult(path, self.writer.frames, self.dropped, self.writer.frames / self.writer.fps)

    def abort(self) -> None:
        """Stop at once and remove the file (closing the window mid-recording without finishing)."""
        self._abort.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        # the thread may be blocked on a full queue's get: make room for the stop marker
        while self._thread.is_alive():
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(None)
            self._thread.join(0.05)
        self.writer.abort()

    def is_alive(self) -> bool:
        return self._thread.is_alive()


__all__ = [
    "DEFAULT_FPS",
    "DEFAULT_SECONDS",
    "DEFAULT_WIDTH",
    "VIDEO_FORMATS",
    "BackgroundEncoder",
    "FramePlan",
    "RecordingResult",
    "VideoError",
    "VideoWriter",
    "check_fps",
    "check_video_width",
    "even",
    "ffmpeg_exe",
    "paced_snapshots",
    "plan_frames",
]
