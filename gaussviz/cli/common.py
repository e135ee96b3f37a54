"""What every subcommand shares: the parser that errors in one line, the run and target options,
settings from options, and the terminal progress bar.

Bad options exit with status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
from ..core.validation import MAX_STEPS, check_beta, check_eps, did_you_mean

#: CSV problems printed on stderr at most (then a count)
MAX_CSV_WARNINGS = 20
#: updates a `run` or `render` makes unless told (or the session says)
DEFAULT_STEPS = 100_000


class UsageError(Exception):
    """A bad option: reported in one line, exit status 2."""


#: choice lists at most this long are spelled out in the help and in errors; longer ones point to a listing
SHOW_CHOICES = 8


class HelpFormatter(argparse.HelpFormatter):
    """Help at the terminal's width (80 to 110 columns); an epilog of examples is kept as written."""

    def __init__(self, prog: str, **kwargs) -> None:
        width = max(80, min(110, shutil.get_terminal_size((100, 24)).columns - 2))
        super().__init__(prog, max_help_position=34, width=width, **kwargs)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


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


#: the commands and their one-line help, in the order ``gaussviz --help`` lists them (each module's
#: ``add_parsers`` gives them their options; a window start needs only their names: cli/entry.py)
COMMANDS = {
    "run": "run headless and print a summary (why a run diverged, too)",
    "presets": "list the presets (lessons), one line each",
    "sweep": "stability map: alpha x parameterization x a second axis, several seeds",
    "render": "run headless and write the window's plot images, history CSV and session",
}


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (UsageError) with a did-you-mean for misspelt names and
    options, negative numbers are values, and an option that takes a value may be given once.

    ``finish_help`` (called once the parser is built) gives every choice option a NAME placeholder
    and appends defaults and short choice lists to the help, for options added later too.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", None, StoreOnce)
        self.register("action", "store", StoreOnce)
        # argparse takes "-1e-3", "-inf" or "-0.5,1" for an unknown option ("--mean0: expected
        # one argument"); no option of ours starts with a digit, '.', inf or nan, so they are values.
        self._negative_number_matcher = re.compile(r"^-(\.?\d|inf|nan)", re.IGNORECASE)

    def error(self, message: str):  # one line, no usage dump
        raise UsageError(message)

    def _check_value(self, action: argparse.Action, value) -> None:
        """An unknown choice: the closest name, then the names (or where to list them)."""
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, choice_error(value, action))

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        args = list(sys.argv[1:] if args is None else args)
        self._check_leading_options(args)
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error(unrecognized_error(self, ns, extras))
        return ns


    def _check_leading_options(self, args: list[str]) -> None:
        """An unknown option before the command (``gaussviz --prest x``): argparse would take the
        next word for the command and complain about that; name the option instead."""
        subs = _subparsers(self)
        if not subs:
            return
        commands = subs[0].choices
        options = _options_of(self)
        for tok in args:
            if tok == "--" or tok in commands:  # type: ignore[operator]
                return
            name = tok.split("=", 1)[0]
            if name.startswith("--") and not any(o.startswith(name) for o in options):
                self.error(f"unrecognized arguments: {tok}" + did_you_mean(name, options, quote=False))


def choice_error(value, action: argparse.Action) -> str:
    """``invalid choice: 'seed-questoin'; did you mean 'seed-question'? (gaussviz presets lists them)``"""
    names = [str(c) for c in action.choices]  # type: ignore[union-attr]
    msg = f"invalid choice: {value!r}{did_you_mean(str(value), names)}"
    listing = getattr(action, "listing", None)
    if listing:
        return f"{msg} ({listing})"
    if len(names) <= SHOW_CHOICES:
        return f"{msg} (one of: {', '.join(names)})"
    return msg


def _options_of(parser: argparse.ArgumentParser) -> list[str]:
    return [o for o in parser._option_string_actions if o.startswith("--")]


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def unrecognized_error(parser: argparse.ArgumentParser, ns: argparse.Namespace, extras: list[str]) -> str:
    """``unrecognized arguments: --alpah 0.1; did you mean --alpha?`` (options of the command given)."""
    options = _options_of(parser)
    for sub in _subparsers(parser):
        chosen = sub.choices.get(getattr(ns, sub.dest, None) or "")  # type: ignore[union-attr]
        if chosen is not None:
            options = _options_of(chosen) + options
    msg = f"unrecognized arguments: {' '.join(extras)}"
    first = next((x for x in extras if x.startswith("-")), None)
    if first is not None:
        return msg + did_you_mean(first.split("=", 1)[0], options, quote=False)
    return msg


def _plain(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 10_000 else str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def finish_help(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Walk a parser and its subcommands once: NAME placeholders for choices, the choices (when
    short) and the default in every option's help. Options added later get the same for free; an
    option whose default is None must say its default in its own help (tests/cli check that)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            action.metavar = action.metavar or "COMMAND"
            for sub in dict.fromkeys(action.choices.values()):  # type: ignore[union-attr]
                finish_help(sub)
            continue
        if not action.option_strings or action.help == argparse.SUPPRESS or action.dest in ("help", "version"):
            continue
        text = action.help or ""
        if action.choices is not None:
            if action.metavar is None:
                action.metavar = "NAME"
            names = [str(c) for c in action.choices]
            if len(names) <= SHOW_CHOICES and "one of" not in text:
                text = f"{text}; one of: {', '.join(names)}"
        if "default" not in text:
            d = action.default
            if isinstance(action, argparse._StoreTrueAction) or (d is False and action.nargs == 0):
                text = f"{text} (default: off)"
            elif d is not None and d is not argparse.SUPPRESS:
                text = f"{text} (default: {_plain(d)})"
        action.help = text.replace("%", "%%").replace("%%(default)s", "%(default)s")
    return parser


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


#: how help texts point at the preset list (also after an unknown --preset)
PRESET_LISTING = "gaussviz presets lists them"


def add_preset_option(p, help_text: str) -> argparse.Action:
    """``--preset NAME``: the names are checked (with a did-you-mean) but not crammed into the usage line."""
    a = p.add_argument("--preset", choices=list(PRESETS), metavar="NAME", help=f"{help_text}; {PRESET_LISTING}")
    a.listing = PRESET_LISTING  # type: ignore[attr-defined]
    return a


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The estimator, target and start options of `run` and `render`."""
    e, t, st = Settings().estimator, Settings().target, Settings().start
    pre = "default: the preset's or session's, else"
    g = p.add_argument_group("estimator")
    add_preset_option(g, "start from a lesson; the options below override it (default: none)")
    g.add_argument("--parameterization", choices=list(pz.NAMES),
                   help=f"the update rule: which matrix is stored and stepped ({pre} {e.parameterization})")
    g.add_argument("--alpha", type=float, metavar="A",
                   help=f"learning rate per update, > 0 and at most 1 ({pre} {e.alpha:g})")
    g.add_argument("--objective", choices=OBJECTIVES,
                   help=f"loglik: the log-likelihood log L; neg-loglik: -log L ({pre} {e.objective})")
    g.add_argument("--direction", choices=DIRECTIONS,
                   help=f"step up (ascent) or down (descent) the objective's gradient ({pre} {e.direction})")
    g.add_argument("--schedule", choices=list(SCHEDULES),
                   help="learning rate at update t: alpha (constant), alpha / (1 + alpha t) (inverse), "
                        f"alpha / sqrt(1 + t) (inverse-sqrt) ({pre} {e.schedule})")
    g.add_argument("--batch-size", type=int, metavar="N",
                   help=f"samples per update (mini-batch), 1 to 100,000 ({pre} {e.batch_size})")
    g.add_argument("--symmetrize", action=argparse.BooleanOptionalAction, default=None,
                   help="keep Sigma (or Lambda) symmetric after each update (covariance, precision) "
                        f"({pre} {'on' if e.symmetrize else 'off'})")
    add_optimizer_options(p)
    ts = p.add_argument_group("target and start")
    ts.add_argument("--dim", type=int, metavar="D", help=f"dimension of the target, 1 to 50 ({pre} {t.dim})")
    ts.add_argument("--target-cond", type=float, metavar="C",
                    help=f"condition number of the target covariance: largest / smallest eigenvalue, 1 to 1e10 "
                         f"({pre} {t.cond:g})")
    ts.add_argument("--target-rotation", type=float, metavar="DEG",
                    help=f"rotation of the target's eigenbasis, in degrees ({pre} {t.rotation_deg:g})")
    ts.add_argument("--target-mean", type=floats, metavar="X[,X...]",
                    help=f"true mean: one number (every coordinate) or d numbers, comma separated ({pre} 0)")
    ts.add_argument("--mean0", type=floats, metavar="X[,X...]",
                    help=f"start mean mu_0: one number or d numbers ({pre} {st.mean:g})")
    ts.add_argument("--cov0-scale", type=float, metavar="S",
                    help=f"start covariance Sigma_0 = S * I, 1e-12 to 1e12 ({pre} {st.cov_scale:g})")
    ts.add_argument("--seed", type=int, metavar="N", help=f"seed of the sample stream, >= 0 ({pre} {t.seed})")
    add_target_options(p)
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help=f"updates to run (default: the session's, else {DEFAULT_STEPS:,})")


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
    g.add_argument("--beta1", type=float, metavar="B",
                   help=f"first-moment decay in [0, 1) (default {D['beta1']:g}; {users['beta1']})")
    g.add_argument("--beta2", type=float, metavar="B",
                   help=f"second-moment decay in [0, 1) (default {D['beta2']:g}; {users['beta2']})")
    g.add_argument("--eps", type=float, metavar="E",
                   help=f"denominator guard > 0 (default {D['eps']:g}; {users['eps']})")
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
                   help="what the samples come from (default: the preset's, else gaussian; --csv implies csv)")
    for kind in TARGET_KINDS.values():
        for param in kind.params:
            x.add_argument(param.option, type=float, dest=param.option[2:].replace("-", "_"), metavar="X",
                           help=f"{kind.name}: {param.help} (default {param.default:g})")
    x.add_argument("--csv", metavar="FILE",
                   help=f"csv: a data file, or a shipped data set by its name alone: {', '.join(DATASETS)} "
                        "(a file of that name is ./NAME; default: none)")
    x.add_argument("--columns", metavar="LIST",
                   help="csv: columns to use, header names or 0-based indices, comma separated "
                        "(default: every numeric column)")
    x.add_argument("--standardize", action="store_true", default=None,
                   help="csv: shift and scale each column to mean 0 and variance 1 (default: off)")


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
