"""`eventsnn demo-data`: write the embedded demo data set (emulated DVS recordings of real digits)."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import add_workers_argument, non_negative_int, positive_int

COMMAND = "demo-data"
HELP = "record scikit-learn's digits with the DVS emulator as .aedat4 files (CIFAR10-DVS layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default="datasets/digits_dvs", metavar="DIR", help="output folder")
    parser.add_argument("--size", type=positive_int, default=64, metavar="PX", help="sensor side in pixels")
    parser.add_argument(
        "--seed", type=non_negative_int, default=0, metavar="S", help="sensor seed (default 0)"
    )
    parser.add_argument(
        "--limit", type=positive_int, default=None, metavar="N", help="record only the first N digits"
    )
    add_workers_argument(parser, default=0, what="recording")
    parser.add_argument("--force", action="store_true", help="rewrite even when complete")


def run(args: argparse.Namespace) -> int:
    from eventsnn.data.demo import ensure_demo_data

    ensure_demo_data(
        args.root, size=args.size, seed=args.seed, force=args.force, workers=args.workers, limit=args.limit
    )
    return 0
