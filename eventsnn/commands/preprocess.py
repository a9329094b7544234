"""`eventsnn preprocess`: frame a data set's recordings into the h5 cache (resumable)."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import (
    add_config_arguments,
    add_workers_argument,
    config_from_args,
    positive_int,
)

COMMAND = "preprocess"
HELP = "frame event recordings into datasets_cache/<dataset>/<key>/ (resumable, all cores)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    add_workers_argument(parser, default=None, what="framing recordings")
    parser.add_argument(
        "--max-items",
        type=positive_int,
        default=None,
        metavar="N",
        help="stop after N recordings (resume later)",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="hash every recording and read every cached row; frame again what changed or is damaged "
        "(catches a same-size change with its file time put back)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="stop (naming its pid) instead of waiting when another run is writing the same cache",
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.data.cache import preprocess

    cfg = config_from_args(args)
    stats = preprocess(
        cfg, workers=args.workers, max_items=args.max_items, wait=not args.no_wait, verify=args.verify
    )
    if not stats.nothing_to_do and stats.wall_s > 0:
        print(
            f"preprocess: {stats.processed} recordings, {stats.events} events in {stats.wall_s:.1f} s "
            f"({stats.processed / stats.wall_s:.1f} rec/s, {stats.events / stats.wall_s / 1e6:.2f} Mev/s; "
            f"decode {stats.decode_s:.1f} s, frame {stats.frame_s:.1f} s over workers, "
            f"write {stats.write_s:.1f} s)"
        )
    return 0
