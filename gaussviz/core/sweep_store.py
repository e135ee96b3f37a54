"""A sweep's finished tasks on disk, so an interrupted sweep can resume (``gaussviz sweep --resume``).

Layout, in the sweep's output folder::

    OUT/.partial/spec.json                      the sweep (written first, before any task)
    OUT/.partial/chains-0000000000-0000000480.npz   chains 0 .. 479: one file per finished task

Each task file is written atomically (a temporary file in the same folder,
fsync, rename, fsync of the folder), so a sweep killed at any moment leaves
only whole files; a leftover temporary file is ignored and removed on resume.
A resume checks that the stored spec is the sweep asked for and refuses
anything else, then runs only the chains no file covers. When the outputs are
written the folder is removed.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .fileio import atomic_write_bytes, atomic_write_text, read_regular, read_text
from .sweep import SweepPart, SweepSpec, keeps_states

#: the folder inside OUT
PARTIAL = ".partial"
#: bumped when the task files change meaning
FORMAT = 1
_TASK_FILE = re.compile(r"^chains-(\d{10})-(\d{10})\.npz$")


class ResumeError(ValueError):
    """The output folder's unfinished sweep cannot be continued with this command (one line)."""


def _canonical(spec_dict: dict) -> str:
    return json.dumps(spec_dict, sort_keys=True)


class PartialStore:
    """The finished tasks of one sweep in ``OUT/.partial``."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.folder = self.out / PARTIAL
        self.spec_path = self.folder / "spec.json"

    # ------------------------------------------------------------- state
    def exists(self) -> bool:
        """Whether an unfinished sweep is stored here."""
        return self.spec_path.is_file()

    def task_files(self) -> list[tuple[int, int, Path]]:
        """(first chain, end, path) of every task file, by first chain."""
        if not self.folder.is_dir():
            return []
        out = []
        for p in self.folder.iterdir():
            m = _TASK_FILE.match(p.name)
            if m:
                out.append((int(m.group(1)), int(m.group(2)), p))
        return sorted(out)

    def chains_done(self) -> int:
        """Chains covered by task files (without reading them)."""
        return sum(hi - lo for lo, hi, _ in self.task_files())

    def stored_spec(self) -> dict:
        """The stored sweep (``SweepSpec.to_dict``); ResumeError if the file is not one."""
        try:
            data = json.loads(read_text(self.spec_path, "sweep state", max_bytes=2**24))
        except (ValueError, OSError, RecursionError) as e:  # (RecursionError: JSON nested too deep)
            raise ResumeError(f"{self.spec_path} is not a sweep state ({e}); delete {self.folder} to start over") \
                from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sweep"), dict):
            raise ResumeError(f"{self.spec_path} is not a sweep state of this gaussviz (format {FORMAT}); "
                              f"delete {self.folder} to start over")
        return data["sweep"]

    def check(self, spec: SweepSpec) -> None:
        """ResumeError (naming what differs) unless the stored sweep is ``spec``."""
        stored = self.stored_spec()
        want = spec.to_dict()
        if _canonical(stored) == _canonical(want):
            return
        keys = sorted(set(stored) | set(want))
        differ = [k for k in keys if _canonical({"v": stored.get(k)}) != _canonical({"v": want.get(k)})]
        what = ", ".join(differ) if differ else "the settings"
        raise ResumeError(f"cannot resume: {self.out} holds a different sweep ({what} differ); "
                          f"run the same command as before, or use another --out (or delete {self.folder})")

    # ------------------------------------------------------------- write
    def start(self, spec: SweepSpec) -> None:
        """Store the spec (before any task), unless it is already there."""
        if self.exists():
            self.check(spec)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"app": "gaussviz", "format": FORMAT, "sweep": spec.to_dict()}, indent=1) + "\n"
        atomic_write_text(self.spec_path, text, force=True)

    def save(self, part: SweepPart) -> Path:
        """One finished task, atomically, as ``chains-LO-HI.npz`` (its chains must be a range)."""
        c = part.chains
        lo, hi = int(c[0]), int(c[-1]) + 1
        if c.size != hi - lo or not np.array_equal(c, np.arange(lo, hi)):
            raise ValueError("a stored task must be a range of chains")
        arrays = dict(chains=c, diverged=part.diverged, failed_update=part.failed_update,
                      final_kl=part.final_kl, reason=np.array(part.reason, dtype=str),
                      message=np.array(part.message, dtype=str))
        if part.final_mean is not None:
            arrays.update(final_mean=part.final_mean, final_cov=part.final_cov)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return atomic_write_bytes(self.folder / f"chains-{lo:010d}-{hi:010d}.npz", buf.getvalue(), force=True)

    # -------------------------------------------------------------- read
    def load(self, spec: SweepSpec) -> tuple[list[SweepPart], list[str]]:
        """The stored tasks (checked against ``spec``) and one line per file that was unusable.

        An unusable file (cut short by a full disk, overlapping another) is
        removed, so its chains run again. Leftover temporary files are removed.
        """
        self.check(spec)
        for tmp in self.folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        K, d = spec.n_chains, spec.base.target.dim
        keep = keeps_states(spec)
        covered = np.zeros(K, dtype=bool)
        parts, problems = [], []
        for lo, hi, path in self.task_files():
            try:
                part = _read_part(path, lo, hi, K, d, keep)
                if covered[lo:hi].any():
                    raise ValueError("overlaps another task file")
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
                problems.append(f"{path.name}: {e}; its chains run again")
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            covered[lo:hi] = True
            parts.append(part)
        return parts, problems

    def remove(self) -> None:
        """Delete the folder (the sweep's outputs are written)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _read_part(path: Path, lo: int, hi: int, K: int, d: int, keep: bool) -> SweepPart:
    if not 0 <= lo < hi <= K:
        raise ValueError(f"chains {lo} to {hi - 1} are not in this sweep of {K}")
    n = hi - lo
    with np.load(io.BytesIO(read_regular(path, 2**34)), allow_pickle=False) as z:  # (a bad file: no handle left open)
        a = {k: z[k] for k in z.files}
    chains = np.asarray(a["chains"], dtype=np.int64)
    if not np.array_equal(chains, np.arange(lo, hi)):
        raise ValueError("its chains do not match its name")
    shapes = {"diverged": (n,), "failed_update": (n,), "final_kl": (n,), "reason": (n,), "message": (n,)}
    if keep:
        shapes.update(final_mean=(n, d), final_cov=(n, d, d))
    for k, shape in shapes.items():
        if k not in a or a[k].shape != shape:
            raise ValueError(f"{k} is missing or has the wrong shape")
    return SweepPart(
        chains=chains, diverged=a["diverged"].astype(bool), failed_update=a["failed_update"].astype(np.int64),
        reason=tuple(str(x) for x in a["reason"]), message=tuple(str(x) for x in a["message"]),
        final_kl=a["final_kl"].astype(float), final_mean=a["final_mean"] if keep else None,
        final_cov=a["final_cov"] if keep else None,
    )


def missing_ranges(n_chains: int, parts: Sequence[SweepPart]) -> list[tuple[int, int]]:
    """The chains no part covers, as (first, end) ranges in grid order."""
    done = np.zeros(n_chains, dtype=bool)
    for p in parts:
        done[p.chains] = True
    edges = np.diff(np.concatenate([[0], (~done).astype(np.int8), [0]]))
    return [(int(a), int(b)) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


__all__ = ["PARTIAL", "PartialStore", "ResumeError", "missing_ranges"]
