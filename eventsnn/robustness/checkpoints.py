"""Checkpoint arguments of a sweep: labels, and validation of ALL of them before any work starts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from torch import nn

from eventsnn.checkpoint import Checkpoint
from eventsnn.errors import CheckpointError

GENERIC_STEMS = ("checkpoint", "checkpoint_best", "checkpoint_latest", "best", "latest", "model", "last")


def parse_checkpoint_arg(arg: str) -> tuple[str, Path]:
    """`LABEL=PATH` or `PATH` -> (label, path); the label defaults to the file stem, or the folder
    name for generic stems (`runs/baseline/checkpoint_best.pth` -> "baseline")."""
    if "=" in arg and not Path(arg).exists():
        label, path = arg.split("=", 1)
        if label and path:
            return label, Path(path)
    path = Path(arg)
    stem = path.stem
    label = path.parent.name if stem.lower() in GENERIC_STEMS and path.parent.name else stem
    return label or str(path), path


def checkpoint_labels(args: Sequence[str]) -> list[tuple[str, Path]]:
    """Parse every `--checkpoint`; labels made unique by appending #2, #3 ..."""
    out: list[tuple[str, Path]] = []
    seen: dict[str, int] = {}
    for arg in args:
        label, path = parse_checkpoint_arg(arg)
        seen[label] = seen.get(label, 0) + 1
        out.append((label if seen[label] == 1 else f"{label}#{seen[label]}", path))
    return out


def require_files(checkpoints: Sequence[tuple[str, Path]]) -> None:
    """At least one checkpoint, and every file exists (one message naming the first missing one)."""
    if not checkpoints:
        raise CheckpointError("robustness: give at least one --checkpoint")
    missing = [str(p) for _, p in checkpoints if not Path(p).is_file()]
    if missing:
        raise CheckpointError(
            f"{missing[0]}: checkpoint not found"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )


def read_checkpoints(checkpoints: Sequence[tuple[str, Path]], model_name: str) -> dict[Path, Checkpoint]:
    """Every file exists, is a trusted checkpoint, and is of `model_name` (when it records one);
    path -> `Checkpoint`, read before any data is loaded."""
    require_files(checkpoints)
    out: dict[Path, Checkpoint] = {}
    for _, path in checkpoints:
        ckpt = Checkpoint.load(path)
        ckpt.check_model(model_name)
        out[Path(path)] = ckpt
    return out


def load_all(
    checkpoints: Sequence[tuple[str, Path]], load: Callable[[Path], nn.Module]
) -> dict[str, nn.Module]:
    """Check that every file exists, then load each with `load` (which raises CheckpointError for a
    checkpoint of another model); nothing else runs until all of them loaded."""
    require_files(checkpoints)
    models = {}
    for label, path in checkpoints:
        try:
            model = load(path)
        except CheckpointError:
            raise
        except Exception as exc:  # a loader that fails otherwise still names the file
            raise CheckpointError(f"{path}: cannot load ({type(exc).__name__}: {exc})") from None
        models[label] = model.eval()
    return models
