"""Under `torchrun`: one process per node prepares the event cache, the others wait.

Local rank 0 of every node runs the preprocess job into that node's `data.cache_dir` (a node's
own disk, or a shared file system: the cache's file lock then lets one writer work and the
others find the cache complete); every other process waits at a barrier and says so in its log.
The barrier runs in its own gloo group with a long timeout (preprocessing a large data set takes
longer than a process group's default 10-30 minutes), and a failure on any node reaches every
process as one line instead of a hang. Only global rank 0 speaks on the console; the other
ranks' lines go to `<cache_dir>/logs/rank<R>.log`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist

from eventsnn.data.cache import preprocess
from eventsnn.errors import DataError

BARRIER_TIMEOUT = datetime.timedelta(days=2)


def rank_logger(cfg, rank: int) -> Callable[[str], None]:
    """`print` on global rank 0; an append to `<cache_dir>/logs/rank<R>.log` elsewhere."""
    if rank == 0:
        return lambda msg: print(msg, flush=True)
    path = Path(cfg.data.cache_dir).expanduser() / "logs" / f"rank{rank}.log"

    def say(msg: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            fh.write(msg + "\n")

    return say


def prepare_event_cache(cfg, *, rank: int, local_rank: int, world_size: int) -> None:
    """Build (or check) the cache once per node before the data sets are opened; see module doc.

    Args:
        cfg: the run config (an event data set with `data.cache: h5`).
        rank, local_rank, world_size: where this process sits (the engine's `DistContext`'s
            fields, passed as numbers: the data layer calls nothing of the engine).

    Raises:
        DataError: preprocessing failed on this or another node (one line each).
    """
    if world_size <= 1:
        return
    say = rank_logger(cfg, rank)
    group = dist.new_group(backend="gloo", timeout=BARRIER_TIMEOUT)
    failed = torch.zeros(1)
    if local_rank == 0:
        if rank == 0:
            say(
                f"data: rank 0 and local rank 0 of every other node prepare the cache; {world_size - 1} "
                "other processes wait at a barrier"
            )
        try:
            stats = preprocess(cfg, quiet_if_fresh=True, progress=rank == 0, say=say)
            failed[0] = 0.0 if stats.complete else 1.0
        except DataError as exc:
            failed[0] = 1.0
            say(f"data: preprocessing failed on rank {rank}: {exc}")
            _meet(failed, group)
            raise
    else:
        say(f"data: rank {rank} waits at a barrier while local rank 0 of its node prepares the cache")
    _meet(failed, group)
    if failed[0] > 0:
        raise DataError(
            f"data: preprocessing failed on {int(failed[0])} node(s); see rank 0's output and "
            f"{Path(cfg.data.cache_dir) / 'logs'}"
        )


def _meet(failed: torch.Tensor, group) -> None:
    dist.all_reduce(failed, group=group)
    dist.destroy_process_group(group)
