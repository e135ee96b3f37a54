"""Test-wide settings: Qt offscreen, and no test may leave a thread running."""

import os
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# kernels compile in-process, not interpreted beside a helper process (gui/warmup.py; its own tests turn it on)
os.environ.setdefault("GAUSSVIZ_WARMUP", "0")
# what the app remembers (QSettings) goes to a throw-away folder, never the user's: for the windows these
# tests open in subprocesses; in-process, tests/gui/conftest.py gives each test a folder of its own
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gaussviz-test-config-")

import pytest
from hypothesis import settings as hypothesis_settings

# CI must be repeatable: there hypothesis replays a fixed set of examples
# (locally it explores new ones each run; GAUSSVIZ_PROPERTY_SCALE searches deeper).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(autouse=True)
def no_thread_left_running():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not extra, f"test left threads running: {extra}"


@pytest.fixture
def read_video():
    """(frames, metadata) of an MP4 or GIF through imageio's v3 API. imageio-ffmpeg's reader leaves
    the pipes of an ffmpeg that finished first unclosed (a ResourceWarning, an error here): ignored
    while reading."""
    import gc
    import warnings

    import imageio.v3 as iio
    import numpy as np

    def read(path):
        kw = {"plugin": "FFMPEG"} if str(path).endswith(".mp4") else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            with iio.imopen(path, "r", **kw) as f:
                meta = f.metadata()  # first: asked after the frames, it restarts the reader
                frames = np.stack(list(f.iter()))[..., :3]
            gc.collect()
        if not str(path).endswith(".mp4"):
            meta["durations"] = [iio.immeta(path, index=i)["duration"] for i in range(frames.shape[0])]
        return frames, meta

    return read
