"""`gaussviz render`: a run drawn by the window's own plots, written as images, CSV and session."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import UsageError, add_run_options, run_with_progress, settings_from_args


def add_parsers(sub) -> None:
    r = sub.add_parser("render", help="run headless and write the window's plot images, history CSV and session")
    add_run_options(r)
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="a session file (JSON, or a PNG/SVG gaussviz exported) instead of --preset")
    r.add_argument("--out", required=True, help="folder for the images, history.csv and session.json")
    r.add_argument("--format", default="png,svg", help="png, svg or png,svg (default png,svg)")
    r.add_argument("--width", type=int, default=None, help="PNG width in pixels (default 1600)")
    r.add_argument("--force", action="store_true", help="overwrite existing files")
    r.set_defaults(func=cmd_render)


def cmd_render(a: argparse.Namespace) -> int:
    from ..core.fileio import check_can_create, deferred_signals, output_folder

    if not a.preset and getattr(a, "session", None) is None:
        raise UsageError("render needs --preset NAME or --session FILE")
    with deferred_signals():  # Qt loads whole or not at all (an interrupted import can crash the exit)
        from ..gui.image_export import DEFAULT_WIDTH, check_formats, check_width, file_names, write_files
        from ..gui.render import render_files

    try:
        formats = check_formats(a.format.split(","))
    except ValueError as e:
        raise ValueError(f"--format: {e}") from None
    if a.width is not None and "png" not in formats:
        raise UsageError("--width applies to PNG images; --format has none")
    width = DEFAULT_WIDTH if a.width is None else a.width
    try:
        check_width(width)
    except ValueError as e:
        raise ValueError(f"--width: {e}") from None
    s = settings_from_args(a)
    with output_folder(Path(a.out)) as out:
        for name in file_names(formats):  # fail now, not after the run
            check_can_create(out / name, a.force)
        snap = run_with_progress(s)
        files = render_files(snap, s, formats, width)
        paths = write_files(out, files, force=a.force)  # all of them or none
    for f, path in zip(files, paths):
        print(f"wrote {path} ({f.what})")
    return 0
