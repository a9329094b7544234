"""Multi-step building blocks shared by SpikingResformer: BN over `[T, B, C, H, W]`,
1x1 / 3x3 convolutions and a bias-free linear layer (as in the original implementation)."""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional, layer
from torch import nn

from eventsnn.errors import ArgumentError


class BN(nn.Module):
    """BatchNorm2d applied to every time step: `[T, B, C, H, W]` -> same shape.

    The inner module is called `bn`, so state_dict keys match the original (`*.bn.weight`).
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ArgumentError(f"BN expects [T, B, C, H, W], got shape {tuple(x.shape)}")
        return functional.seq_to_ann_forward(x, self.bn)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> layer.Conv2d:
    return layer.Conv2d(in_channels, out_channels, 1, stride=stride, padding=0, bias=False, step_mode="m")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1, groups: int = 1) -> layer.Conv2d:
    return layer.Conv2d(
        in_channels, out_channels, 3, stride=stride, padding=1, groups=groups, bias=False, step_mode="m"
    )


def linear(in_features: int, out_features: int) -> layer.Linear:
    """Bias-free multi-step linear layer (the original classifier has no bias)."""
    return layer.Linear(in_features, out_features, bias=False, step_mode="m")


class SpikingMatmul(nn.Module):
    """`left @ right` as a module, so operation counting can hook it; `spike` names the
    operand that carries spikes ('l', 'r' or 'both')."""

    def __init__(self, spike: str) -> None:
        super().__init__()
        if spike not in ("l", "r", "both"):
            raise ArgumentError(f"spike must be 'l', 'r' or 'both', got {spike!r}")
        self.spike = spike

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return torch.matmul(left, right)
