"""Command line: ``gaussviz`` opens the window; ``gaussviz run|presets|sweep|render`` work headless.

Bad options exit with status 2 and a one-line message, never a traceback. An
option that does not apply (a window option before a command, ``--after``
without ``--screenshot``, an option given twice) is an error, not dropped.
SIGINT and SIGTERM end a command cleanly: its temporary files are removed and
a file set it was writing is left as it was (``core.fileio.write_file_set``);
the exit status is 130 or 143.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.presets import PRESETS
from ..core.validation import MAX_AFTER_S, one_line
from . import render, run, sweep
from .common import Parser, UsageError

#: options of the window (before any command): with a command they would be silently ignored
WINDOW_OPTIONS = {"preset": "--preset", "session": "--session", "screenshot": "--screenshot",
                  "after": "--after", "force": "--force"}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that its clean-up (``finally``) runs."""


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="gaussviz", description="Watch online Gaussian MLE converge, crawl or blow up.")
    p.add_argument("--version", action="version", version=f"gaussviz {__version__}")
    p.add_argument("--preset", choices=list(PRESETS), help="open the window with a preset")
    p.add_argument("--session", help="open the window with a session file (JSON, or a PNG/SVG gaussviz exported)")
    p.add_argument("--screenshot", help="save a PNG of the window after --after seconds and exit")
    p.add_argument("--after", type=float, default=3.0,
                   help=f"seconds to run before --screenshot (0 to {MAX_AFTER_S:g}; default 3)")
    p.add_argument("--force", action="store_true", help="--screenshot may replace an existing file")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for module in (run, sweep, render):
        module.add_parsers(sub)
    return p


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


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    old_term = None
    try:
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (tests calling main from a thread): no handler
        pass
    try:
        a = parser.parse_args(argv)
        a.__dict__.update(_top_level_given(parser, argv))
        check_window_args(a)
        if a.command is None:
            from ..gui.app import run_app

            return run_app(a)
        return a.func(a)
    except (UsageError, ValueError, OSError) as e:
        print(f"gaussviz: error: {one_line(e)}", file=sys.stderr)
        return 2
    except Terminated:
        print("gaussviz: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("gaussviz: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, but still one line: the traceback only when asked for
        if os.environ.get("GAUSSVIZ_DEBUG"):
            raise
        print(f"gaussviz: error: unexpected {type(e).__name__}: {one_line(e)} "
              "(set GAUSSVIZ_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


__all__ = ["build_parser", "main"]
