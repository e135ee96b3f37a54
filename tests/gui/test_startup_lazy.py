"""What start-up leaves for later (issue 13): pyqtgraph modules gaussviz never uses, the tabs not
shown, the plots' context menus, labels laid out again with the same text, and PySide6's source
reading on every import (gui/pgshim, gui/widgets.LazyPages). Each must change nothing a user or
a caller can see, only when the work is done."""

from __future__ import annotations

import sys

import pytest
from PySide6 import QtWidgets

from gaussviz.gui import pgshim
from gaussviz.gui.widgets import LazyPages

from .test_startup_imports import _fresh as fresh


def _fresh(code: str) -> dict:
    """``code`` in a new interpreter, the kernels compiled in place (no helper process)."""
    return fresh(code, GAUSSVIZ_WARMUP="0")


def test_deferred_pyqtgraph_modules_load_when_first_asked_for():
    out = _fresh("""
        import json, sys
        import gaussviz.gui
        import pyqtgraph as pg
        from gaussviz.gui import pgshim
        waiting = [n for n in pgshim.DEFERRED if vars(sys.modules[n]).get("__deferred__")]
        trees_early = "pyqtgraph.parametertree" in sys.modules
        # names of deferred modules, through pyqtgraph's namespace: the real classes
        from pyqtgraph.graphicsItems.ImageItem import ImageItem
        real = sys.modules["pyqtgraph.graphicsItems.ImageItem"]
        image_item = pg.ImageItem is ImageItem and "__deferred__" not in vars(real)
        from pyqtgraph.imageview.ImageView import ImageView  # a submodule of a deferred package
        submodule = sys.modules["pyqtgraph.imageview.ImageView"]
        image_view = pg.ImageView is ImageView and submodule.ImageView is ImageView  # run once
        image_view = image_view and sys.modules["pyqtgraph.imageview"].ImageView is ImageView
        colour_map = pg.ColorMapWidget.__module__ == "pyqtgraph.widgets.ColorMapWidget"
        remote = pg.RemoteGraphicsView.__name__ == "RemoteGraphicsView"
        import pyqtgraph.multiprocess as mp
        process = mp.Process.__name__ == "Process"
        from pyqtgraph.widgets.ScatterPlotWidget import ScatterPlotWidget
        scatter = ScatterPlotWidget.__name__ == "ScatterPlotWidget"
        try:
            pg.NoSuchName
            missing = "no error"
        except AttributeError as e:
            missing = str(e)
        app = pg.mkQApp()
        w = pg.PlotWidget(); w.plot([1.0, 2.0]); roi = pg.ROI([0, 0], [1, 1]); w.addItem(roi)
        import pyqtgraph.exporters
        svg = pyqtgraph.exporters.SVGExporter(w.getPlotItem()).export(toBytes=True)
        print(json.dumps(dict(waiting=len(waiting), all=len(pgshim.DEFERRED), trees_early=trees_early,
                              image_item=image_item, image_view=image_view, colour_map=colour_map,
                              remote=remote, process=process, scatter=scatter, missing=missing,
                              svg=b"<svg" in bytes(svg))))
    """)
    assert out["waiting"] == out["all"] >= 40  # every one a placeholder after ``import pyqtgraph``
    assert out["trees_early"] is False  # the parameter trees (~40 ms) are not imported with it
    assert out["image_item"] and out["image_view"] and out["colour_map"] and out["remote"]
    assert out["process"] and out["scatter"] and out["svg"]
    assert "NoSuchName" in out["missing"]


def test_a_window_start_leaves_tabs_menus_and_exporters_for_later():
    out = _fresh("""
        import json, sys
        from gaussviz.gui.qtapp import application
        app = application(headless=True)
        from gaussviz.core.presets import get_preset
        from gaussviz.gui.window import MainWindow
        from gaussviz.gui.pgshim import DeferredViewMenu
        w = MainWindow(get_preset("seed-question"), running=False)
        w.show(); app.processEvents()
        loaded = {m: m in sys.modules for m in ("gaussviz.gui.stability_tab", "gaussviz.gui.mp_tab",
                                                 "pyqtgraph.parametertree", "pyqtgraph.exporters")}
        menus = [type(p.getViewBox().menu).__name__ for p in w.plots.plot_items.values()]
        titles = [w.tabs.tabText(i) for i in range(w.tabs.count())]
        # the context menu of a plot: built on first use, with pyqtgraph's entries
        vb = w.plots.plot_items["mean"].getViewBox()
        actions = [a.text() for a in vb.getContextMenus(None)]
        built_menu = type(vb.menu).__name__
        # opening a tab builds it in its place
        w.tabs.setCurrentIndex(1)
        stability = type(w.tabs.currentWidget()).__name__
        same = w.tabs.currentWidget() is w.stability and w.tabs.currentIndex() == 1
        mp = type(w.mp_tab).__name__  # asked for: built, not shown
        index_after = w.tabs.currentIndex()
        titles_after = [w.tabs.tabText(i) for i in range(w.tabs.count())]
        w.close(); w.shutdown()
        from gaussviz.gui.qtapp import dispose
        dispose(w)  # not left to PySide's exit clean-up
        print(json.dumps(dict(loaded=loaded, menus=menus, titles=titles, actions=actions, built_menu=built_menu,
                              stability=stability, same=same, mp=mp, index_after=index_after,
                              titles_after=titles_after)))
    """)
    assert not any(out["loaded"].values()), out["loaded"]
    assert out["menus"] == ["DeferredViewMenu"] * 6
    assert out["titles"] == out["titles_after"] == ["Live", "Stability map", "Marchenko–Pastur"]
    assert out["actions"][:2] == ["View All", "X axis"] and out["built_menu"] == "ViewBoxMenu"
    assert out["stability"] == "StabilityTab" and out["same"]
    assert out["mp"] == "MPTab" and out["index_after"] == 1


def test_pyside_import_check_gives_pysides_answer_for_every_module():
    """The quick check (bytes of the file) answers as PySide6's own (its source, tokenized)."""
    assert pgshim.quick_feature_check() is True
    feature = sys.modules["shibokensupport.feature"]
    quick = feature._mod_uses_pyside
    assert getattr(quick, "reads_bytes", False)
    original = next(c.cell_contents for c in quick.__closure__ if callable(c.cell_contents))
    modules = [m for m in list(sys.modules.values()) if m is not None]
    assert len(modules) > 300
    uses = [m.__name__ for m in modules if quick(m)]
    assert "gaussviz.gui.window" in uses and "numpy" not in uses
    assert [m.__name__ for m in modules if quick(m) != original(m)] == []


def test_axis_labels_are_laid_out_only_when_their_text_changes(qtbot):
    import pyqtgraph as pg

    from gaussviz.gui import style

    style.configure_pyqtgraph()
    assert getattr(pg.AxisItem._updateLabel, "skips_unchanged", False)
    axis = pg.AxisItem("bottom")
    axis.setLabel("step")
    calls: list[str] = []
    real = axis.label.setHtml
    axis.label.setHtml = lambda html: (calls.append(html), real(html))[1]
    axis.setRange(0, 10)
    axis.showLabel(True)
    axis.setLabel("step")  # the same text: no new layout
    assert calls == []
    assert "step" in axis.label.toPlainText()
    axis.setLabel("updates")
    assert len(calls) == 1 and axis.label.toPlainText().strip() == "updates"
    axis.setLabel("updates", units="s")
    assert len(calls) == 2 and "(s)" in axis.label.toPlainText()


def test_lazy_pages_build_on_first_show_in_place(qtbot):
    tabs = QtWidgets.QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QtWidgets.QLabel("first"), "First")
    pages = LazyPages(tabs)
    built: list[str] = []

    def make(name: str):
        def build() -> QtWidgets.QWidget:
            built.append(name)
            return QtWidgets.QLabel(name)
        return build

    pages.add("b", "Second", make("b"))
    pages.add("c", "Third", make("c"))
    seen: list[int] = []
    tabs.currentChanged.connect(seen.append)
    assert built == [] and pages.built("b") is None and tabs.count() == 3
    tabs.setCurrentIndex(2)  # shown: built, in its place, still current
    assert built == ["c"] and tabs.currentIndex() == 2 and tabs.currentWidget() is pages.built("c")
    assert tabs.currentWidget().text() == "c" and seen == [2]  # one change of tab, not three
    b = pages.page("b")  # asked for: built, not shown
    assert built == ["c", "b"] and tabs.indexOf(b) == 1 and tabs.currentIndex() == 2
    assert pages.page("b") is b and built == ["c", "b"]  # once
    assert [tabs.tabText(i) for i in range(3)] == ["First", "Second", "Third"]
    with pytest.raises(KeyError):
        pages.page("nope")


def test_deferred_modules_are_found_every_way_pyqtgraph_offers_them():
    """``from pyqtgraph import *``, ``dir``, a package's attribute, ``pg.<module>``, ``find_spec``,
    and eight threads asking at once: as without the placeholders."""
    out = _fresh("""
        import importlib.util, json, sys, threading
        import gaussviz.gui
        import pyqtgraph as pg
        spec = importlib.util.find_spec("pyqtgraph.widgets.SpinBox") is not None
        still = vars(sys.modules["pyqtgraph.widgets.SpinBox"]).get("__deferred__", False)  # not loaded by it
        errors = []
        gate = threading.Barrier(8)
        def ask(i):
            gate.wait()
            try:
                if i % 2:
                    from pyqtgraph.widgets.ColorMapWidget import ColorMapWidget
                else:
                    pg.ColorMapWidget.__name__
            except Exception as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
        [t.start() for t in threads]; [t.join() for t in threads]
        package = pg.graphicsItems.ROI.ROI.__name__ == "ROI" and hasattr(pg.widgets, "ColorButton")
        import pyqtgraph.graphicsItems.GradientEditorItem
        gradients = len(pyqtgraph.graphicsItems.GradientEditorItem.Gradients) > 5
        modules = [pg.multiprocess.__name__, pg.imageview.__name__]
        star = {}
        exec("from pyqtgraph import *", star)
        print(json.dumps(dict(spec=spec, still=still, errors=errors, package=package, gradients=gradients,
                              modules=modules, star=all(n in star for n in ("ImageView", "ROI", "SpinBox", "PlotItem")),
                              dir=all(n in dir(pg) for n in ("ImageItem", "ColorBarItem", "PlotItem")))))
    """)
    assert out["spec"] and out["still"] and out["errors"] == []
    assert out["package"] and out["gradients"] and out["star"] and out["dir"]
    assert out["modules"] == ["pyqtgraph.multiprocess", "pyqtgraph.imageview"]


def test_a_deferred_menu_shows_the_linked_view_when_first_opened(qtbot):
    import pyqtgraph as pg

    from gaussviz.gui import style

    style.configure_pyqtgraph()
    w = pg.GraphicsLayoutWidget()
    qtbot.addWidget(w)
    a = w.addPlot(name="lazy-menu-A")
    b = w.addPlot(name="lazy-menu-B")
    b.setXLink("lazy-menu-A")
    assert type(b.vb.menu).__name__ == "DeferredViewMenu"
    combo = b.vb.menu.real().ctrl[0].linkCombo
    assert combo.currentText() == "lazy-menu-A" and b.vb.linkedView(0) is a.vb


def test_an_axis_label_written_directly_is_set_again(qtbot):
    import pyqtgraph as pg

    from gaussviz.gui import style

    style.configure_pyqtgraph()
    p = pg.PlotItem()
    p.setLabel("bottom", "x")
    axis = p.getAxis("bottom")
    axis.label.setPlainText("stale")
    p.setLabel("bottom", "x")
    assert axis.label.toPlainText().strip() == "x"


def test_a_page_that_fails_to_build_stays_pending(qtbot):
    tabs = QtWidgets.QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QtWidgets.QLabel("first"), "First")  # the current page (as the window's Live tab)
    pages = LazyPages(tabs)
    attempts: list[int] = []

    def build() -> QtWidgets.QWidget:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first build fails")
        return QtWidgets.QLabel("ok")

    pages.add("p", "Page", build)
    with pytest.raises(RuntimeError, match="first build fails"):
        pages.page("p")
    assert pages.built("p") is None and tabs.count() == 2
    assert pages.page("p").text() == "ok" and tabs.widget(1) is pages.built("p")
