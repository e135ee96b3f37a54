"""`gaussviz run` and `gaussviz presets`: a run without a window, and its summary."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from ..core.diagnosis import diagnose_chain
from ..core.presets import PRESETS
from ..core.settings import Settings
from ..core.snapshot import Snapshot
from .common import COMMANDS, add_run_options, run_with_progress, settings_from_args

#: KL(true || estimate) below this counts as converged in the summary
CONVERGED_KL = 0.05


RUN_EXAMPLES = """\
examples:
  gaussviz run --preset seed-question                   the question as asked: converges, slowly
  gaussviz run --preset seed-question --direction descent   the wrong sign: diverges, and says why
  gaussviz run --preset ill-conditioned-covariance --alpha 0.5   a step too large for the smallest eigenvalue
  gaussviz run --dim 2 --target-cond 10 --parameterization natural --alpha 0.02 --steps 50000 --json
  gaussviz run --session my_session.json --steps 200000    a saved session, run further
"""

PRESETS_EXAMPLES = """\
examples:
  gaussviz presets                              the lessons, one line each
  gaussviz --preset heavy-tails                 open one in the window
  gaussviz run --preset heavy-tails             or run it headless
"""


def add_parsers(sub) -> None:
    r = sub.add_parser("run", help=COMMANDS["run"],
                       description="Run the estimator(s) without a window and print a summary: converged "
                                   f"(KL(true || estimate) < {CONVERGED_KL:g}), not converged, or diverged, with "
                                   "the update that failed and why, in plain words.",
                       epilog=RUN_EXAMPLES)
    add_run_options(r)
    r.add_argument("--json", action="store_true", help="print the summary as JSON (default: off: text)")
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="start from a session file saved by the window (options override it; default: none)")
    r.set_defaults(func=cmd_run)
    p = sub.add_parser("presets", help=COMMANDS["presets"],
                       description="The lessons gaussviz knows, with a one-line summary each.", epilog=PRESETS_EXAMPLES)
    p.set_defaults(func=cmd_presets)


def _chain_run(c) -> tuple[int, int | None]:
    """(updates applied, the update that failed or None)."""
    return c.steps, (c.divergence.step if c.divergence is not None else None)


def summary(snap: Snapshot, settings: Settings | None = None, requested: int | None = None) -> dict:
    """The summary as plain data (``--json``): steps requested and run, each chain's status and,
    for a diverged one, what failed, at which update and why (``core.diagnosis``)."""
    requested = snap.step if requested is None else requested
    out = {"steps": snap.step, "steps_requested": requested,
           "updates_run": max((c.steps for c in snap.chains), default=0),
           "reference_kl": snap.ref_kl, "chains": []}
    for c in snap.chains:
        div = c.divergence
        if div is not None:
            status = "diverged"
        elif np.isfinite(c.kl) and c.kl < CONVERGED_KL:
            status = "converged"
        else:
            status = "not converged"
        why = _diagnose(c, snap, settings) if div is not None else None
        out["chains"].append({
            "label": c.label, "status": status, "settings": c.settings,
            "reason": div.reason if div else None, "failed_update": div.step if div else None,
            "message": div.message if div else None,
            "cause": why.cause if why else None, "why": why.text if why else None,
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


def _diagnose(c, snap: Snapshot, settings: Settings | None):
    start_cov, kind = None, "gaussian"
    if settings is not None:
        start_cov = settings.start.cov_scale * np.eye(c.cov.shape[0])
        kind = settings.target.kind
    return diagnose_chain(c, snap.true_cov, start_cov, kind)


def _fmt(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), precision=4, suppress_small=True, separator=", ").replace("\n", "")


def print_summary(snap: Snapshot, out=None, settings: Settings | None = None, requested: int | None = None) -> None:
    out = out or sys.stdout
    info = summary(snap, settings, requested)
    req = info["steps_requested"]
    ran = info["updates_run"]
    if ran < req:
        tail = " (every estimator stopped at its divergence)" if all(c.divergence is not None for c in snap.chains) \
            else ""
        print(f"updates run: {ran:,} of {req:,} requested{tail}", file=out)
    else:
        print(f"updates run: {ran:,}", file=out)
    for c, ci in zip(snap.chains, info["chains"]):
        print(f"[{c.label}] {ci['status']}", file=out)
        if c.divergence is not None:
            print(f"  reason: {c.divergence.reason} at update {c.divergence.step}: {c.divergence.message}", file=out)
            print(f"  ran {c.steps:,} updates; it stopped there", file=out)
            if ci["why"]:
                print(f"  why: {ci['why']}", file=out)
            print("  last good state:", file=out)
        elif len(snap.chains) > 1 and c.steps != ran:
            print(f"  ran {c.steps:,} updates", file=out)
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
        print(json.dumps(json_ready(summary(snap, s, s.steps)), indent=2, allow_nan=False))
    else:
        print_summary(snap, settings=s, requested=s.steps)
    return 0


def cmd_presets(a: argparse.Namespace) -> int:
    width = max(map(len, PRESETS))
    for name, p in PRESETS.items():
        print(f"{name:<{width}}  {p.summary}")
    return 0
