"""Each preset is paced for people: its event happens 3-20 s after the start at its pace, and its
settings (pace, step axis) travel in sessions; old sessions without them still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gaussviz.core.presets import EVENT_KINDS, PRESETS, get_preset
from gaussviz.core.settings import STEP_AXES, Settings, build_run, from_dict, to_dict


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_has_a_pace_at_which_its_event_comes_3_to_20_s_in(name):
    p = PRESETS[name]
    assert p.pace > 0 and p.event.kind in EVENT_KINDS and p.event.text
    assert 3.0 <= p.event.step / p.pace <= 20.0, (name, p.event.step, p.pace)
    assert p.step_axis in STEP_AXES
    s = get_preset(name)
    assert s.speed == p.pace  # the window starts at the pace
    assert (s.view.step_axis, s.view.step_window) == (p.step_axis, p.step_window)
    assert f"{p.event.step:,}" in p.watch_text() and "updates/s" in p.watch_text()


def _run_to(name: str, step: int):
    run = build_run(get_preset(name))
    while run.step < step and not run.all_diverged:
        run.advance(min(10_000, step - run.step))
    return run


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_event_happens_at_the_update_it_names(name):
    """The event is real for the preset's seed: the pace is measured, not guessed."""
    ev = PRESETS[name].event
    if ev.kind == "diverge":
        before = _run_to(name, ev.step - 1)
        assert before.estimator.divergence(0) is None
        run = _run_to(name, ev.step + 1)
        first = min(d.step for d in run.estimator.divergences() if d is not None)
        assert first == ev.step, (name, first)
        return
    run = _run_to(name, ev.step)
    snap = run.snapshot()
    if ev.kind == "converge":
        kls = [c.kl for c in snap.chains if c.divergence is None]
        assert kls and max(kls) < ev.kl, (name, kls)
    elif ev.kind == "crawl":
        start = get_preset(name).start.cov_scale
        sigma = float(snap.chains[0].cov[0, 0])
        if start >= 1:  # start too large: still about where it started
            assert abs(sigma - start) / start < 0.05, sigma
        else:  # start too small: thrown far up by the first update, and still up there
            first = build_run(get_preset(name))
            first.advance(1)
            jumped = float(first.snapshot().chains[0].cov[0, 0])
            assert jumped > 100 and abs(sigma - jumped) / jumped < 0.05, (jumped, sigma)
    elif ev.kind == "lag":
        assert snap.chains[ev.chain].kl > ev.kl > snap.chains[0].kl
    elif ev.kind == "average":
        c = snap.chains[ev.chain]
        assert c.avg_kl < ev.kl < c.kl, (name, c.avg_kl, c.kl)


def test_start_too_large_text_is_true_at_its_pace():
    p = PRESETS["start-too-large"]
    assert "after 1e5 samples" in p.explanation and "still about 99" in p.explanation
    seconds = 100_000 / p.pace
    assert 3 <= seconds <= 20
    run = _run_to("start-too-large", 100_000)
    assert 98.5 < float(run.snapshot().chains[0].cov[0, 0]) < 99.5


def test_pace_and_step_axis_travel_in_a_session_and_old_sessions_load():
    s = get_preset("drifting-target")
    d = to_dict(s)
    assert d["speed"] == 300.0 and d["view"] == {"step_axis": "window", "step_window": 3000, "pspace_sigma": "auto"}
    back = from_dict(json.loads(json.dumps(d)))
    assert back.speed == 300.0 and back.view.step_axis == "window" and back.view.step_window == 3000
    # a session written before the pace and the view existed
    old = dict(d)
    del old["view"], old["speed"]
    s_old = from_dict(old)
    assert s_old.speed == 0.0 and s_old.view.step_axis == "linear"
    assert to_dict(s_old)["target"] == d["target"]


@pytest.mark.parametrize("view, key", [
    ({"step_axis": "sideways", "step_window": 10}, "step axis"),
    ({"step_axis": "window", "step_window": 3}, "step window"),
    ({"step_axis": "window", "step_window": 2.5}, "step_window"),
    ({"step_axis": "log", "zoom": 2}, "zoom"),
])
def test_a_bad_view_in_a_session_names_what_is_wrong(view, key):
    d = to_dict(Settings())
    d["view"] = view
    with pytest.raises(ValueError, match=key):
        from_dict(d)


def test_view_defaults():
    s = Settings().validate()
    assert s.view.step_axis == "linear" and s.view.step_window >= 10
    assert np.isfinite(s.speed)
