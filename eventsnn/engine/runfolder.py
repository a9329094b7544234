"""Run-folder bookkeeping: what `--overwrite` removes, what makes another run, disk-full lines.

"The same run" is decided here only (`config_changes`, one ignore list `FREE_TO_CHANGE`): what
`--resume` refuses without `--allow-changes`, and what `eventsnn compare` calls a folder that
holds another run. Paths (output, data root, cache folder) and loader processes may change: a
moved cache folder serves the same frames, so it is the same run.

A run folder (`output.root/output.name`) holds `config.yaml`, `metrics.jsonl`, `tensorboard/`,
`checkpoint_latest.pt`, `checkpoint_best.pt` and `evaluation.json`. `--overwrite` removes
exactly these (and the temporary files of interrupted atomic writes) before a new run starts;
`metrics.jsonl` always holds one row per epoch of the checkpoint's history (rewritten from it
when a run starts or resumes, so a resume after a failed checkpoint save repeats no row).

One writer per run folder: a training holds an OS lock on `<run>/.eventsnn.lock` (`filelock`:
flock, released by the kernel when its holder dies, `kill -9` included) for its whole life; a
second training into the same folder stops at once with one line naming the holder's pid.
`--overwrite` deletes the previous run only after every input (config, data, checkpoint, model)
has been checked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from eventsnn.config import RunConfig, to_dict
from eventsnn.config.loader import config_from_mapping
from eventsnn.errors import ConfigError, TrainingError
from eventsnn.utils.io import (
    free_bytes,
    human_bytes,
    is_disk_full,
)
from eventsnn.utils.locks import held_lock

METRICS = "metrics.jsonl"
RUN_OUTPUTS = (
    "checkpoint_latest.pt",
    "checkpoint_best.pt",
    METRICS,
    "config.yaml",
    "tensorboard",
    "evaluation.json",
)
# what the model sees and computes: a checkpoint evaluated with other values is another setup
MODEL_INPUT = ("framing.", "model.", "data.img_size")
NOT_MODEL_INPUT = ("framing.backend", "framing.dtype", "model.pretrained")
LOCK, LOCK_OWNER = ".eventsnn.lock", ".eventsnn.lock.pid"
# settings that do not change what a run computes (paths, logging, loader processes, later sweeps)
FREE_TO_CHANGE = (
    "output.",
    "robustness.",
    "data.root",
    "data.cache_dir",
    "data.num_workers",
    "data.preprocess_workers",
    "train.device",
    "train.log_every",
    "train.eval_batch_size",
    "distributed.backend",
)


def clean_run_folder(run_dir: Path) -> list[str]:
    """Remove a previous run's outputs from `run_dir` (`--overwrite`); returns the names removed."""
    removed = []
    if not run_dir.is_dir():
        return removed
    for name in RUN_OUTPUTS:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(name)
    for tmp in run_dir.glob(".*.tmp"):  # left by an interrupted atomic write
        tmp.unlink()
    return removed


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: tree}


def _normalise(value: Any) -> Any:
    """Tuples and lists compare equal (YAML and checkpoints store lists), recursively."""
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _normalise(v) for k, v in value.items()}
    return value


def config_differences(stored: Mapping[str, Any], current: RunConfig) -> list[tuple[str, Any, Any]]:
    """(dotted key, stored value, current value) of every setting that differs, in schema order
    (lists and tuples alike). A stored config of today's schema is read with its defaults filled
    in; one of an older schema compares the keys it has."""
    try:
        stored_tree = to_dict(config_from_mapping(dict(stored), (), source="checkpoint"))
    except ConfigError:  # a config of an older schema: compare what is there
        stored_tree = dict(stored)
    old, new = _flatten(_normalise(stored_tree)), _flatten(_normalise(to_dict(current)))
    return [(key, old[key], value) for key, value in new.items() if key in old and old[key] != value]


def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in patterns)


def config_changes(stored: Mapping[str, Any], current: RunConfig) -> list[tuple[str, Any, Any]]:
    """The settings by which `current` is another run than the one `stored` describes: (dotted
    key, stored value, current value) of every difference, in schema order, leaving out
    `FREE_TO_CHANGE`. A key the stored config lacks compares against the default."""
    return [c for c in config_differences(stored, current) if not _matches(c[0], FREE_TO_CHANGE)]


def input_changes(stored: Mapping[str, Any], current: RunConfig) -> list[tuple[str, Any, Any]]:
    """The differences in what the model sees and computes (`MODEL_INPUT`): framing, model
    architecture, image size. Evaluating with other values measures another setup."""
    return [
        c
        for c in config_differences(stored, current)
        if _matches(c[0], MODEL_INPUT) and not _matches(c[0], NOT_MODEL_INPUT)
    ]


def describe_changes(changes: Iterable[tuple[str, Any, Any]]) -> str:
    """`key old -> new, ...` of (key, old, new) changes."""
    return ", ".join(f"{k} {_show(a)} -> {_show(b)}" for k, a, b in changes)


# what a refusal compares and says: kind -> (the changes, what they are, the way on)
REFUSALS = {
    "resume": (
        config_changes,
        "--resume with settings that differ from the checkpoint's",
        "resume with the checkpoint's settings, or allow them with",
    ),
    "input": (
        input_changes,
        "the model was trained with other settings than these",
        "drop the override (the checkpoint's settings are the default), or run anyway with",
    ),
}


def refuse_changes(
    kind: str, stored: Mapping[str, Any] | None, current: RunConfig, allowed: Iterable[str], *, where: Path
) -> list[tuple[str, Any, Any]]:
    """`ConfigError` listing the changes from the checkpoint's stored config that `allowed`
    (`--allow-changes`) does not name; returns the allowed ones (for a note with the numbers).

    kind "resume": `config_changes` (`--resume`); "input": `input_changes` (evaluate, analyze,
    robustness: framing and model). A key in `allowed` that is not a config key is refused; a
    checkpoint without a stored config (an original SpikingResformer file) is not checked.
    """
    changes_of, what, way_out = REFUSALS[kind]
    allowed = set(allowed)
    known = _flatten(to_dict(current))
    unknown = sorted(k for k in allowed if k not in known)
    if unknown:
        raise ConfigError(f"--allow-changes {unknown[0]}: not a config key (section.key, e.g. train.epochs)")
    if not isinstance(stored, Mapping):
        return []
    changes = changes_of(stored, current)
    refused = [c for c in changes if c[0] not in allowed]
    if refused:
        keys = " ".join(k for k, _, _ in refused)
        raise ConfigError(f"{where}: {what}: {describe_changes(refused)}; {way_out} --allow-changes {keys}")
    return changes


def _show(value: Any) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return f"{value:g}" if isinstance(value, float) else str(value)


@contextlib.contextmanager
def disk_full_is_one_line(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Turn a full disk while writing `path` (the `what`: checkpoint, metrics, config) into one
    `TrainingError` line naming the file, the free space and whether the previous file is kept."""
    try:
        yield
    except (OSError, RuntimeError) as exc:  # torch.save reports ENOSPC as a RuntimeError
        if not is_disk_full(exc):
            raise
        path = Path(path)
        kept = "the previous one is kept" if path.exists() else "nothing was written"
        # --resume needs a checkpoint: before the first one, the way on is to start again
        again = "continue with --resume" if (path.parent / RUN_OUTPUTS[0]).is_file() else "run it again"
        raise TrainingError(
            f"{path}: disk full while writing the {what} ({human_bytes(free_bytes(path.parent))} free in "
            f"{path.parent}); {kept}: free some space and {again}"
        ) from None


@contextlib.contextmanager
def run_folder_lock(run_dir: Path, *, enabled: bool = True) -> Iterator[None]:
    """Hold the run folder's OS lock while the body runs; `ConfigError` naming the holder when
    another process holds it. A folder this call created and nothing else wrote into is removed
    again on the way out (a run refused on bad input leaves nothing behind). `enabled=False`
    (ranks other than 0, which write nothing) is a no-op."""
    if not enabled:
        yield
        return
    run_dir = Path(run_dir)
    created = [p for p in (run_dir, *run_dir.parents) if not p.exists()]  # innermost first
    run_dir.mkdir(parents=True, exist_ok=True)

    def busy(holder: str) -> None:
        raise ConfigError(
            f"{run_dir}: another run ({holder}) is writing this run folder; wait "
            "for it to finish, or choose another folder (--set output.name=<new name>)"
        )

    try:
        with held_lock(run_dir / LOCK, run_dir / LOCK_OWNER, busy):
            yield
    finally:
        if created and {p.name for p in run_dir.iterdir()} <= {LOCK}:
            (run_dir / LOCK).unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # the folders this call made, while empty
                for folder in created:
                    folder.rmdir()
