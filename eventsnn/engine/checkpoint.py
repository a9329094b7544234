"""Training checkpoints: everything a run needs to continue exactly, written atomically.

A checkpoint is a plain dict readable with `torch.load(weights_only=True)`:
model, optimizer, scheduler, AMP scaler and DA-SSDP state, RNG states, the position
(`epoch`, `step_in_epoch`, `global_step`), the best accuracy so far and the resolved config.
Its `'model'` entry is a SpikingResformer state_dict, so the original tools read it too.
Files are read back with `read_checkpoint` (one reader, in `eventsnn.models.checkpoint`).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eventsnn.errors import CheckpointError
from eventsnn.models.checkpoint import read_checkpoint
from eventsnn.utils.io import atomic_path

__all__ = [
    "BEST",
    "FORMAT",
    "LATEST",
    "capture_rng_state",
    "read_checkpoint",
    "require_training_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
]

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
    """Write `state` (plus the format tag) to `path` via a temporary file and a rename.

    Raises:
        TrainingError: the disk filled up; the file previously at `path` is left as it was.
    """
    from eventsnn.engine.runfolder import disk_full_is_one_line

    with disk_full_is_one_line(path, "checkpoint"), atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save({"format": FORMAT, **state}, fh)  # a Python file: ENOSPC stays visible in the error
    return Path(path)


def require_training_checkpoint(checkpoint: dict[str, Any], where: str | os.PathLike[str]) -> None:
    """Resuming needs a full eventsnn training checkpoint (format tag `FORMAT`), not only weights.

    Raises:
        CheckpointError: "<where>: not an eventsnn training checkpoint ... cannot resume from it".
    """
    if checkpoint.get("format") != FORMAT:
        raise CheckpointError(
            f"{where}: not an eventsnn training checkpoint (format {checkpoint.get('format')!r}, "
            f"expected {FORMAT!r}): it can initialise a run (finetune) but cannot resume one"
        )
