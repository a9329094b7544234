"""Model registry: `create_model(name, **overrides)` and `list_models()`.

The six published variants with their original architectures (and parameter counts:
ti 11,180,992; s 17,813,824; m 35,601,472; l 60,375,680 at 1000 classes; cifar 10,793,152 at
10; dvsg 2,709,830 at 11). Any argument of `SpikingResformer` can be overridden, which is
how tiny CPU models are made. The variants are also registered with timm when the name is
free there.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from eventsnn.errors import ConfigError
from eventsnn.models.spikingresformer import SpikingResformer

_STAGES = [["DSSA", "GWFFN"] * 1, ["DSSA", "GWFFN"] * 2, ["DSSA", "GWFFN"] * 3]

VARIANTS: dict[str, dict[str, Any]] = {
    "spikingresformer_ti": dict(planes=[64, 192, 384], num_heads=[1, 3, 6]),
    "spikingresformer_s": dict(planes=[64, 256, 512], num_heads=[1, 4, 8]),
    "spikingresformer_m": dict(planes=[64, 384, 768], num_heads=[1, 6, 12]),
    "spikingresformer_l": dict(planes=[128, 512, 1024], num_heads=[2, 8, 16]),
    "spikingresformer_dvsg": dict(
        planes=[32, 96, 192],
        num_heads=[1, 3, 6],
        prologue="cifar",
        group_size=32,
        activation="plif",
        num_classes=11,
        img_size=64,
        T=16,
    ),
    "spikingresformer_cifar": dict(
        planes=[64, 192, 384], num_heads=[1, 3, 6], prologue="cifar", num_classes=10, img_size=32
    ),
}


def variant_arguments(name: str) -> dict[str, Any]:
    """The full constructor arguments of a registered variant."""
    if name not in VARIANTS:
        import difflib

        close = difflib.get_close_matches(name, VARIANTS, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; available: {', '.join(VARIANTS)}"
        raise ConfigError(f"unknown model {name!r}{hint}")
    args: dict[str, Any] = dict(layers=[list(s) for s in _STAGES], patch_sizes=[4, 2, 1], in_channels=3)
    args.update(VARIANTS[name])
    return args


def list_models() -> list[str]:
    return sorted(VARIANTS)


def create_model(name: str, **overrides: Any) -> SpikingResformer:
    """Build variant `name`; keyword overrides replace any constructor argument.

    Example:
        >>> import torch
        >>> "spikingresformer_ti" in list_models()
        True
        >>> model = create_model("spikingresformer_cifar", layers=[["DSSA", "GWFFN"]], planes=[32],
        ...                      num_heads=[2], patch_sizes=[4], group_size=16, T=2, img_size=16)
        >>> model(torch.zeros(1, 3, 16, 16)).shape  # images [B, C, H, W] -> logits [T, B, classes]
        torch.Size([2, 1, 10])
    """
    args = variant_arguments(name)
    unknown = set(overrides) - set(inspect.signature(SpikingResformer).parameters)
    if unknown:
        raise ConfigError(f"model {name}: unknown argument(s) {', '.join(sorted(unknown))}")
    args.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return SpikingResformer(**args)
    except ValueError as exc:
        raise ConfigError(f"model {name}: {exc}") from None


def register_with_timm() -> list[str]:
    """Register the variants with timm's global registry where the names are free."""
    import timm
    from timm.models import register_model

    added = []
    for name in VARIANTS:
        if timm.is_model(name):
            continue

        def factory(pretrained: bool = False, _name: str = name, **kwargs: Any) -> nn.Module:
            if pretrained:
                raise ConfigError(
                    "pretrained weights are never downloaded; use load_checkpoint with a local file"
                )
            kwargs.pop("pretrained_cfg", None)
            kwargs.pop("pretrained_cfg_overlay", None)
            kwargs.pop("cache_dir", None)
            return create_model(_name, **kwargs)

        factory.__name__ = name
        factory.__module__ = __name__
        register_model(factory)
        added.append(name)
    return added
