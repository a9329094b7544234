"""`eventsnn robustness --checkpoint A [--checkpoint B ...] [-c FILE]`: severity sweeps, reports, plots."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import add_config_arguments, checkpoint_job_setup, positive_int

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
