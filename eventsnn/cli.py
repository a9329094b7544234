"""The `eventsnn` command line: one console script, one subcommand per job.

Subcommands live in `eventsnn.commands`: every module there with a `COMMAND` name,
`add_arguments(parser)` and `run(args) -> int` is registered. A user error
(`EventsnnError`) prints one line and exits with code 2; `--debug` shows the traceback.

Config overrides may be written Hydra style, as bare `section.key=value` arguments, beside
`--set section.key=value`: they are collected into `args.extra_overrides` and apply after the
`--set` ones.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
from collections.abc import Sequence
from types import ModuleType

import eventsnn
import eventsnn.commands
from eventsnn.commands._common import apply_threads
from eventsnn.errors import EventsnnError

_OVERRIDE = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)+=")


def _command_modules() -> list[ModuleType]:
    modules = []
    for info in sorted(pkgutil.iter_modules(eventsnn.commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"eventsnn.commands.{info.name}")
        if hasattr(module, "COMMAND"):
            modules.append(module)
    return modules


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (every discovered subcommand)."""
    parser = argparse.ArgumentParser(
        prog="eventsnn",
        description="Event-camera data, spike statistics and DA-SSDP training for spiking transformers.",
    )
    parser.add_argument("--version", action="version", version=f"eventsnn {eventsnn.__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        child = sub.add_parser(module.COMMAND, help=module.HELP, description=module.HELP)
        module.add_arguments(child)
        child.set_defaults(_run=module.run)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """`parser.parse_args`, except that bare `section.key=value` arguments of a command with
    `--set` are collected into `args.extra_overrides` instead of being refused."""
    args, extra = parser.parse_known_args(list(argv))
    overrides = [item for item in extra if _OVERRIDE.match(item)]
    rest = [item for item in extra if not _OVERRIDE.match(item)]
    if rest or (overrides and not hasattr(args, "overrides")):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra_overrides = overrides
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parse_arguments(parser, args_list)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 0
    try:
        apply_threads(getattr(args, "threads", None))
        return int(args._run(args) or 0)
    except EventsnnError as exc:
        if args.debug:
            raise
        print(f"eventsnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"eventsnn {args.command}: interrupted", file=sys.stderr)
        return 130
