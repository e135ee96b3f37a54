"""The command line's parser and dispatch (``gaussviz.cli.main`` imports this once its signal
handlers are in place; see ``gaussviz/cli/__init__.py``)."""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__
from ..core.validation import MAX_AFTER_S, one_line
from .common import COMMANDS, Parser, UsageError, add_preset_option, finish_help

#: the commands that run the kernels (numba is imported before they start, with the signals held)
KERNEL_COMMANDS = ("run", "sweep", "render")
#: options of the window (before any command): with a command they would be silently ignored
WINDOW_OPTIONS = {"preset": "--preset", "session": "--session", "screenshot": "--screenshot",
                  "after": "--after", "force": "--force"}


EXAMPLES = """\
examples:
  gaussviz                                      the window on the seed question, running
  gaussviz --preset what-am-i-missing           the five update rules side by side
  gaussviz --session my_session.json            a saved session (File > Save session)
  gaussviz --screenshot window.png --after 5    a picture of the window after 5 s, no display needed
  xvfb-run gaussviz                             the window on a machine without a display
  gaussviz presets                              the lessons, one line each
  gaussviz run --preset wrong-sign-descent      headless: a summary, and why it diverged
  gaussviz run --help                           every option of a command
"""


def build_parser(commands: bool = True) -> argparse.ArgumentParser:
    """The whole command line; without ``commands``, the commands are names only (their modules and
    options not loaded): for a line that names no command, which parses and reads the same
    (``gaussviz --help`` lists the commands with their one-line help either way; issue 13)."""
    p = Parser(prog="gaussviz", description="Watch online maximum-likelihood estimation of a Gaussian converge, "
                                            "crawl or blow up. Without a command: the live window.",
               epilog=EXAMPLES)
    p.add_argument("--version", action="version", version=f"gaussviz {__version__}")
    add_preset_option(p, "open the window on a lesson (default: seed-question)")
    p.add_argument("--session", metavar="FILE",
                   help="open the window with a session file, or a PNG or SVG gaussviz exported (default: none)")
    p.add_argument("--screenshot", metavar="FILE",
                   help="save a PNG of the whole window --after seconds after the first update, then exit; "
                        "needs no display (default: none: open the window)")
    p.add_argument("--after", type=float, default=3.0, metavar="SECONDS",
                   help=f"seconds to run, counted from the first update, before --screenshot "
                        f"(0 to {MAX_AFTER_S:g}; default: 3 s)")
    p.add_argument("--force", action="store_true", help="let --screenshot replace an existing file (default: off)")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND",
                           title="commands (without one: the window)")
    if commands:
        from . import render, run, sweep

        for module in (run, sweep, render):
            module.add_parsers(sub)
    else:
        for name, text in COMMANDS.items():
            sub.add_parser(name, help=text)
    return finish_help(p)


def check_window_args(a: argparse.Namespace) -> None:
    """The window's options: only without a command, --after and --force only with --screenshot."""
    if a.command is not None:
        wrong = [flag for dest, flag in WINDOW_OPTIONS.items() if a.__dict__.get(f"_top_{dest}")]
        if wrong:
            raise UsageError(f"{', '.join(wrong)} before '{a.command}' {'applies' if len(wrong) == 1 else 'apply'} "
                             f"to the window; write {'it' if len(wrong) == 1 else 'them'} after '{a.command}' "
                             "if the command takes it")
        return
    if a.screenshot is None:
        for dest in ("after", "force"):
            if a.__dict__.get(f"_top_{dest}"):
                raise UsageError(f"{WINDOW_OPTIONS[dest]} applies only with --screenshot")


def _top_level_given(p: argparse.ArgumentParser, argv: list[str]) -> dict[str, bool]:
    """Which window options appear before the command (argparse lets a command's own defaults
    overwrite them, so they are found in the arguments themselves)."""
    commands = set()
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = set(action.choices)
    out = {}
    flags = {flag: dest for dest, flag in WINDOW_OPTIONS.items()}
    for arg in argv:
        if arg in commands or arg == "--":
            break
        name = arg.split("=", 1)[0]
        if name in flags:
            out[f"_top_{flags[name]}"] = True
    return out


def dispatch(argv: list[str]) -> int:
    """Parse and run; every error is one line (exit 2), an interrupt exit 130 or 143."""
    parser = build_parser(commands=any(arg in COMMANDS for arg in argv))
    try:
        a = parser.parse_args(argv)
        a.__dict__.update(_top_level_given(parser, argv))
        check_window_args(a)
        if a.command is None:
            from ..core.fileio import loading_modules

            with loading_modules():  # Qt loads whole or not at all (an interrupted import can crash the exit)
                from ..gui.app import run_app

            return run_app(a)
        if a.command in KERNEL_COMMANDS:
            from ..core import jit
            from ..core.fileio import loading_modules

            with loading_modules():  # numba loads whole or not at all (it is imported on first use: core/jit.py)
                jit.start_numba()
        return a.func(a)
    except (UsageError, ValueError, OSError) as e:
        print(f"gaussviz: error: {one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug, but still one line: the traceback only when asked for
        if os.environ.get("GAUSSVIZ_DEBUG"):
            raise
        print(f"gaussviz: error: unexpected {type(e).__name__}: {one_line(e)} "
              "(set GAUSSVIZ_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


__all__ = ["build_parser", "dispatch"]
