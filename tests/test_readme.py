"""The README's install commands are the ones CI runs (issue 13): a fresh Debian/Ubuntu machine, a venv
(PEP 668 refuses pip into the system Python), no bare ``python`` (Debian has only ``python3``)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _install_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Install and run", 1)[1].split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_ci_runs_the_readmes_test_command_verbatim_then_the_fresh_install():
    blocks = _install_blocks()
    test_cmd = next(b for b in blocks if "pytest" in b)
    lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln and not ln.startswith("#")]
    assert test_cmd in lines
    assert lines.index(test_cmd) < lines.index("bash .ci/fresh-install")


def test_the_commands_work_on_a_fresh_debian():
    blocks = _install_blocks()
    assert blocks[0].startswith("git clone ") and "&& cd gaussviz" in blocks[0]
    app = next(b for b in blocks if b.endswith(".venv/bin/gaussviz"))
    for cmd in (app, next(b for b in blocks if "pytest" in b)):
        assert "python3 -m venv .venv" in cmd and "bash .ci/install-deps" in cmd
        assert not re.search(r"(^|&& )python ", cmd), cmd  # no bare `python` (Debian has python3 only)
        assert "pip install" not in cmd.replace(".venv/bin/python -m pip install", "")  # never the system pip
    assert any("pipx install ." in b for b in blocks)
    assert "python3-venv" in (ROOT / ".ci" / "install-deps").read_text()
    assert "xvfb-run" in (ROOT / "README.md").read_text()
