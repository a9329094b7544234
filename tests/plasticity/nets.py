"""Tiny multi-step networks for the plasticity tests ([T, B, C, H, W] -> [T, B, K])."""

from __future__ import annotations

import torch
from spikingjelly.activation_based import layer
from torch import nn


def spike(x: torch.Tensor) -> torch.Tensor:
    """Heaviside spikes with a straight-through gradient (stateless)."""
    return (x > 0).to(x.dtype) + x - x.detach()


class TinyNet(nn.Module):
    """stem 3x3 conv -> 1x1 `proj` (spikingjelly, step_mode m) -> pool -> `head` (layer.Linear)."""

    def __init__(self, c_in: int = 2, width: int = 8, classes: int = 3):
        super().__init__()
        self.stem = layer.Conv2d(c_in, width, 3, padding=1, step_mode="m")
        self.proj = layer.Conv2d(width, width, 1, step_mode="m")
        self.head = layer.Linear(width, classes, step_mode="m")
        self.plain = nn.Linear(width, width)  # a plain torch Linear on [T, B, C]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [T,B,C,H,W]
        s = spike(self.stem(x))  # [T,B,W,H,W]
        s = spike(self.proj(s) - 0.2)
        s = s.mean(dim=(3, 4))  # [T,B,W]
        s = spike(self.plain(s))
        return self.head(s)  # [T,B,K]


def make_batches(n: int, T: int = 4, B: int = 6, seed: int = 0, dtype=torch.float32) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    return [
        (torch.randn(T, B, 2, 5, 5, generator=g, dtype=dtype), torch.randint(0, 3, (B,), generator=g))
        for _ in range(n)
    ]
