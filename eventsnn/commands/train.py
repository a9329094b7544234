"""`eventsnn train -c FILE [--set ...] [--resume]`: train a model (CPU, GPU or torchrun DDP)."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_config_arguments, add_run_options, config_from_args, stopped
from eventsnn.commands._outputs import require_writable_dir

COMMAND = "train"
HELP = "train a model from a config (event cache or images), with DA-SSDP as configured"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    add_run_arguments(parser)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by train and finetune."""
    add_run_options(parser, out_help="the run folder (default: output.root/output.name of the config)")
    parser.add_argument("--resume", action="store_true", help="continue the run in the run directory")
    parser.add_argument(
        "--overwrite", action="store_true", help="start again in an existing run directory (removes its run)"
    )
    parser.add_argument(
        "--allow-changes",
        nargs="+",
        default=[],
        metavar="KEY",
        help="with --resume: settings (section.key) that may differ from the checkpoint's config",
    )
    parser.add_argument("--stop-at-step", type=int, default=None, help=argparse.SUPPRESS)  # tests: interrupt


def run(args: argparse.Namespace, init_checkpoint: str | None = None) -> int:
    from eventsnn.engine.jobs import run_dir_for, train_job
    from eventsnn.engine.train import StopRequested

    cfg = config_from_args(args)
    run_dir = Path(args.out) if args.out else run_dir_for(cfg, args.config)
    require_writable_dir(run_dir, "--out" if args.out else "the run folder")
    try:
        result = train_job(
            cfg,
            run_dir,
            resume=args.resume,
            overwrite=args.overwrite,
            init_checkpoint=init_checkpoint,
            stop_at_step=args.stop_at_step,
            allow_changes=args.allow_changes,
        )
    except StopRequested as stop:
        return stopped(args, stop, "continue with --resume")
    if result.final_eval is not None:
        print(
            f"done: {run_dir}  test top-1 {result.final_eval.top1:.2f}%  best {result.state.best_top1:.2f}%"
        )
    return 0
