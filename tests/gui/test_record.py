"""File > Record: the plots area into an MP4 or GIF while the window runs (offscreen); the encoder
thread behind a bounded queue drops frames rather than stalling the GUI; nothing half-written, no
thread left."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6 import QtWidgets

from gaussviz.core import video as core_video

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


@pytest.fixture
def no_dialogs(monkeypatch):
    msgs: list[str] = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "warning", lambda *a, **k: msgs.append(a[2]))
    return msgs


def test_record_mp4_while_running(make_window, qtbot, tmp_path, read_video, no_dialogs):
    w = make_window("what-am-i-missing", running=True, show=True)
    qtbot.waitUntil(lambda: w.shown_snapshot is not None and w.shown_snapshot.step > 0, timeout=20_000)
    out = tmp_path / "rec.mp4"
    assert not w.status_rec.isVisible()
    t0 = time.perf_counter()
    assert w.start_recording(out)
    qtbot.waitUntil(lambda: w.status_rec.isVisible(), timeout=2000)
    assert w.status_rec.text().startswith("● REC 0:0") and w.record_action.text() == "Stop &recording"
    drawn = w.frames_drawn
    qtbot.wait(2000)
    steps_seen = w.shown_snapshot.step
    r = w.stop_recording()
    wall = time.perf_counter() - t0
    assert r is not None and r.path == out and r.error == ""
    assert w.frames_drawn > drawn  # the window kept drawing while recording
    assert not w.status_rec.isVisible() and w.record_action.text() == "&Record video…"
    assert "recorded" in w.statusBar().currentMessage()
    frames, meta = read_video(out)
    assert frames.shape[0] == r.frames and meta["fps"] == pytest.approx(30.0)
    assert 1.9 <= r.seconds <= wall + 0.05  # real time: the 2 s waited and the stop
    h, wd = frames.shape[1:3]
    assert (wd, h) == w.recorder.size and wd % 2 == 0 and h % 2 == 0
    assert abs(wd - w.plots.width()) <= 1 and abs(h - w.plots.height()) <= 1
    f = frames.astype(int)
    assert np.abs(f[0] - f[-1]).mean() > 0.5 and steps_seen > 10  # the run moved on screen
    assert not leftovers(tmp_path) and not w.recorder.recording


def test_record_gif_is_scaled_to_640(make_window, qtbot, tmp_path, read_video, no_dialogs):
    w = make_window("ill-conditioned-natural", running=True, show=True)
    out = tmp_path / "rec.gif"
    assert w.start_recording(out)
    qtbot.wait(700)
    r = w.stop_recording()
    assert r.path == out
    frames, meta = read_video(out)
    assert frames.shape[2] <= 640 and frames.shape[0] == r.frames
    assert sum(meta["durations"]) == pytest.approx(1000 * r.frames / 30, abs=10)


def test_a_slow_encoder_drops_frames_not_the_window(make_window, qtbot, tmp_path, monkeypatch, read_video,
                                                    no_dialogs):
    slow = core_video.VideoWriter.append

    def append(self, frame, repeat=1):
        time.sleep(0.5)  # an encoder far slower than the frames come
        slow(self, frame, repeat)

    monkeypatch.setattr(core_video.VideoWriter, "append", append)
    offer = core_video.BackgroundEncoder.offer
    waits: list[float] = []

    def timed_offer(self, frame, slots=1):
        t = time.perf_counter()
        try:
            return offer(self, frame, slots)
        finally:
            waits.append(time.perf_counter() - t)

    monkeypatch.setattr(core_video.BackgroundEncoder, "offer", timed_offer)
    w = make_window("what-am-i-missing", running=True, show=True)
    out = tmp_path / "slow.mp4"
    assert w.start_recording(out, max_queue=1)
    drawn = w.frames_drawn
    t0 = time.perf_counter()
    qtbot.wait(1500)
    assert w.frames_drawn - drawn >= 2  # the window drew on
    # handing a frame to the encoder never waited for it (a blocking put would take ~0.5 s)
    assert len(waits) >= 3 and max(waits) < 0.1, waits
    r = w.stop_recording()
    elapsed = time.perf_counter() - t0
    assert r.dropped > 0 and "dropped" in w.statusBar().currentMessage()
    frames, _ = read_video(out)
    # every frame time is there (a dropped frame's time shows the frame before it)
    assert frames.shape[0] == r.frames and 1.4 * 30 <= r.frames <= elapsed * 30 + 2


def test_record_into_a_missing_folder_says_so(make_window, tmp_path, no_dialogs):
    w = make_window("seed-question")
    (tmp_path / "file").write_text("x")
    for bad in (tmp_path / "missing" / "x.mp4", tmp_path / "file" / "x.mp4", tmp_path / "x.avi"):
        assert not w.start_recording(bad)
        assert not w.recorder.recording and not w.status_rec.isVisible()
    assert len(no_dialogs) == 3 and "does not exist" in no_dialogs[0] and ".mp4 or .gif" in no_dialogs[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_record_does_not_overwrite_unless_told(make_window, tmp_path, no_dialogs):
    w = make_window("seed-question")
    out = tmp_path / "x.mp4"
    out.write_bytes(b"mine")
    assert not w.start_recording(out) and "already exists" in no_dialogs[0]
    assert out.read_bytes() == b"mine"


def test_a_failing_encoder_leaves_no_file(make_window, qtbot, tmp_path, monkeypatch, no_dialogs):
    exe = tmp_path / "ffmpeg"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(exe))
    w = make_window("what-am-i-missing", running=True, show=True)
    out = tmp_path / "rec.mp4"
    assert w.start_recording(out)
    qtbot.wait(800)
    r = w.stop_recording()
    assert r.path is None and "encoder (ffmpeg) failed" in r.error
    assert "Recording failed" in w.statusBar().currentMessage() and no_dialogs
    assert not out.exists() and not leftovers(tmp_path)


def test_closing_the_window_finishes_the_recording(make_window, qtbot, tmp_path, read_video, no_dialogs):
    w = make_window("what-am-i-missing", running=True, show=True)
    out = tmp_path / "closed.mp4"
    assert w.start_recording(out)
    qtbot.wait(600)
    w.close()
    assert not w.recorder.recording and not w.recorder.timer.isActive()
    assert not any(t.name == "gaussviz-video-encoder" for t in __import__("threading").enumerate())
    frames, _ = read_video(out)
    assert frames.shape[0] >= 10 and not leftovers(tmp_path)


def test_stop_from_the_menu_finishes_in_the_background(make_window, qtbot, tmp_path, read_video, no_dialogs,
                                                       monkeypatch):
    w = make_window("ill-conditioned-natural", running=True, show=True)
    out = tmp_path / "menu.mp4"
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    w.record_action.trigger()  # start: asks for the file
    assert w.recorder.recording
    qtbot.wait(800)
    with qtbot.waitSignal(w.recorder.sig_stopped, timeout=30_000) as blocker:
        w.record_action.trigger()  # stop: returns at once, the file is finished in a thread
        assert not w.recorder.recording and not w.status_rec.isVisible()
    r = blocker.args[0]
    assert r.path == out and "recorded" in w.statusBar().currentMessage()
    w.recorder.join()
    assert not w.recorder.finishing
    assert read_video(out)[0].shape[0] == r.frames
