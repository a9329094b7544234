"""Process-group set-up for `torchrun` (DDP): NCCL on GPUs, gloo on CPU.

Without the torchrun environment (RANK / WORLD_SIZE) everything runs in one process. The
collectives themselves live in `eventsnn.utils.distributed` (shared with the plasticity rule).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist
from torch import nn

from eventsnn.config import DistributedConfig
from eventsnn.devices import resolve_device
from eventsnn.errors import ConfigError

__all__ = ["DistContext", "init_distributed", "resolve_device", "shutdown_distributed", "sync_batchnorm"]


@dataclass(frozen=True)
class DistContext:
    """Where this process sits: rank, world size and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(cfg: DistributedConfig, device_name: str) -> DistContext:
    """Join the process group when launched by torchrun; otherwise a single-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or "RANK" not in os.environ:
        return DistContext(device=resolve_device(device_name))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name, local_rank)
    backend = cfg.backend
    if backend == "auto":
        backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise ConfigError("distributed.backend: nccl needs CUDA devices; use gloo on CPU")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def sync_batchnorm(model: nn.Module, enabled: bool, ctx: DistContext) -> nn.Module:
    """`distributed.sync_bn`: every BatchNorm of `model` becomes a `SyncBatchNorm` (weights and
    running statistics kept) when several processes train; unchanged in one process.

    Raises:
        ConfigError: several CPU processes -- torch's SyncBatchNorm only runs on GPUs.
    """
    if not (enabled and ctx.distributed):
        return model
    if ctx.device.type != "cuda":
        raise ConfigError(
            "distributed.sync_bn: torch's SyncBatchNorm runs on GPUs only; set distributed.sync_bn: false "
            f"to train on {ctx.device.type} with {ctx.world_size} processes"
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


def shutdown_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
