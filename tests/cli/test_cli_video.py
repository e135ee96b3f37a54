"""gaussviz render --video: MP4 and GIF of a run paced like the window, read back with imageio (v3):
frame count, size, fps, frames that change, a frame that matches the still render of its step,
the same frames again from the same session; bad options; atomic writes."""

from __future__ import annotations

import numpy as np
import pytest

from gaussviz.cli import main

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


def test_mp4_frames_size_fps_and_a_frame_matches_the_still(tmp_path, capsys, read_video):
    out = tmp_path / "clip.mp4"
    # what-am-i-missing at its pace (20 updates/s) and 10 frames/s: frame i shows update 2 i
    assert main(["render", "--preset", "what-am-i-missing", "--video", str(out), "--fps", "10",
                 "--seconds", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out}") and "20 frames" in line and "updates 0 to 38" in line
    frames, meta = read_video(out)
    assert frames.shape[0] == 20 and frames.shape[2] == 1280 and frames.shape[1] % 2 == 0
    assert meta["fps"] == pytest.approx(10.0)
    f = frames.astype(int)
    changes = [np.abs(f[i + 1] - f[i]).mean() for i in range(19)]
    assert min(changes) > 0.05  # every frame shows two more updates
    # the last frame against the still render of update 38 (raster vs antialiased paths, codec)
    assert main(["render", "--preset", "what-am-i-missing", "--steps", "38", "--out", str(tmp_path / "still"),
                 "--format", "png", "--width", "1280"]) == 0
    import imageio.v3 as iio

    still = iio.imread(tmp_path / "still" / "plots.png")[..., :3].astype(int)
    h = frames.shape[1]
    assert abs(still.shape[0] - h) <= 1
    # in 8x8 blocks: the still's antialiased paths and the window's raster lines differ in detail
    same = np.abs(blocks(f[-1]) - blocks(still[:h])).mean()
    earlier = np.abs(blocks(f[10]) - blocks(still[:h])).mean()  # update 20
    assert same < 4.0 and same < 0.8 * earlier, (same, earlier)
    assert not leftovers(tmp_path)


def blocks(a: np.ndarray, k: int = 8) -> np.ndarray:
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))


def test_gif_same_session_same_frames_and_real_time(tmp_path, read_video):
    a, b = tmp_path / "a.gif", tmp_path / "b.gif"
    for p in (a, b):
        assert main(["render", "--preset", "ill-conditioned-covariance", "--video", str(p), "--fps", "10",
                     "--seconds", "1.5", "--width", "400"]) == 0
    fa, meta = read_video(a)
    fb, _ = read_video(b)
    assert fa.shape == fb.shape and fa.shape[0] == 15 and fa.shape[2] == 400
    assert np.array_equal(fa, fb)  # deterministic
    assert sum(meta["durations"]) == 1500
    assert np.abs(fa[0].astype(int) - fa[-1].astype(int)).mean() > 0.5
    # frame 14 shows update 28 (20 updates/s, 10 frames/s): a still of update 28 drawn the same way
    from gaussviz.core.presets import get_preset
    from gaussviz.core.settings import build_run
    from gaussviz.core.video import VIDEO_EXTRA
    from gaussviz.gui.qtapp import application
    from gaussviz.gui.render import offscreen_plots
    from gaussviz.gui.video import FrameRenderer

    s = get_preset("ill-conditioned-covariance")
    run = build_run(s)
    run.advance(28)
    with offscreen_plots(s) as plots:
        plots.show_snapshot(run.snapshot(extra=VIDEO_EXTRA))
        application().processEvents()
        with FrameRenderer(plots, 400) as r:
            still = r.frame()
    assert still.shape == fa[14].shape
    diffs = [np.abs(fa[i].astype(int) - still).mean() for i in (12, 13, 14)]
    # not equal: the video's run went there in steps of 2 (the history's points differ) and its axes
    # grew frame by frame, as the window's do
    assert diffs[2] < 3.5 and diffs[2] < min(diffs[:2]), diffs


def test_video_until_a_step_with_some_plots(tmp_path, capsys, read_video):
    out = tmp_path / "kl.mp4"
    assert main(["render", "--preset", "ill-conditioned-natural", "--video", str(out), "--steps", "30",
                 "--fps", "10", "--plots", "kl,cloud", "--width", "640"]) == 0
    assert "updates 0 to 30" in capsys.readouterr().out
    frames, _ = read_video(out)
    # ill-conditioned-natural runs at 50 updates/s: 5 a frame, frames 0..6 show 0..30
    assert frames.shape[0] == 7 and frames.shape[2] == 640
    assert frames.shape[1] < 640  # the legend and two plots side by side: wider than high


def test_session_pace_and_step_axis_are_used(tmp_path, capsys):
    out = tmp_path / "log.gif"
    assert main(["render", "--preset", "start-too-small", "--video", str(out), "--seconds", "0.5",
                 "--fps", "10", "--width", "320"]) == 0
    # start-too-small runs at 10,000 updates/s: frame 4 shows update 4,000
    assert "updates 0 to 4,000 at 1e+04 updates/s" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "msg"), [
    (["--video", "{t}/x.avi"], "--video: a video file name must end in .mp4 or .gif"),
    (["--video", "{t}/x.mp4", "--fps", "0"], "--fps"),
    (["--video", "{t}/x.mp4", "--fps", "61"], "--fps"),
    (["--video", "{t}/x.gif", "--fps", "60"], "--fps"),
    (["--video", "{t}/x.mp4", "--seconds", "-1"], "seconds"),
    (["--video", "{t}/x.mp4", "--seconds", "nan"], "seconds"),
    (["--video", "{t}/x.mp4", "--seconds", "2", "--steps", "5"], "not both"),
    (["--video", "{t}/x.mp4", "--steps", "0"], "steps"),
    (["--video", "{t}/x.mp4", "--plots", "cloud,foo"], "--plots"),
    (["--video", "{t}/x.mp4", "--width", "10"], "--width"),
    (["--video", "{t}/x.mp4", "--format", "svg"], "--format applies to --out"),
    (["--video", "{t}/x.mp4", "--out", "{t}/o"], "not both"),
    (["--video", "{t}/missing/x.mp4"], "does not exist"),
    (["--video", "{t}/file/x.mp4"], "does not exist"),
    (["--out", "{t}/o", "--seconds", "3"], "--seconds applies to --video only"),
    ([], "--out FOLDER (images) or --video FILE"),
])
def test_bad_video_options_exit_2_with_one_line(tmp_path, capsys, args, msg):
    (tmp_path / "file").write_text("x")
    argv = ["render", "--preset", "seed-question"] + [x.replace("{t}", str(tmp_path)) for x in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gaussviz: error: ") and msg in err, err
    assert not leftovers(tmp_path)


def test_video_does_not_overwrite_without_force(tmp_path, capsys, read_video):
    out = tmp_path / "v.gif"
    out.write_bytes(b"mine")
    args = ["render", "--preset", "seed-question", "--video", str(out), "--seconds", "0.3", "--fps", "10",
            "--width", "200"]
    assert main(args) == 2
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main([*args, "--force"]) == 0
    assert read_video(out)[0].shape[0] == 3 and not leftovers(tmp_path)


def test_a_failing_encoder_exits_2_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    exe = tmp_path / "ffmpeg"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(exe))
    out = tmp_path / "v.mp4"
    assert main(["render", "--preset", "seed-question", "--video", str(out), "--seconds", "1", "--fps", "10",
                 "--width", "320"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "encoder (ffmpeg) failed" in err and str(out) in err
    assert not out.exists() and not leftovers(tmp_path)


class _Terminal:
    """stderr as a terminal (the progress bar shows only there)."""

    def __init__(self) -> None:
        self.text = ""

    def isatty(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.text += s
        return len(s)

    def flush(self) -> None:
        pass


def test_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    args = ["render", "--preset", "seed-question", "--seconds", "0.5", "--fps", "10", "--width", "200"]
    assert main([*args, "--video", str(tmp_path / "a.gif")]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bar
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    assert main([*args, "--video", str(tmp_path / "b.gif")]) == 0
    assert "b.gif (5 frames)" in term.text and "100.0%" in term.text and "5/5" in term.text
    assert term.text.endswith("\n")
