"""Loading weights: original SpikingResformer checkpoints, bare state_dicts, eventsnn runs.

Accepted: a path (read with `torch.load(weights_only=True)`) or an already loaded dict,
either `{'model': state_dict, ...}` (the original training script and eventsnn runs) or a
bare state_dict. `transfer=True` keeps the backbone and drops the classifier when its shape
differs (fine-tuning on another class count). A checkpoint of another model raises a short
`CheckpointError` with counts and the first few missing / unexpected / wrong-shaped keys.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eventsnn.errors import CheckpointError

CLASSIFIER_PREFIX = "classifier."
SHOW = 3


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    if isinstance(source, Mapping):
        return source, "checkpoint"
    path = Path(source)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: expected a dict, got {type(obj).__name__}")
    return obj, str(path)


def extract_state_dict(obj: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The model state_dict inside a checkpoint dict (`'model'` entry) or the dict itself."""
    sd = obj.get("model", obj)
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError("no model state_dict found (expected a 'model' entry of tensors)")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def _summary(kind: str, keys: list[str]) -> str:
    more = f", ... (+{len(keys) - SHOW})" if len(keys) > SHOW else ""
    return f"{len(keys)} {kind} ({', '.join(keys[:SHOW])}{more})"


def load_checkpoint(
    model: nn.Module, source: str | os.PathLike[str] | Mapping[str, Any], *, transfer: bool = False
) -> list[str]:
    """Load weights into `model` strictly; returns the keys that were dropped (transfer only)."""
    obj, where = _read(source)
    try:
        state = extract_state_dict(obj)
    except CheckpointError as exc:
        raise CheckpointError(f"{where}: {exc}") from None
    own = model.state_dict()
    dropped: list[str] = []
    if transfer:
        for key in [k for k in state if k.startswith(CLASSIFIER_PREFIX)]:
            if key not in own or own[key].shape != state[key].shape:
                dropped.append(key)
                state.pop(key)
        for key in own:
            if key.startswith(CLASSIFIER_PREFIX) and key not in state:
                state[key] = own[key]  # keep the freshly initialised classifier
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [
            _summary(kind, keys)
            for kind, keys in (("missing", missing), ("unexpected", unexpected), ("wrong-shaped", shapes))
            if keys
        ]
        raise CheckpointError(f"{where}: does not fit this model: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)
    return dropped
