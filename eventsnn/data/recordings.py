"""The configured data set's recordings: listing (through the registry `eventsnn.data.sets`),
limits, train/test splits, the sensor size, lazy raw items.

Layouts, classes, official splits and orientations are declared by each data set's module
(`eventsnn data list` prints them); nothing is ever downloaded, and a missing folder raises
`DataError` naming the layout. File lists are sorted by path (lexical, as torchvision's
DatasetFolder that the reference SpikingResformer/spikingjelly pipeline reads), classes are the
sorted class-folder names unless the data set fixes them.

Per-class split (`eventsnn.data.splits`, the one split of every data set without an official
one): for each class, the first floor(n_c * train_fraction) files of its sorted list train, the
rest test (for CIFAR10-DVS: 900 / 100 per class). Random split: a seeded permutation of each
class, same sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from eventsnn.data.sets import get_dataset, tonic_dataset
from eventsnn.data.sets._base import Recording
from eventsnn.data.splits import per_class_split, random_split
from eventsnn.errors import ArgumentError, DataError
from eventsnn.events.io import Source, declared_sensor_size, read_events, read_recording

__all__ = [
    "RawRecordings",
    "Recording",
    "create_dataset",
    "dataset_root",
    "list_all_recordings",
    "list_recordings",
    "per_class_split",
    "random_split",
    "read_recording",
    "sensor_size_for",
    "split_indices",
    "split_recordings",
]


def dataset_root(cfg) -> Path:
    return Path(cfg.data.root).expanduser()


def _tonic_class(cfg) -> str:
    name = getattr(cfg.data, "tonic_class", None)
    if not name:
        raise DataError("data.dataset=tonic needs data.tonic_class (e.g. NMNIST, DVSGesture, CIFAR10DVS)")
    return name


def list_all_recordings(cfg) -> tuple[list[Recording], tuple[str, ...]]:
    """Every recording of the configured data set (sorted), `data.limit_per_class` applied."""
    d = cfg.data
    root = dataset_root(cfg)
    spec = get_dataset(d.dataset)
    if spec.name == "tonic":
        recs, names, _ = tonic_dataset.list_items(_tonic_class(cfg), root)
    else:
        orientation = getattr(d, "orientation", None)
        if orientation is not None:
            spec.check_orientation(orientation)
        recs, names = spec.list_files(root, orientation)
    limit = d.limit_per_class
    if limit is not None:
        seen: dict[tuple[int, str | None], int] = {}
        kept = []
        for r in recs:
            k = (r.label, r.split)
            if seen.get(k, 0) < limit:
                kept.append(r)
                seen[k] = seen.get(k, 0) + 1
        recs = kept
    return recs, names


def split_indices(cfg, recs: Sequence[Recording]) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices into `recs`: the fixed split when the data set has one, else the config's."""
    if recs and recs[0].split is not None:
        splits = np.array([r.split for r in recs])
        return np.flatnonzero(splits == "train"), np.flatnonzero(splits == "test")
    labels = [r.label for r in recs]
    d = cfg.data
    if d.split == "per_class":
        return per_class_split(labels, d.train_fraction)
    return random_split(labels, d.train_fraction, d.split_seed)


def _item(r: Recording) -> tuple[Path | Source, int]:
    return (r.path if r.source is None else r.source), r.label


def split_recordings(
    cfg,
) -> tuple[list[tuple[Path | Source, int]], list[tuple[Path | Source, int]], tuple[str, ...]]:
    """(train [(file or Source, label)], test [...], class_names) of the configured data set."""
    recs, names = list_all_recordings(cfg)
    tr, te = split_indices(cfg, recs)
    return [_item(recs[i]) for i in tr], [_item(recs[i]) for i in te], names


def list_recordings(cfg, split: str = "train") -> list[tuple[Path | Source, int]]:
    """(file or Source, label) of one split ("train" or "test")."""
    train, test, _ = split_recordings(cfg)
    return train if split == "train" else test


def sensor_size_for(cfg) -> tuple[int, int, int]:
    """(W, H, P): `data.sensor_size`, else the data set's own, else the recordings' (headers, then
    the extent of the events)."""
    if cfg.data.sensor_size is not None:
        s = tuple(int(v) for v in cfg.data.sensor_size)
        return (s[0], s[1], s[2] if len(s) > 2 else 2)
    spec = get_dataset(cfg.data.dataset)
    if spec.sensor_size is not None:
        return spec.sensor_size
    root = dataset_root(cfg)
    if spec.name == "tonic":
        _, _, sensor = tonic_dataset.list_items(_tonic_class(cfg), root)
        if sensor is not None:
            return sensor
    if spec.sensor_from_root is not None:
        sensor = spec.sensor_from_root(root)
        if sensor is not None:
            return sensor
    recs, _ = list_all_recordings(cfg)
    return _sensor_from_files([r.src for r in recs], skip_bad=cfg.data.on_error == "skip")


def create_dataset(
    name: str,
    root: str | Path,
    split: str = "train",
    *,
    orientation: str | None = None,
    train_fraction: float = 0.9,
    sensor_size: tuple[int, int, int] | None = None,
) -> RawRecordings:
    """A registered data set by name (like timm's `create_dataset`): `(events, label)` items of
    one split ("train" or "test"; the official split, else the per-class one at `train_fraction`),
    read lazily and checked against the sensor; `.class_names`, `.sensor_size` describe it."""
    if split not in ("train", "test"):
        raise ArgumentError(f"split={split!r}: expected 'train' or 'test'")
    spec = get_dataset(name)
    if spec.name == "tonic":
        raise ArgumentError("create_dataset: the tonic wrapper needs data.tonic_class; use a config")
    if orientation is not None:
        spec.check_orientation(orientation)
    recs, names = spec.list_files(Path(root).expanduser(), orientation)
    if recs and recs[0].split is not None:
        idx = [i for i, r in enumerate(recs) if r.split == split]
    else:
        tr, te = per_class_split([r.label for r in recs], train_fraction)
        idx = (tr if split == "train" else te).tolist()
    sensor = sensor_size or spec.sensor_size
    if sensor is None:
        root_sensor = spec.sensor_from_root(Path(root).expanduser()) if spec.sensor_from_root else None
        sensor = root_sensor or _sensor_from_files([r.src for r in recs], skip_bad=False)
    return RawRecordings([_item(recs[i]) for i in idx], tuple(sensor), names)


def _sensor_from_files(sources: Sequence[Source], *, skip_bad: bool) -> tuple[int, int, int]:
    """The one resolution the recordings declare (headers only, ~25 us each), else the extent of
    the events of the first readable recording (`skip_bad`: a bad one is passed over, as the
    preprocess job will skip it; otherwise its `DataError` is raised)."""
    declared: dict[tuple[int, int, int], Source] = {}
    for src in sources:
        size = declared_sensor_size(src) if src.reader is None and not src.orientation else None
        if size is not None:
            declared.setdefault(size, src)
    if len(declared) > 1:
        listed = ", ".join(f"{s} in {p}" for s, p in list(declared.items())[:3])
        raise DataError(
            f"recordings declare different sensor sizes (W, H, P): {listed}; set data.sensor_size to "
            "one that holds them all"
        )
    if declared:
        return next(iter(declared))
    for src in sources:
        try:
            ev = read_events(src)
            if len(ev) == 0:
                raise DataError(f"{src}: empty recording (no events)")
        except DataError:
            if skip_bad:
                continue
            raise
        return (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1, 2)
    raise DataError(
        f"no readable recording to take the sensor size from ({len(sources)} tried); set data.sensor_size"
    )


class RawRecordings(Sequence):
    """Lazy `(events, label)` items of a list of recordings (read on access)."""

    def __init__(
        self,
        items: Sequence[tuple[Path | Source, int]],
        sensor_size: tuple[int, int, int],
        class_names: tuple[str, ...] = (),
    ):
        self.items = list(items)
        self.sensor_size = sensor_size
        self.class_names = tuple(class_names)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        path, label = self.items[i]
        return read_recording(path, self.sensor_size), int(label)
