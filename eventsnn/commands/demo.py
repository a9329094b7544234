"""`eventsnn demo`: the main job on the embedded demo data.

Until the full demo exists it runs the parts that do and says what it ran.
"""

from __future__ import annotations

import argparse

from eventsnn.config import dump_yaml, load_config
from eventsnn.utils.environment import describe_environment

COMMAND = "demo"
HELP = "run the main job end to end on the embedded demo data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", default="configs/defaults.yaml", metavar="FILE")


def run(args: argparse.Namespace) -> int:
    print("[demo 1/2] environment")
    for key, value in describe_environment().items():
        print(f"  {key}: {value}")
    print(f"[demo 2/2] resolved config {args.config}")
    print(dump_yaml(load_config(args.config)), end="")
    print("demo: ran the environment report and the config check (the data/train stages come later)")
    return 0
