"""Forward hooks that record the pre/post activity of the plasticity layers into a typed record.

Only the rule's view of the activity is kept (`Units`: a uint8 code per row and unit, see
`eventsnn.plasticity.activity`), never the full activations. Hooks exist only inside
`ActivityRecorder.record()` and record only modules in training mode; nothing is stored on
the model. A plasticity layer is a `Linear`, a 1x1 `Conv2d` (its input / output are hooked),
or a DSSA block (its input / output are hooked and its `Wproj` is updated: the released
code's Wproj tensors).
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from eventsnn.errors import ConfigError
from eventsnn.models import default_plasticity_layers
from eventsnn.plasticity.activity import PlasticityInputError, Units
from eventsnn.plasticity.functional import unit_pair


@dataclass(frozen=True)
class LayerActivity:
    """Activity of one layer over one forward pass: `Units` of its input (pre) and output (post)."""

    pre: Units
    post: Units

    @classmethod
    def of(cls, pre: torch.Tensor, post: torch.Tensor, **variant) -> LayerActivity:
        """From recorded `[T, B, C, *spatial]` tensors; `variant`: reference, spatial, channels_last, name."""
        return cls(*unit_pair(pre, post, **variant))


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


def is_dssa_block(module: nn.Module) -> bool:
    """A DSSA block: a module with a square 1x1 `Wproj` Conv2d (input and output of equal shape)."""
    proj = getattr(module, "Wproj", None)
    return (
        isinstance(proj, nn.Conv2d) and _conv_problem(proj) is None and proj.in_channels == proj.out_channels
    )


def _conv_problem(module: nn.Conv2d) -> str | None:
    if tuple(module.kernel_size) != (1, 1):
        return f"a Conv2d with kernel {tuple(module.kernel_size)}, not 1x1"
    if tuple(module.stride) != (1, 1):
        return f"a 1x1 Conv2d with stride {tuple(module.stride)}, not 1"
    if module.groups != 1:
        return f"a 1x1 Conv2d with groups={module.groups}, not 1"
    if module.padding not in ("valid", "same") and tuple(module.padding) != (0, 0):
        return f"a 1x1 Conv2d with padding {tuple(module.padding)}, not 0"
    return None


def plasticity_layer_problem(module: nn.Module) -> str | None:
    """Why `module` cannot carry DA-SSDP (None if it can: a Linear, a 1x1 stride-1 ungrouped Conv2d,
    or a DSSA block)."""
    if isinstance(module, nn.Linear) or is_dssa_block(module):
        return None
    if isinstance(module, nn.Conv2d):
        return _conv_problem(module)
    return f"a {type(module).__name__}, not a Linear, a 1x1 Conv2d or a DSSA block"


def plastic_weight(module: nn.Module) -> torch.Tensor:
    """The weight DA-SSDP changes: the layer's own, or a DSSA block's `Wproj.weight`."""
    return module.Wproj.weight if is_dssa_block(module) else module.weight


def resolve_layers(model: nn.Module, names: list[str] | tuple[str, ...]) -> dict[str, nn.Module]:
    """Module name -> module, checked: known, unique, a Linear, 1x1 conv or DSSA block.

    ConfigError (one line) names the layer and lists the valid names.
    """
    modules = dict(model.named_modules())
    valid = [n for n, m in modules.items() if n and plasticity_layer_problem(m) is None]
    listing = ", ".join(valid) if len(valid) <= 12 else ", ".join(valid[:12]) + f", ... ({len(valid)} in all)"
    if not names:
        raise ConfigError(f"plasticity.layers: empty list; valid layers: {listing}")
    out: dict[str, nn.Module] = {}
    for name in names:
        if name in out:
            raise ConfigError(f"plasticity.layers: {name!r} is listed twice")
        close = difflib.get_close_matches(name, valid, n=1)
        hint = (f"; did you mean {close[0]!r}?" if close else "") + f"; valid layers: {listing}"
        if name not in modules or not name:
            raise ConfigError(f"plasticity.layers: the model has no module named {name!r}{hint}")
        problem = plasticity_layer_problem(modules[name])
        if problem is not None:
            raise ConfigError(f"plasticity.layers: {name!r} is {problem}{hint}")
        out[name] = modules[name]
    return out


def default_layer_names(model: nn.Module, reference: str = "paper") -> list[str]:
    """The model's default plasticity layers (`eventsnn.models.default_plasticity_layers`), or ConfigError."""
    names = list(default_plasticity_layers(model, reference=reference))
    if not names:
        need = " (reference: released needs a last stage with a DSSA block and a classifier)"
        raise ConfigError(
            f"plasticity.layers: the model {type(model).__name__} has no default plasticity layers"
            + (need if reference == "released" else "")
            + "; set plasticity.layers to a list of Linear / 1x1 Conv2d / DSSA module names"
        )
    return names


def _layer_activity(
    module: nn.Module, name: str, x: torch.Tensor, y: torch.Tensor, reference: str, spatial: str
) -> LayerActivity:
    linear = isinstance(module, nn.Linear)
    if not linear and (x.dim() != 5 or y.dim() != 5):
        raise PlasticityInputError(
            f"layer {name!r}: a 1x1 Conv2d or DSSA block must run multi-step on [T, B, C, H, W] "
            f"(spikingjelly step_mode='m'), got input {tuple(x.shape)}"
        )
    if x.dim() < 3 or y.dim() < 3:
        raise PlasticityInputError(
            f"layer {name!r}: expected multi-step input [T, B, ..., C] (spikingjelly step_mode='m'), "
            f"got {tuple(x.shape)}"
        )
    pre, post = unit_pair(x, y, reference=reference, spatial=spatial, channels_last=linear, name=name)
    return LayerActivity(pre, post)


class ActivityRecorder:
    """Registers forward hooks on the named modules inside `record()` and collects a PlasticityRecord."""

    def __init__(self, modules: dict[str, nn.Module], *, reference: str = "paper", spatial: str = "any"):
        self.modules = modules
        self.reference, self.spatial = reference, spatial
        self._record = PlasticityRecord()

    def _hook(self, name: str):
        def hook(module: nn.Module, args: tuple, output) -> None:
            if not module.training or not args or not isinstance(output, torch.Tensor):
                return
            if name in self._record.layers:
                raise PlasticityInputError(
                    f"layer {name!r} ran twice inside one plasticity.record(); record one forward pass"
                )
            self._record.layers[name] = _layer_activity(
                module, name, args[0], output, self.reference, self.spatial
            )

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
