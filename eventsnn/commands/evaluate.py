"""`eventsnn evaluate -c FILE --checkpoint PATH`: accuracy, firing rates, MACs/SOPs/energy."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_config_arguments, config_from_args

COMMAND = "evaluate"
HELP = "evaluate a checkpoint: top-1/top-5, per-class accuracy, firing rates, MACs, SOPs, energy"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--checkpoint", required=True, metavar="PATH")
    parser.add_argument(
        "--out", metavar="DIR", help="where evaluation.json goes (default: the run directory)"
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.engine.jobs import evaluate_job, run_dir_for

    cfg = config_from_args(args)
    out = Path(args.out) if args.out else run_dir_for(cfg, args.config)
    evaluate_job(cfg, args.checkpoint, out)
    return 0
