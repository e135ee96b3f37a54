"""What start-up and the kernels' loading made is moved out of the cyclic collector's reach, once:
a full collection walking it held the GUI thread 180-210 ms (gui/qtapp.freeze_long_lived)."""

from __future__ import annotations

import gc

from gaussviz.gui import qtapp


def test_the_kernels_loaded_freeze_what_exists_once(qtbot, make_window, monkeypatch):
    w = make_window("seed-question")
    monkeypatch.setattr(qtapp, "_FROZEN", set())
    before = gc.get_freeze_count()
    keep = [[i] for i in range(1000)]  # objects alive when the kernels are loaded
    w._warmed_up(True)
    after = gc.get_freeze_count()
    assert after >= before + len(keep)
    more = [[i] for i in range(1000)]
    w._warmed_up(True)  # a second warm-up (another dimension): nothing more is frozen
    assert gc.get_freeze_count() == after
    w._warmed_up(False)
    assert gc.get_freeze_count() == after and more
    gc.unfreeze()  # the test's own objects back in reach (the rest of the suite collects as usual)
