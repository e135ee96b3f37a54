"""A session saved after live changes replays to the same numbers (issue 4: reproduce a run exactly)."""

import math

import numpy as np
import pytest

from gaussviz.core.session import read_session as load_session
from gaussviz.core.session import replay

from .conftest import WAIT_MS

pytestmark = pytest.mark.qt_log_ignore(r"propagateSizeHints")


def shown(w):
    return w.shown_snapshot


def test_session_after_dragging_alpha_and_switching_update_replays_exactly(qtbot, make_window, tmp_path):
    w = make_window("ill-conditioned-natural", running=True, speed=0.0)
    qtbot.waitUntil(lambda: shown(w).step > 2000, timeout=WAIT_MS)
    w.panel.alpha.slider.setValue(math.log10(0.005))  # a drag mid-run
    qtbot.waitUntil(lambda: shown(w).chain.settings["alpha"] == 0.005, timeout=WAIT_MS)
    w.worker.send("parameterization", "log-cholesky")
    qtbot.waitUntil(lambda: shown(w).chain.settings["parameterization"] == "log-cholesky", timeout=WAIT_MS)
    w.worker.send("running", False)
    qtbot.waitUntil(lambda: not w.worker.running, timeout=WAIT_MS)
    step = w.worker.latest()[1].step
    qtbot.waitUntil(lambda: shown(w).step == step, timeout=WAIT_MS)
    snap = shown(w)
    path = tmp_path / "s.json"
    assert w.save_session(path)
    s = load_session(path)
    assert s.steps == snap.step
    assert [c["field"] for c in s.changes] == ["alpha", "parameterization"]
    assert s.estimator.alpha == 0.02 and s.estimator.parameterization == "natural"  # as at step 0
    again = replay(s).snapshot()
    np.testing.assert_allclose(again.chain.mean, snap.chain.mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(again.chain.cov, snap.chain.cov, rtol=1e-12, atol=1e-12)
    assert again.chain.settings == snap.chain.settings


def test_opened_session_replays_its_changes_and_the_controls_follow(qtbot, make_window, tmp_path):
    import json

    from gaussviz.core.presets import get_preset
    from gaussviz.core.session import to_json

    d = json.loads(to_json(get_preset("ill-conditioned-natural")))
    d["changes"] = [{"step": 500, "chain": 0, "field": "alpha", "value": 0.004},
                    {"step": 800, "chain": 0, "field": "parameterization", "value": "log-cholesky"}]
    d["steps"] = 3000
    d["speed"] = 0.0  # replayed as fast as possible
    path = tmp_path / "timeline.json"
    path.write_text(json.dumps(d))
    w = make_window("seed-question", running=False)
    assert w.open_session(path)
    w.set_running(True)
    qtbot.waitUntil(lambda: shown(w).step > 1000, timeout=WAIT_MS)
    # the run has the changes, and so do the controls (mirrored, not sent back)
    assert shown(w).chain.settings["alpha"] == 0.004
    assert shown(w).chain.settings["parameterization"] == "log-cholesky"
    qtbot.waitUntil(lambda: w.settings.estimator.alpha == 0.004, timeout=WAIT_MS)
    assert w.settings.estimator.parameterization == "log-cholesky"
    assert w.panel.alpha.edit.text() == "0.004"
    w.set_running(False)
    qtbot.waitUntil(lambda: not w.worker.running, timeout=WAIT_MS)
    out = tmp_path / "again.json"
    assert w.save_session(out)
    saved = json.loads(out.read_text())
    assert saved["changes"] == d["changes"]  # replayed once each, no echoes
    assert saved["estimator"]["alpha"] == 0.02
