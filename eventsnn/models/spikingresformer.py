"""SpikingResformer (Shi et al., "SpikingResformer: Bridging ResNet and Vision Transformer in
Spiking Neural Networks", CVPR 2024) on spikingjelly 2.

prologue -> stages of [Downsample?, (DSSA, GWFFN) x n] -> average pool -> linear classifier.
Input `[B, C, H, W]` images (repeated over T: direct encoding) or `[B, T, C, H, W]` frames;
output per-step logits `[T, B, classes]`. Neuron states are reset at the start of every
forward pass (the one place), so batches never leak into each other. Module and buffer
names equal the original implementation's, so its checkpoints load with `strict=True`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from spikingjelly.activation_based import functional, layer
from torch import nn

from eventsnn.errors import ArgumentError
from eventsnn.models.blocks import DSSA, GWFFN, DownsampleLayer
from eventsnn.models.layers import BN, linear
from eventsnn.models.neurons import Activation
from eventsnn.models.readout import mean_logits  # noqa: F401 (public here since 0.1)

BLOCKS = ("DSSA", "GWFFN")


def _prologue(kind: str | nn.Module | None, in_channels: int, planes: int) -> tuple[nn.Module, int]:
    """The stem and its spatial downsampling factor."""
    if kind is None or kind == "imagenet":
        stem = nn.Sequential(
            layer.Conv2d(in_channels, planes, 7, 2, 3, bias=False, step_mode="m"),
            BN(planes),
            layer.MaxPool2d(kernel_size=3, stride=2, padding=1, step_mode="m"),
        )
        return stem, 4
    if kind == "cifar":  # 3x3 conv stem without pooling (cifar and dvsg variants)
        return nn.Sequential(
            layer.Conv2d(in_channels, planes, 3, 1, 1, bias=False, step_mode="m"), BN(planes)
        ), 1
    if isinstance(kind, nn.Module):
        return kind, 1
    raise ArgumentError(f"prologue must be None, 'imagenet', 'cifar' or a module, got {kind!r}")


class SpikingResformer(nn.Module):
    """The network; arguments as the original (`activation` is 'lif' or 'plif')."""

    def __init__(
        self,
        layers: Sequence[Sequence[str]],
        planes: Sequence[int],
        num_heads: Sequence[int],
        patch_sizes: Sequence[int],
        img_size: int = 224,
        T: int = 4,
        in_channels: int = 3,
        num_classes: int = 1000,
        prologue: str | nn.Module | None = None,
        group_size: int = 64,
        activation: Activation = "lif",
    ) -> None:
        super().__init__()
        if not len(planes) == len(layers) == len(num_heads) == len(patch_sizes):
            raise ArgumentError("layers, planes, num_heads and patch_sizes must have the same length")
        self.T, self.num_classes, self.in_channels = T, num_classes, in_channels
        self.skip = ["prologue.0", "classifier"]
        self.prologue, factor = _prologue(prologue, in_channels, planes[0])
        size = img_size // factor
        self.layers = nn.Sequential()
        for idx, names in enumerate(layers):
            stage = nn.Sequential()
            if idx:
                stage.append(DownsampleLayer(planes[idx - 1], planes[idx], stride=2, activation=activation))
                size //= 2
            for name in names:
                if name == "DSSA":
                    tokens = (size // patch_sizes[idx]) ** 2
                    stage.append(DSSA(planes[idx], num_heads[idx], tokens, patch_sizes[idx], activation))
                elif name == "GWFFN":
                    stage.append(GWFFN(planes[idx], group_size=group_size, activation=activation))
                else:
                    raise ArgumentError(f"unknown block {name!r}; expected one of {BLOCKS}")
            self.layers.append(stage)
        self.avgpool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
        self.classifier = linear(planes[-1], num_classes)
        self._init_weights()
        self._reset_modules: tuple[nn.Module, ...] | None = None

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def reset_state(self) -> None:
        """Reset every neuron's membrane potential (called at the start of `forward`)."""
        if self._reset_modules is None:
            self._reset_modules = functional.collect_reset_modules(self)
        functional.reset_collected_modules(self._reset_modules)

    def to_time_major(self, x: torch.Tensor) -> torch.Tensor:
        """`[B, C, H, W]` -> repeated `[T, B, C, H, W]`; `[B, T, C, H, W]` -> `[T, B, C, H, W]`.

        Frames come batch first. An input whose dim 0, not dim 1, has the model's T (spikingjelly's
        `[T, B, ...]` order) is refused; when B == T the two orders cannot be told apart and the
        input is read as `[B, T, ...]`.
        """
        if x.dim() == 4:
            return x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)
        if x.dim() == 5:
            if x.shape[1] != self.T and x.shape[0] == self.T:
                raise ArgumentError(
                    f"input {tuple(x.shape)}: the model takes frames [B, T, C, H, W] with its T = {self.T} "
                    "at dim 1; this looks like spikingjelly's [T, B, C, H, W] order: pass x.transpose(0, 1)"
                )
            return x.transpose(0, 1)
        raise ArgumentError(f"expected [B, C, H, W] images or [B, T, C, H, W] frames, got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.reset_state()
        x = self.to_time_major(x)  # [T,B,C,H,W]
        x = self.layers(self.prologue(x))
        x = torch.flatten(self.avgpool(x), 2)  # [T,B,C]
        return self.classifier(x)  # [T,B,K]

    def no_weight_decay(self) -> set[str]:
        """PLIF time constants are excluded from weight decay (as the original)."""
        from spikingjelly.activation_based.neuron import ParametricLIFNode

        return {f"{name}.w" for name, m in self.named_modules() if isinstance(m, ParametricLIFNode)}


def default_plasticity_layers(model: nn.Module, reference: str = "paper") -> list[str]:
    """DA-SSDP integration points, the classifier and one DSSA block of the last stage.

    `reference="paper"` (Fig. 2): the `Wproj` conv of the LAST DSSA block of the model.
    `reference="released"` (NeuroSyd/DA-SSDP): the FIRST DSSA block of the last stage itself
    (its input and output are the recorded tensors, its `Wproj` is updated). [] when the
    model has no such structure.
    """
    classifier = ["classifier"] if isinstance(getattr(model, "classifier", None), nn.Module) else []
    if reference == "released":
        stages = getattr(model, "layers", None)
        if not isinstance(stages, nn.Sequential) or len(stages) == 0 or not classifier:
            return []
        last = len(stages) - 1
        first = [f"layers.{last}.{i}" for i, m in enumerate(stages[last]) if isinstance(m, DSSA)][:1]
        return [*first, *classifier] if first else []
    names = [name for name, m in model.named_modules() if isinstance(m, DSSA)]
    return [*([f"{names[-1]}.Wproj"] if names else []), *classifier]
