"""The layering as a contract: import-linter keeps it on the real code and breaks on violations.

A lint that cannot fail is not a check, so each contract is also run on a copy of
the package with one deliberate violation planted, and must report it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(root: Path) -> subprocess.CompletedProcess:
    """import-linter with the project's contracts on the package found under ``root``."""
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-c", LINT, "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_contracts_hold_on_the_code():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("cli above gui above core KEPT", "the core never imports Qt KEPT",
                 "no import cycles among the modules of any package KEPT"):
        assert name in r.stdout


def _plant(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of the package with ``line`` appended to ``module`` (a path under gaussviz/)."""
    shutil.copytree(ROOT / "gaussviz", tmp_path / "gaussviz", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "gaussviz" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate violation\n")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("core/metrics.py", "from ..gui import style", "cli above gui above core BROKEN"),
    ("core/metrics.py", "import PySide6.QtCore", "the core never imports Qt BROKEN"),
    ("core/history.py", "import pyqtgraph", "the core never imports Qt BROKEN"),
    ("gui/widgets.py", "from .. import cli", "cli above gui above core BROKEN"),
    ("core/reference.py", "from . import runloop", "no import cycles among the modules of any package BROKEN"),
    ("gui/style.py", "from . import window", "no import cycles among the modules of any package BROKEN"),
], ids=["core-imports-gui", "core-imports-qt", "core-imports-pyqtgraph", "gui-imports-cli", "core-cycle",
        "gui-cycle"])
def test_a_violation_breaks_its_contract(tmp_path, module, line, broken):
    r = lint(_plant(tmp_path, module, line))
    assert r.returncode != 0
    assert broken in r.stdout, r.stdout + r.stderr
