"""`gaussviz render`: a run drawn by the window's own plots, written as images, CSV and session
(``--out``), or as a video paced like the window (``--video OUT.mp4|OUT.gif``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.video import DEFAULT_FPS, DEFAULT_SECONDS
from .common import COMMANDS, Progress, UsageError, add_run_options, run_with_progress, settings_from_args

RENDER_EXAMPLES = """\
examples:
  gaussviz render --preset ill-conditioned-natural --steps 20000 --out figs           PNG (1600 px) + SVG
  gaussviz render --session figs/session.json --out figs2 --format png --width 2400   the same numbers again
"""


def add_parsers(sub) -> None:
    r = sub.add_parser("render", help=COMMANDS["render"],
                       description="Run without a display and draw the final state with the window's own plots: "
                                   "cloud, mean, covariance, spectrum, kl and plots (all five) as PNG and/or SVG, "
                                   "plus history.csv and session.json.",
                       epilog=RENDER_EXAMPLES)
    add_run_options(r)
    r.add_argument("--session", metavar="FILE", default=argparse.SUPPRESS,
                   help="a session file (from the window or from render) instead of --preset (default: none)")
    r.add_argument("--out", metavar="FOLDER",
                   help="folder for the images, history.csv and session.json, created if missing (default: none; "
                        "required unless --video)")
    r.add_argument("--format", default="png,svg", metavar="LIST", help="png, svg or png,svg (default: png,svg)")
    r.add_argument("--width", type=int, default=None, metavar="PIXELS",
                   help="PNG width in pixels (default 1600); video width (default 1280 for MP4, 640 for GIF)")
    r.add_argument("--force", action="store_true", help="overwrite existing files (default: off)")
    r.add_argument("--plots", default=None, metavar="LIST",
                   help="which plots, comma separated, as File > Export names them: cloud, mean, covariance, "
                        "spectrum, kl, pspace (the parameter space), plots (all with the legend); images: default "
                        "every one; video: default plots (a wrong name gets the list)")
    v = r.add_argument_group("video (instead of --out)")
    v.add_argument("--video", metavar="OUT.mp4|OUT.gif",
                   help="write a video of the run, paced like the window (the preset's or session's pace; "
                        "default: none)")
    v.add_argument("--fps", type=float, default=DEFAULT_FPS, metavar="FPS",
                   help=f"video frames per second (default {DEFAULT_FPS:g})")
    v.add_argument("--seconds", type=float, default=None, metavar="S",
                   help=f"video length in seconds (default {DEFAULT_SECONDS:g}; or --steps N: until update N)")
    r.set_defaults(func=cmd_render)


def cmd_render(a: argparse.Namespace) -> int:
    from ..core.fileio import check_can_create, loading_modules, output_folder

    if not a.preset and getattr(a, "session", None) is None:
        raise UsageError("render needs --preset NAME or --session FILE")
    if a.video and a.out:
        raise UsageError("use --out FOLDER (images) or --video FILE, not both")
    if a.video:
        return cmd_render_video(a)
    if not a.out:
        raise UsageError("render needs --out FOLDER (images) or --video FILE")
    for opt in ("seconds",):
        if getattr(a, opt) is not None:
            raise UsageError(f"--{opt} applies to --video only")
    if a.fps != DEFAULT_FPS:
        raise UsageError("--fps applies to --video only")
    with loading_modules():  # Qt loads whole or not at all (an interrupted import can crash the exit)
        from ..gui.image_export import DEFAULT_WIDTH, check_formats, check_plots, check_width, file_names, write_files
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
    try:
        shown = None if a.plots is None else check_plots(a.plots.split(","))
    except ValueError as e:
        raise ValueError(f"--plots: {e}") from None
    s = settings_from_args(a)
    with output_folder(Path(a.out)) as out:
        for name in file_names(formats, plots=shown):  # fail now, not after the run
            check_can_create(out / name, a.force)
        snap = run_with_progress(s)
        files = render_files(snap, s, formats, width, plots_shown=shown)
        paths = write_files(out, files, force=a.force)  # all of them or none
    for f, path in zip(files, paths):
        print(f"wrote {path} ({f.what})")
    return 0


def cmd_render_video(a: argparse.Namespace) -> int:
    """A video of the run: frame i shows the run after floor(i * pace / fps) updates (the window's
    pace), drawn by the window's plots, encoded into a temporary file that takes its name at the end."""
    from ..core.fileio import check_can_create
    from ..core.video import DEFAULT_WIDTH, check_fps, check_video_width, ffmpeg_exe, plan_frames, video_format

    try:
        fmt = video_format(a.video)
    except ValueError as e:
        raise ValueError(f"--video: {e}") from None
    if a.format != "png,svg":
        raise UsageError("--format applies to --out (images), not --video (the file name says MP4 or GIF)")
    try:
        fps = check_fps(a.fps, fmt)
    except ValueError as e:
        raise ValueError(f"--fps: {e}") from None
    width = DEFAULT_WIDTH[fmt] if a.width is None else a.width
    try:
        check_video_width(width)
    except ValueError as e:
        raise ValueError(f"--width: {e}") from None
    from ..gui.image_export import PLOT_NAMES
    from ..gui.video import check_plot_names

    try:
        names = PLOT_NAMES if a.plots is None else check_plot_names(a.plots.split(","))
    except ValueError as e:
        raise ValueError(f"--plots: {e}") from None
    steps_given = a.steps
    if a.seconds is not None and steps_given is not None:
        raise UsageError("use --seconds or --steps for the video's length, not both")
    s = settings_from_args(a)
    try:
        plan = plan_frames(s.speed, fps, seconds=a.seconds, steps=steps_given, spread_steps=s.steps)
    except ValueError as e:
        raise ValueError(f"--seconds/--steps: {e}") from None
    path = Path(a.video)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ValueError(f"--video: folder {folder} does not exist")
    check_can_create(path, a.force)  # fail now, not after drawing
    ffmpeg_exe()  # a missing encoder is said before any work
    from ..gui.video import render_video

    bar = Progress(plan.n_frames, f"{path.name} ({plan.n_frames} frames)")
    res = render_video(s, path, plan, width, names, force=a.force, progress=bar.update)
    bar.close()
    last = res.last.step if res.last is not None else 0
    print(f"wrote {res.path} ({fmt.upper()} {res.size[0]}x{res.size[1]}, {res.frames} frames at {plan.fps:g} "
          f"frames/s = {res.frames / plan.fps:.1f} s, updates 0 to {last:,} at {plan.pace:,.4g} updates/s)")
    return 0
