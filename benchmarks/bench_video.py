"""Videos (issue 16): encoding 10 s of 1280x800 at 30 frames/s must take at most 2x real time.

    python benchmarks/bench_video.py [--quick]

Measured, each as wall time / the video's length (the ratio; <= 1 is faster than real time):
- 8a. encoding alone: 300 frames of the window's plots (what-am-i-missing drawn at 1280 wide,
  cropped to 1280x800; 60 distinct frames played forward and back, drawn beforehand and not
  timed) through ``core.video.VideoWriter`` into MP4 and GIF (and GIF at 640x400, the README's);
- 8b. drawing and encoding: ``gaussviz render --video`` of what-am-i-missing, 10 s at 30 frames/s,
  1280 wide (MP4) and 640 wide (GIF): the run, the plots, the frames and the encoder;
- 8c. the window's File > Record (offscreen, 5 s): GUI-thread time per grabbed frame, frames
  dropped, frames the window drew per second while recording.

The machine is shared (2 cores): the CPU time of this process and ffmpeg is printed beside each
wall time (``cpu_ratio``), and the load average at the start.
Lines ``RESULT key value op target`` are for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

RESULTS: dict[str, float] = {}


def record(key: str, value: float, unit: str = "", goal: tuple[str, float] | None = None) -> None:
    RESULTS[key] = float(value)
    op, target = goal if goal else ("-", 0.0)
    mark = ""
    if goal:
        ok = value >= target if op == ">=" else value <= target
        mark = f"   goal {op} {target:g}: {'met' if ok else 'NOT MET'}"
    print(f"  {key:<44} {value:>12.4g} {unit}{mark}", flush=True)
    print(f"RESULT {key} {value!r} {op} {target!r}", flush=True)


def plot_frames(n: int, width: int = 1280, height: int = 800) -> list[np.ndarray]:
    """``n`` frames of what-am-i-missing as the window draws them, ``width`` wide, cropped to ``height``."""
    from gaussviz.core.presets import get_preset
    from gaussviz.core.settings import build_run
    from gaussviz.core.video import VIDEO_EXTRA
    from gaussviz.gui.qtapp import application
    from gaussviz.gui.render import offscreen_plots
    from gaussviz.gui.video import FrameRenderer

    app = application(headless=True)
    s = get_preset("what-am-i-missing")
    run = build_run(s)
    out = []
    with offscreen_plots(s) as plots:
        r = None
        for _ in range(n):
            run.advance(1)
            plots.show_snapshot(run.snapshot(extra=VIDEO_EXTRA))
            app.processEvents()
            if r is None:
                r = FrameRenderer(plots, width).__enter__()
            f = r.frame()
            out.append(np.ascontiguousarray(f[:height]) if f.shape[0] >= height
                       else np.pad(f, ((0, height - f.shape[0]), (0, 0), (0, 0)), constant_values=255))
        r.__exit__(None, None, None)
    return out


def cpu_now() -> float:
    """CPU seconds of this process and its finished children (ffmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def encode(frames: list[np.ndarray], path: str, fps: float, n: int) -> tuple[float, float]:
    """(wall, cpu) seconds to encode ``n`` frames (the list played forward and back); cpu counts
    this process and ffmpeg."""
    from gaussviz.core.video import VideoWriter

    order = list(range(len(frames))) + list(range(len(frames) - 2, 0, -1))
    c0, t0 = cpu_now(), time.perf_counter()
    with VideoWriter(path, fps, force=True) as w:
        for i in range(n):
            w.append(frames[order[i % len(order)]])
    return time.perf_counter() - t0, cpu_now() - c0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 s videos instead of 10 s")
    a = ap.parse_args()
    seconds = 3.0 if a.quick else 10.0
    fps = 30.0
    n = round(seconds * fps)
    print(f"video benchmark ({'quick' if a.quick else 'full'}): {seconds:g} s at {fps:g} frames/s, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (others' processes)", flush=True)
    tmp = tempfile.mkdtemp(prefix="gaussviz-bench-video-")

    print("8a. encoding alone (frames drawn beforehand)")
    frames = plot_frames(20 if a.quick else 60)
    small = [np.ascontiguousarray(f[::2, ::2]) for f in frames]  # 640x400
    for name, fr, ext, goal in (("mp4_1280x800", frames, "mp4", ("<=", 2.0)),
                                ("gif_1280x800", frames, "gif", None),
                                ("gif_640x400", small, "gif", None)):
        wall, cpu = encode(fr, os.path.join(tmp, f"enc.{ext}"), fps, n)
        size = os.path.getsize(os.path.join(tmp, f"enc.{ext}"))
        record(f"video.encode.{name}.ratio", wall / seconds,
               f"x real time ({wall:.1f} s wall, {size / 1e6:.2f} MB)", goal)
        record(f"video.encode.{name}.cpu_ratio", cpu / seconds, "CPU s (this process + ffmpeg) per video s")

    print("8b. drawing and encoding: gaussviz render --video what-am-i-missing")
    from gaussviz.core.presets import get_preset
    from gaussviz.core.video import plan_frames
    from gaussviz.gui.video import render_video

    s = get_preset("what-am-i-missing")
    for ext, width in (("mp4", 1280), ("gif", 640)):
        plan = plan_frames(s.speed, fps, seconds=seconds)
        path = os.path.join(tmp, f"render.{ext}")
        c0, t0 = cpu_now(), time.perf_counter()
        res = render_video(s, path, plan, width, force=True)
        wall, cpu = time.perf_counter() - t0, cpu_now() - c0
        record(f"video.render.{ext}_{width}.ratio", wall / seconds,
               f"x real time ({res.size[0]}x{res.size[1]}, {wall:.1f} s wall, {os.path.getsize(path) / 1e6:.2f} MB)")
        record(f"video.render.{ext}_{width}.cpu_ratio", cpu / seconds, "CPU s (this process + ffmpeg) per video s")

    print("8c. the window's File > Record (offscreen, 5 s, what-am-i-missing running)")
    from gaussviz.gui.qtapp import application
    from gaussviz.gui.window import MainWindow

    app = application(headless=True)
    win = MainWindow(get_preset("what-am-i-missing"), running=True)
    win.show()

    def spin(t: float) -> None:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < t:
            app.processEvents()
            time.sleep(0.001)

    spin(1.0)
    while win.shown_snapshot is None or win.shown_snapshot.step == 0:
        spin(0.1)
    drawn = win.frames_drawn
    spin(3.0)
    record("video.window.frames_per_s_not_recording", (win.frames_drawn - drawn) / 3.0, "frames/s")
    win.start_recording(os.path.join(tmp, "window.mp4"), force=True)
    drawn = win.frames_drawn
    spin(5.0)
    r = win.stop_recording()
    rec = win.recorder
    record("video.window.frames_per_s_recording", (win.frames_drawn - drawn) / 5.0, "frames/s")
    record("video.window.grab_ms", 1e3 * rec.grab_seconds / max(1, rec.grabs),
           f"ms GUI thread (wall) per grabbed frame ({rec.size[0]}x{rec.size[1]}, {rec.grabs} grabs)")
    record("video.window.grab_cpu_ms", 1e3 * rec.grab_cpu / max(1, rec.grabs), "ms GUI thread CPU per grabbed frame")
    record("video.window.dropped", r.dropped, f"frames dropped of {r.frames} ({r.seconds:.1f} s)")
    win.shutdown()
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
