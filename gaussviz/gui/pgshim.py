"""Start-up shims for pyqtgraph and PySide6: the same behaviour, less work before the first frame (issue 13).

pyqtgraph's Qt names are resolved on first use instead of all at import.

``import pyqtgraph`` copies every name of PySide6's QtCore, QtGui and QtWidgets
(about 750) into its own modules ``pyqtgraph.Qt.QtCore`` and so on, and each
name's first lookup makes PySide6 build that class: 0.2-0.3 s of a start-up
whose floor is ~1.1 s (issue 13), for a window that uses a few dozen classes.
Those three modules are empty files in pyqtgraph; ``install`` puts in their
place, before pyqtgraph is imported, modules that look a name up in PySide6 the
first time it is asked for and keep it. The copy loop (``_copy_attrs``) only
asks whether a name exists, which these modules answer without building it.

It is applied only when it changes nothing else: pyqtgraph not yet imported,
PySide6 as its binding, and its three modules still empty files.

``import pyqtgraph`` also imports ~45 modules gaussviz never uses: parameter trees (through the
colour-map, data-filter and scatter-plot widgets), an image viewer, bar graphs, ROIs, colour
bars, a remote-process view's multiprocessing library and more, ~80 ms of start-up.
``install`` puts a placeholder in their place (``DEFERRED``); the real module is imported the
first time one of its names is asked for (``pg.ImageView``, ``pyqtgraph.multiprocess.Process``,
an import of the module itself), so nothing that uses them sees a difference. Only for
pyqtgraph versions whose ``__init__`` imports them the way the placeholders expect
(``_deferrable``).

After each import PySide6 asks whether the new module uses PySide6 (for its ``__feature__``
switches) by reading the module's source with ``inspect.getsource``, which also keeps every
source in ``linecache``: ~0.15 ms a module, for ~200 modules before the first frame and ~400
more (numba's) while the kernels load. ``quick_feature_check`` gives the same answer from a
plain read of the file.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import re
import sys
import threading
import types
import weakref

#: pyqtgraph's modules that mirror PySide6's (empty files in pyqtgraph 0.13-0.14)
MIRRORED = ("QtCore", "QtGui", "QtWidgets")
#: the pyqtgraph function that fills them at import
COPY_LOOP = "_copy_attrs"


def lazy_module(name: str, source: types.ModuleType) -> types.ModuleType:
    """A module whose names are ``source``'s, each looked up (and kept) when first used.

    A plain module with a module-level ``__getattr__`` (PEP 562), not a subclass: a name once kept
    is then found as fast as in any module (a subclass's lookups go through Python-level slots)."""
    module = types.ModuleType(name)
    namespace = module.__dict__

    def __getattr__(attr: str) -> object:
        if attr.startswith("__") and attr not in ("__version__", "__version_info__"):
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        if sys._getframe(1).f_code.co_name == COPY_LOOP and attr in _names(source):
            # pyqtgraph's copy loop asks ``hasattr``: yes, and nothing is built now
            return True
        value = getattr(source, attr)
        namespace[attr] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | _names(source))

    namespace["__getattr__"] = __getattr__
    namespace["__dir__"] = __dir__
    return module


_NAMES: dict[str, frozenset[str]] = {}


def _names(source: types.ModuleType) -> frozenset[str]:
    names = _NAMES.get(source.__name__)
    if names is None:
        names = _NAMES[source.__name__] = frozenset(dir(source))
    return names


@functools.cache
def _pyqtgraph_root() -> str:
    """pyqtgraph's folder, found without importing it ("" if it is not installed)."""
    try:
        spec = importlib.util.find_spec("pyqtgraph")
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.submodule_search_locations:
        return ""
    return next(iter(spec.submodule_search_locations))


def _mirrors_are_empty() -> bool:
    if not _pyqtgraph_root():
        return False
    root = os.path.join(_pyqtgraph_root(), "Qt")
    for name in MIRRORED:
        path = os.path.join(root, name, "__init__.py")
        try:
            with open(path, encoding="utf-8") as f:
                if f.read().strip():
                    return False
        except OSError:
            return False
    return True


#: pyqtgraph modules its ``__init__`` star-imports (``from .X import *``) and gaussviz never uses (nor
#: do the pyqtgraph modules it uses: those would load them anyway); their names are found through
#: pyqtgraph's module ``__getattr__`` once asked for
STAR_DEFERRED = (
    *(f"pyqtgraph.graphicsItems.{n}" for n in (
        "ArrowItem BoxplotItem ColorBarItem CurvePoint DateAxisItem ErrorBarItem FillBetweenItem "
        "GradientEditorItem GradientLegend GraphItem GridItem HistogramLUTItem ImageItem IsocurveItem "
        "LinearRegionItem PColorMeshItem ROI ScaleBar TargetItem VTickGroup").split()),
    *(f"pyqtgraph.widgets.{n}" for n in (
        "BusyCursor CheckTable ColorButton ColorMapWidget ComboBox DataFilterWidget DataTreeWidget DiffTreeWidget "
        "FeedbackButton GradientWidget HistogramLUTWidget JoystickButton LayoutWidget "
        "ProgressDialog RawImageWidget ScatterPlotWidget SpinBox TableWidget TreeWidget ValueLabel "
        "VerticalLabel").split()),
    "pyqtgraph.imageview",  # a package: its placeholder answers ``__path__`` without loading it
)
#: imported by a module (``from .. import multiprocess as mp``) that uses it only inside its methods
ATTR_DEFERRED = ("pyqtgraph.multiprocess",)
DEFERRED = STAR_DEFERRED + ATTR_DEFERRED
#: pyqtgraph versions whose ``__init__`` was read for this (``_deferrable`` also checks the lines)
DEFERRABLE_VERSIONS = re.compile(r"0\.1[34]\.")


#: taking a placeholder out of ``sys.modules`` (the import itself runs outside it, under the import
#: system's own per-module lock)
_SWAP = threading.Lock()


def _load(name: str) -> types.ModuleType:
    """The real module in place of its placeholder (imported now if it was not yet).

    Always through the import system: a module another thread is importing is waited for (its
    module lock), never handed over half made."""
    module = sys.modules.get(name)
    with _SWAP:  # a placeholder is taken out once (a real module another thread put in, never)
        if module is not None and vars(module).get("__deferred__", False) and sys.modules.get(name) is module:
            del sys.modules[name]
    try:
        real = importlib.import_module(name)
    except BaseException:
        if module is not None and vars(module).get("__deferred__", False):
            sys.modules.setdefault(name, module)
        raise
    parent, _, child = name.rpartition(".")
    if isinstance(getattr(sys.modules.get(parent), child, None), types.ModuleType):
        setattr(sys.modules[parent], child, real)  # the package's attribute: the real module now
    # submodules imported while the placeholder stood in were set on it, not on the package
    for full, sub in list(sys.modules.items()):
        above, _, below = full.rpartition(".")
        if above == name and sub is not None and not hasattr(real, below):
            setattr(real, below, sub)
    return real


def placeholder(name: str) -> types.ModuleType:
    """A module standing in for ``name`` until one of its names is asked for.

    It has the real module's spec, file (and, for a package, path), so ``find_spec``, a walk
    of ``sys.modules`` or the import of a submodule does not load it. Asked for ``__all__`` by
    pyqtgraph's own ``from .X import *``, it answers "nothing" (pyqtgraph's module
    ``__getattr__`` finds those names later); any other name imports the real module and
    answers from it."""
    module = types.ModuleType(name)
    namespace = module.__dict__
    namespace["__deferred__"] = True
    folder = os.path.join(_pyqtgraph_root(), *name.split(".")[1:])
    package = os.path.isdir(folder)
    path = os.path.join(folder, "__init__.py") if package else folder + ".py"
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[folder] if package else None)
    namespace.update(__spec__=spec, __file__=path, __loader__=getattr(spec, "loader", None),
                     __package__=name if package else name.rpartition(".")[0])
    if package:
        namespace["__path__"] = [folder]

    def __getattr__(attr: str) -> object:
        if package and _is_submodule(folder, attr):
            # a submodule's name: the import system imports it (loading the package now, while
            # the submodule is imported, would run the submodule twice)
            raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        if _initializing():
            # pyqtgraph's own import: its ``from .X import *`` gets nothing (and pyqtgraph a module
            # ``__getattr__`` for those names; the package, its attribute); the import system's
            # other questions, no
            if attr == "__all__" and name in STAR_DEFERRED:
                caller = sys._getframe(1).f_globals
                if caller.get("__name__") == "pyqtgraph":
                    caller.setdefault("__getattr__", _pyqtgraph_getattr)
                    caller.setdefault("__dir__", _pyqtgraph_dir)
                    parent, _, child = name.rpartition(".")
                    if parent in sys.modules and not hasattr(sys.modules[parent], child):
                        setattr(sys.modules[parent], child, module)
                    return []
            if attr.startswith("__"):
                raise AttributeError(f"module {name!r} has no attribute {attr!r}")
        if attr == "__all__" or not attr.startswith("__"):
            return getattr(_load(name), attr)
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    namespace["__getattr__"] = __getattr__
    return module


def _exported(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    return list(names) if names is not None else [n for n in vars(module) if not n.startswith("_")]


def _load_all() -> types.ModuleType:
    """Every deferred module loaded and its names in pyqtgraph's namespace (``import *``, ``dir``)."""
    pg = sys.modules["pyqtgraph"]
    for name in STAR_DEFERRED:
        real = _load(name)
        for attr in _exported(real):
            if attr not in vars(pg):
                setattr(pg, attr, getattr(real, attr))
    for name in ATTR_DEFERRED:
        _load(name)
    return pg


def _pyqtgraph_getattr(attr: str) -> object:
    """pyqtgraph's module ``__getattr__``: a name of a deferred module (``pg.ImageView``), a deferred
    module itself (``pg.multiprocess``), and ``__all__`` for ``from pyqtgraph import *`` (pyqtgraph
    has none: every deferred name is put in its namespace first, and the import copies that)."""
    if _initializing():
        raise AttributeError(f"module 'pyqtgraph' has no attribute {attr!r}")
    if attr == "__all__":
        _load_all()
        raise AttributeError("module 'pyqtgraph' has no attribute '__all__'")
    if f"pyqtgraph.{attr}" in DEFERRED:
        return _load(f"pyqtgraph.{attr}")
    if attr.startswith("__") or _is_submodule(_pyqtgraph_root(), attr):
        raise AttributeError(f"module 'pyqtgraph' has no attribute {attr!r}")  # a submodule: the import system's
    pg = sys.modules["pyqtgraph"]
    for name in STAR_DEFERRED:
        real = _load(name)
        if attr in _exported(real):
            value = getattr(real, attr)
            setattr(pg, attr, value)
            return value
    raise AttributeError(f"module 'pyqtgraph' has no attribute {attr!r}")


def _pyqtgraph_dir() -> list[str]:
    """pyqtgraph's ``dir()``: with every deferred name (they are loaded for it)."""
    return sorted(vars(_load_all()))


def _is_submodule(folder: str, attr: str) -> bool:
    """Whether ``attr`` names a module or package in the package folder ``folder``."""
    return os.path.isfile(os.path.join(folder, attr + ".py")) or os.path.isdir(os.path.join(folder, attr))


def _initializing() -> bool:
    """Whether pyqtgraph's ``__init__`` is running (the import system marks its spec meanwhile)."""
    spec = getattr(sys.modules.get("pyqtgraph"), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _deferrable(root: str) -> bool:
    """Whether pyqtgraph's ``__init__`` (in folder ``root``) imports the deferred modules as expected."""
    source = _read(os.path.join(root, "__init__.py"))
    version = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", source, re.M)
    if version is None or not DEFERRABLE_VERSIONS.match(version.group(1) + "."):
        return False
    for name in STAR_DEFERRED:
        line = f"from .{name.removeprefix('pyqtgraph.')} import *"
        if re.search(rf"^{re.escape(line)}$", source, re.M) is None:
            return False
    return all(os.path.isfile(os.path.join(root, *n.split(".")[1:]) + ".py")
               or os.path.isfile(os.path.join(root, *n.split(".")[1:], "__init__.py")) for n in DEFERRED)


def quick_feature_check() -> bool:
    """PySide6's per-import check answered from the file's bytes (True if applied).

    Applied after ``import shiboken6`` (which loads the check) and before PySide6's modules: the
    answer is the one PySide6 computes (does the source contain "PySide6"?), without tokenizing
    the file or keeping its lines; anything but a readable ``.py`` file goes to PySide6's own."""
    import shiboken6  # noqa: F401  (loads shibokensupport.feature)

    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "reads_bytes", False):
        return original is not None

    def _mod_uses_pyside(module: types.ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as f:
                    return b"PySide6" in f.read()
            except OSError:
                pass
        return original(module)

    _mod_uses_pyside.reads_bytes = True
    feature._mod_uses_pyside = _mod_uses_pyside
    return True


def install() -> bool:
    """Put the lazy modules in place if pyqtgraph is yet to be imported; True if they were."""
    if "pyqtgraph" in sys.modules or os.environ.get("PYQTGRAPH_QT_LIB", "PySide6") != "PySide6":
        return False
    if any(other in sys.modules for other in ("PyQt6", "PyQt5", "PySide2")) or not _mirrors_are_empty():
        return False
    import PySide6.QtCore
    import PySide6.QtGui
    import PySide6.QtWidgets

    for name in MIRRORED:
        full = f"pyqtgraph.Qt.{name}"
        if full not in sys.modules:
            sys.modules[full] = lazy_module(full, getattr(PySide6, name))
    if _deferrable(_pyqtgraph_root()):
        for name in DEFERRED:
            sys.modules.setdefault(name, placeholder(name))
    return True


class DeferredViewMenu:
    """Stands in for a ViewBox's context menu (pyqtgraph's ``ViewBoxMenu``) until it is first used.

    pyqtgraph builds each view's menu with the view: two axis forms of ~20 widgets, 5-8 ms a
    plot, ~35 ms for the window's six plots at start-up (issue 13), for a menu most sessions never
    open. The real menu is built at the first use of any of its attributes (a right-click pops
    it up) and then answers everything; until then only the list of linkable views is kept.
    """

    __slots__ = ("_real", "_view", "_views")

    def __init__(self, view: object) -> None:
        self._view = weakref.ref(view)
        self._views: list[weakref.ref] | None = None
        self._real = None

    def setViewList(self, views: list) -> None:
        """ViewBox.updateViewLists' call: the views the axis forms can link to (kept weakly)."""
        if self._real is not None:
            self._real.setViewList(views)
        else:
            self._views = [weakref.ref(v) for v in views]

    def real(self) -> object:
        """The real menu (built now if it was not yet)."""
        if self._real is None:
            menus = importlib.import_module("pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu")
            view = self._view()
            if view is None:
                raise RuntimeError("the plot of this menu was deleted")
            self._real = menus.ViewBoxMenu(view)
            if self._views is not None:
                self._real.setViewList([v for v in (r() for r in self._views) if v is not None])
                self._real.updateState()  # its forms were filled before it had the list
            if getattr(view, "menu", None) is self:
                view.menu = self._real
        return self._real

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(self.real(), attr)


def defer_view_menus() -> bool:
    """ViewBoxes made from now on get a ``DeferredViewMenu`` (True if pyqtgraph's ViewBox builds its
    menu as expected: ``self.menu = ViewBoxMenu(self)`` through its module's name)."""
    module = importlib.import_module("pyqtgraph.graphicsItems.ViewBox.ViewBox")  # the module, not the class
    current = getattr(module, "ViewBoxMenu", None)
    if current is DeferredViewMenu:
        return True
    if getattr(current, "__name__", "") != "ViewBoxMenu" or "ViewBoxMenu(self)" not in _read(module.__file__):
        return False
    module.ViewBoxMenu = DeferredViewMenu
    return True


#: pyqtgraph's ``AxisItem._updateLabel``, as read for ``skip_unchanged_axis_labels``
UPDATE_LABEL = ("self.label.setHtml(self.labelString())", "self._adjustSize()", "self.picture = None",
                "self.update()")


def skip_unchanged_axis_labels() -> bool:
    """Axes re-parse their label's HTML only when its text changed (True if applied).

    pyqtgraph's ``_updateLabel`` sets the label's HTML on every style, range or visibility change:
    ~290 times while the window's six plots are built, 200 of them with the text it already has,
    each ~80 us of rich-text layout (~16 ms of start-up, issue 13). The rest of the method (size,
    picture, repaint) still runs every time."""
    axis_class = importlib.import_module("pyqtgraph.graphicsItems.AxisItem").AxisItem
    original = axis_class._updateLabel
    if getattr(original, "skips_unchanged", False):
        return True
    try:
        body = [line.strip() for line in inspect.getsource(original).splitlines()[1:] if line.strip()]
    except (OSError, TypeError):
        return False
    if tuple(body) != UPDATE_LABEL:
        return False

    def _updateLabel(self) -> None:
        html = self.labelString()
        doc = self.label.document()
        # the text, and the label's document as it was left (a text set on the label directly
        # changes its revision: then it is set again)
        shown = (html, id(doc), doc.revision())
        if self.__dict__.get("_label_shown") != shown:
            original(self)
            doc = self.label.document()
            self._label_shown = (html, id(doc), doc.revision())
            return
        self._adjustSize()
        self.picture = None
        self.update()

    _updateLabel.skips_unchanged = True
    axis_class._updateLabel = _updateLabel
    return True


def _read(path: str | None) -> str:
    """A source file's text ("" if it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, TypeError):
        return ""
