"""`gaussviz run` and `gaussviz presets`: a run without a window, and its summary."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from ..core.presets import PRESETS
from ..core.snapshot import Snapshot
from .common import add_run_options, run_with_progress, settings_from_args

#: KL(true || estimate) below this counts as converged in the summary
CONVERGED_KL = 0.05


def add_parsers(sub) -> None:
    r = sub.add_parser("run", help="run headless and print a summary")
    add_run_options(r)
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="start from a session file saved by the window (options override it)")
    r.set_defaults(func=cmd_run)
    p = sub.add_parser("presets", help="list the presets")
    p.set_defaults(func=cmd_presets)


def summary(snap: Snapshot) -> dict:
    out = {"steps": snap.step, "reference_kl": snap.ref_kl, "chains": []}
    for c in snap.chains:
        div = c.divergence
        if div is not None:
            status = "diverged"
        elif np.isfinite(c.kl) and c.kl < CONVERGED_KL:
            status = "converged"
        else:
            status = "not converged"
        out["chains"].append({
            "label": c.label, "status": status, "settings": c.settings,
            "reason": div.reason if div else None, "failed_update": div.step if div else None,
            "message": div.message if div else None,
            "mean": c.mean.tolist(), "cov": c.cov.tolist(), "kl": c.kl, "updates": c.steps,
        })
        if c.avg_cov is not None:  # only with averaging: other chains' summaries read as before
            out["chains"][-1]["averaged"] = {"mean": c.avg_mean.tolist(), "cov": c.avg_cov.tolist(),
                                             "kl": c.avg_kl}
    return out


def json_ready(x: Any) -> Any:
    """Plain JSON data: numpy values as Python ones, and NaN or inf as null (JSON has neither;
    ``json.dumps`` would write ``NaN``, which strict readers reject)."""
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    return str(x)


def _fmt(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), precision=4, suppress_small=True, separator=", ").replace("\n", "")


def print_summary(snap: Snapshot, out=None) -> None:
    out = out or sys.stdout
    info = summary(snap)
    print(f"steps: {snap.step:,}", file=out)
    for c, ci in zip(snap.chains, info["chains"]):
        print(f"[{c.label}] {ci['status']}", file=out)
        if c.divergence is not None:
            print(f"  reason: {c.divergence.reason} at update {c.divergence.step}: {c.divergence.message}",
                  file=out)
            print("  last good state:", file=out)
        print(f"  mean: {_fmt(c.mean)}", file=out)
        print(f"  cov:  {_fmt(c.cov)}", file=out)
        print(f"  KL(true || estimate): {c.kl:.4g}", file=out)
        if c.avg_cov is not None:
            print(f"  averaged (Polyak-Ruppert) mean: {_fmt(c.avg_mean)}", file=out)
            print(f"  averaged cov:  {_fmt(c.avg_cov)}", file=out)
            print(f"  averaged KL(true || estimate): {c.avg_kl:.4g}", file=out)
    print(f"reference (exact running MLE) KL: {snap.ref_kl:.4g}", file=out)


def cmd_run(a: argparse.Namespace) -> int:
    s = settings_from_args(a)
    snap = run_with_progress(s)
    if a.json:
        print(json.dumps(json_ready(summary(snap)), indent=2, allow_nan=False))
    else:
        print_summary(snap)
    return 0


def cmd_presets(a: argparse.Namespace) -> int:
    width = max(map(len, PRESETS))
    for name, p in PRESETS.items():
        print(f"{name:<{width}}  {p.summary}")
    return 0
