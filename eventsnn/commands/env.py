"""`eventsnn env`: versions of the numeric stack and the devices seen."""

from __future__ import annotations

import argparse

from eventsnn.utils.environment import describe_environment

COMMAND = "env"
HELP = "print versions (torch, CUDA, numba, spikingjelly, tonic, ...) and devices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    info = describe_environment()
    if args.json:
        import json

        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return 0
