"""`eventsnn evaluate --checkpoint PATH [-c FILE]`: accuracy, firing rates, SOPs / MACs / energy.

Operations follow the published convention (`eventsnn.models.ops`): exact SOPs averaged over
the whole test set (`--ops-batches N`: its first N batches), energy = 0.9 pJ x SOPs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import (
    add_allow_changes_argument,
    add_config_arguments,
    add_run_options,
    check_checkpoint_settings,
    config_for_checkpoint,
    positive_int,
)
from eventsnn.commands._outputs import require_writable_dir

COMMAND = "evaluate"
HELP = "evaluate a checkpoint: top-1/top-5, per-class accuracy, firing rates, SOPs, MACs per step, energy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, required=False)
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="the checkpoint to evaluate")
    add_run_options(
        parser,
        out_help="where evaluation.json goes (default: the run folder of -c, else the checkpoint's folder)",
    )
    parser.add_argument(
        "--ops-batches",
        type=positive_int,
        metavar="N",
        help="count operations on the first N test batches only (default: every batch)",
    )
    add_allow_changes_argument(parser)


def run(args: argparse.Namespace) -> int:
    from eventsnn.engine.jobs import evaluate_job, run_dir_for

    cfg = config_for_checkpoint(args, args.checkpoint)
    check_checkpoint_settings(args, cfg, [args.checkpoint])
    if args.out:
        out = Path(args.out)
    else:
        out = run_dir_for(cfg, args.config) if args.config else Path(args.checkpoint).parent
    require_writable_dir(out, "--out" if args.out else "the output folder")
    evaluate_job(cfg, args.checkpoint, out, ops_batches=args.ops_batches)
    return 0
