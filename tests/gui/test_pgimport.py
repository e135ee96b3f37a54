"""pyqtgraph imported through gui/pgimport: Qt classes are created on first use, not all at
start-up, and every name reaches the same object as before (each case in a fresh interpreter:
the import happens once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = r"""
import json, sys
import gaussviz.gui  # installs the import hook
import pyqtgraph as pg
import PySide6.QtCore as C, PySide6.QtGui as G, PySide6.QtWidgets as W
created = {"QUndoView": "QUndoView" in vars(W), "QTextDocumentWriter": "QTextDocumentWriter" in vars(G)}
missing = [None]  # a sentinel, then the names missing
mismatch, names = [], 0
for src, mirror in ((C, pg.Qt.QtCore), (G, pg.Qt.QtGui), (W, pg.Qt.QtWidgets)):
    for n in dir(src):
        if n.startswith("__") or "." in n:  # PySide6 lists a few nested names it cannot give
            continue
        names += 1
        got = getattr(mirror, n, missing)
        if got is missing:
            missing.append(n)
        elif got is not getattr(src, n):
            mismatch.append(n)
hooks = sum(type(f).__name__ == "_Finder" for f in sys.meta_path)
print(json.dumps({"created": created, "mismatch": mismatch, "missing": missing[1:], "names": names,
                  "hooks": hooks,
                  "dir": [len(dir(m)) for m in (C, G, W)], "version": pg.Qt.VERSION_INFO}))
"""

PLAIN_DIR = r"""
import json
import PySide6.QtCore as C, PySide6.QtGui as G, PySide6.QtWidgets as W
print(json.dumps([len(dir(m)) for m in (C, G, W)]))
"""


def _run(code: str, **env: str) -> dict | list:
    full = {k: v for k, v in os.environ.items() if k != "GAUSSVIZ_PLAIN_PYQTGRAPH"}
    full.update(env, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_qt_classes_are_created_on_first_use_and_every_name_reaches_the_same_object():
    got = _run(PROBE)
    # classes nothing used are not created by importing pyqtgraph
    assert got["created"] == {"QUndoView": False, "QTextDocumentWriter": False}
    # pyqtgraph's copies of Qt's modules give every name PySide6 has, the same objects (its
    # own copy misses a few that PySide6 lists later, e.g. QtCore.Connection)
    assert got["names"] > 600 and got["mismatch"] == [] and got["missing"] == []
    assert got["version"].startswith("PySide6")
    # PySide6's modules list their names again afterwards (not none), and the hook is gone
    assert all(a >= b > 100 for a, b in zip(got["dir"], _run(PLAIN_DIR), strict=True))
    assert got["hooks"] == 0


def test_the_plain_import_creates_them_all():
    """The check above can fail: pyqtgraph's own import creates every class."""
    got = _run(PROBE, GAUSSVIZ_PLAIN_PYQTGRAPH="1")
    assert got["created"] == {"QUndoView": True, "QTextDocumentWriter": True}
    assert got["mismatch"] == [] and got["hooks"] == 0 and got["missing"]


def test_nothing_is_hooked_when_pyqtgraph_came_first():
    got = _run("import pyqtgraph\n" + PROBE)
    assert got["hooks"] == 0 and got["created"]["QUndoView"] is True
