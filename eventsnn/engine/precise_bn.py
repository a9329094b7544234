"""Precise BatchNorm: re-estimate BN running statistics before an evaluation.

BatchNorm keeps an exponential average  r <- (1 - m) r + m * b  (m = 0.1) of the batch
statistics b. After n steps the initial value still weighs (1 - m)^n; when the real
variance is far below the initial 1 (SpikingResformer's first BN sees variances near
1e-4), a short run (n < 100) evaluates with badly wrong statistics. Recalibration resets
the statistics and replaces them with the plain average over k training batches:

    mu = (1/k) sum_i mean(x_i),   var = (1/k) sum_i var_unbiased(x_i)

with everything else in eval mode (DSSA firing-rate buffers, dropout untouched) and no
gradients. Under DDP the averages are also averaged over ranks.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from eventsnn.utils.distributed import all_reduce_sum


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BN layers of `model` that track running statistics."""
    return [
        m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


@torch.no_grad()
def recalibrate_batchnorm(
    model: nn.Module, batches: Iterable[torch.Tensor], device: torch.device, world_size: int = 1
) -> int:
    """Replace every BN layer's running mean/var by the average over `batches`; returns k.

    `batches` yields model inputs ([B, ...] images or [B, T, C, H, W] frames). The model's
    train/eval flags are restored afterwards. k = 0 leaves the model unchanged.
    """
    layers = batchnorm_layers(model)
    batches = iter(batches)
    first = next(batches, None)
    if not layers or first is None:
        return 0
    saved = [(m, m.training) for m in model.modules()]
    momenta = [m.momentum for m in layers]
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches seen
        m.train()
    count = 0
    try:
        for x in _chain(first, batches):
            model(x.to(device, non_blocking=True))
            count += 1
    finally:
        for m, momentum in zip(layers, momenta, strict=True):
            m.momentum = momentum
        for m, training in saved:
            m.training = training
    if world_size > 1:
        for m in layers:
            for buffer in (m.running_mean, m.running_var):
                buffer.copy_(all_reduce_sum(buffer.clone()) / world_size)
    return count


def _chain(first: torch.Tensor, rest: Iterable[torch.Tensor]):
    yield first
    yield from rest
