"""Command line: ``gaussviz`` opens the window; ``gaussviz run|presets|sweep|render`` work headless.

Bad options exit with status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from . import render, run, sweep
from .common import Parser, UsageError, add_preset_option, finish_help

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


def build_parser() -> argparse.ArgumentParser:
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
                   help="seconds to run, counted from the first update, before --screenshot (default: 3 s)")
    p.add_argument("--force", action="store_true", help="let --screenshot replace an existing file (default: off)")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND",
                           title="commands (without one: the window)")
    for module in (run, sweep, render):
        module.add_parsers(sub)
    return finish_help(p)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        a = parser.parse_args(argv)
        if a.command is None:
            from ..gui.app import run_app

            return run_app(a)
        return a.func(a)
    except (UsageError, ValueError) as e:
        print(f"gaussviz: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"gaussviz: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def gui_main(argv: Sequence[str] | None = None) -> int:
    """``gaussviz-gui [FILE]`` (the launchers' entry point, resources/gaussviz.desktop): the window, with a
    session file or exported PNG/SVG if one is given (``Exec=gaussviz-gui %f``); options as for gaussviz."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 1 and not argv[0].startswith("-"):
        argv = ["--session", argv[0]]
    return main(argv)


__all__ = ["build_parser", "gui_main", "main"]
