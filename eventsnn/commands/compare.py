"""`eventsnn compare -c FILE --seeds N --modes off,da_ssdp [--set ...]`: multi-seed comparison."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import add_config_arguments, add_run_options, collect_overrides, stopped

COMMAND = "compare"
HELP = "train (or collect) N seeds x plasticity modes; mean +- std, paired differences with t/bootstrap CIs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--seeds", type=int, default=3, metavar="N", help="number of seeds (default 3)")
    parser.add_argument("--first-seed", type=int, default=0, metavar="S", help="seeds S..S+N-1 (default 0)")
    parser.add_argument(
        "--modes", default="off,da_ssdp", metavar="A,B", help="plasticity modes; the first is the baseline"
    )
    add_run_options(parser, out_help="runs and reports (default: <output.root>/compare_<name>)")
    parser.add_argument(
        "--robustness", action="store_true", help="also sweep each run with the config's robustness sweeps"
    )
    parser.add_argument(
        "--resamples", type=int, default=10_000, metavar="N", help="bootstrap resamples (default 10000)"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from eventsnn.analysis.compare import compare_job
    from eventsnn.commands._common import config_from_args
    from eventsnn.engine.jobs import run_dir_for
    from eventsnn.engine.train import StopRequested
    from eventsnn.errors import ConfigError

    if args.seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {args.seeds}")
    if args.resamples < 1:
        raise ConfigError(f"--resamples must be >= 1, got {args.resamples}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.out:
        out = Path(args.out)
    else:
        base = run_dir_for(config_from_args(args), args.config)
        out = base.parent / f"compare_{base.name}"
    try:
        result = compare_job(
            args.config,
            collect_overrides(args),
            seeds=list(range(args.first_seed, args.first_seed + args.seeds)),
            modes=modes,
            out_dir=out,
            robustness=args.robustness,
            n_resamples=args.resamples,
        )
    except StopRequested as stop:
        return stopped(args, stop, "run the same command again to continue")
    for kind, path in result["paths"].items():
        print(f"wrote {kind}: {path}")
    return 0
