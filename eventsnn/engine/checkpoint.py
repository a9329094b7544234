"""Writing training checkpoints atomically, and the RNG states they carry.

What a checkpoint holds and how it is read back is `eventsnn.Checkpoint`'s (the one home of
its keys); the engine builds one from the run (`Checkpoint.of_run`) and writes it here.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.engine.runfolder import disk_full_is_one_line
from eventsnn.utils.io import atomic_path

__all__ = [
    "BEST",
    "LATEST",
    "capture_rng_state",
    "restore_rng_state",
    "save_checkpoint",
]

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


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write `checkpoint` to `path` via a temporary file and a rename.

    Raises:
        TrainingError: the disk filled up; the file previously at `path` is left as it was.
    """
    with disk_full_is_one_line(path, "checkpoint"), atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(checkpoint.to_dict(), fh)  # a Python file: ENOSPC stays visible in the error
    return Path(path)
