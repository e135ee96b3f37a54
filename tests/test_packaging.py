"""Packaging (issue 13): PEP 639 licence metadata, the launcher's entry point and .desktop file, the
citation; the wheel itself is built and installed in a clean venv by .ci/fresh-install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import gaussviz

ROOT = Path(__file__).resolve().parent.parent


def test_license_metadata_is_pep_639():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))  # PEP 639: the expression


def test_gui_entry_point_and_desktop_file_agree():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["gui-scripts"] == {"gaussviz-gui": "gaussviz.cli:gui_main"}
    desktop = dict(ln.split("=", 1) for ln in (ROOT / "resources" / "gaussviz.desktop").read_text().splitlines()
                   if "=" in ln)
    assert desktop["Exec"].split()[0] == desktop["TryExec"] == "gaussviz-gui"
    assert desktop["Icon"] == "gaussviz" and desktop["Terminal"] == "false"
    for n in (16, 32, 48, 64, 128, 256, 512):
        assert (ROOT / "resources" / "icons" / f"gaussviz-{n}.png").is_file()


def test_citation_names_this_version():
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r'^version: "?' + re.escape(gaussviz.__version__) + r'"?$', cff, re.M)
    assert re.search(r"^license: MIT$", cff, re.M) and "cff-version: 1.2.0" in cff
