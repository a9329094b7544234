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

from eventsnn.config.schema import ModelConfig
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


def model_overrides(
    model_cfg: ModelConfig, num_classes: int | None = None, input_shape: tuple[int, ...] | None = None
) -> dict[str, Any]:
    """`create_model` keyword overrides: the config's model fields, else what the data implies.

    `input_shape` is `[T, C, H, W]` (event frames: sets T, in_channels, img_size) or `[C, H, W]`
    (images: sets in_channels, img_size); a field set in `model_cfg` wins over the data.
    """
    out: dict[str, Any] = {}
    if num_classes is not None:
        out["num_classes"] = num_classes
    if input_shape is not None:
        if len(input_shape) == 4:
            t, c, h, _ = input_shape
            if model_cfg.T is not None and model_cfg.T != t:  # the frames decide T
                raise ConfigError(
                    f"model.T={model_cfg.T}, but event frames have T = {t} (framing.n_frames): for event "
                    f"data T is the number of frames; set framing.n_frames={model_cfg.T} and leave "
                    "model.T unset"
                )
            out.update(T=t, in_channels=c, img_size=h)
        else:
            c, h, _ = input_shape
            out.update(in_channels=c, img_size=h)
    for key in ("T", "num_classes", "in_channels", "img_size", "prologue", "group_size", "activation"):
        value = getattr(model_cfg, key)
        if value is not None:
            out[key] = value
    for key in ("layers", "planes", "num_heads", "patch_sizes"):
        value = getattr(model_cfg, key)
        if value is not None:
            out[key] = [list(v) if isinstance(v, tuple) else v for v in value]
    return out


def build_model(
    model_cfg: ModelConfig, num_classes: int | None = None, input_shape: tuple[int, ...] | None = None
) -> SpikingResformer:
    """THE model of a config section and its data: `create_model(name, **model_overrides(...))`.

    Needs no data set: a checkpoint's data description (class count, input shape) is enough.
    """
    return create_model(model_cfg.name, **model_overrides(model_cfg, num_classes, input_shape))


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
                    "pretrained weights are never downloaded; use eventsnn.Checkpoint.load(path).model()"
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
