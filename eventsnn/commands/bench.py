"""`eventsnn bench NAME [--quick] [--out FILE]`: run a benchmark, print medians and ratios."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from eventsnn.bench.core import load_benchmarks
from eventsnn.errors import EventsnnError

COMMAND = "bench"
HELP = "benchmarks: contenders side by side, medians and ratios, JSON output"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="benchmark name, or 'all' (see 'eventsnn bench list')")
    parser.add_argument("--quick", action="store_true", help="reduced run (under a minute on 2 cores)")
    parser.add_argument("--out", metavar="FILE", help="write JSON here (for 'all': a folder)")


def run(args: argparse.Namespace) -> int:
    benchmarks = load_benchmarks()  # every benchmark declares itself with @benchmark (bench/core.py)
    if args.name == "list":
        for name, bench in benchmarks.items():
            print(f"{name:<12} {bench.help}")
        return 0
    if args.name != "all" and args.name not in benchmarks:
        available = ", ".join(benchmarks) or "none"
        raise EventsnnError(f"unknown benchmark {args.name!r}; available: {available}, all")
    if args.name == "all":
        return _run_each_in_its_own_process(benchmarks.names(), args)
    report = benchmarks[args.name].run(args.quick)
    print(report.format_table())
    if args.out:
        report.write(Path(args.out))
        print(f"wrote {args.out}")
    return 0


def _run_each_in_its_own_process(names: list[str], args: argparse.Namespace) -> int:
    """`bench all`: every benchmark in a fresh interpreter, one after another, so that memory one
    leaves behind (allocator arenas, torch caches) does not count against the next: the peak is
    the largest single benchmark's, not their sum (6.7 GB -> 3.9 GB for `all --quick` on CPU)."""
    failed = []
    for name in names:
        cmd = [sys.executable, "-m", "eventsnn", "bench", name]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--out", str(Path(args.out) / f"{name}.json")] if args.out else []
        if subprocess.run(cmd, check=False).returncode != 0:
            failed.append(name)
    if failed:
        raise EventsnnError(f"bench all: {', '.join(failed)} failed (run each alone to see why)")
    return 0
