"""`eventsnn demo-data`: write the embedded demo data set (emulated DVS recordings of real digits)."""

from __future__ import annotations

import argparse

COMMAND = "demo-data"
HELP = "record scikit-learn's digits with the DVS emulator as .aedat4 files (CIFAR10-DVS layout)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default="datasets/digits_dvs", help="output folder")
    parser.add_argument("--size", type=int, default=64, help="sensor side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0, help="processes (0: all cores)")
    parser.add_argument("--force", action="store_true", help="rewrite even when complete")


def run(args: argparse.Namespace) -> int:
    from eventsnn.data.demo import ensure_demo_data

    ensure_demo_data(args.root, size=args.size, seed=args.seed, force=args.force, workers=args.workers)
    return 0
