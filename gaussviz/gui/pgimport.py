"""pyqtgraph imported without waking every Qt class (start-up, issue 13).

pyqtgraph (0.13-0.14) builds its own ``pyqtgraph.Qt.QtCore``/``QtGui``/``QtWidgets`` by copying
every name of PySide6's modules (``pyqtgraph/Qt/__init__.py``: ``_copy_attrs``). PySide6 6.7+
creates a class, and the Python enums of its nested types, only when it is first used: the copy
makes it create all ~1,500 of them. Measured on the 2-core machine: 0.1-0.3 s of every start
(cProfile: ~460 ms of enum creation), for classes the window never uses.

While pyqtgraph itself is imported, PySide6's three modules list no names (their ``__dir__``
returns nothing), so the copy copies nothing; pyqtgraph's three modules instead look every
name up in PySide6's on first use (a module ``__getattr__``, set before they run). Afterwards
PySide6's modules list their names again. The same objects are found either way: only when
they are created changes. If pyqtgraph was imported before (by a script or another library),
this does nothing.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from typing import Any

#: pyqtgraph's copies of Qt's modules -> the PySide6 modules they copy
MIRRORS = {"pyqtgraph.Qt.QtCore": "PySide6.QtCore", "pyqtgraph.Qt.QtGui": "PySide6.QtGui",
           "pyqtgraph.Qt.QtWidgets": "PySide6.QtWidgets"}


class _Loader(importlib.abc.Loader):
    """Runs the real loader of ``pyqtgraph`` (PySide6's modules listing no names meanwhile) or
    of one of its copies of Qt's modules (which then look names up in PySide6's)."""

    def __init__(self, real: Any, name: str) -> None:
        self.real = real
        self.name = name

    def create_module(self, spec):  # importlib's protocol
        return self.real.create_module(spec)

    def exec_module(self, module) -> None:
        if self.name in MIRRORS:
            source = sys.modules[MIRRORS[self.name]]
            module.__getattr__ = lambda attr: getattr(source, attr)
            self.real.exec_module(module)
            return
        qt = [sys.modules[m] for m in MIRRORS.values()]
        saved = [m.__dict__.get("__dir__") for m in qt]
        for m in qt:
            m.__dir__ = _no_names
        try:
            self.real.exec_module(module)
        finally:
            for m, d in zip(qt, saved, strict=True):
                if d is None:
                    m.__dict__.pop("__dir__", None)
                else:
                    m.__dir__ = d
            # its copies of Qt's modules were imported with it: the hook has done its work
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def _no_names() -> list[str]:
    return []


class _Finder(importlib.abc.MetaPathFinder):
    """Finds pyqtgraph and its copies of Qt's modules as usual, with a _Loader around the loader."""

    def find_spec(self, name, path, target=None):
        if name != "pyqtgraph" and name not in MIRRORS:
            return None
        if name == "pyqtgraph":
            for qt in MIRRORS.values():  # the modules pyqtgraph copies, imported first
                importlib.import_module(qt)
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _Loader(spec.loader, name)
        return spec


def install() -> None:
    """Let the next ``import pyqtgraph`` skip creating every Qt class (idempotent; nothing if
    pyqtgraph is imported already, or set GAUSSVIZ_PLAIN_PYQTGRAPH=1 to import it as it is)."""
    import os

    if "pyqtgraph" in sys.modules or os.environ.get("GAUSSVIZ_PLAIN_PYQTGRAPH"):
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


__all__ = ["MIRRORS", "install"]
