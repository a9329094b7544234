"""`eventsnn demo`: the main job end to end on the embedded demo data (see `eventsnn.demo`)."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import add_override_arguments, collect_overrides, positive_int

COMMAND = "demo"
HELP = "record digits-DVS, preprocess, train baseline and DA-SSDP, evaluate, robustness sweep, report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from eventsnn.demo import DEFAULT_CONFIG

    parser.add_argument("-c", "--config", default=DEFAULT_CONFIG, metavar="FILE")
    add_override_arguments(parser)
    parser.add_argument("--out", default="runs/demo", metavar="DIR", help="where the runs and report.md go")
    parser.add_argument(
        "--limit", type=positive_int, default=None, metavar="N", help="record only the first N digits"
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.demo import run_demo

    run_demo(args.config, collect_overrides(args), args.out, limit=args.limit)
    return 0
