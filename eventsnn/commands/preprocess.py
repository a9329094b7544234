"""`eventsnn preprocess`: frame a data set's recordings into the h5 cache (resumable)."""

from __future__ import annotations

import argparse
import os

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
        "--shard",
        default=None,
        metavar="I/N",
        help="frame only shard I of N (a deterministic 1/N of the recordings) into its own folder, "
        "e.g. one per machine; default from SLURM_ARRAY_TASK_ID/COUNT or RANK/WORLD_SIZE when set; "
        "training reads the shards in place once all N are complete",
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
    from eventsnn.data.cache_plan import parse_shard

    cfg = config_from_args(args)
    shard = parse_shard(args.shard, dict(os.environ))
    stats = preprocess(
        cfg,
        workers=args.workers,
        max_items=args.max_items,
        wait=not args.no_wait,
        verify=args.verify,
        shard=shard,
    )
    if not stats.nothing_to_do and stats.wall_s > 0:
        print(
            f"preprocess: {stats.processed} recordings, {stats.events} events in {stats.wall_s:.1f} s "
            f"({stats.processed / stats.wall_s:.1f} rec/s, {stats.events / stats.wall_s / 1e6:.2f} Mev/s; "
            f"decode {stats.decode_s:.1f} s, frame {stats.frame_s:.1f} s over workers, "
            f"write {stats.write_s:.1f} s)"
        )
    return 0
