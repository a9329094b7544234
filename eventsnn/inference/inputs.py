"""Inputs of `eventsnn predict`: which files, and each file -> one model input tensor.

Recordings (`.aedat4`, N-MNIST `.bin`, DVS128 Gesture `.npy`) go through
`eventsnn.events.postprocess.frame_recording`, the function the preprocess cache's workers
call, so a recording gets exactly its cached frames `[T, C, H, W]`. A recording whose file
declares another sensor (W', H') is framed on its own sensor and resized to the training
size when the training framing resizes; otherwise it is skipped with one line naming the file,
its sensor and the expected one. Images (for an image-trained model) go through the data set's
test transform (`eventsnn.data.images.image_transform`) -> `[C, H, W]`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eventsnn.data.images import image_transform
from eventsnn.errors import DataError
from eventsnn.events.io import SUFFIXES as RECORDING_SUFFIXES
from eventsnn.events.io import declared_sensor_size
from eventsnn.events.postprocess import frame_recording

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def suffixes_for(kind: str) -> tuple[str, ...]:
    """File suffixes a model of `kind` ("events" or "images") takes."""
    return RECORDING_SUFFIXES if kind == "events" else IMAGE_SUFFIXES


def expand_inputs(inputs: Sequence[str | os.PathLike[str]], kind: str) -> list[Path]:
    """Files in the order given; a folder adds its files of the kind's suffixes (recursively, sorted).

    Raises:
        DataError: a path that does not exist, or no input file at all.
    """
    suffixes = suffixes_for(kind)
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(_files_under(path, suffixes))
        elif path.exists():
            out.append(path)
        else:
            raise DataError(f"{path}: input not found")
    if not out:
        where = ", ".join(str(i) for i in inputs) or "the arguments"
        raise DataError(f"no input files ({', '.join(suffixes)}) in {where}")
    return out


def _files_under(folder: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """The files of `suffixes` under `folder`, sorted, following symlinked folders (each real
    folder visited once, so a link loop ends)."""
    found, seen = [], set()
    for here, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            Path(here) / f for f in files if Path(f).suffix.lower() in suffixes and not f.startswith(".")
        ]
    return sorted(p for p in found if p.is_file())


@dataclass(frozen=True)
class InputSpec:
    """How to turn one file into a model input (picklable: DataLoader workers get a copy)."""

    kind: str  # "events" or "images"
    sensor_size: tuple[int, int, int] | None
    cfg: Any  # RunConfig (framing for recordings, data for images)

    @classmethod
    def of(cls, model) -> InputSpec:
        """The spec of an `InferenceModel`."""
        return cls(model.kind, model.sensor_size, model.cfg)


def sensor_for(
    declared: tuple[int, ...] | None, sensor_size: tuple[int, int, int], framing, where: object
) -> tuple[int, int, int]:
    """The sensor to frame a recording on: the training `sensor_size`, or the recording's own
    `declared` one when the training framing resizes (None: the recording does not say).

    Raises:
        DataError: another sensor and a framing without resize (names `where`, both sensors).
    """
    if declared is None or tuple(declared[:2]) == tuple(sensor_size[:2]):
        return tuple(sensor_size)
    if framing.resize is None:
        raise DataError(
            f"{where}: recorded on a {declared[0]}x{declared[1]} sensor, the model expects "
            f"{sensor_size[0]}x{sensor_size[1]} (its framing does not resize)"
        )
    return (int(declared[0]), int(declared[1]), int(sensor_size[2]))


def recording_sensor(path: str | os.PathLike[str], sensor_size: tuple[int, int, int], framing):
    """`sensor_for` with the sensor the file `path` declares."""
    return sensor_for(declared_sensor_size(path), sensor_size, framing, path)


def prepare_input(
    path: str | os.PathLike[str], spec: InputSpec
) -> tuple[torch.Tensor, int | None, float, float]:
    """One file -> (float32 input `[T, C, H, W]` or `[C, H, W]`, events or None, decode s, frame s).

    Raises:
        DataError: the file cannot be used (the message names it and says why).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in suffixes_for(spec.kind):
        what = "an event-trained" if spec.kind == "events" else "an image-trained"
        raise DataError(f"{path}: {suffix or 'no suffix'} is not an input of {what} model")
    if spec.kind == "images":
        return _prepare_image(path, spec.cfg)

    # data.sensor_size set: every recording is framed on that canvas, as the preprocess cache does
    pinned = spec.cfg.data.sensor_size is not None
    sensor = spec.sensor_size if pinned else recording_sensor(path, spec.sensor_size, spec.cfg.framing)
    frames, n_events, decode_s, frame_s = frame_recording(path, sensor, spec.cfg.framing)
    return torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float32), n_events, decode_s, frame_s


def _prepare_image(path: Path, cfg) -> tuple[torch.Tensor, None, float, float]:
    import time

    from PIL import Image, UnidentifiedImageError

    t0 = time.perf_counter()
    try:
        with Image.open(path) as im:
            im.load()
            image = im.copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable image ({exc})") from None
    t1 = time.perf_counter()
    x = _image_transform(cfg)(image).to(torch.float32)
    return x, None, t1 - t0, time.perf_counter() - t1


@functools.lru_cache(maxsize=4)
def _image_transform(cfg):
    return image_transform(cfg)


class InputFiles(torch.utils.data.Dataset):
    """Items `(index, input or None, n_events, error or None, decode_s, frame_s)` of a file list."""

    def __init__(self, paths: Sequence[Path], spec: InputSpec) -> None:
        self.paths = list(paths)
        self.spec = spec

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        path = self.paths[i]
        try:
            x, n_events, decode_s, frame_s = prepare_input(path, self.spec)
        except DataError as exc:
            msg = str(exc)
            reason = msg[len(str(path)) + 2 :] if msg.startswith(f"{path}: ") else msg
            return i, None, None, reason, 0.0, 0.0
        return i, x, n_events, None, decode_s, frame_s
