"""What every subcommand shares: the parser that errors in one line, the run and target options,
settings from options, and the terminal progress bar.

Bad options exit with status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

from ..core import optimizers as optimizers_
from ..core import parameterizations as pz
from ..core.csvdata import DATASETS, dataset_name
from ..core.options import DIRECTIONS, OBJECTIVES, SCHEDULES
from ..core.presets import PRESETS, get_preset
from ..core.session import read_session
from ..core.settings import Settings, build_run
from ..core.snapshot import Snapshot
from ..core.targets import KINDS, TARGET_KINDS, csv_file, csv_source
from ..core.validation import MAX_STEPS, check_beta, check_eps

#: CSV problems printed on stderr at most (then a count)
MAX_CSV_WARNINGS = 20
#: updates a `run` or `render` makes unless told (or the session says)
DEFAULT_STEPS = 100_000


class UsageError(Exception):
    """A bad option: reported in one line, exit status 2."""


class StoreOnce(argparse._StoreAction):
    """An option that takes a value, given at most once: a second ``--session`` (or ``--alpha``)
    is an error, not silently the one that wins."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        mark = f"_given_{self.dest}"
        if getattr(namespace, mark, False):
            raise UsageError(f"{option_string or self.dest} given twice; give it once")
        setattr(namespace, mark, True)
        super().__call__(parser, namespace, values, option_string)


def given(a: argparse.Namespace, dest: str) -> bool:
    """Whether an option (by its dest) was on the command line (not just its default)."""
    return bool(getattr(a, f"_given_{dest}", False))


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (UsageError), negative numbers are values and an
    option that takes a value may be given once."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, StoreOnce)
        self.register("action", "store", StoreOnce)
        # argparse takes "-1e-3", "-inf" or "-0.5,1" for an unknown option ("--mean0: expected
        # one argument"); no option of ours starts with a digit, '.', inf or nan, so they are values.
        self._negative_number_matcher = re.compile(r"^-(\.?\d|inf|nan)", re.IGNORECASE)

    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)


def floats(text: str) -> list[float]:
    """An argparse type: numbers separated by commas. NaN and inf parse here; the setting's
    own check then names the option ("start mean must be finite")."""
    try:
        vals = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The estimator, target and start options of `run` and `render`."""
    g = p.add_argument_group("estimator")
    g.add_argument("--preset", choices=list(PRESETS), help="start from a preset (options below override it)")
    g.add_argument("--parameterization", choices=list(pz.NAMES))
    g.add_argument("--alpha", type=float, help="learning rate (> 0)")
    g.add_argument("--objective", choices=OBJECTIVES)
    g.add_argument("--direction", choices=DIRECTIONS)
    g.add_argument("--schedule", choices=list(SCHEDULES))
    g.add_argument("--batch-size", type=int)
    g.add_argument("--symmetrize", action=argparse.BooleanOptionalAction, default=None,
                   help="keep Sigma (or Lambda) symmetric each update (covariance, precision)")
    add_optimizer_options(p)
    t = p.add_argument_group("target and start")
    t.add_argument("--dim", type=int, help="dimension of the target (1 to 50)")
    t.add_argument("--target-cond", type=float, help="condition number of the target covariance")
    t.add_argument("--target-rotation", type=float, help="rotation of the target's eigenbasis, degrees")
    t.add_argument("--target-mean", type=floats, help="true mean: one number or d numbers, comma separated")
    t.add_argument("--mean0", type=floats, help="start mean: one number or d numbers")
    t.add_argument("--cov0-scale", type=float, help="start covariance = scale * I")
    t.add_argument("--seed", type=int, help="seed of the sample stream")
    add_target_options(p)
    p.add_argument("--steps", type=int, default=None, help=f"updates to run (default {DEFAULT_STEPS})")


#: the optimizer options (argparse dest = EstimatorSettings field = optimizers_.DEFAULTS key)
OPTIMIZER_OPTIONS = tuple(optimizers_.DEFAULTS)


def add_optimizer_options(p: argparse.ArgumentParser) -> None:
    """--optimizer --beta1 --beta2 --eps --averaging (run, render, sweep), from core/optimizers.py."""
    g = p.add_argument_group("optimizer (docs/MATH.md, Optimizers)")
    D = optimizers_.DEFAULTS
    g.add_argument("--optimizer", choices=list(optimizers_.NAMES),
                   help=f"what turns the update rule's direction into a step (default {D['optimizer']}): "
                        + "; ".join(f"{o.name}: {o.help}" for o in optimizers_.OPTIMIZERS.values()))
    users = {k: ", ".join(o.name for o in optimizers_.OPTIMIZERS.values() if k in o.uses)
             for k in ("beta1", "beta2", "eps")}
    g.add_argument("--beta1", type=float,
                   help=f"first-moment decay in [0, 1) (default {D['beta1']:g}; {users['beta1']})")
    g.add_argument("--beta2", type=float,
                   help=f"second-moment decay in [0, 1) (default {D['beta2']:g}; {users['beta2']})")
    g.add_argument("--eps", type=float, help=f"denominator guard > 0 (default {D['eps']:g}; {users['eps']})")
    g.add_argument("--averaging", action=argparse.BooleanOptionalAction, default=None,
                   help="keep a Polyak-Ruppert average of the estimates, reported as its own estimate "
                        f"(default {'on' if D['averaging'] else 'off'})")


def apply_optimizer_args(e, a: argparse.Namespace) -> None:
    """The optimizer options given into an EstimatorSettings; ValueError naming the option."""
    for name in OPTIMIZER_OPTIONS:
        v = getattr(a, name, None)
        if v is None:
            continue
        setattr(e, name, v)
        if name in ("beta1", "beta2", "eps"):
            try:
                (check_eps if name == "eps" else check_beta)(v, name)
            except ValueError as err:
                raise ValueError(f"--{name}: {err}") from None
    try:
        pz.check_optimizer(e.parameterization, e.optimizer)
    except ValueError as err:
        raise ValueError(f"--optimizer: {err}") from None


def add_target_options(p: argparse.ArgumentParser) -> None:
    """The target-kind options of `run`, `render` and `sweep`."""
    x = p.add_argument_group("target kind")
    x.add_argument("--target", choices=KINDS,
                   help="what the samples come from (default gaussian; --csv implies csv)")
    for kind in TARGET_KINDS.values():
        for param in kind.params:
            x.add_argument(param.option, type=float, dest=param.option[2:].replace("-", "_"),
                           help=f"{kind.name}: {param.help} (default {param.default:g})")
    x.add_argument("--csv", metavar="FILE",
                   help=f"csv: a data file, or a shipped data set by its name alone: {', '.join(DATASETS)} "
                        "(a file of that name is ./NAME)")
    x.add_argument("--columns", help="csv: columns to use, header names or 0-based indices, comma separated "
                                     "(default: every numeric column)")
    x.add_argument("--standardize", action="store_true", default=None,
                   help="csv: shift and scale each column to mean 0 and variance 1")


#: CLI option (argparse dest) -> (target kind it belongs to, key in TargetSettings.params)
_TARGET_OPTIONS = {
    **{p.option[2:].replace("-", "_"): (k.name, p.key) for k in TARGET_KINDS.values() for p in k.params},
    "csv": ("csv", "path"), "columns": ("csv", "columns"), "standardize": ("csv", "standardize"),
}


#: options of the Gaussian target's shape: a data file decides these, so with a CSV target they are an error
_SHAPE_OPTIONS = {"dim": "--dim", "target_cond": "--target-cond", "target_rotation": "--target-rotation",
                  "target_mean": "--target-mean"}


def apply_target_args(s: Settings, a: argparse.Namespace, err=None) -> None:
    """--target and its parameters into s.target (ValueError naming the option otherwise).

    An option that does not apply to the target is an error, never silently dropped: a kind's
    parameter with another kind, or the Gaussian's shape (--dim, --target-mean, ...) with a
    data file, whose columns decide them.
    """
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
        if opt == "csv":
            for k in ("path", "dataset"):
                t.params.pop(k, None)
            t.params.update(csv_source(v))
            name = dataset_name(v)
            if name is not None and os.path.lexists(v):
                print(f"gaussviz: note: {v!r} is the shipped data set {name}; for the file of that name "
                      f"here write ./{v}", file=err or sys.stderr)
        else:
            t.params[key] = [c.strip() for c in v.split(",") if c.strip()] if opt == "columns" else v
    if t.kind == "csv":
        shape = [flag for dest, flag in _SHAPE_OPTIONS.items() if getattr(a, dest, None) is not None]
        if shape:
            raise ValueError(f"{', '.join(shape)} {'does' if len(shape) == 1 else 'do'} not apply to a CSV target: "
                             "the data file decides its dimension, mean and covariance")
        if "path" not in t.params and "dataset" not in t.params:
            raise ValueError("--target csv needs --csv FILE (a data file or a shipped data set name)")
        d = csv_file(t.params).data.shape[1]
        t.dim = d
        if isinstance(s.start.mean, list) and len(s.start.mean) != d and getattr(a, "mean0", None) is None:
            s.start.mean = 0.0  # the preset's or session's start of another dimension no longer applies


def warn_csv_problems(s: Settings, err=None) -> None:
    """Skipped CSV lines as warnings on stderr: one line each, capped, then a count."""
    if s.target.kind != "csv":
        return
    f = csv_file(s.target.params)
    err = err or sys.stderr
    for line in f.problem_lines(MAX_CSV_WARNINGS):
        print(f"gaussviz: warning: {f.path}: {line}", file=err)
    if f.n_skipped:
        print(f"gaussviz: warning: {f.path}: skipped {f.n_skipped} line(s), using {f.data.shape[0]} row(s)",
              file=err)


def settings_from_args(a: argparse.Namespace) -> Settings:
    """A validated Settings from parsed options (ValueError with the reason otherwise)."""
    session = getattr(a, "session", None)
    if session is not None and a.preset:
        raise ValueError("use --preset or --session, not both")
    s = read_session(session) if session is not None else get_preset(a.preset) if a.preset else Settings()
    e = s.estimator
    for name in ("parameterization", "alpha", "objective", "direction", "schedule", "batch_size", "symmetrize"):
        v = getattr(a, name, None)
        if v is not None:
            setattr(e, name, v)
    apply_optimizer_args(e, a)
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
    apply_target_args(s, a)
    steps = (s.steps if session and s.steps > 0 else DEFAULT_STEPS) if a.steps is None else a.steps
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"--steps must be from 0 to {MAX_STEPS:,}; got {steps}")
    s.steps = steps
    s.validate()
    warn_csv_problems(s)
    return s


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


class StatusLine:
    """A progress line: rewritten in place on a terminal (at most every 0.1 s); elsewhere (a log
    file, a pipe) a plain line every ``every`` seconds, so long runs leave a trace and short ones none."""

    def __init__(self, stream=None, every: float = 10.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every = every
        self._last = 0.0 if self.tty else time.monotonic()
        self._text = ""  # the newest text
        self._shown = ""  # the text last written
        self._width = 0

    def show(self, text: str) -> None:
        self._text = text
        now = time.monotonic()
        if now - self._last >= (0.1 if self.tty else self.every):
            self._last = now
            self._write(text)

    def _write(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(text + "\n")
        self._shown = text
        self.stream.flush()

    def close(self) -> None:
        """Show the newest text if a line was shown before (and end the line on a terminal)."""
        if self._shown and self._text != self._shown:
            self._write(self._text)
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
        self._text = self._shown = ""


def run_with_progress(s: Settings) -> Snapshot:
    """Run the settings' steps through the core's one headless loop, with a progress bar."""
    bar = Progress(s.steps, s.preset or s.estimator.parameterization)
    snap = build_run(s).run_to(s.steps, bar.update).snapshot()
    bar.close()
    return snap
