"""SpikingResformer blocks (Shi et al., CVPR 2024): DSSA, GWFFN and the downsample layer.

DSSA (dual spike self-attention), per head h with spikes X `[d, HW]` and a patch embedding
Y = BN(W * X) split into Y1, Y2 `[d, N]` (N = (H/p)(W/p) tokens):

    A   = SN( (Y1^T X) / sqrt(r_X d) )          # [N, HW] spikes
    out = SN( (Y2 A) / sqrt(r_A N) )            # [d, HW]
    DSSA(X) = BN(Wproj out) + X

where r_X, r_A are running firing rates (momentum 0.999, buffers `firing_rate_x`,
`firing_rate_attn`) that scale the spike-driven matmuls. GWFFN: 1x1 up (x4), grouped 3x3
with a residual, 1x1 down, and a residual around the block; spiking neurons precede
every convolution. All tensors are `[T, B, C, H, W]`.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import layer
from torch import nn

from eventsnn.errors import ArgumentError
from eventsnn.models.layers import BN, SpikingMatmul, conv1x1, conv3x3
from eventsnn.models.neurons import Activation, make_neuron

FIRING_RATE_MOMENTUM = 0.999


class GWFFN(nn.Module):
    """Group-wise spiking feed-forward network: `[T, B, C, H, W]` -> same shape."""

    def __init__(
        self,
        in_channels: int,
        num_conv: int = 1,
        ratio: int = 4,
        group_size: int = 64,
        activation: Activation = "lif",
    ) -> None:
        super().__init__()
        inner = in_channels * ratio
        if inner % group_size:
            raise ArgumentError(
                f"GWFFN: {inner} inner channels are not a multiple of group_size {group_size}"
            )
        self.up = nn.Sequential(make_neuron(activation), conv1x1(in_channels, inner), BN(inner))
        self.conv = nn.ModuleList(
            nn.Sequential(
                make_neuron(activation), conv3x3(inner, inner, groups=inner // group_size), BN(inner)
            )
            for _ in range(num_conv)
        )
        self.down = nn.Sequential(make_neuron(activation), conv1x1(inner, in_channels), BN(in_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.up(x)
        inner_shortcut = x
        for block in self.conv:
            x = block(x)
        x = self.down(x + inner_shortcut)
        return x + shortcut


class DSSA(nn.Module):
    """Dual spike self-attention with firing-rate-scaled spike matmuls."""

    def __init__(
        self, dim: int, num_heads: int, length: int, patch_size: int, activation: Activation = "lif"
    ):
        super().__init__()
        if dim % num_heads:
            raise ArgumentError(f"DSSA: dim {dim} is not divisible by num_heads {num_heads}")
        self.dim, self.num_heads, self.lenth = dim, num_heads, length
        self.register_buffer("firing_rate_x", torch.zeros(1, 1, num_heads, 1, 1))
        self.register_buffer("firing_rate_attn", torch.zeros(1, 1, num_heads, 1, 1))
        self.init_firing_rate_x = False  # not saved: as the original, a loaded non-zero rate is kept
        self.init_firing_rate_attn = False
        self.momentum = FIRING_RATE_MOMENTUM
        self.activation_in = make_neuron(activation)
        self.W = layer.Conv2d(dim, dim * 2, patch_size, patch_size, bias=False, step_mode="m")
        self.norm = BN(dim * 2)
        self.matmul1 = SpikingMatmul("r")
        self.matmul2 = SpikingMatmul("r")
        self.activation_attn = make_neuron(activation)
        self.activation_out = make_neuron(activation)
        self.Wproj = conv1x1(dim, dim)
        self.norm_proj = BN(dim)

    def _track(self, buffer: torch.Tensor, value: torch.Tensor, initialised: bool) -> None:
        """Running mean of the per-head firing rate (copied on the very first batch)."""
        with torch.no_grad():
            if not initialised and torch.all(buffer == 0):
                buffer.copy_(value)
            buffer.mul_(self.momentum).add_(value * (1 - self.momentum))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T, B, C, H, W = x.shape
        heads, d = self.num_heads, C // self.num_heads
        shortcut = x
        x = self.activation_in(x)  # spikes [T,B,C,H,W]
        y = self.norm(self.W(x)).reshape(T, B, heads, 2 * d, -1)  # [T,B,h,2d,N]
        y1, y2 = y[:, :, :, :d, :], y[:, :, :, d:, :]
        x = x.reshape(T, B, heads, d, -1)  # [T,B,h,d,HW]
        if self.training:
            self._track(
                self.firing_rate_x, x.detach().mean((0, 1, 3, 4), keepdim=True), self.init_firing_rate_x
            )
            self.init_firing_rate_x = True
        attn = self.matmul1(y1.transpose(-1, -2), x)  # [T,B,h,N,HW]
        attn = self.activation_attn(attn * (1.0 / torch.sqrt(self.firing_rate_x * d)))
        if self.training:
            rate = attn.detach().mean((0, 1, 3, 4), keepdim=True)
            self._track(self.firing_rate_attn, rate, self.init_firing_rate_attn)
            self.init_firing_rate_attn = True
        out = self.matmul2(y2, attn) * (1.0 / torch.sqrt(self.firing_rate_attn * self.lenth))  # [T,B,h,d,HW]
        out = self.activation_out(out.reshape(T, B, C, H, W))
        return self.norm_proj(self.Wproj(out)) + shortcut


class DownsampleLayer(nn.Module):
    """Spikes -> strided 3x3 conv -> BN: `[T, B, C_in, H, W]` -> `[T, B, C_out, H/s, W/s]`."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2, activation: Activation = "lif"):
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels, stride=stride)
        self.norm = BN(out_channels)
        self.activation = make_neuron(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(self.activation(x)))
