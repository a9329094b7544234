"""Loading weights: original SpikingResformer checkpoints, bare state_dicts, eventsnn runs.

Accepted: a path (read with `torch.load(weights_only=True)`) or an already loaded dict,
either `{'model': state_dict, ...}` (the original training script and eventsnn runs) or a
bare state_dict. `read_checkpoint` is the one reader of checkpoint files; `check_checkpoint_model`
the one "checkpoint of model X, the config asks for Y" check; `config_from_checkpoint` the
resolved config a run stored in it. `transfer=True` keeps the backbone and drops the classifier when its shape
differs (fine-tuning on another class count). A checkpoint of another model raises a short
`CheckpointError` with counts and the first few missing / unexpected / wrong-shaped keys.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eventsnn.config import RunConfig
from eventsnn.config.loader import config_from_mapping
from eventsnn.errors import CheckpointError
from eventsnn.models.released_keys import split_released_rule

CLASSIFIER_PREFIX = "classifier."
SHOW = 3


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """THE checkpoint reader: load a checkpoint file on the CPU with `torch.load(weights_only=True)`.

    Every reader of checkpoint files in eventsnn goes through here (training resume, evaluate,
    robustness, fine-tuning, the demo). Returns the stored dict unchanged.

    Raises:
        CheckpointError (a `DataError`): the file is missing, is not a dict, or is not a trusted
            eventsnn/SpikingResformer checkpoint (unreadable, or it holds pickled objects that
            `weights_only` loading refuses; the file is never loaded any other way).
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file (e.g. {path}/checkpoint_best.pt)")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    foreign = _not_a_torch_file(path)
    if foreign:
        raise CheckpointError(f"{path}: not a checkpoint: {foreign}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt / foreign / pickled files
        raise CheckpointError(
            f"{path}: not a trusted eventsnn/SpikingResformer checkpoint ({_reason(exc)})"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(
            f"{path}: not a trusted eventsnn/SpikingResformer checkpoint (a {type(obj).__name__}, not a dict)"
        )
    return obj


_MAGIC = {
    b"\x89HDF": "an HDF5 file",
    b"#!AER-DAT": "an AEDAT event recording",
    b"\x93NUMPY": "a NumPy array file",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip file",
}


def _not_a_torch_file(path: Path) -> str | None:
    """What the file is when it cannot be a torch checkpoint (a zip archive or a pickle), from
    its first bytes; None when it may be one."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch zip / legacy pickle
        return None
    if not head:
        return "the file is empty"
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return f"it starts with the bytes {head[:8].hex()}, neither a zip archive nor a pickle"
    first = text.strip().splitlines()[0][:60] if text.strip() else ""
    return f"a text file (it starts with {first!r})"


def _reason(exc: BaseException) -> str:
    """Why `torch.load(weights_only=True)` refused a file, in a few words (never torch's advice
    to load it with `weights_only=False`)."""
    found = re.search(r"Unsupported global: GLOBAL (\S+)", str(exc))
    if found:
        return f"it holds a pickled {found.group(1)}, which is never loaded"
    detail = exc.__context__ if isinstance(exc, pickle.UnpicklingError) and exc.__context__ else exc
    text = str(detail).strip()
    if "weights_only" in text or not text:
        text = type(detail).__name__
    return f"unreadable: {text.splitlines()[0][:200]}"


def _read(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """A loaded checkpoint dict and a name for messages (the path, or "checkpoint")."""
    if isinstance(source, Mapping):
        return source, "checkpoint"
    return read_checkpoint(source), str(source)


def check_checkpoint_model(
    checkpoint: Mapping[str, Any], model_name: str, *, where: str | os.PathLike[str] = "checkpoint"
) -> None:
    """THE "is this checkpoint for this model" check (before any weights are loaded).

    A checkpoint that records its model (`'model_name'`, written by eventsnn runs) must record
    `model_name`; an original SpikingResformer checkpoint records none and passes (the strict
    key/shape check of `load_checkpoint` still applies).

    Raises:
        CheckpointError: "<where>: checkpoint of model 'X', the config asks for 'Y'".
    """
    found = checkpoint.get("model_name")
    if found is not None and found != model_name:
        raise CheckpointError(f"{where}: checkpoint of model {found!r}, the config asks for {model_name!r}")


def config_from_checkpoint(
    source: str | os.PathLike[str] | Mapping[str, Any], overrides: Sequence[str] = ()
) -> RunConfig:
    """The resolved `RunConfig` stored in a checkpoint (eventsnn runs store it under `'config'`),
    with `--set section.key=value` `overrides` applied and checked like a config file's.

    Raises:
        CheckpointError: unreadable file (see `read_checkpoint`), or a checkpoint without a
            stored config (an original SpikingResformer file: give a config file instead).
        ConfigError: the stored config (or an override) does not fit this version's schema.
    """
    obj, where = _read(source)
    raw = obj.get("config")
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{where}: holds no run config (not an eventsnn run); give one with -c FILE")
    return config_from_mapping(raw, overrides, source=f"{where} (stored config)")


def extract_state_dict(obj: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The model state_dict inside a checkpoint dict (`'model'` entry) or the dict itself."""
    sd = obj.get("model", obj)
    if not isinstance(sd, Mapping) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CheckpointError("no model state_dict found (expected a 'model' entry of tensors)")
    weights, _rule = split_released_rule({k.removeprefix("module."): v for k, v in sd.items()})
    return weights  # a released DA-SSDP file's ssdp.* entries are the rule's settings, not weights


def _summary(kind: str, keys: list[str]) -> str:
    more = f", ... (+{len(keys) - SHOW})" if len(keys) > SHOW else ""
    return f"{len(keys)} {kind} ({', '.join(keys[:SHOW])}{more})"


def load_checkpoint(
    model: nn.Module,
    source: str | os.PathLike[str] | Mapping[str, Any],
    *,
    transfer: bool = False,
    where: str | os.PathLike[str] | None = None,
) -> list[str]:
    """Load weights into `model` strictly; returns the keys that were dropped (transfer only).

    `where` names the file in messages when `source` is an already-read dict."""
    obj, name = _read(source)
    where = str(where) if where is not None else name
    try:
        state = extract_state_dict(obj)
    except CheckpointError as exc:
        raise CheckpointError(f"{where}: {exc}") from None
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        more = f" and {len(bad) - 1} more tensors" if len(bad) > 1 else ""
        raise CheckpointError(
            f"{where}: the weights hold NaN or infinite values ({bad[0]}{more}); the training diverged "
            "before this checkpoint was saved: use an earlier one (e.g. checkpoint_best.pt)"
        )
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
