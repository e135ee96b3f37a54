"""Start-up: let pyqtgraph's Qt shim resolve PySide6 names on first use instead of all at import.

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
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

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


def _mirrors_are_empty() -> bool:
    try:
        spec = importlib.util.find_spec("pyqtgraph")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    root = os.path.join(next(iter(spec.submodule_search_locations)), "Qt")
    for name in MIRRORED:
        path = os.path.join(root, name, "__init__.py")
        try:
            with open(path, encoding="utf-8") as f:
                if f.read().strip():
                    return False
        except OSError:
            return False
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
    return True
