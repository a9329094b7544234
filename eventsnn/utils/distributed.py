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
    if world_size() <= 1:
        return tensor
    if dist.get_backend() == "nccl" and tensor.device.type != "cuda":
        # NCCL reduces CUDA tensors only: reduce a copy on this rank's GPU, write it back
        on_gpu = tensor.to(torch.device("cuda", torch.cuda.current_device()))
        dist.all_reduce(on_gpu, op=dist.ReduceOp.SUM)
        tensor.copy_(on_gpu)
    else:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor
