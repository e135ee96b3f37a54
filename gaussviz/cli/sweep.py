"""`gaussviz sweep`: the stability map (alpha x update rule x a second axis x seeds)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import parameterizations as pz
from ..core.presets import PRESETS, get_preset
from ..core.settings import Settings
from .common import Progress, add_target_options, apply_target_args, floats, warn_csv_problems


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in pz.PARAMETERIZATIONS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(pz.NAMES)}; got {text!r}")
    return names


def add_parsers(sub) -> None:
    from ..core.sweep import AXES

    w = sub.add_parser("sweep", help="stability map: alpha x parameterization x a second axis, several seeds")
    w.add_argument("--alpha-min", type=float, default=1e-4, help="smallest learning rate (default 1e-4)")
    w.add_argument("--alpha-max", type=float, default=1.0, help="largest learning rate (default 1)")
    w.add_argument("--alpha-count", type=int, default=40, help="log-spaced learning rates (default 40)")
    w.add_argument("--parameterizations", type=_names, default=list(pz.NAMES),
                   help="comma-separated subset (default: all five)")
    w.add_argument("--axis", choices=list(AXES), default="cov0-scale", help="second axis (default cov0-scale)")
    w.add_argument("--axis-values", type=floats, default=None,
                   help="values of the second axis, comma separated (default: the base's own value)")
    w.add_argument("--seeds", type=int, default=8, help="seeds per cell (default 8)")
    w.add_argument("--steps", type=int, default=5000, help="updates per chain (default 5000)")
    w.add_argument("--preset", choices=list(PRESETS),
                   help="take target, start and sign/schedule/symmetrize from a preset "
                        "(default: the 2-D ill-conditioned target, start (1, 1), Sigma_0 = I, symmetrize on)")
    w.add_argument("--symmetrize", action=argparse.BooleanOptionalAction, default=None,
                   help="keep Sigma (or Lambda) symmetric each update")
    w.add_argument("--seed", type=int, default=None, help="first seed (seeds are consecutive)")
    w.add_argument("--out", required=True, help="folder for stability_map.png, .csv and .json")
    w.add_argument("--force", action="store_true", help="overwrite existing files")
    w.add_argument("--width", type=int, default=1600, help="PNG width in pixels (default 1600)")
    add_target_options(w)
    w.set_defaults(func=cmd_sweep)


def cmd_sweep(a: argparse.Namespace) -> int:
    from ..core.fileio import check_can_create, deferred_signals, output_folder, write_file_set
    from ..core.sweep import default_base, make_spec, run_sweep

    with deferred_signals():  # Qt loads whole or not at all (an interrupted import can crash the exit)
        from ..gui.heatmap import stability_map_png

    if not 400 <= a.width <= 20_000:
        raise ValueError(f"--width must be from 400 to 20000 pixels; got {a.width}")
    base = default_base()
    if a.preset:
        ps = get_preset(a.preset)
        base = Settings(target=ps.target, start=ps.start, estimator=ps.estimator)
    if a.symmetrize is not None:
        base.estimator.symmetrize = a.symmetrize
    if a.seed is not None:
        base.target.seed = a.seed
    apply_target_args(base, a)
    base.validate()
    warn_csv_problems(base)
    spec = make_spec(a.alpha_min, a.alpha_max, a.alpha_count, a.parameterizations, a.axis, a.axis_values,
                     a.seeds, a.steps, base)
    names = {ext: f"stability_map.{ext}" for ext in ("png", "csv", "json")}
    with output_folder(Path(a.out)) as out:
        for name in names.values():  # fail now, not after the sweep
            check_can_create(out / name, a.force)
        bar = Progress(spec.n_chains * spec.steps, f"sweep {spec.n_chains:,} chains")
        result = run_sweep(spec, progress=lambda f: bar.update(round(f * bar.total)))
        bar.close()
        # All three or none: written to temporaries first, then renamed together.
        paths = dict(zip(names, write_file_set(out, [
            (names["png"], stability_map_png(result, a.width)),
            (names["csv"], result.csv_text().encode("utf-8")),
            (names["json"], result.spec_json().encode("utf-8")),
        ], force=a.force)))
    print(f"{spec.n_chains:,} chains x {spec.steps:,} updates in {result.elapsed:.2f} s; "
          f"{int(result.diverged.sum()):,} diverged")
    for line in result.summary_lines():
        print(f"  {line}")
    print(f"wrote {paths['png']} (heat map, {a.width} px wide)")
    print(f"wrote {paths['csv']} (every chain: settings, divergence, final KL)")
    print(f"wrote {paths['json']} (the sweep's settings)")
    return 0
