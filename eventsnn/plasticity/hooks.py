"""Forward hooks that record the pre/post activity of the plasticity layers into a typed record.

Only binary activity reduced over spatial dims is kept (bool `[T, B, C]`), never the full
activations. Hooks exist only inside `ActivityRecorder.record()` and record only modules in
training mode; nothing is stored on the model.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from eventsnn.errors import ConfigError
from eventsnn.plasticity.functional import PlasticityInputError, binary_activity


@dataclass(frozen=True)
class LayerActivity:
    """Activity of one layer over one forward pass: bool `[T, B, C_in]` and `[T, B, C_out]`."""

    pre: torch.Tensor
    post: torch.Tensor


@dataclass
class PlasticityRecord:
    """The activity of every hooked layer of one training forward pass, by module name."""

    layers: dict[str, LayerActivity] = field(default_factory=dict)


def unwrap_model(model: nn.Module) -> nn.Module:
    """The user model inside DDP / DataParallel / torch.compile wrappers."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel | nn.DataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def plasticity_layer_problem(module: nn.Module) -> str | None:
    """Why `module` cannot carry DA-SSDP (None if it can: a Linear or a 1x1 stride-1 ungrouped Conv2d)."""
    if isinstance(module, nn.Linear):
        return None
    if isinstance(module, nn.Conv2d):
        if tuple(module.kernel_size) != (1, 1):
            return f"a Conv2d with kernel {tuple(module.kernel_size)}, not 1x1"
        if tuple(module.stride) != (1, 1):
            return f"a 1x1 Conv2d with stride {tuple(module.stride)}, not 1"
        if module.groups != 1:
            return f"a 1x1 Conv2d with groups={module.groups}, not 1"
        if module.padding not in ("valid", "same") and tuple(module.padding) != (0, 0):
            return f"a 1x1 Conv2d with padding {tuple(module.padding)}, not 0"
        return None
    return f"a {type(module).__name__}, not a Linear or a 1x1 Conv2d"


def resolve_layers(model: nn.Module, names: list[str] | tuple[str, ...]) -> dict[str, nn.Module]:
    """Module name -> module, checked: known, unique, Linear or 1x1 conv. ConfigError names the layer."""
    modules = dict(model.named_modules())
    valid = [n for n, m in modules.items() if n and plasticity_layer_problem(m) is None]
    if not names:
        raise ConfigError("plasticity.layers: empty list; name at least one Linear or 1x1 Conv2d module")
    out: dict[str, nn.Module] = {}
    for name in names:
        if name in out:
            raise ConfigError(f"plasticity.layers: {name!r} is listed twice")
        close = difflib.get_close_matches(name, valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; valid layers include {valid[:5]}"
        if name not in modules or not name:
            raise ConfigError(f"plasticity.layers: the model has no module named {name!r}{hint}")
        problem = plasticity_layer_problem(modules[name])
        if problem is not None:
            raise ConfigError(f"plasticity.layers: {name!r} is {problem}{hint}")
        out[name] = modules[name]
    return out


def default_layer_names(model: nn.Module) -> list[str]:
    """The model's default plasticity layers (eventsnn.models.default_plasticity_layers), or ConfigError."""
    try:
        from eventsnn.models import default_plasticity_layers
    except ImportError:
        default_plasticity_layers = None
    names = None
    if default_plasticity_layers is not None:
        try:
            names = list(default_plasticity_layers(model))
        except (ValueError, KeyError, AttributeError, TypeError, LookupError, ConfigError):
            names = None
    if not names:
        raise ConfigError(
            f"plasticity.layers: the model {type(model).__name__} has no default plasticity layers; "
            "set plasticity.layers to a list of Linear / 1x1 Conv2d module names"
        )
    return names


def _layer_activity(module: nn.Module, name: str, x: torch.Tensor, y: torch.Tensor) -> LayerActivity:
    linear = isinstance(module, nn.Linear)
    if not linear and (x.dim() != 5 or y.dim() != 5):
        raise PlasticityInputError(
            f"layer {name!r}: a 1x1 Conv2d must run multi-step on [T, B, C, H, W] (spikingjelly "
            f"step_mode='m'), got input {tuple(x.shape)}"
        )
    if x.dim() < 3 or y.dim() < 3:
        raise PlasticityInputError(
            f"layer {name!r}: expected multi-step input [T, B, ..., C] (spikingjelly step_mode='m'), "
            f"got {tuple(x.shape)}"
        )
    return LayerActivity(binary_activity(x, channels_last=linear), binary_activity(y, channels_last=linear))


class ActivityRecorder:
    """Registers forward hooks on the named modules inside `record()` and collects a PlasticityRecord."""

    def __init__(self, modules: dict[str, nn.Module]):
        self.modules = modules
        self._record = PlasticityRecord()

    def _hook(self, name: str):
        def hook(module: nn.Module, args: tuple, output) -> None:
            if not module.training or not args or not isinstance(output, torch.Tensor):
                return
            if name in self._record.layers:
                raise PlasticityInputError(
                    f"layer {name!r} ran twice inside one plasticity.record(); record one forward pass"
                )
            self._record.layers[name] = _layer_activity(module, name, args[0], output)

        return hook

    @contextlib.contextmanager
    def record(self) -> Iterator[PlasticityRecord]:
        """Hooks active only inside; a fresh record per entry."""
        self._record = PlasticityRecord()
        handles = [m.register_forward_hook(self._hook(n)) for n, m in self.modules.items()]
        try:
            yield self._record
        finally:
            for h in handles:
                h.remove()

    def take(self) -> PlasticityRecord:
        """The last record, handed over once (the next take() is empty until record() runs again)."""
        rec, self._record = self._record, PlasticityRecord()
        return rec
