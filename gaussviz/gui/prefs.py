"""What the window remembers between launches (QSettings): one place for every key.

Qt stores them in the user's config folder (on Linux ``~/.config/gaussviz/gaussviz.ini``,
``XDG_CONFIG_HOME`` respected). Every value read back is checked: a missing, damaged or
out-of-range one gives the default, so a bad file never stops the app. The tests point
QSettings at a temporary folder (``QSettings.setPath``), never at the user's.

Remembered: the window's geometry, the splitter between the controls and the plots (and
whether the control panel was opened or closed by hand), the tab, the last folders
(sessions, exports, CSV data), the PNG export width, the recent sessions (File > Open
Recent), the colour scheme asked for (View > Colours) and whether exports keep the
window's colours.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import QtCore

ORGANIZATION = "gaussviz"
APPLICATION = "gaussviz"

GEOMETRY = "window/geometry"
SPLITTER = "window/splitter"
CONTROLS = "window/controls"  # the control panel opened or closed by hand, or "auto" (by the width)
TAB = "window/tab"
FOLDER_SESSIONS = "folders/sessions"
FOLDER_EXPORT = "folders/export"
FOLDER_CSV = "folders/csv"
PNG_WIDTH = "export/png_width"
RECENT = "recent/files"
SCHEME = "view/color_scheme"
EXPORT_COLORS = "export/colors"

#: File > Open Recent lists at most this many files, newest first
MAX_RECENT = 8


def store() -> QtCore.QSettings:
    """The settings file (an INI file in the user's config folder; the tests move it with setPath)."""
    return QtCore.QSettings(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                            ORGANIZATION, APPLICATION)


def set_value(key: str, value: object) -> None:
    s = store()
    s.setValue(key, value)
    s.sync()


def get_bytes(key: str) -> QtCore.QByteArray | None:
    v = store().value(key)
    return v if isinstance(v, QtCore.QByteArray) and not v.isEmpty() else None


def get_int(key: str, default: int, lo: int, hi: int) -> int:
    v = store().value(key)
    try:
        n = int(str(v))
    except (TypeError, ValueError):
        return default
    return n if lo <= n <= hi else default


def get_choice(key: str, default: str, allowed) -> str:
    v = store().value(key)
    return v if isinstance(v, str) and v in allowed else default


def get_folder(key: str) -> str:
    """A remembered folder that still exists, or ``""`` (the dialog then starts where Qt likes)."""
    v = store().value(key)
    return v if isinstance(v, str) and v and os.path.isdir(v) else ""


def remember_folder(key: str, path: str | os.PathLike) -> None:
    """Remember the folder of ``path`` (a file) or ``path`` itself (a folder)."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    set_value(key, str(folder.resolve()))


def recent_files() -> list[str]:
    """File > Open Recent: the sessions opened or saved last, newest first, those that still exist."""
    v = store().value(RECENT)
    items = [v] if isinstance(v, str) else v if isinstance(v, list) else []
    out = []
    for p in items:
        if isinstance(p, str) and p and p not in out and os.path.isfile(p):
            out.append(p)
    return out[:MAX_RECENT]


def add_recent(path: str | os.PathLike) -> list[str]:
    p = str(Path(path).resolve())
    items = [p] + [q for q in recent_files() if q != p]
    set_value(RECENT, items[:MAX_RECENT])
    return items[:MAX_RECENT]


def clear_recent() -> None:
    set_value(RECENT, [])


__all__ = ["CONTROLS", "EXPORT_COLORS", "FOLDER_CSV", "FOLDER_EXPORT", "FOLDER_SESSIONS", "GEOMETRY", "MAX_RECENT",
           "PNG_WIDTH", "RECENT", "SCHEME", "SPLITTER", "TAB", "add_recent", "clear_recent", "get_bytes",
           "get_choice", "get_folder", "get_int", "recent_files", "remember_folder", "set_value", "store"]
