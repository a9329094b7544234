"""`eventsnn evaluate --checkpoint PATH [-c FILE]`: accuracy, firing rates, MACs/SOPs/energy."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_config_arguments, config_for_checkpoint

COMMAND = "evaluate"
HELP = "evaluate a checkpoint: top-1/top-5, per-class accuracy, firing rates, MACs, SOPs, energy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, required=False)
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="the checkpoint to evaluate")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where evaluation.json goes (default: the run directory of -c, else the checkpoint's folder)",
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.engine.jobs import evaluate_job, run_dir_for

    cfg = config_for_checkpoint(args, args.checkpoint)
    if args.out:
        out = Path(args.out)
    else:
        out = run_dir_for(cfg, args.config) if args.config else Path(args.checkpoint).parent
    evaluate_job(cfg, args.checkpoint, out)
    return 0
