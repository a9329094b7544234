"""Collectives shared by the engine and the plasticity rule (no-ops in a single process).

The one home of "sum over ranks": `engine` (metrics, precise BN) and `plasticity` (the dW
numerator and the warm-up sums) both call `all_reduce_sum`; the process group itself is set
up by `eventsnn.engine.distributed`.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    """World size of the initialised process group, 1 without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum `tensor` over ranks in place and return it (no-op without a group of more than one rank)."""
    if world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor
