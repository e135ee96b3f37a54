"""Command line: ``gaussviz`` opens the window; ``gaussviz run`` runs headless.

Bad options exit with status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence

import numpy as np

from . import __version__
from .core.options import DIRECTIONS, OBJECTIVES, SCHEDULES
from .core.parameterizations import NAMES as PARAMETERIZATIONS
from .core.presets import PRESETS, get_preset
from .core.runloop import Snapshot
from .core.settings import Settings, build_run

#: KL(true || estimate) below this counts as converged in the summary
CONVERGED_KL = 0.05
#: the largest learning rate `run` accepts (the window's alpha slider ends there too)
MAX_ALPHA = 1.0
#: the largest mini-batch `run` accepts (the sweep's batch-size axis ends there too)
MAX_BATCH = 100_000
#: most sample values drawn per chunk of a headless run (32 MB), whatever batch and dimension
SAMPLE_BUDGET = 4_000_000


class UsageError(Exception):
    """A bad option: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # argparse takes "-1e-3", "-inf" or "-0.5,1" for an unknown option ("--mean0: expected
        # one argument"); no option of ours starts with a digit, '.', inf or nan, so they are values.
        self._negative_number_matcher = re.compile(r"^-(\.?\d|inf|nan)", re.IGNORECASE)

    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def _floats(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals


def _add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("estimator")
    g.add_argument("--preset", choices=list(PRESETS), help="start from a preset (options below override it)")
    g.add_argument("--parameterization", choices=list(PARAMETERIZATIONS))
    g.add_argument("--alpha", type=float, help="learning rate (> 0)")
    g.add_argument("--objective", choices=OBJECTIVES)
    g.add_argument("--direction", choices=DIRECTIONS)
    g.add_argument("--schedule", choices=list(SCHEDULES))
    g.add_argument("--batch-size", type=int)
    g.add_argument("--symmetrize", action=argparse.BooleanOptionalAction, default=None,
                   help="keep Sigma (or Lambda) symmetric each update (covariance, precision)")
    t = p.add_argument_group("target and start")
    t.add_argument("--dim", type=int, help="dimension of the target (1 to 50)")
    t.add_argument("--target-cond", type=float, help="condition number of the target covariance")
    t.add_argument("--target-rotation", type=float, help="rotation of the target's eigenbasis, degrees")
    t.add_argument("--target-mean", type=_floats, help="true mean: one number or d numbers, comma separated")
    t.add_argument("--mean0", type=_floats, help="start mean: one number or d numbers")
    t.add_argument("--cov0-scale", type=float, help="start covariance = scale * I")
    t.add_argument("--seed", type=int, help="seed of the sample stream")
    _add_target_options(p)
    p.add_argument("--steps", type=int, default=None, help="updates to run (default 100000)")


def _add_target_options(p: argparse.ArgumentParser) -> None:
    from .core.targets import DATASETS, DEFAULTS, KINDS

    x = p.add_argument_group("target kind")
    x.add_argument("--target", choices=KINDS,
                   help="what the samples come from (default gaussian; --csv implies csv)")
    x.add_argument("--df", type=float, help=f"student-t: degrees of freedom, > 2 (default {DEFAULTS['df']:g})")
    x.add_argument("--mixture-sep", type=float,
                   help="mixture: distance between the two component means in component standard deviations "
                        f"(default {DEFAULTS['separation']:g}; bimodal above 2)")
    x.add_argument("--mixture-weight", type=float,
                   help=f"mixture: weight of the first component (default {DEFAULTS['weight']:g})")
    x.add_argument("--drift-rate", type=float,
                   help="drifting: mean random-walk step per sample, in target spreads "
                        f"(default {DEFAULTS['drift_rate']:g})")
    x.add_argument("--rotation-rate", type=float,
                   help=f"drifting: covariance rotation, degrees per sample (default {DEFAULTS['rotation_rate']:g})")
    x.add_argument("--csv", metavar="FILE", help=f"csv: a data file, or a shipped data set: {', '.join(DATASETS)}")
    x.add_argument("--columns", help="csv: columns to use, header names or 0-based indices, comma separated "
                                     "(default: every numeric column)")
    x.add_argument("--standardize", action="store_true", default=None,
                   help="csv: shift and scale each column to mean 0 and variance 1")


#: CLI option -> (target kind it belongs to, key in TargetSettings.params)
_TARGET_OPTIONS = {
    "df": ("student-t", "df"), "mixture_sep": ("mixture", "separation"), "mixture_weight": ("mixture", "weight"),
    "drift_rate": ("drifting", "drift_rate"), "rotation_rate": ("drifting", "rotation_rate"),
    "csv": ("csv", "path"), "columns": ("csv", "columns"), "standardize": ("csv", "standardize"),
}
#: CSV problems printed on stderr at most (then a count)
MAX_CSV_WARNINGS = 20


def _apply_target_args(s: Settings, a: argparse.Namespace) -> None:
    """--target and its parameters into s.target (ValueError naming the option otherwise)."""
    t = s.target
    kind = getattr(a, "target", None) or ("csv" if getattr(a, "csv", None) else None)
    if kind is not None and kind != t.kind:
        t.kind, t.params = kind, {}
    for opt, (owner, key) in _TARGET_OPTIONS.items():
        v = getattr(a, opt, None)
        if v is None:
            continue
        if t.kind != owner:
            raise ValueError(f"--{opt.replace('_', '-')} applies to --target {owner}, not {t.kind}")
        t.params[key] = [c.strip() for c in v.split(",") if c.strip()] if opt == "columns" else v
    if t.kind == "csv":
        if "path" not in t.params:
            raise ValueError("--target csv needs --csv FILE (a data file or a shipped data set name)")
        from .core.targets import load_csv_cached

        f = load_csv_cached(t.params["path"], t.params.get("columns"), t.params.get("header"),
                            t.params.get("delimiter"))
        d = f.data.shape[1]
        if isinstance(s.start.mean, list) and len(s.start.mean) != d:
            s.start.mean = 0.0  # a start of another dimension no longer applies


def _warn_csv_problems(s: Settings, err=None) -> None:
    """Skipped CSV lines as warnings on stderr: one line each, capped, then a count."""
    if s.target.kind != "csv":
        return
    from .core.targets import load_csv_cached

    p = s.target.params
    f = load_csv_cached(p["path"], p.get("columns"), p.get("header"), p.get("delimiter"))
    err = err or sys.stderr
    for line in f.problem_lines(MAX_CSV_WARNINGS):
        print(f"gaussviz: warning: {f.path}: {line}", file=err)
    if f.n_skipped:
        print(f"gaussviz: warning: {f.path}: skipped {f.n_skipped} line(s), using {f.data.shape[0]} row(s)",
              file=err)


def settings_from_args(a: argparse.Namespace) -> Settings:
    """A validated Settings from parsed options (ValueError with the reason otherwise)."""
    session = getattr(a, "session", None)
    if session and a.preset:
        raise ValueError("use --preset or --session, not both")
    s = read_session(session) if session else get_preset(a.preset) if a.preset else Settings()
    e = s.estimator
    for name in ("parameterization", "alpha", "objective", "direction", "schedule", "batch_size", "symmetrize"):
        v = getattr(a, name, None)
        if v is not None:
            setattr(e, name, v)
    t = s.target
    if a.dim is not None:
        if a.dim != t.dim:
            t.cov = None  # an explicit covariance of another dimension no longer applies
            if isinstance(t.mean, list):
                t.mean = 0.0
            if isinstance(s.start.mean, list):
                s.start.mean = 0.0
        t.dim = a.dim
    if a.target_cond is not None:
        t.cond, t.cov = a.target_cond, None
    if a.target_rotation is not None:
        t.rotation_deg, t.cov = a.target_rotation, None
    if a.target_mean is not None:
        t.mean = a.target_mean if len(a.target_mean) > 1 else a.target_mean[0]
    if a.mean0 is not None:
        s.start.mean = a.mean0 if len(a.mean0) > 1 else a.mean0[0]
    if a.cov0_scale is not None:
        s.start.cov_scale = a.cov0_scale
    if a.seed is not None:
        t.seed = a.seed
    _apply_target_args(s, a)
    steps = (s.steps if session and s.steps > 0 else 100_000) if a.steps is None else a.steps
    if steps < 0:
        raise ValueError(f"--steps must be >= 0; got {steps}")
    s.steps = steps
    s.validate()
    for i, est in enumerate(s.all_estimators()):
        if est.alpha > MAX_ALPHA:
            where = "alpha" if i == 0 else f"compare[{i - 1}].alpha"
            raise ValueError(f"{where} must be at most {MAX_ALPHA:g}; got {est.alpha:g}")
    if s.estimator.batch_size > MAX_BATCH:
        raise ValueError(f"batch_size must be at most {MAX_BATCH}; got {s.estimator.batch_size}")
    _warn_csv_problems(s)
    return s


def read_session(path: str) -> Settings:
    """Settings from a session file; the ValueError names the file and what is wrong in it."""
    from pathlib import Path

    from .core.settings import from_json

    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the session file ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: session file is not UTF-8 text (byte {e.start})") from None
    try:
        return from_json(text)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


class Progress:
    """A one-line progress bar on a terminal; silent when stderr is not a terminal."""

    def __init__(self, total: int, label: str = "", stream=None) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last = 0.0

    def update(self, done: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        frac = min(1.0, done / self.total)
        bar = "#" * int(30 * frac)
        self.stream.write(f"\r{self.label} [{bar:<30}] {100 * frac:5.1f}%  {done:,}/{self.total:,}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(self.total, force=True)
            self.stream.write("\n")
            self.stream.flush()


def run_headless(s: Settings, progress: Progress | None = None, chunk: int = 50_000):
    """Run the settings' steps through the one run loop; returns (run, snapshot)."""
    run = build_run(s)
    # Each chunk draws chunk * batch samples of dimension d at once: keep that bounded.
    chunk = max(1, min(chunk, SAMPLE_BUDGET // (s.estimator.batch_size * run.d)))
    remaining = s.steps
    while remaining > 0 and not run.all_diverged:
        n = min(chunk, remaining)
        run.advance(n)
        remaining -= n
        if progress:
            progress.update(run.step)
    if progress:
        progress.close()
    return run, run.snapshot()


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
    return out


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
    print(f"reference (exact running MLE) KL: {snap.ref_kl:.4g}", file=out)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gaussviz", description="Watch online Gaussian MLE converge, crawl or blow up.")
    p.add_argument("--version", action="version", version=f"gaussviz {__version__}")
    p.add_argument("--preset", choices=list(PRESETS), help="open the window with a preset")
    p.add_argument("--session", help="open the window with a session file")
    p.add_argument("--screenshot", help="save a PNG of the window after --after seconds and exit")
    p.add_argument("--after", type=float, default=3.0, help="seconds to run before --screenshot")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    r = sub.add_parser("run", help="run headless and print a summary")
    _add_run_options(r)
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="start from a session file saved by the window (options override it)")
    sub.add_parser("presets", help="list the presets")
    _add_sweep_parser(sub)
    _add_render_parser(sub)
    return p


def cmd_run(a: argparse.Namespace) -> int:
    s = settings_from_args(a)
    label = s.preset or s.estimator.parameterization
    _, snap = run_headless(s, Progress(s.steps, label))
    if a.json:
        print(json.dumps(summary(snap), indent=2, default=float))
    else:
        print_summary(snap)
    return 0


def cmd_presets(a: argparse.Namespace) -> int:
    width = max(map(len, PRESETS))
    for name, p in PRESETS.items():
        print(f"{name:<{width}}  {p.summary}")
    return 0


# ------------------------------------------------------------------ sweep
def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in PARAMETERIZATIONS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(PARAMETERIZATIONS)}; got {text!r}")
    return names


def _add_sweep_parser(sub) -> None:
    from .core.sweep import AXES

    w = sub.add_parser("sweep", help="stability map: alpha x parameterization x a second axis, several seeds")
    w.add_argument("--alpha-min", type=float, default=1e-4, help="smallest learning rate (default 1e-4)")
    w.add_argument("--alpha-max", type=float, default=1.0, help="largest learning rate (default 1)")
    w.add_argument("--alpha-count", type=int, default=40, help="log-spaced learning rates (default 40)")
    w.add_argument("--parameterizations", type=_names, default=list(PARAMETERIZATIONS),
                   help="comma-separated subset (default: all five)")
    w.add_argument("--axis", choices=list(AXES), default="cov0-scale", help="second axis (default cov0-scale)")
    w.add_argument("--axis-values", type=_floats, default=None,
                   help="values of the second axis, comma separated (default: the base's own value)")
    w.add_argument("--seeds", type=int, default=8, help="seeds per cell (default 8)")
    w.add_argument("--steps", type=int, default=5000, help="updates per chain (default 5000)")
    w.add_argument("--preset", choices=list(PRESETS),
                   help="take target, start and sign/schedule/symmetrize from a preset "
                        "(default: the 2-D ill-conditioned target, start (1, 1), Sigma_0 = I, symmetrize on)")
    w.add_argument("--symmetrize", action=argparse.BooleanOptionalAction, default=None,
                   help="keep Sigma (or Lambda) symmetric each update")
    w.add_argument("--seed", type=int, default=None, help="first seed (seeds are consecutive)")
    w.add_argument("--out", required=True, help="folder for stability_map.png, .csv and .json")
    w.add_argument("--force", action="store_true", help="overwrite existing files")
    w.add_argument("--width", type=int, default=1600, help="PNG width in pixels (default 1600)")
    _add_target_options(w)


def cmd_sweep(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .core.fileio import atomic_write_text, check_can_create, ensure_folder
    from .core.sweep import default_base, make_spec, run_sweep

    if not 400 <= a.width <= 20_000:
        raise ValueError(f"--width must be from 400 to 20000 pixels; got {a.width}")
    base = default_base()
    if a.preset:
        ps = get_preset(a.preset)
        base = Settings(target=ps.target, start=ps.start, estimator=ps.estimator)
    if a.symmetrize is not None:
        base.estimator.symmetrize = a.symmetrize
    if a.seed is not None:
        base.target.seed = a.seed
    _apply_target_args(base, a)
    base.validate()
    _warn_csv_problems(base)
    spec = make_spec(a.alpha_min, a.alpha_max, a.alpha_count, a.parameterizations, a.axis, a.axis_values,
                     a.seeds, a.steps, base)
    out = ensure_folder(Path(a.out))
    paths = {ext: out / f"stability_map.{ext}" for ext in ("png", "csv", "json")}
    for path in paths.values():  # fail now, not after the sweep
        check_can_create(path, a.force)
    from .gui.heatmap import ensure_gui_app, save_stability_map

    ensure_gui_app()
    bar = Progress(spec.n_chains * spec.steps, f"sweep {spec.n_chains:,} chains")
    result = run_sweep(spec, progress=lambda f: bar.update(round(f * bar.total)))
    bar.close()
    atomic_write_text(paths["csv"], result.csv_text(), force=a.force)
    atomic_write_text(paths["json"], result.spec_json(), force=a.force)
    save_stability_map(paths["png"], result, width=a.width, force=a.force)
    print(f"{spec.n_chains:,} chains x {spec.steps:,} updates in {result.elapsed:.2f} s; "
          f"{int(result.diverged.sum()):,} diverged")
    for line in result.summary_lines():
        print(f"  {line}")
    print(f"wrote {paths['png']} (heat map, {a.width} px wide)")
    print(f"wrote {paths['csv']} (every chain: settings, divergence, final KL)")
    print(f"wrote {paths['json']} (the sweep's settings)")
    return 0


# ----------------------------------------------------------------- render
def _add_render_parser(sub) -> None:
    r = sub.add_parser("render", help="run headless and write the window's plot images, history CSV and session")
    _add_run_options(r)
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="a session file (from the window or from render) instead of --preset")
    r.add_argument("--out", required=True, help="folder for the images, history.csv and session.json")
    r.add_argument("--format", default="png,svg", help="png, svg or png,svg (default png,svg)")
    r.add_argument("--width", type=int, default=1600, help="PNG width in pixels (default 1600)")
    r.add_argument("--force", action="store_true", help="overwrite existing files")


def cmd_render(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .core.fileio import check_can_create, ensure_folder

    if not a.preset and not getattr(a, "session", None):
        raise UsageError("render needs --preset NAME or --session FILE")
    from .gui.render import prepare_headless

    prepare_headless()  # before Qt is imported
    from .gui.export import check_formats, check_width, file_names, write_files

    try:
        formats = check_formats(a.format.split(","))
    except ValueError as e:
        raise ValueError(f"--format: {e}") from None
    try:
        check_width(a.width)
    except ValueError as e:
        raise ValueError(f"--width: {e}") from None
    s = settings_from_args(a)
    out = ensure_folder(Path(a.out))
    for name in file_names(formats):  # fail now, not after the run
        check_can_create(out / name, a.force)
    _, snap = run_headless(s, Progress(s.steps, s.preset or s.estimator.parameterization))
    from .gui.render import render_files

    files = render_files(snap, s, formats, a.width)
    for f, path in zip(files, write_files(out, files, force=a.force)):
        print(f"wrote {path} ({f.what})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
        if a.command == "run":
            return cmd_run(a)
        if a.command == "presets":
            return cmd_presets(a)
        if a.command == "sweep":
            return cmd_sweep(a)
        if a.command == "render":
            return cmd_render(a)
        if a.command is None:
            from .gui.app import run_app

            return run_app(a)
        raise UsageError(f"unknown command {a.command!r}")
    except (UsageError, ValueError) as e:
        print(f"gaussviz: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"gaussviz: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
