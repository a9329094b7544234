"""Run under torchrun by test_ops.py: each gloo rank counts operations on its shard.

Usage: torchrun --standalone --nproc-per-node 2 ddp_ops_worker.py OUT_FILE
Rank r counts samples r, r + W, ... of `ops_case()`; rank 0 writes the all-reduced report.
"""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))
from test_ops import ops_case

from eventsnn.models.ops import OpsCounter


def main() -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    model, images = ops_case()
    counter = OpsCounter(model)
    with torch.no_grad(), counter.attached():
        for i in range(rank, len(images), world * 2):
            model(images[i : i + world * 2 : world])  # batches of 2 strided samples
    report = counter.report().to_dict()
    if rank == 0:
        Path(sys.argv[1]).write_text(json.dumps(report))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
