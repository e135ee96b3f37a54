"""Session files: the one reader and writer, for files that strangers made.

A session is ``Settings`` (every setting at update 0, plus the timeline of
live changes) and the number of updates run, as JSON. It travels as a
``.json`` file, inside a PNG gaussviz exported (text chunk ``gaussviz-session``)
or inside an exported SVG (``<metadata id="gaussviz-session">``).
``read_session`` reads all three, whatever the file's name says, and is what
the CLI, the window and ``gaussviz render`` use.

Everything read is untrusted: only regular files of a sane size, JSON without
NaN/Infinity, no absurdly deep nesting or number of digits, every value
checked by ``settings.from_dict`` with the same limits as the CLI. A problem is
a ``SessionError`` (a ValueError) naming the file and the key, never a
traceback.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .fileio import atomic_write_text
from .runloop import HEADLESS_CHUNK, RunLoop
from .settings import Settings, build_run, from_dict, to_dict
from .snapshot import Snapshot

#: the PNG text key and SVG metadata id that carry a session
SESSION_KEY = "gaussviz-session"
#: the largest session file (or image carrying one) read: a timeline of a few million live changes
MAX_SESSION_BYTES = 256 * 1024 * 1024
#: JSON nesting deeper than this is not a session (the deepest real one is 4)
MAX_DEPTH = 32
#: digits of a JSON integer (int64 has 19; beyond that it is not a count or a seed)
MAX_INT_DIGITS = 20
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class SessionError(ValueError):
    """A session file that cannot be used: ``str(e)`` is one line naming the file and the key."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# ------------------------------------------------------------------- writing
def _plain(x: Any, where: str) -> Any:
    """A JSON-ready copy (numpy values as Python ones); ValueError naming a non-finite number's key."""
    if isinstance(x, dict):
        return {k: _plain(v, f"{where}.{k}" if where else str(k)) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(x)]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        raise ValueError(f"session: '{where}' is {x!r}: a session stores finite numbers only")
    return x


def to_json(s: Settings) -> str:
    """The session's JSON; refuses NaN and inf (JSON has no such numbers; loading would fail)."""
    return json.dumps(_plain(to_dict(s), ""), indent=2, allow_nan=False)


def session_text(settings: Settings, steps_run: int | None = None) -> str:
    """The text of a session file: the settings (validated) with ``steps`` = the updates run."""
    s = settings.copy()
    if steps_run is not None:
        s.steps = int(steps_run)
    s.validate()
    return to_json(s) + "\n"


def shown_session_text(settings: Settings, snap: Snapshot | None) -> str:
    """The session of what a snapshot shows: the settings at update 0, the live changes made
    since (alpha dragged, update rule switched, ...) and the updates run, so that replaying
    it gives the same numbers. ``settings`` serve when the snapshot carries no session, and give
    how it is watched (the pace and the step axis: chosen while it runs, without a restart)."""
    if snap is not None and snap.session is not None:
        shown = from_dict(snap.session)
        shown.speed, shown.view = settings.speed, settings.copy().view
        return session_text(shown)
    return session_text(settings, int(snap.step) if snap is not None else 0)


def save_session(path: str | os.PathLike, settings: Settings, steps_run: int | None = None,
                 force: bool = False) -> Path:
    """Write a session file atomically; refuses to overwrite without ``force``."""
    return atomic_write_text(path, session_text(settings, steps_run), force=force)


def replay(settings: Settings, steps: int | None = None, chunk: int = HEADLESS_CHUNK,
           progress: Callable[[int], None] | None = None) -> RunLoop:
    """The run a session describes, run again to ``steps`` (default: the session's own) updates.

    Streams and kernels are chunk-size independent, so the estimates equal the
    original run's bit for bit (the reference MLE to round-off) however either was chunked.
    """
    return build_run(settings).run_to(settings.steps if steps is None else steps, progress, chunk)


# ------------------------------------------------------------------- reading
def _int(text: str) -> Any:
    digits = text.lstrip("-")
    if len(digits) > MAX_INT_DIGITS:
        # Not a count, step or seed: let the key's own check reject it ("must be an integer
        # from ...") rather than building a thousand-digit integer.
        return float("inf") if text[0] != "-" else float("-inf")
    return int(text)


def _depth(x: Any, limit: int) -> int:
    """Nesting depth of parsed JSON, stopping as soon as it passes ``limit`` (no deep recursion)."""
    stack = [(x, 1)]
    deepest = 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest
        if isinstance(v, dict):
            stack.extend((c, d + 1) for c in v.values() if isinstance(c, (dict, list)))
        elif isinstance(v, list):
            stack.extend((c, d + 1) for c in v if isinstance(c, (dict, list)))
    return deepest


def parse_json(text: str) -> Any:
    """JSON as a session may hold it; ValueError for deep nesting (huge integers read as inf)."""
    try:
        data = json.loads(text, parse_int=_int)  # NaN/Infinity parse; each key's check names them
    except json.JSONDecodeError as e:
        raise ValueError(f"session: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise ValueError(f"session: JSON nested more than {MAX_DEPTH} levels deep") from None
    if _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise ValueError(f"session: JSON nested more than {MAX_DEPTH} levels deep")
    return data


def from_json(text: str) -> Settings:
    """Settings from a session's JSON text; ValueError naming the key otherwise."""
    return from_dict(parse_json(text))


def _inflate(data: bytes, limit: int) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error as e:
        raise ValueError(f"a compressed PNG text chunk is damaged ({e})") from None
    if d.unconsumed_tail:
        raise ValueError(f"a PNG text chunk expands to more than {limit:,} bytes")
    return out


def png_text(data: bytes, limit: int = MAX_SESSION_BYTES) -> dict[str, list[str]]:
    """The text chunks (tEXt, zTXt, iTXt) of PNG bytes: key -> values, in file order.

    Pure Python (no Qt): the CLI and tests read exported PNGs without a GUI.
    """
    if not data.startswith(_PNG_MAGIC):
        raise ValueError("not a PNG file")
    out: dict[str, list[str]] = {}
    pos = len(_PNG_MAGIC)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        pos += 8
        if pos + length + 4 > len(data):
            raise ValueError("the PNG file is truncated")
        body = data[pos:pos + length]
        pos += length + 4  # + CRC
        if kind == b"IEND":
            break
        if kind not in (b"tEXt", b"zTXt", b"iTXt"):
            continue
        key, _, rest = body.partition(b"\0")
        if kind == b"tEXt":
            text = rest.decode("latin-1")
        elif kind == b"zTXt":
            text = _inflate(rest[1:], limit).decode("latin-1")
        else:
            if len(rest) < 2:
                raise ValueError("a PNG iTXt chunk is malformed")
            compressed, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _tkey, _, rest = rest.partition(b"\0")
            raw = _inflate(rest, limit) if compressed else rest
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("a PNG iTXt chunk is not UTF-8") from None
        out.setdefault(key.decode("latin-1"), []).append(text)
    return out


_SVG_META = re.compile(r'<metadata\s+id="' + SESSION_KEY + r'"\s*>(.*?)</metadata>', re.DOTALL)
_XML_ENTITIES = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&"}


def _svg_sessions(text: str) -> list[str]:
    # A regular expression, not an XML parser: a stranger's SVG cannot expand entities or fetch anything.
    return [re.sub(r"&(lt|gt|quot|apos|amp);", lambda m: _XML_ENTITIES[m.group(0)], m.group(1))
            for m in _SVG_META.finditer(text)]


def _read_bytes(path: str | os.PathLike) -> bytes:
    """A regular file's bytes, at most MAX_SESSION_BYTES; ValueError otherwise (no FIFO, device, folder)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise ValueError(f"cannot read the session file ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ValueError("cannot read the session file (Is a directory)")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("cannot read the session file (not a regular file: a device, pipe or socket "
                         "is never a session)")
    if st.st_size > MAX_SESSION_BYTES:
        raise ValueError(f"{st.st_size:,} bytes is too large for a session file "
                         f"(at most {MAX_SESSION_BYTES // 2**20} MB)")
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SESSION_BYTES + 1)
    except OSError as e:
        raise ValueError(f"cannot read the session file ({e.strerror or e})") from None
    if len(data) > MAX_SESSION_BYTES:
        raise ValueError(f"too large for a session file (at most {MAX_SESSION_BYTES // 2**20} MB)")
    return data


def session_json_of(data: bytes) -> str:
    """The session JSON in a file's bytes: a JSON file, a gaussviz PNG or a gaussviz SVG."""
    if data.startswith(_PNG_MAGIC):
        found = png_text(data).get(SESSION_KEY, [])
        what = "PNG"
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ValueError(f"not UTF-8 text: can't decode byte 0x{data[e.start]:02x} in position {e.start} "
                             f"(byte {e.start}); a session is JSON, or a PNG or SVG gaussviz exported") from None
        if "\x00" in text:
            raise ValueError("not a text file (it contains NUL bytes)")
        head = text.lstrip()[:256].lower()
        if not (head.startswith("<?xml") or head.startswith("<svg")):
            return text
        found = _svg_sessions(text)
        what = "SVG"
    if not found:
        raise ValueError(f"this {what} carries no session ({SESSION_KEY} metadata: was it exported by gaussviz?)")
    if len(found) > 1:
        raise ValueError(f"this {what} carries {len(found)} sessions; a gaussviz export carries exactly one")
    return found[0]


def read_session(path: str | os.PathLike) -> Settings:
    """Settings from a session file, a gaussviz PNG or SVG; ``SessionError`` naming the file otherwise."""
    try:
        return from_json(session_json_of(_read_bytes(path)))
    except ValueError as e:
        reason = str(e)
        raise SessionError(path, reason) from None


__all__ = [
    "MAX_SESSION_BYTES",
    "SESSION_KEY",
    "SessionError",
    "from_json",
    "parse_json",
    "png_text",
    "read_session",
    "replay",
    "save_session",
    "session_json_of",
    "session_text",
    "shown_session_text",
    "to_json",
]
