"""`gaussviz sweep`: the stability map (alpha x update rule x a second axis x seeds)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import parameterizations as pz
from ..core.presets import get_preset
from ..core.settings import Settings
from ..core.validation import did_you_mean
from .common import (
    COMMANDS,
    StatusLine,
    add_optimizer_options,
    add_preset_option,
    add_target_options,
    apply_optimizer_args,
    apply_target_args,
    warn_csv_problems,
)


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in names if x not in pz.PARAMETERIZATIONS]
    if bad or not names:
        hint = did_you_mean(bad[0], pz.NAMES) if bad else ""
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated subset of {','.join(pz.NAMES)}; got {text!r}{hint}")
    return names


SWEEP_EXAMPLES = """\
examples:
  gaussviz sweep --out map/                                      every rule, 40 learning rates, 8 seeds
  gaussviz sweep --alpha-min 1e-4 --alpha-max 1 --alpha-count 40 \\
      --parameterizations covariance,natural --axis cov0-scale --axis-values 0.1,1,10 --out map/
  gaussviz sweep --preset heavy-tails --steps 20000 --out tails/
  gaussviz sweep --scheduler local:2 --out map/                  on Dask (needs gaussviz[cluster])
  gaussviz sweep --resume --out map/                             go on after Ctrl-C or a lost cluster
"""


def add_parsers(sub) -> None:
    from ..core.sweep import AXES

    w = sub.add_parser("sweep", help=COMMANDS["sweep"],
                       description="Run every combination of learning rate (log-spaced), update rule, a second "
                                   "axis and seeds, and write the stability map: stability_map.png (fraction "
                                   "diverged, median final KL), .csv (every chain) and .json (the settings).",
                       epilog=SWEEP_EXAMPLES)
    w.add_argument("--alpha-min", type=float, default=1e-4, metavar="A", help="smallest learning rate")
    w.add_argument("--alpha-max", type=float, default=1.0, metavar="A", help="largest learning rate, at most 1")
    w.add_argument("--alpha-count", type=int, default=40, metavar="N", help="learning rates, log-spaced")
    w.add_argument("--parameterizations", type=_names, default=None, metavar="LIST",
                   help=f"update rules, a comma-separated subset of {','.join(pz.NAMES)} (default: all; with "
                        "--axis optimizer, those that take every optimizer)")
    w.add_argument("--axis", choices=list(AXES), default="cov0-scale", help="the second axis")
    w.add_argument("--axis-values", default=None, metavar="X[,X...]",
                   help="values of the second axis, comma separated: numbers, or for --axis optimizer names "
                        f"from {','.join(AXES['optimizer'].choices)} (default: the base's own value)")
    w.add_argument("--seeds", type=int, default=8, metavar="N", help="seeds (sample streams) per cell")
    w.add_argument("--steps", type=int, default=5000, metavar="N", help="updates per chain")
    add_preset_option(w, "take target, start and sign/schedule/symmetrize from a lesson "
                         "(default: the 2-D ill-conditioned target, start (1, 1), Sigma_0 = I, symmetrize on)")
    w.add_argument("--symmetrize", action=argparse.BooleanOptionalAction, default=None,
                   help="keep Sigma (or Lambda) symmetric each update (default: the preset's, else on)")
    w.add_argument("--seed", type=int, default=None, metavar="N",
                   help="first seed; seeds are consecutive (default: the preset's, else 0)")
    w.add_argument("--out", required=True, metavar="FOLDER",
                   help="folder for stability_map.png, .csv and .json (required; created if missing)")
    w.add_argument("--force", action="store_true", help="overwrite existing files")
    w.add_argument("--width", type=int, default=1600, metavar="PIXELS", help="PNG width in pixels")
    c = w.add_argument_group("long sweeps (see README: Sweeps on a cluster)")
    c.add_argument("--scheduler", metavar="SPEC", default=None,
                   help="run the chains on Dask: local (a worker process per core), local:N (N worker "
                        "processes) or tcp://HOST:PORT (an existing cluster's scheduler); same results to the "
                        "bit; needs gaussviz[cluster] (default: in this process)")
    c.add_argument("--resume", action="store_true",
                   help="continue an interrupted sweep from what OUT/.partial holds (run the same command again "
                        "with --resume)")
    c.add_argument("--task-seconds", type=float, default=None, metavar="SECONDS",
                   help="aim at tasks of about this many seconds of one core each (default: 3)")
    add_optimizer_options(w)
    add_target_options(w)
    w.set_defaults(func=cmd_sweep)


def cmd_sweep(a: argparse.Namespace) -> int:
    from ..core.cluster import (
        TASK_SECONDS,
        ClusterError,
        check_reachable,
        open_cluster,
        parse_scheduler,
        require_dask,
        run_tasks,
    )
    from ..core.fileio import check_can_create, loading_modules, make_folder, remove_empty_folders, write_file_set
    from ..core.sweep import default_base, make_spec
    from ..core.sweep_store import PartialStore

    with loading_modules():  # Qt loads whole or not at all (an interrupted import can crash the exit)
        from ..gui.heatmap import stability_map_png

    if not 400 <= a.width <= 20_000:
        raise ValueError(f"--width must be from 400 to 20000 pixels; got {a.width}")
    task_seconds = TASK_SECONDS if a.task_seconds is None else a.task_seconds
    if not 0.01 <= task_seconds <= 86_400:
        raise ValueError(f"--task-seconds must be from 0.01 to 86400; got {a.task_seconds}")
    try:
        scheduler = parse_scheduler(a.scheduler)
    except ValueError as e:
        raise ValueError(f"--{e}") from None
    if scheduler is not None:
        try:
            check_reachable(scheduler)  # a bad address fails here, in a moment
            require_dask()
        except ClusterError as e:
            print(f"gaussviz: error: --scheduler: {e}", file=sys.stderr)
            return e.status
    base = default_base()
    if a.preset:
        ps = get_preset(a.preset)
        base = Settings(target=ps.target, start=ps.start, estimator=ps.estimator)
    if a.symmetrize is not None:
        base.estimator.symmetrize = a.symmetrize
    if a.seed is not None:
        base.target.seed = a.seed
    params = a.parameterizations
    if params is None:  # all the rules the swept (or chosen) optimizers can drive
        sgd = a.axis != "optimizer" and (a.optimizer or base.estimator.optimizer) == "sgd"
        params = [p.name for p in pz.PARAMETERIZATIONS.values() if sgd or not p.sgd_only]
    base.estimator.parameterization = params[0]  # the rule the optimizer options are checked against
    apply_optimizer_args(base.estimator, a)
    apply_target_args(base, a)
    base.validate()
    warn_csv_problems(base)
    values = None
    if a.axis_values is not None:
        from ..core.sweep import AXES

        try:
            ax = AXES[a.axis]
            values = [ax.value(x) for x in a.axis_values.replace(";", ",").split(",") if x.strip()]
            values = [ax.format(v) for v in values] if ax.choices else values
        except ValueError as e:
            raise ValueError(f"--axis-values: {e}") from None
        if not values:
            raise ValueError("--axis-values: expected at least one value")
    spec = make_spec(a.alpha_min, a.alpha_max, a.alpha_count, params, a.axis, values,
                     a.seeds, a.steps, base)
    names = {ext: f"stability_map.{ext}" for ext in ("png", "csv", "json")}
    out, created = make_folder(Path(a.out))  # folders made here go again if nothing is written into them
    try:
        for name in names.values():  # fail now, not after the sweep
            check_can_create(out / name, a.force)
        store = PartialStore(out)
        done = []
        if store.exists():
            if not a.resume:
                raise ValueError(f"{out} holds an unfinished sweep ({store.chains_done():,} chains done): add "
                                 f"--resume to continue it, or delete {store.folder} to start over")
            done, problems = store.load(spec)  # a different sweep: ResumeError, one line
            for line in problems:
                print(f"gaussviz: warning: {store.folder}/{line}", file=sys.stderr)
            n_done = sum(p.n_chains for p in done)
            print(f"gaussviz: resuming: {n_done:,} of {spec.n_chains:,} chains are done", file=sys.stderr)
        elif a.resume:
            print(f"gaussviz: nothing to resume in {out}; starting the sweep", file=sys.stderr)
    except BaseException:
        remove_empty_folders(created)
        raise
    status = StatusLine()

    def progress(p) -> None:
        bar = "#" * int(24 * p.fraction)
        status.show(f"sweep [{bar:<24}] {100 * p.fraction:5.1f}%  {p.text()}")

    where = "in this process" if scheduler is None else f"on {scheduler.describe()}"
    try:
        with open_cluster(scheduler) as cluster:
            if cluster is not None and cluster.threads() == 0:
                print(f"gaussviz: no worker has joined {scheduler.address} yet; the sweep starts when one does "
                      f"(Ctrl-C stops, --resume continues)", file=sys.stderr)
            store.start(spec)
            result = run_tasks(spec, done, cluster, save=store.save, progress=progress, task_seconds=task_seconds)
    except KeyboardInterrupt as e:
        from . import Terminated

        status.close()
        if store.chains_done():
            print(f"gaussviz: interrupted; {store.chains_done():,} of {spec.n_chains:,} chains are saved in "
                  f"{store.folder}: run the same command with --resume to continue", file=sys.stderr)
        else:  # nothing finished: nothing to resume, no folder that would block the next run
            store.remove()
            remove_empty_folders(created)
            print("gaussviz: interrupted before a task finished; nothing saved", file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130
    except ClusterError as e:
        status.close()
        print(f"gaussviz: error: {e}", file=sys.stderr)
        if store.exists() and store.chains_done():
            print(f"gaussviz: {store.chains_done():,} of {spec.n_chains:,} chains are saved in {store.folder}: "
                  f"run the same command with --resume to continue", file=sys.stderr)
        elif store.exists():
            store.remove()
        remove_empty_folders(created)  # a folder made for nothing goes again
        return e.status
    except BaseException:
        status.close()
        if not store.chains_done():
            store.remove()
            remove_empty_folders(created)
        raise
    status.close()
    # All three or none: written to temporaries first, then renamed together.
    try:
        paths = dict(zip(names, write_file_set(out, [
            (names["png"], stability_map_png(result, a.width)),
            (names["csv"], result.csv_text().encode("utf-8")),
            (names["json"], result.spec_json().encode("utf-8")),
        ], force=a.force, then=store.remove)))  # the set in place: the sweep's saved state goes
    except KeyboardInterrupt:
        if store.exists():  # no file of the set was left; every chain is saved
            print(f"gaussviz: interrupted while writing the files; all {spec.n_chains:,} chains are saved in "
                  f"{store.folder}: run the same command with --resume to write them", file=sys.stderr)
        raise
    resumed = sum(p.n_chains for p in done)
    again = f", {resumed:,} of them resumed" if resumed else ""
    print(f"{spec.n_chains:,} chains x {spec.steps:,} updates in {result.elapsed:.2f} s {where}{again}; "
          f"{int(result.diverged.sum()):,} diverged")
    for text in result.summary_lines():
        print(f"  {text}")
    print(f"wrote {paths['png']} (heat map, {a.width} px wide)")
    print(f"wrote {paths['csv']} (every chain: settings, divergence, final KL)")
    print(f"wrote {paths['json']} (the sweep's settings)")
    return 0
