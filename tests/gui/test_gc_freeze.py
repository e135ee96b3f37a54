"""What start-up and the kernels' loading made is moved out of the cyclic collector's reach, once:
a full collection walking it held the GUI thread 180-210 ms (gui/qtapp.freeze_long_lived)."""

from __future__ import annotations

import gc

from gaussviz.gui import qtapp


def test_the_kernels_loaded_freeze_what_exists_once(qtbot, make_window, monkeypatch):
    w = make_window("seed-question")
    monkeypatch.setattr(qtapp, "_FROZEN", set())
    try:
        before = gc.get_freeze_count()
        keep = [[i] for i in range(1000)]  # objects alive when the kernels are loaded
        w._warmed_up(True)
        after = gc.get_freeze_count()
        assert after >= before + len(keep)
        # a second warm-up (another dimension) freezes nothing more (frozen objects that die
        # still leave the count: it may only shrink)
        more = [[i] for i in range(1000)]
        w._warmed_up(True)
        assert gc.get_freeze_count() <= after
        w._warmed_up(False)
        assert gc.get_freeze_count() <= after and more
    finally:
        gc.unfreeze()  # back in reach (the rest of the suite collects as usual)
