"""`gaussviz sweep`: the stability map (alpha x update rule x a second axis x seeds)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core import parameterizations as pz
from ..core.presets import PRESETS, get_preset
from ..core.settings import Settings
from .common import (
    StatusLine,
    add_optimizer_options,
    add_target_options,
    apply_optimizer_args,
    apply_target_args,
    warn_csv_problems,
)


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
    w.add_argument("--parameterizations", type=_names, default=None,
                   help="comma-separated subset (default: all; with --axis optimizer, those that take every "
                        "optimizer)")
    w.add_argument("--axis", choices=list(AXES), default="cov0-scale", help="second axis (default cov0-scale)")
    w.add_argument("--axis-values", default=None,
                   help="values of the second axis, comma separated: numbers, or for --axis optimizer names "
                        f"from {','.join(AXES['optimizer'].choices)} (default: the base's own value)")
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
    c = w.add_argument_group("long sweeps (see README: Sweeps on a cluster)")
    c.add_argument("--scheduler", metavar="SPEC", default=None,
                   help="run the chains on Dask: local (a worker process per core), local:N (N worker "
                        "processes) or tcp://HOST:PORT (an existing cluster's scheduler); default: in this "
                        "process. Same results to the bit. Needs gaussviz[cluster]")
    c.add_argument("--resume", action="store_true",
                   help="continue an interrupted sweep from what OUT/.partial holds (run the same command again "
                        "with --resume)")
    c.add_argument("--task-seconds", type=float, default=None, metavar="S",
                   help="aim at tasks of about S seconds of one core each (default 3)")
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
    from ..core.fileio import check_can_create, deferred_signals, make_folder, remove_empty_folders, write_file_set
    from ..core.sweep import default_base, make_spec
    from ..core.sweep_store import PartialStore

    with deferred_signals():  # Qt loads whole or not at all (an interrupted import can crash the exit)
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
