"""`eventsnn bench NAME [--quick] [--out FILE]`: run a benchmark, print medians and ratios."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import eventsnn.bench
from eventsnn.errors import EventsnnError

COMMAND = "bench"
HELP = "benchmarks: contenders side by side, medians and ratios, JSON output"


def _suites() -> dict[str, ModuleType]:
    suites = {}
    for info in pkgutil.iter_modules(eventsnn.bench.__path__):
        if info.name in ("core",) or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"eventsnn.bench.{info.name}")
        if hasattr(module, "NAME"):
            suites[module.NAME] = module
    return dict(sorted(suites.items()))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="benchmark name, or 'all' (see 'eventsnn bench list')")
    parser.add_argument("--quick", action="store_true", help="reduced run (under a minute on 2 cores)")
    parser.add_argument("--out", metavar="FILE", help="write JSON here (for 'all': a folder)")


def run(args: argparse.Namespace) -> int:
    suites = _suites()
    if args.name == "list":
        for name, module in suites.items():
            print(f"{name:<12} {module.HELP}")
        return 0
    if args.name != "all" and args.name not in suites:
        raise EventsnnError(f"unknown benchmark {args.name!r}; available: {', '.join(suites) or 'none'}, all")
    chosen = suites if args.name == "all" else {args.name: suites[args.name]}
    for name, module in chosen.items():
        report = module.run(quick=args.quick)
        print(report.format_table())
        if args.out:
            path = Path(args.out) / f"{name}.json" if args.name == "all" else Path(args.out)
            report.write(path)
            print(f"wrote {path}")
    return 0
