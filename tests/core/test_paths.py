"""numba's cache lives in the user's cache folder (platformdirs), never next to the installed package:
a read-only install loads the kernels from there instead of compiling them on every start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import gaussviz
from gaussviz.core.paths import resource_path

PACKAGE = Path(gaussviz.__file__).resolve().parent

#: imports the kernels, calls one (compiled or loaded from the cache), reports where numba caches
#: and whether this call compiled or hit the cache
PROBE = """
import json, sys
import numba
from gaussviz.core import kernels as kn
kn.learning_rate(0.1, 0, 3)
print(json.dumps({"cache_dir": numba.config.CACHE_DIR, "file": kn.__file__,
                  "hits": sum(kn.learning_rate.stats.cache_hits.values()),
                  "misses": sum(kn.learning_rate.stats.cache_misses.values())}))
"""


def _probe(tmp_path: Path, pythonpath: Path, pre: str = "", **env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(pythonpath), **env_extra)
    r = subprocess.run([sys.executable, "-c", pre + PROBE], env=env, cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _copy_package(tmp_path: Path) -> Path:
    """A fresh install of the package elsewhere (no __pycache__, no numba files)."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE, site / "gaussviz", ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return site


def test_cache_goes_to_the_user_cache_folder_and_is_used_on_the_next_start(tmp_path):
    site = _copy_package(tmp_path)
    first = _probe(tmp_path, site)
    assert first["cache_dir"] == str(tmp_path / "cache" / "gaussviz" / "numba")
    assert first["file"].startswith(str(site))
    assert first["misses"] == 1 and first["hits"] == 0
    assert list((tmp_path / "cache" / "gaussviz" / "numba").rglob("kernels.learning_rate-*.nbi"))
    assert not list(site.rglob("*.nbi")) and not list(site.rglob("*.nbc"))  # nothing next to the package
    # A read-only install: the package folder could not take a cache; the next start loads, not compiles.
    for p in sorted(site.rglob("*"), reverse=True):
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        second = _probe(tmp_path, site)
    finally:
        for p in site.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
    assert second["hits"] == 1 and second["misses"] == 0


def test_a_numba_cache_dir_the_user_set_wins(tmp_path):
    mine = tmp_path / "mine"
    got = _probe(tmp_path, PACKAGE.parent, NUMBA_CACHE_DIR=str(mine))
    assert got["cache_dir"] == str(mine)
    assert list(mine.rglob("kernels.learning_rate-*.nbi"))


def test_numba_imported_before_gaussviz_still_caches_in_the_user_folder(tmp_path):
    got = _probe(tmp_path, PACKAGE.parent, pre="import numba\n")
    assert got["cache_dir"] == str(tmp_path / "cache" / "gaussviz" / "numba")
    assert list((tmp_path / "cache" / "gaussviz" / "numba").rglob("kernels.learning_rate-*.nbi"))


def test_resources_are_found():
    assert resource_path("old_faithful.csv").is_file()
    assert resource_path("icons/gaussviz.svg").read_text().lstrip().startswith("<?xml")
    assert resource_path("gaussviz.desktop").is_file()
