"""`eventsnn evaluate --checkpoint PATH [-c FILE]`: accuracy, firing rates, SOPs / MACs / energy.

Operations follow the published convention (`eventsnn.models.ops`): exact SOPs averaged over
the whole test set (`--ops-batches N`: its first N batches), energy = 0.9 pJ x SOPs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_checkpoint_job_arguments, checkpoint_job_setup, positive_int

COMMAND = "evaluate"
HELP = "evaluate a checkpoint: top-1/top-5, per-class accuracy, firing rates, SOPs, MACs per step, energy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_job_arguments(
        parser, what="the checkpoint to evaluate (writes evaluation.json)", subfolder="", several=False
    )
    parser.add_argument(
        "--ops-batches",
        type=positive_int,
        metavar="N",
        help="count operations on the first N test batches only (default: every batch)",
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.engine.jobs import evaluate_job

    cfg, out = checkpoint_job_setup(args, "", [Path(args.checkpoint)])
    evaluate_job(cfg, args.checkpoint, out, ops_batches=args.ops_batches)
    return 0
