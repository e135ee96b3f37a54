"""Command line: ``gaussviz`` opens the window; ``gaussviz run|presets|sweep|render`` work headless.

Bad options exit with status 2 and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.presets import PRESETS
from . import render, run, sweep
from .common import Parser, UsageError


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="gaussviz", description="Watch online Gaussian MLE converge, crawl or blow up.")
    p.add_argument("--version", action="version", version=f"gaussviz {__version__}")
    p.add_argument("--preset", choices=list(PRESETS), help="open the window with a preset")
    p.add_argument("--session", help="open the window with a session file")
    p.add_argument("--screenshot", help="save a PNG of the window after --after seconds and exit")
    p.add_argument("--after", type=float, default=3.0, help="seconds to run before --screenshot")
    sub = p.add_subparsers(dest="command", parser_class=Parser)
    for module in (run, sweep, render):
        module.add_parsers(sub)
    return p


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




__all__ = ["build_parser", "main"]
