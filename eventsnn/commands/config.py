"""`eventsnn config show FILE [--set ...]`: print the resolved config."""

from __future__ import annotations

import argparse

from eventsnn.config import dump_yaml, load_config

COMMAND = "config"
HELP = "inspect configs (show the resolved config)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the resolved config as YAML")
    show.add_argument("file", nargs="?", default=None, help="YAML config (omit for the defaults)")
    show.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE")


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.file, args.overrides)
    print(dump_yaml(cfg), end="")
    return 0
