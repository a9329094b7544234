"""All-reduce helpers for DA-SSDP under DDP (no-ops in a single process).

Every rank sums its local numerator sum_b G_b P and its local B (and the warm-up sums) with
the others before dividing / fitting, so all replicas apply the same dW and fit the same gate.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size() -> int:
    """World size of the initialised process group, 1 without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def all_reduce_sum_(tensor: torch.Tensor) -> torch.Tensor:
    """Sum `tensor` over ranks in place (only when torch.distributed is initialised, world > 1)."""
    if world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_numerator(numerator: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Global (sum_b G_b P over all ranks `[C_out, C_in]`, global B) with one packed all-reduce."""
    if world_size() <= 1:
        return numerator, torch.tensor(float(batch), dtype=numerator.dtype, device=numerator.device)
    flat = torch.cat([numerator.reshape(-1), numerator.new_tensor([float(batch)])])
    all_reduce_sum_(flat)
    return flat[:-1].view_as(numerator), flat[-1]
