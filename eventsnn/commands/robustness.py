"""`eventsnn robustness --checkpoint A [--checkpoint B ...] [-c FILE]`: severity sweeps, reports, plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_config_arguments, config_for_checkpoint

COMMAND = "robustness"
HELP = "accuracy under event/spike perturbation sweeps for one or more checkpoints (CSV/JSON/MD/PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, required=False)
    parser.add_argument(
        "--checkpoint",
        dest="checkpoints",
        action="append",
        required=True,
        metavar="[LABEL=]PATH",
        help="a checkpoint to sweep (repeatable; label defaults to the file stem or its run folder); "
        "without -c the first checkpoint's stored config is used",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: <run directory of -c, else the first checkpoint's folder>/robustness)",
    )
    parser.add_argument("--no-analysis", action="store_true", help="skip the raster/count/co-firing figures")
    parser.add_argument("--layer", metavar="NAME", help="spiking layer for the analysis (default: the last)")
    parser.add_argument("--channels", type=int, default=64, help="channels shown in the raster (default 64)")


def run(args: argparse.Namespace) -> int:
    from eventsnn.engine.jobs import run_dir_for
    from eventsnn.robustness.checkpoints import parse_checkpoint_arg
    from eventsnn.robustness.job import robustness_job

    first = parse_checkpoint_arg(args.checkpoints[0])[1]
    cfg = config_for_checkpoint(args, str(first))
    if args.out:
        out = Path(args.out)
    else:
        out = (run_dir_for(cfg, args.config) if args.config else first.parent) / "robustness"
    robustness_job(
        cfg,
        args.checkpoints,
        out,
        analysis=not args.no_analysis,
        layer=args.layer,
        analysis_channels=args.channels,
    )
    return 0
