"""Where gaussviz keeps files of its own, and numba's cache among them.

numba caches compiled kernels next to their source by default: in a read-only
install (a system package, a shared venv) it cannot write there and compiles
every kernel on every start (tens of seconds). gaussviz puts the cache in the
user's cache folder instead (platformdirs: ``~/.cache/gaussviz/numba`` on Linux,
``XDG_CACHE_HOME`` respected), unless ``NUMBA_CACHE_DIR`` is set, which wins.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import user_cache_dir

APP_NAME = "gaussviz"


def package_dir() -> Path:
    """The installed (or checked-out) ``gaussviz`` package folder."""
    return Path(__file__).resolve().parent.parent


def resource_path(name: str) -> Path:
    """Path of a file in resources/: ``gaussviz/resources`` in an installed wheel, ``resources/`` beside the
    package in a checkout (``name`` may have folders: ``icons/gaussviz.svg``); docs/MATH.md is
    ``gaussviz/resources/MATH.md`` in a wheel, ``docs/`` in a checkout. ValueError if missing."""
    here = package_dir()
    for base in (here / "resources", here.parent / "resources", here.parent / "docs"):
        p = base / name
        if p.is_file():
            return p
    raise ValueError(f"resource {name!r} not found (looked in {here / 'resources'} and {here.parent / 'resources'})")


def cache_dir() -> Path:
    """The user's cache folder for gaussviz (not created here)."""
    return Path(user_cache_dir(APP_NAME, appauthor=False))


def numba_cache_dir() -> Path:
    """Where the compiled kernels go: ``NUMBA_CACHE_DIR`` if the user set it, else ``cache_dir()/numba``."""
    user = os.environ.get("NUMBA_CACHE_DIR")
    return Path(user) if user else cache_dir() / "numba"


def configure_numba_cache() -> Path:
    """Point numba's cache at ``numba_cache_dir()``; call it before the kernels are defined.

    Sets ``NUMBA_CACHE_DIR`` (numba reads it when it is imported and again before each
    compilation; child processes such as Dask workers inherit it) and, when numba was
    imported before gaussviz, numba's config as well. A ``NUMBA_CACHE_DIR`` the user set is kept.
    """
    path = numba_cache_dir()
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    config = sys.modules.get("numba.core.config")
    if config is not None:
        config.CACHE_DIR = str(path)  # type: ignore[attr-defined]
    return path


__all__ = ["APP_NAME", "cache_dir", "configure_numba_cache", "numba_cache_dir", "package_dir", "resource_path"]
