"""core/video: the frame schedule (the window's pace), the encoders written atomically, the
background encoder's bounded queue. Files are read back with imageio's v3 API."""

from __future__ import annotations

import time

import imageio.v3 as iio
import numpy as np
import pytest

from gaussviz.core import video
from gaussviz.core.fileio import OverwriteError
from gaussviz.core.presets import get_preset
from gaussviz.core.settings import build_run
from gaussviz.core.video import (
    BackgroundEncoder,
    VideoError,
    VideoWriter,
    paced_snapshots,
    plan_frames,
)


def frames(n: int, w: int = 64, h: int = 48) -> list[np.ndarray]:
    """Frames that differ: a white image with a black bar moving right and a top line changing
    colour, and a "legend" of those colours along the bottom from the first frame on (a GIF's
    palette is made from the first frame, as the plots' legend has every chain's colour)."""
    out = []
    for i in range(n):
        f = np.full((h, w, 3), 255, np.uint8)
        x = (4 * i) % (w - 8)
        f[8:40, x:x + 8] = 0
        f[0:4, :, 0] = 40 * (i % 6)
        for k in range(6):
            f[h - 4:, k * 4:(k + 1) * 4, 0] = 40 * k
        out.append(f)
    return out


def leftovers(folder) -> list:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


# ---------------------------------------------------------------- schedule
def test_plan_paces_the_run_like_the_window():
    p = plan_frames(pace=20.0, fps=30.0, seconds=10.0)
    assert p.n_frames == 300 and p.seconds == pytest.approx(10.0)
    assert p.steps[0] == 0 and p.steps[-1] == 299 * 20 // 30
    assert np.all(np.diff(p.steps) >= 0) and set(np.diff(p.steps)) <= {0, 1}
    # frame i shows floor(i * pace / fps) updates
    i = np.arange(300)
    assert np.array_equal(p.steps, (i * 20) // 30)


def test_plan_until_a_step_ends_exactly_there():
    p = plan_frames(pace=20.0, fps=10.0, steps=30)
    assert p.n_frames == 16 and p.steps[-1] == 30 and p.steps[-2] == 28


def test_plan_at_pace_zero_spreads_the_steps_over_the_frames():
    p = plan_frames(pace=0.0, fps=10.0, seconds=2.0, spread_steps=1000)
    assert p.n_frames == 20 and p.steps[0] == 0 and p.steps[-1] == 1000
    assert plan_frames(pace=0.0, fps=10.0, steps=500).steps[-1] == 500


@pytest.mark.parametrize(("kw", "msg"), [
    ({"seconds": 1.0, "steps": 5}, "not both"),
    ({"seconds": 0.0}, "seconds"),
    ({"seconds": float("nan")}, "seconds"),
    ({"seconds": 1e5}, "seconds"),
    ({"steps": 0}, "steps"),
    ({"steps": 10**9}, "at most"),
])
def test_plan_rejects_bad_lengths(kw, msg):
    with pytest.raises(ValueError, match=msg):
        plan_frames(pace=20.0, fps=30.0, **kw)


@pytest.mark.parametrize(("fps", "fmt", "ok"), [(30, "mp4", True), (60, "mp4", True), (61, "mp4", False),
                                                 (0, "mp4", False), (50, "gif", True), (60, "gif", False),
                                                 (float("inf"), "mp4", False), (True, "mp4", False)])
def test_fps_limits(fps, fmt, ok):
    if ok:
        assert video.check_fps(fps, fmt) == fps
    else:
        with pytest.raises(ValueError, match="frames per second"):
            video.check_fps(fps, fmt)


def test_video_format_from_the_name():
    assert video.video_format("a/b.MP4") == "mp4" and video.video_format("x.gif") == "gif"
    with pytest.raises(ValueError, match=r"\.mp4 or \.gif"):
        video.video_format("x.avi")


def test_paced_snapshots_are_deterministic_and_hold_after_divergence():
    plan = plan_frames(pace=300.0, fps=30.0, seconds=12.0)  # wrong-sign-descent diverges at 2022
    s = get_preset("wrong-sign-descent")
    a = [(snap.step, float(snap.chain.cov[0, 0]), new) for snap, new in paced_snapshots(build_run(s), plan)]
    b = [(snap.step, float(snap.chain.cov[0, 0]), new) for snap, new in paced_snapshots(build_run(s), plan)]
    assert a == b
    steps = [x[0] for x in a]
    assert steps[:3] == [0, 10, 20]
    div = next(i for i, x in enumerate(a) if x[0] >= 2022)
    assert not any(x[2] for x in a[div + 1:])  # nothing new once every chain diverged
    assert steps[-1] == steps[div] < plan.steps[-1]


# ---------------------------------------------------------------- writers
@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_writer_writes_frames_count_size_and_fps(tmp_path, ext, read_video):
    path = tmp_path / f"clip.{ext}"
    fs = frames(20)
    with VideoWriter(path, fps=10) as w:
        for f in fs[:19]:
            w.append(f)
        w.append(fs[19], repeat=3)  # a still moment
    assert path.exists() and not leftovers(tmp_path)
    got, meta = read_video(path)
    assert got.shape[0] == 22 and got.shape[1:3] == (48, 64)
    if ext == "mp4":
        assert meta["fps"] == pytest.approx(10.0)
    else:
        durations = [iio.immeta(path, index=i)["duration"] for i in range(got.shape[0])]
        assert sum(durations) == pytest.approx(2200, abs=10) and set(durations) == {100}
    rgb = got[..., :3].astype(int)
    assert np.abs(rgb[0] - rgb[10]).mean() > 5  # frames change
    tol = 12 if ext == "mp4" else 1
    assert np.abs(rgb[5] - fs[5]).mean() < tol


def test_gif_keeps_real_time_at_30_fps(tmp_path):
    path = tmp_path / "t.gif"
    with VideoWriter(path, fps=30) as w:
        for f in frames(30):
            w.append(f)
    durations = [iio.immeta(path, index=i)["duration"] for i in range(30)]
    assert set(durations) == {30, 40} and sum(durations) == 1000  # 3.33 cs a frame, on average


def test_writer_pads_odd_sizes_to_even(tmp_path, read_video):
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, fps=5) as w:
        for f in frames(3, w=63, h=47):
            w.append(f)
    got, _ = read_video(path)
    assert got.shape[1:3] == (48, 64)


def test_writer_never_overwrites_without_force(tmp_path, read_video):
    path = tmp_path / "x.mp4"
    path.write_bytes(b"mine")
    with pytest.raises(OverwriteError):
        VideoWriter(path, fps=5)
    assert path.read_bytes() == b"mine" and not leftovers(tmp_path)
    with VideoWriter(path, fps=5, force=True) as w:
        for f in frames(3):
            w.append(f)
    assert read_video(path)[0].shape[0] == 3 and not leftovers(tmp_path)


def test_a_file_that_appears_meanwhile_is_not_overwritten(tmp_path):
    path = tmp_path / "x.gif"
    w = VideoWriter(path, fps=5)
    w.append(frames(1)[0])
    path.write_bytes(b"someone else's")
    with pytest.raises(OverwriteError):
        w.close()
    assert path.read_bytes() == b"someone else's" and not leftovers(tmp_path)


@pytest.fixture
def failing_ffmpeg(tmp_path, monkeypatch):
    """An ffmpeg that dies at once (as a broken or incompatible binary would)."""
    exe = tmp_path / "bin" / "ffmpeg"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\necho 'ffmpeg: simulated failure' >&2\nexit 1\n")
    exe.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(exe))
    return exe


@pytest.mark.parametrize("ext", ["mp4", "gif"])
def test_a_failing_encoder_leaves_no_file(tmp_path, failing_ffmpeg, ext, capfd):
    path = tmp_path / f"clip.{ext}"
    with pytest.raises(VideoError) as e:
        with VideoWriter(path, fps=10) as w:
            for f in frames(200, w=640, h=480):  # more than the pipe holds
                w.append(f)
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg and "encoder" in msg
    assert not path.exists() and not leftovers(tmp_path)


def test_a_missing_encoder_is_said_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-such-ffmpeg"))
    path = tmp_path / "clip.mp4"
    with pytest.raises(VideoError, match="encoder") as e:
        with VideoWriter(path, fps=10) as w:
            w.append(frames(1)[0])
    assert "\n" not in str(e.value) and not path.exists() and not leftovers(tmp_path)


def test_no_frames_no_file(tmp_path):
    path = tmp_path / "empty.mp4"
    with pytest.raises(VideoError, match="no frames"):
        VideoWriter(path, fps=10).close()
    assert not path.exists() and not leftovers(tmp_path)


def test_an_error_while_drawing_removes_the_partial_file(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(path, fps=10) as w:
            w.append(frames(1)[0])
            raise KeyboardInterrupt
    assert not path.exists() and not leftovers(tmp_path)


# ---------------------------------------------------------------- background encoder
def test_background_encoder_drops_frames_when_full_and_keeps_real_time(tmp_path, monkeypatch, read_video):
    slow = VideoWriter.append

    def append(self, frame, repeat=1):
        time.sleep(0.05)
        slow(self, frame, repeat)

    monkeypatch.setattr(VideoWriter, "append", append)
    path = tmp_path / "rec.mp4"
    enc = BackgroundEncoder(path, fps=20, max_frames=2)
    fs = frames(40)
    accepted = [enc.offer(f, 1) for f in fs]  # far faster than the encoder
    enc.add_slots(1)
    r = enc.finish()
    assert r.path == path and not enc.is_alive()
    assert r.dropped == accepted.count(False) > 0
    got, _ = read_video(path)
    assert got.shape[0] == r.frames == 40  # every frame time is in the video: dropped ones held over
    assert r.seconds == pytest.approx(2.0)


def test_background_encoder_error_reported_and_file_removed(tmp_path, failing_ffmpeg):
    path = tmp_path / "rec.gif"
    enc = BackgroundEncoder(path, fps=10, max_frames=4)
    for f in frames(30, w=640, h=480):
        enc.offer(f, 1)
        time.sleep(0.01)
    r = enc.finish()
    assert r.path is None and "encoder" in r.error and not enc.is_alive()
    assert not path.exists() and not leftovers(tmp_path)


def test_background_encoder_abort_removes_the_file(tmp_path):
    path = tmp_path / "rec.mp4"
    enc = BackgroundEncoder(path, fps=10)
    for f in frames(5):
        enc.offer(f, 1)
    enc.abort()
    assert not enc.is_alive() and not path.exists() and not leftovers(tmp_path)
