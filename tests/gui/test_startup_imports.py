"""Start-up's imports (issue 13): pyqtgraph's Qt names resolved on first use (gui/pgshim) and the
cyclic collector paused while heavy modules load (core.fileio.loading_modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from gaussviz.core.fileio import loading_modules
from gaussviz.gui import pgshim

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _fresh(code: str, **env: str) -> dict:
    """Run ``code`` in a new interpreter (pyqtgraph not yet imported), with ``env`` added to its
    environment; it prints one JSON line."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=ROOT, **env)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=180, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_pyqtgraph_finds_every_qt_name_but_builds_only_those_used():
    out = _fresh("""
        import json, sys
        import gaussviz.gui
        import pyqtgraph as pg
        import PySide6.QtCore, PySide6.QtGui, PySide6.QtWidgets
        from pyqtgraph.Qt import QtCore, QtGui, QtWidgets
        kept = {m.__name__: len(m.__dict__) for m in (QtCore, QtGui, QtWidgets)}
        same = (QtCore.QPointF is PySide6.QtCore.QPointF and QtGui.QPainter is PySide6.QtGui.QPainter
                and QtWidgets.QApplication is PySide6.QtWidgets.QApplication)
        from pyqtgraph.Qt.QtWidgets import QGraphicsView
        every = all(n in dir(m) for m, src in ((QtCore, PySide6.QtCore), (QtGui, PySide6.QtGui),
                                                (QtWidgets, PySide6.QtWidgets)) for n in dir(src))
        try:
            QtCore.NoSuchName
            missing = "no error"
        except AttributeError as e:
            missing = str(e)
        try:
            QtCore.__path__
            path = "has __path__"
        except AttributeError:
            path = "no __path__"
        # a plot drawn through the lazy modules
        app = pg.mkQApp()
        w = pg.PlotWidget(); w.plot([1.0, 3.0, 2.0]); w.resize(200, 150); w.show(); app.processEvents()
        image = w.grab().toImage()
        drawn = image.width() == 200 and len({image.pixel(x, 75) for x in range(0, 200, 5)}) > 1
        print(json.dumps(dict(kept=kept, same=same, view=QGraphicsView is PySide6.QtWidgets.QGraphicsView,
                              every=every, missing=missing, path=path, drawn=drawn,
                              version=QtCore.__version__ == PySide6.QtCore.__version__)))
    """)
    # 254 + 293 + 207 names in PySide6 6.10: only what pyqtgraph's import touches is built
    assert all(n < 120 for n in out["kept"].values()), out["kept"]
    assert out["same"] and out["view"] and out["every"] and out["version"] and out["drawn"]
    assert "NoSuchName" in out["missing"]
    assert out["path"] == "no __path__"  # not mistaken for a package


def test_the_lazy_modules_are_put_in_place_only_before_pyqtgraph(monkeypatch):
    import pyqtgraph  # noqa: F401  (imported by the suite already)

    before = {n: sys.modules[f"pyqtgraph.Qt.{n}"] for n in pgshim.MIRRORED}
    assert pgshim.install() is False  # too late: pyqtgraph's own modules stay as they are
    assert all(sys.modules[f"pyqtgraph.Qt.{n}"] is m for n, m in before.items())
    monkeypatch.delitem(sys.modules, "pyqtgraph")
    monkeypatch.setenv("PYQTGRAPH_QT_LIB", "PyQt6")
    assert pgshim.install() is False  # another binding asked for: nothing done
    assert all(sys.modules[f"pyqtgraph.Qt.{n}"] is m for n, m in before.items())


def test_the_lazy_module_answers_the_copy_loop_without_building(monkeypatch):
    import types

    source = types.ModuleType("source")
    built: list[str] = []

    class Source(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            built.append(name)
            return name.upper()

        def __dir__(self):
            return ["alpha", "beta"]

    source = Source("source")
    monkeypatch.setattr(pgshim, "_NAMES", {})
    lazy = pgshim.lazy_module("lazy", source)

    def _copy_attrs(src, dst):  # pyqtgraph's loop, verbatim
        for o in dir(src):
            if not hasattr(dst, o):
                setattr(dst, o, getattr(src, o))

    _copy_attrs(source, lazy)
    assert built == []  # nothing built by the copy
    assert lazy.alpha == "ALPHA" and built == ["alpha"]
    assert lazy.alpha == "ALPHA" and built == ["alpha"]  # kept: looked up once
    assert "alpha" in vars(lazy) and "beta" not in vars(lazy)


class _Collector:
    """Stands in for the ``gc`` module (the suite's window owns the real one: gui/qtapp)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def isenabled(self) -> bool:
        return self.enabled

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True


def test_loading_modules_pauses_the_collector_and_gives_it_back(monkeypatch):
    from gaussviz.core import fileio

    collector = _Collector(True)
    monkeypatch.setattr(fileio, "gc", collector)
    with loading_modules():
        assert not collector.enabled
    assert collector.enabled
    with pytest.raises(RuntimeError), loading_modules():
        raise RuntimeError("an import failed")
    assert collector.enabled
    collector.enabled = False
    with loading_modules():
        pass
    assert not collector.enabled  # was off: stays off (the window's collector owns it then)


def test_the_window_and_the_commands_load_with_the_lazy_modules():
    out = _fresh("""
        import json, sys
        import gaussviz.cli.entry  # what ``gaussviz`` imports first: no pyqtgraph yet
        early = "pyqtgraph" in sys.modules
        from gaussviz.gui.app import run_app  # what it imports for the window
        m = sys.modules["pyqtgraph.Qt.QtCore"]
        print(json.dumps(dict(early=early, lazy="__getattr__" in vars(m))))
    """)
    assert out == {"early": False, "lazy": True}
