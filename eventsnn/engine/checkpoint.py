"""Training checkpoints: everything a run needs to continue exactly, written atomically.

A checkpoint is a plain dict readable with `torch.load(weights_only=True)`:
model, optimizer, scheduler, AMP scaler and DA-SSDP state, RNG states, the position
(`epoch`, `step_in_epoch`, `global_step`), the best accuracy so far and the resolved config.
Its `'model'` entry is a SpikingResformer state_dict, so the original tools read it too.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eventsnn.errors import CheckpointError
from eventsnn.utils.io import atomic_path

FORMAT = "eventsnn-train-v1"
LATEST = "checkpoint_latest.pt"
BEST = "checkpoint_best.pt"


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) generator states as weights_only-safe values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    version, py_state, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [version, list(py_state), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of `capture_rng_state`."""
    version, py_state, gauss = state["python"]
    random.setstate((version, tuple(py_state), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write `state` (plus the format tag) to `path` via a temporary file and a rename."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return Path(path)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a checkpoint dict on the CPU with `weights_only=True`; clear errors if unusable."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for corrupt / foreign files
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict checkpoint, got {type(obj).__name__}")
    return obj


def is_training_checkpoint(obj: dict[str, Any]) -> bool:
    return obj.get("format") == FORMAT
