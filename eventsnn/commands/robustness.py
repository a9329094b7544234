"""`eventsnn robustness -c FILE --checkpoint A [--checkpoint B ...]`: severity sweeps, reports, plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_config_arguments, config_from_args

COMMAND = "robustness"
HELP = "accuracy under event/spike perturbation sweeps for one or more checkpoints (CSV/JSON/MD/PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument(
        "--checkpoint",
        dest="checkpoints",
        action="append",
        required=True,
        metavar="[LABEL=]PATH",
        help="a checkpoint to sweep (repeatable; label defaults to the file stem or its run folder)",
    )
    parser.add_argument("--out", metavar="DIR", help="output folder (default: <run directory>/robustness)")
    parser.add_argument("--no-analysis", action="store_true", help="skip the raster/count/co-firing figures")
    parser.add_argument("--layer", metavar="NAME", help="spiking layer for the analysis (default: the last)")
    parser.add_argument("--channels", type=int, default=64, help="channels shown in the raster (default 64)")


def run(args: argparse.Namespace) -> int:
    from eventsnn.engine.jobs import run_dir_for
    from eventsnn.robustness.job import robustness_job

    cfg = config_from_args(args)
    out = Path(args.out) if args.out else run_dir_for(cfg, args.config) / "robustness"
    robustness_job(
        cfg,
        args.checkpoints,
        out,
        analysis=not args.no_analysis,
        layer=args.layer,
        analysis_channels=args.channels,
    )
    return 0
