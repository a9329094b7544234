"""The reference DVS augmentation for event frames `[T, C, H, W]`.

As in SpikingResformer's `DVSAugment` (N = 2, M = 1): a horizontal flip with p = 0.5, then
one op drawn uniformly from roll (shift up to H/3 and W/3), rotation (uniform in +-30
degrees, nearest) and cutout (a zeroed box of side H/3 x W/3 around a random centre).
All randomness comes from the given generator, so runs are reproducible.
"""

from __future__ import annotations

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

ROLL_FRACTION = 1 / 3
ROTATE_DEGREES = 30.0
CUTOUT_FRACTION = 1 / 3


def _randint(low: int, high: int, g: torch.Generator) -> int:
    """Uniform integer in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=g))


def roll(frames: torch.Tensor, g: torch.Generator, fraction: float = ROLL_FRACTION) -> torch.Tensor:
    h, w = frames.shape[-2:]
    lh, lw = int(h * fraction), int(w * fraction)
    return torch.roll(frames, shifts=(_randint(-lh, lh, g), _randint(-lw, lw, g)), dims=(-2, -1))


def rotate(frames: torch.Tensor, g: torch.Generator, degrees: float = ROTATE_DEGREES) -> torch.Tensor:
    angle = float((torch.rand(1, generator=g) * 2 - 1) * degrees)
    flat = frames.reshape(-1, *frames.shape[-2:])  # [T*C, H, W]
    out = TF.rotate(flat, angle, interpolation=InterpolationMode.NEAREST)
    return out.reshape(frames.shape)


def cutout(frames: torch.Tensor, g: torch.Generator, fraction: float = CUTOUT_FRACTION) -> torch.Tensor:
    h, w = frames.shape[-2:]
    lh, lw = int(fraction * h), int(fraction * w)
    y, x = _randint(0, h - 1, g), _randint(0, w - 1, g)
    y1, y2 = max(y - lh // 2, 0), min(y + lh // 2, h)
    x1, x2 = max(x - lw // 2, 0), min(x + lw // 2, w)
    out = frames.clone()
    out[..., y1:y2, x1:x2] = 0
    return out


def dvs_augment(frames: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Flip (p = 0.5) then one of roll / rotate / cutout. `[T, C, H, W]` -> same shape."""
    if float(torch.rand(1, generator=g)) > 0.5:
        frames = torch.flip(frames, dims=(-1,))
    op = (roll, rotate, cutout)[_randint(0, 2, g)]
    return op(frames, g)
