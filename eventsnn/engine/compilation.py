"""torch.compile as a config switch (`train.compile`: false | true | require).

`train.compile` compiles with `dynamic=False` (the default dynamic shapes fail in inductor on
SpikingResformer). Forward hooks added after compilation are ignored by dynamo, so the
modules that DA-SSDP records stay eager: `compile_for_training` compiles every sub-tree that
holds none of them and returns a shallow copy of the model that shares all parameters.
Compilation is lazy: a compiler failure shows at the first forward, where the engine's step
(`eventsnn.engine.step.TrainStep`) falls back to eager through `compile_failed`.
"""

from __future__ import annotations

import copy
import sys
from typing import Literal

import torch
from torch import nn

from eventsnn.errors import ArgumentError, ConfigError, TrainingError

__all__ = ["CompileMode", "compile_failed", "compile_for_training", "maybe_compile"]

CompileMode = Literal[False, True, "require"]


def _subtree_names(model: nn.Module, keep: set[str]) -> set[str]:
    """`keep` plus every ancestor of a kept module (the eager path to it)."""
    out = {""}
    for name in keep:
        parts = name.split(".")
        out.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def compile_for_training(
    model: nn.Module, keep_eager: tuple[str, ...] = (), *, backend: str = "inductor"
) -> nn.Module:
    """`torch.compile(dynamic=False)` of `model`, leaving the modules named in `keep_eager` (and
    the path to them) eager so that their forward hooks run; parameters and buffers are shared.

    With nothing to keep the whole model is compiled (an OptimizedModule around `model`).
    Otherwise returns a shallow copy of the module tree: each child holding no kept module is
    replaced by its compiled wrapper; the original `model` is left untouched (and eager).
    """
    if not keep_eager:
        return torch.compile(model, dynamic=False, backend=backend)
    modules = dict(model.named_modules())
    missing = [n for n in keep_eager if n not in modules]
    if missing:
        raise ArgumentError(f"compile_for_training: the model has no module named {missing[0]!r}")
    eager = _subtree_names(model, set(keep_eager))

    def rebuild(module: nn.Module, prefix: str) -> nn.Module:
        clone = copy.copy(module)
        clone._modules = dict(module._modules)
        for name, child in module._modules.items():
            if child is None:
                continue
            full = f"{prefix}.{name}" if prefix else name
            if full in keep_eager:
                continue  # the very module: hooks on it must fire
            if full in eager:
                clone._modules[name] = rebuild(child, full)
            elif any(True for _ in child.parameters()) or any(True for _ in child.children()):
                clone._modules[name] = torch.compile(child, dynamic=False, backend=backend)
        return clone

    return rebuild(model, "")


def maybe_compile(
    model: nn.Module, mode: CompileMode | str, keep_eager: tuple[str, ...] = (), *, backend: str = "inductor"
) -> nn.Module:
    """`compile_for_training` when `mode` is true / 'require', else `model`.

    Compilation is lazy (it happens at the first forward); this checks that dynamo can run
    here at all. On failure: one line on stderr and eager, or TrainingError for 'require'.
    """
    if mode is False or mode == "false":
        return model
    if mode not in (True, "true", "require"):
        raise ConfigError(f"train.compile: {mode!r}, expected false, true or require")
    try:
        return compile_for_training(model, keep_eager, backend=backend)
    except Exception as exc:  # any compiler failure means: run eager
        return compile_failed(model, mode, exc)


def compile_failed(model: nn.Module, mode: CompileMode | str, exc: BaseException) -> nn.Module:
    """One line saying why compilation failed; `model` (eager) unless the config requires it."""
    reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    if mode == "require":
        raise TrainingError(f"train.compile: require, but torch.compile failed ({reason})") from None
    print(f"train.compile: torch.compile failed ({reason}); continuing eager", file=sys.stderr)
    return model
