"""The contract of the package split: the numerical core never imports Qt (napari's "layers" rule)."""

import pkgutil
import subprocess
import sys

import gaussviz.core


def test_importing_every_core_module_loads_no_qt():
    names = [f"gaussviz.core.{m.name}" for m in pkgutil.iter_modules(gaussviz.core.__path__)]
    assert len(names) >= 15
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph',"
        " 'superqt', 'shiboken6', 'gaussviz') and not m.startswith('gaussviz.core') and m != 'gaussviz')\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"the core pulled in: {out.stdout.strip()}"
