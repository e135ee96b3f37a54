"""Issue 10, class 2: every value of a session is checked when the file is read, the timeline
included, with the limits of the CLI; special files, huge files, huge numbers, deep nesting and
images carrying sessions are refused. Each row is a file a stranger could send.

For each: ``read_session`` raises ``SessionError`` (never another exception), its message is
one bounded line naming the file and the key, and nothing blocks (a FIFO is not waited on).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import zlib
from pathlib import Path

import pytest

from gaussviz.core.presets import get_preset
from gaussviz.core.session import SessionError, read_session
from gaussviz.core.settings import to_dict

GOOD = to_dict(get_preset("seed-question"))
CSV_GOOD = to_dict(get_preset("old-faithful"))


def _set(base: dict, path: str, value) -> dict:
    data = json.loads(json.dumps(base))
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    node[last] = value
    return data


def _change(field, value, step=10, chain=0, **extra):
    return {"step": step, "chain": chain, "field": field, "value": value, **extra}


def _timeline(*changes) -> dict:
    d = json.loads(json.dumps(GOOD))
    d["changes"] = list(changes)
    d["steps"] = 100
    return d


BIG = "9" * 1000
#: (id, file text, fragments of the message)
HOSTILE = [
    # integers of a thousand digits where a number goes
    ("bigint-batch", json.dumps(GOOD).replace('"batch_size": 1', '"batch_size": ' + BIG),
     ["estimator.batch_size", "1,000 digits"]),
    ("bigint-seed", json.dumps(GOOD).replace('"seed": 0', '"seed": ' + BIG), ["target.seed", "1,000 digits"]),
    ("bigint-steps", json.dumps(_set(GOOD, "steps", 7)).replace('"steps": 7', '"steps": ' + BIG), ["steps"]),
    ("bigint-negative-scale", json.dumps(GOOD).replace('"cov_scale": 1.0', '"cov_scale": -' + BIG),
     ["start.cov_scale", "finite"]),
    ("bigint-change-value", json.dumps(_timeline(_change("batch_size", 7))).replace('"value": 7', '"value": ' + BIG),
     ["changes[0]", "batch_size"]),
    ("bigint-change-step", json.dumps(_timeline(_change("alpha", 0.1, step=3))).replace('"step": 3', '"step": ' + BIG),
     ["changes[0].step"]),
    ("bigint-format", json.dumps(GOOD).replace('"format": 1', '"format": ' + BIG), ["format"]),
    ("bigint-mean", json.dumps(_set(GOOD, "target.mean", 7)).replace('"mean": 7', '"mean": ' + BIG),
     ["target mean", "finite"]),
    # nesting
    ("nested-1e5-arrays", "[" * 100_000 + "]" * 100_000, ["nested"]),
    ("nested-objects-in-params", json.dumps(_set(GOOD, "target.params", {"x": 1})).replace(
        '{"x": 1}', '{"a": ' * 200 + "1" + "}" * 200), ["nested"]),
    ("nested-arrays-in-mean", json.dumps(_set(GOOD, "target.mean", 7)).replace(
        '"mean": 7', '"mean": ' + "[" * 60 + "]" * 60), ["nested"]),
    # CSV target parameters of the wrong type
    ("columns-nested-list", json.dumps(_set(CSV_GOOD, "target.params.columns", [[1]])), ["columns"]),
    ("columns-object", json.dumps(_set(CSV_GOOD, "target.params.columns", [{"a": 1}])), ["columns"]),
    ("columns-number", json.dumps(_set(CSV_GOOD, "target.params.columns", 5)), ["columns"]),
    ("columns-bool", json.dumps(_set(CSV_GOOD, "target.params.columns", [True])), ["columns"]),
    ("columns-too-many", json.dumps(_set(CSV_GOOD, "target.params.columns", list(range(60)))), ["columns"]),
    ("delimiter-newline", json.dumps(_set(CSV_GOOD, "target.params.delimiter", "\n")), ["delimiter"]),
    ("delimiter-number", json.dumps(_set(CSV_GOOD, "target.params.delimiter", 5)), ["delimiter"]),
    ("header-text", json.dumps(_set(CSV_GOOD, "target.params.header", "yes")), ["header"]),
    ("path-number", json.dumps(_set(CSV_GOOD, "target.params", {"path": 5})), ["path"]),
    ("path-empty", json.dumps(_set(CSV_GOOD, "target.params", {"path": ""})), ["path"]),
    ("path-and-dataset", json.dumps(_set(CSV_GOOD, "target.params", {"path": "/x.csv", "dataset": "old-faithful"})),
     ["path", "dataset", "exactly one"]),
    ("dataset-unknown", json.dumps(_set(CSV_GOOD, "target.params", {"dataset": "iris"})), ["iris"]),
    # the timeline's values, checked when read (not when the replay reaches them)
    ("change-batch-1e12-float", json.dumps(_timeline(_change("batch_size", 1e12))), ["changes[0]", "batch_size"]),
    ("change-batch-1e12-int", json.dumps(_timeline(_change("batch_size", 10**12))), ["changes[0]", "at most 100000"]),
    ("change-batch-zero", json.dumps(_timeline(_change("batch_size", 0))), ["changes[0]", "batch_size"]),
    ("change-alpha-5", json.dumps(_timeline(_change("alpha", 5.0))), ["changes[0]", "at most 1"]),
    ("change-alpha-text", json.dumps(_timeline(_change("alpha", "0.1"))), ["changes[0]", "alpha"]),
    ("change-alpha-nan", json.dumps(_timeline(_change("alpha", 0.1))).replace('"value": 0.1', '"value": NaN'),
     ["changes[0]", "alpha"]),
    ("change-alpha-subnormal", json.dumps(_timeline(_change("alpha", 1e-320))), ["changes[0]", "alpha", "at least"]),
    ("change-alpha-bool", json.dumps(_timeline(_change("alpha", True))), ["changes[0]", "alpha"]),
    ("change-sign-short", json.dumps(_timeline(_change("sign", ["loglik"]))), ["changes[0]", "sign"]),
    ("change-sign-bad-words", json.dumps(_timeline(_change("sign", ["x", "y"]))), ["changes[0]", "objective"]),
    ("change-sign-nested", json.dumps(_timeline(_change("sign", [["loglik"], "ascent"]))), ["changes[0]", "objective"]),
    ("change-parameterization-unknown", json.dumps(_timeline(_change("parameterization", "polar"))),
     ["changes[0]", "parameterization"]),
    ("change-parameterization-list", json.dumps(_timeline(_change("parameterization", ["covariance"]))),
     ["changes[0]", "parameterization"]),
    ("change-symmetrize-text", json.dumps(_timeline(_change("symmetrize", "yes"))), ["changes[0]", "symmetrize"]),
    ("change-schedule-number", json.dumps(_timeline(_change("schedule", 5))), ["changes[0]", "schedule"]),
    ("change-resume-value", json.dumps(_timeline(_change("resume", 1))), ["changes[0]", "resume"]),
    ("change-extra-key", json.dumps(_timeline(_change("alpha", 0.1, note="x"))), ["changes[0]", "keys"]),
    ("change-chain-out-of-range", json.dumps(_timeline(_change("alpha", 0.1, chain=5))), ["changes[0].chain"]),
    ("change-step-backwards", json.dumps(_timeline(_change("alpha", 0.1, step=9), _change("alpha", 0.1, step=3))),
     ["changes[1].step", "in order"]),
    ("change-step-huge", json.dumps(_timeline(_change("alpha", 0.1, step=10**13))), ["changes[0].step", "at most"]),
    ("change-field-unknown", json.dumps(_timeline(_change("speed", 1.0))), ["changes[0].field"]),
    ("changes-not-a-list", json.dumps(_set(GOOD, "changes", {"a": 1})), ["changes", "list"]),
    ("changes-entry-not-object", json.dumps(_set(GOOD, "changes", [5])), ["changes[0]"]),
    # other keys: types, ranges, sizes
    ("preset-list", json.dumps(_set(GOOD, "preset", ["x"])), ["preset"]),
    ("preset-number", json.dumps(_set(GOOD, "preset", 5)), ["preset"]),
    ("preset-long", json.dumps(_set(GOOD, "preset", "x" * 1000)), ["preset"]),
    ("preset-newline", json.dumps(_set(GOOD, "preset", "a\nb")), ["preset"]),
    ("speed-huge", json.dumps(_set(GOOD, "speed", 1e300)), ["speed"]),
    ("steps-huge", json.dumps(_set(GOOD, "steps", 10**13)), ["steps"]),
    ("seed-negative", json.dumps(_set(GOOD, "target.seed", -1)), ["seed"]),
    ("seed-beyond-int64", json.dumps(_set(GOOD, "target.seed", 2**64)), ["seed"]),
    ("compare-100", json.dumps(_set(GOOD, "compare", [GOOD["estimator"]] * 100)), ["compare"]),
    ("alpha-tiny", json.dumps(_set(GOOD, "estimator.alpha", 1e-300)), ["alpha", "at least"]),
    ("mean-1e400", json.dumps(_set(GOOD, "start.mean", 7)).replace('"mean": 7', '"mean": [1e400]'),
     ["start mean", "finite"]),
    ("mixture-weights-object", json.dumps(_set(_set(GOOD, "target.kind", "mixture"), "target.params",
                                               {"weights": {"a": 1}, "means": [[0], [1]], "covs": [[[1]], [[1]]]})),
     ["mixture", "weights"]),
    ("mixture-means-text", json.dumps(_set(_set(GOOD, "target.kind", "mixture"), "target.params",
                                           {"weights": [0.5, 0.5], "means": "abc", "covs": [[[1]], [[1]]]})),
     ["mixture", "means"]),
    ("df-bigint", json.dumps(_set(_set(GOOD, "target.kind", "student-t"), "target.params", {"df": 7})).replace(
        '"df": 7', '"df": ' + BIG), ["df"]),
    ("duplicate-key", json.dumps(GOOD).replace('"alpha": 0.002', '"alpha": 0.002, "alpha": 1'),
     ["alpha", "twice"]),
    ("kind-megabyte", json.dumps(_set(GOOD, "target.kind", "k" * 1_000_000)), ["target kind"]),
    ("unknown-keys-many", json.dumps({**GOOD, **{f"key{i}": i for i in range(10_000)}}), ["unknown key"]),
]


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in HOSTILE], ids=[i for i, _, _ in HOSTILE])
def test_hostile_session_is_one_bounded_line_naming_file_and_key(tmp_path, text, fragments):
    path = tmp_path / "from-a-stranger.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SessionError) as info:
        read_session(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg and len(msg) < 1000, msg[:300]
    for f in fragments:
        assert f in msg, f"{f!r} missing from {msg!r}"


# --------------------------------------------------------------- special files
def _read_in_thread(path, timeout=10.0):
    """read_session in a thread: a reader that blocks (on a FIFO) fails the test, not hangs it."""
    out: dict = {}

    def target():
        try:
            read_session(path)
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():  # unblock it so the test suite can go on
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass
        t.join(5)
        pytest.fail(f"reading {path} blocked")
    return out.get("error")


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(k, v) for k, v in chunks)
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


SESSION_TEXT = json.dumps(GOOD).encode()


def _special(kind: str, tmp_path: Path) -> tuple[Path, list[str]]:
    p = tmp_path / "special"
    if kind == "fifo":
        os.mkfifo(p)
        return p, ["not a regular file"]
    if kind == "dev-zero":
        return Path("/dev/zero"), ["not a regular file"]
    if kind == "dev-null":
        return Path("/dev/null"), ["not a regular file"]
    if kind == "symlink-to-dev-zero":
        p.symlink_to("/dev/zero")
        return p, ["not a regular file"]
    if kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
        return p, ["not a regular file"]
    if kind == "folder":
        p.mkdir()
        return p, ["Is a directory"]
    if kind == "missing":
        return p, ["No such file"]
    if kind == "sparse-300-MB":
        with open(p, "wb") as f:
            f.truncate(300 * 2**20)
        return p, ["too large"]
    if kind == "png-two-sessions":
        p.write_bytes(_png([(b"tEXt", b"gaussviz-session\x00" + SESSION_TEXT)] * 2))
        return p, ["2 sessions"]
    if kind == "png-no-session":
        p.write_bytes(_png([(b"tEXt", b"Software\x00gaussviz")]))
        return p, ["carries no session"]
    if kind == "png-zip-bombs":  # many compressed chunks of other keys, then a bomb under the session key
        bomb = zlib.compress(b" " * (300 * 2**20), 9)
        p.write_bytes(_png([(b"zTXt", b"junk\x00\x00" + bomb)] * 20 + [(b"zTXt", b"gaussviz-session\x00\x00" + bomb)]))
        return p, ["expand", "bytes"]
    if kind == "png-truncated":
        p.write_bytes(_png([(b"tEXt", b"gaussviz-session\x00" + SESSION_TEXT)])[:60])
        return p, ["truncated"]
    if kind == "svg-unclosed-many":
        p.write_text("<svg>" + '<metadata id="gaussviz-session">' * 200_000 + "</svg>")
        return p, ["not closed"]
    if kind == "svg-two-sessions":
        meta = f'<metadata id="gaussviz-session">{SESSION_TEXT.decode()}</metadata>'
        p.write_text("<svg>" + meta * 2 + "</svg>")
        return p, ["2 sessions"]
    if kind == "binary":
        p.write_bytes(b"\x00\x01\x02" * 1000)
        return p, ["NUL"]
    raise AssertionError(kind)


SPECIAL = ["fifo", "dev-zero", "dev-null", "symlink-to-dev-zero", "socket", "folder", "missing", "sparse-300-MB",
           "png-two-sessions", "png-no-session", "png-zip-bombs", "png-truncated", "svg-unclosed-many",
           "svg-two-sessions", "binary"]


@pytest.mark.parametrize("kind", SPECIAL)
def test_special_and_malformed_files_are_refused_without_blocking(tmp_path, kind):
    path, fragments = _special(kind, tmp_path)
    err = _read_in_thread(path)
    assert isinstance(err, SessionError), repr(err)
    msg = str(err)
    assert "\n" not in msg and len(msg) < 1000
    for f in fragments:
        assert f in msg, f"{f!r} missing from {msg!r}"


def test_a_good_png_session_still_reads(tmp_path):
    p = tmp_path / "ok.png"
    p.write_bytes(_png([(b"zTXt", b"gaussviz-session\x00\x00" + zlib.compress(SESSION_TEXT))]))
    assert read_session(p).preset == "seed-question"


def test_file_names_with_line_breaks_stay_one_line(tmp_path):
    p = tmp_path / "a\nb\rc.json"
    p.write_text("{")
    with pytest.raises(SessionError) as info:
        read_session(p)
    assert "\n" not in str(info.value) and "\r" not in str(info.value)
