"""`eventsnn robustness --checkpoint A [--checkpoint B ...] [-c FILE]`: severity sweeps, reports, plots."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import add_checkpoint_job_arguments, checkpoint_job_setup, positive_int

COMMAND = "robustness"
HELP = "accuracy under event/spike perturbation sweeps for one or more checkpoints (CSV/JSON/MD/PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_job_arguments(parser, what="a checkpoint to sweep", subfolder="robustness")
    parser.add_argument("--no-analysis", action="store_true", help="skip the raster/count/co-firing figures")
    parser.add_argument("--layer", metavar="NAME", help="spiking layer for the analysis (default: the last)")
    parser.add_argument(
        "--channels",
        type=positive_int,
        default=64,
        metavar="N",
        help="channels shown in the raster (default 64)",
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.robustness.job import robustness_job

    cfg, out = checkpoint_job_setup(args, "robustness")
    robustness_job(
        cfg,
        args.checkpoints,
        out,
        analysis=not args.no_analysis,
        layer=args.layer,
        analysis_channels=args.channels,
    )
    return 0
