"""Command line: ``gaussviz`` opens the window; ``gaussviz run|presets|sweep|render`` work headless.

Bad options exit with status 2 and a one-line message, never a traceback. An
option that does not apply (a window option before a command, ``--after``
without ``--screenshot``, an option given twice) is an error, not dropped.

SIGINT and SIGTERM end a command cleanly, whenever they come: while the
modules load (held until they are loaded: this module imports nothing heavy
until its handlers are in place), during a run, or while a file set is
written (its temporaries are removed and the folder is left as it was:
``core.fileio.write_file_set``).
The exit status is 130 (SIGINT) or 143 (SIGTERM), with one line, no traceback.
"""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Sequence


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that its clean-up (``finally``) runs."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    held: list[int] = []
    handlers = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, lambda signum, _frame: held.append(signum))
    except ValueError:  # not the main thread (tests calling main from a thread): no handlers
        pass
    collecting = gc.isenabled()
    try:
        try:
            # numpy, numba and Qt load here with the signals held: a library interrupted half way
            # through its import can crash the interpreter on its way out. The cyclic collector
            # waits too: imports make no garbage (core.fileio.loading_modules says why).
            gc.disable()
            from .entry import dispatch
        finally:
            if collecting:
                gc.enable()
            if handlers:
                signal.signal(signal.SIGTERM, _on_sigterm)
                signal.signal(signal.SIGINT, signal.default_int_handler)
        if held:
            raise Terminated() if held[0] == signal.SIGTERM else KeyboardInterrupt()
        return dispatch(argv)
    except Terminated:
        print("gaussviz: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("gaussviz: interrupted", file=sys.stderr)
        return 130
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def gui_main(argv: Sequence[str] | None = None) -> int:
    """``gaussviz-gui [FILE]`` (the launchers' entry point, resources/gaussviz.desktop): the window, with a
    session file or exported PNG/SVG if one is given (``Exec=gaussviz-gui %f``); options as for gaussviz."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 1 and not argv[0].startswith("-"):
        argv = ["--session", argv[0]]
    return main(argv)


def build_parser():
    """The argument parser (``gaussviz --help``)."""
    from .entry import build_parser as build

    return build()


__all__ = ["Terminated", "build_parser", "gui_main", "main"]
