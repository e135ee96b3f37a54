"""`gaussviz render`: a run drawn by the window's own plots, written as images, CSV and session."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import UsageError, add_run_options, run_with_progress, settings_from_args

RENDER_EXAMPLES = """\
examples:
  gaussviz render --preset ill-conditioned-natural --steps 20000 --out figs           PNG (1600 px) + SVG
  gaussviz render --session figs/session.json --out figs2 --format png --width 2400   the same numbers again
"""


def add_parsers(sub) -> None:
    r = sub.add_parser("render", help="run headless and write the window's plot images, history CSV and session",
                       description="Run without a display and draw the final state with the window's own plots: "
                                   "cloud, mean, covariance, spectrum, kl and plots (all five) as PNG and/or SVG, "
                                   "plus history.csv and session.json.",
                       epilog=RENDER_EXAMPLES)
    add_run_options(r)
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="a session file (from the window or from render) instead of --preset (default: none)")
    r.add_argument("--out", required=True, metavar="FOLDER",
                   help="folder for the images, history.csv and session.json (required; created if missing)")
    r.add_argument("--format", default="png,svg", metavar="LIST", help="png, svg or png,svg (default: png,svg)")
    r.add_argument("--width", type=int, default=1600, metavar="PIXELS", help="PNG width in pixels (default: 1600)")
    r.add_argument("--force", action="store_true", help="overwrite existing files (default: off)")
    r.set_defaults(func=cmd_render)


def cmd_render(a: argparse.Namespace) -> int:
    from ..core.fileio import check_can_create, ensure_folder

    if not a.preset and not getattr(a, "session", None):
        raise UsageError("render needs --preset NAME or --session FILE")
    from ..gui.image_export import check_formats, check_width, file_names, write_files

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
    snap = run_with_progress(s)
    from ..gui.render import render_files

    files = render_files(snap, s, formats, a.width)
    for f, path in zip(files, write_files(out, files, force=a.force)):
        print(f"wrote {path} ({f.what})")
    return 0


