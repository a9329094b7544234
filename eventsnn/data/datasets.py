"""Datasets over the framed cache: `CachedFramesDataset` and `build_event_datasets(cfg)`.

Items are `(frames, label)`: frames a float32 tensor `[T, C, H, W]` (the cached counts with the
configured `Derive` applied: sum channel, resize, dtype), label an int; or, with
`counts=True`, the integer counts `[T, P, H, W]` themselves (the training loader's device path
derives them per batch on the GPU). The h5 file is opened lazily, once per process
(DataLoader workers each open their own handle on first access). Every read is checked by
HDF5's Fletcher-32 checksum: a damaged row is a `DataError` naming the file and row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eventsnn.data.cache import FINAL, MANIFEST, SKIPPED, count_shape, plan_cache, preprocess
from eventsnn.data.cache_codec import WIDTHS
from eventsnn.data.cache_files import read_complete
from eventsnn.data.cache_plan import shard_count, shard_plan
from eventsnn.data.derive import Derive, derive_from_config
from eventsnn.data.onthefly import FramingDataset
from eventsnn.data.recordings import RawRecordings, list_all_recordings, sensor_size_for, split_indices
from eventsnn.errors import DataError


@dataclass(frozen=True)
class EventDataInfo:
    """What the model and the reports need to know about an event data set."""

    num_classes: int
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int, int]  # [T, C, H, W] as the model sees it (derived)
    sensor_size: tuple[int, int, int]  # (W, H, P)
    cache_dir: Path
    train_size: int
    test_size: int


class CachedFramesDataset:
    """Indices into a complete cache's `frames.h5`; `(float tensor [T, C, H, W], int label)` items.

    Args:
        derive: counts -> model input (None: the counts as float32).
        counts: serve the integer counts `[T, P, H, W]` (in `count_dtype`) instead.
        count_dtype: the data set's widest count type (manifest `count_dtype`): every item is
            served in it, so batches collate.
        paths (optional): the recording behind each served item, same order (`raw_recordings`).
    """

    def __init__(
        self,
        h5_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        indices,
        labels,
        *,
        rows=None,
        files=None,
        widths=None,
        derive: Derive | None = None,
        count_dtype: str = "uint16",
        paths: Sequence[Path] | None = None,
        sensor_size: tuple[int, int, int] | None = None,
    ):
        h5s = [h5_path] if isinstance(h5_path, (str, os.PathLike)) else list(h5_path)
        self.h5_paths = tuple(str(p) for p in h5s)  # one file, or one per shard
        self.h5_path = self.h5_paths[0]
        self.indices = np.asarray(indices, dtype=np.int64)
        self.rows = self.indices if rows is None else np.asarray(rows, dtype=np.int64)  # row in its file
        self.files = np.zeros(len(self.indices), np.int64) if files is None else np.asarray(files, np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)  # labels of `indices`, same order
        if len(self.labels) != len(self.indices):
            raise DataError(f"{h5_path}: {len(self.indices)} indices but {len(self.labels)} labels")
        self.widths = None if widths is None else np.asarray(widths, dtype=np.int64)  # of `indices`
        self.paths = None if paths is None else tuple(Path(p) if isinstance(p, str) else p for p in paths)
        if self.paths is not None and len(self.paths) != len(self.indices):
            raise DataError(f"{h5_path}: {len(self.indices)} indices but {len(self.paths)} recordings")
        self.derive, self.count_dtype, self.counts = derive, np.dtype(count_dtype), False
        self.sensor_size = sensor_size
        self._files: dict[int, object] = {}
        self._datasets: dict[tuple[int, int | str], object] = {}  # h5py datasets and width columns
        self._pid = None

    def __len__(self) -> int:
        return len(self.indices)

    def _open(self, k: int):
        if self._pid != os.getpid():
            self._files, self._datasets, self._pid = {}, {}, os.getpid()
        if k not in self._files:
            import h5py

            self._files[k] = h5py.File(self.h5_paths[k], "r")
        return self._files[k]

    def _rows_of(self, k: int, f, width: int):
        """File `k`'s dataset of `width`-byte rows, looked up once per process (an h5py name lookup
        costs about as much as an uncompressed read of a whole item)."""
        key = (k, width)
        if key not in self._datasets:
            self._datasets[key] = f[WIDTHS[width]]
        return self._datasets[key]

    def _widths_in(self, k: int, f) -> np.ndarray:
        """File `k`'s `width` column (bytes per count of each row), read once per process."""
        if (k, "width") not in self._datasets:
            self._datasets[(k, "width")] = f["width"][()]
        return self._datasets[(k, "width")]

    def read_counts(self, i: int) -> np.ndarray:
        """Item `i`'s counts `[T, P, H, W]` in `count_dtype`; `DataError` (one line) when damaged."""
        row, k = int(self.rows[i]), int(self.files[i])
        try:
            f = self._open(k)
            width = int(self.widths[i]) if self.widths is not None else int(self._widths_in(k, f)[row])
            x = self._rows_of(k, f, width)[row]
        except (OSError, RuntimeError, KeyError) as exc:
            reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
            raise DataError(
                f"{self.h5_paths[k]}: row {row} is damaged ({reason}: checksum or decode failed); run "
                "`eventsnn preprocess --verify` with this config to frame it again"
            ) from None
        return x.astype(self.count_dtype, copy=False)

    def __getitem__(self, i: int):
        import torch

        x = self.read_counts(i)  # [T,P,H,W]
        if self.counts:
            return torch.from_numpy(x), int(self.labels[i])
        out = self.derive(x[None])[0] if self.derive is not None else torch.from_numpy(x.astype(np.float32))
        return out, int(self.labels[i])

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_files"], state["_datasets"], state["_pid"] = {}, {}, None
        return state

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files, self._datasets = {}, {}


def build_event_datasets(cfg) -> tuple[CachedFramesDataset, CachedFramesDataset, EventDataInfo]:
    """(train, test, info) over the framed cache of `cfg`; runs the preprocess job when it is missing.
    With `data.cache: none`, data sets that frame each recording when served (`onthefly`)."""
    if cfg.data.cache == "none":
        return _on_the_fly(cfg)
    plan = plan_cache(cfg)
    parts = _served_parts(cfg, plan)
    manifests = [json.loads((p.folder / MANIFEST).read_text()) for p in parts]
    n = len(plan.recordings)
    labels, status = np.zeros(n, np.int64), np.zeros(n, np.int8)
    widths, files, rows = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    for k, part in enumerate(parts):  # a shard's row j is recording part.rows[j]
        lab, st, wid = read_complete(part.folder, part.key, len(part.recordings))  # no unwritten row
        idx = np.asarray(part.rows, dtype=np.int64)
        labels[idx], status[idx], widths[idx], files[idx], rows[idx] = lab, st, wid, k, np.arange(len(idx))
    manifest = max(manifests, key=lambda m: np.dtype(m["count_dtype"]).itemsize)
    train, test = split_indices(cfg, plan.recordings)
    train = train[status[train] != SKIPPED]
    test = test[status[test] != SKIPPED]
    h5 = [p.folder / FINAL for p in parts]
    derive = derive_from_config(cfg.framing)
    info = EventDataInfo(
        num_classes=len(plan.class_names),
        class_names=tuple(plan.class_names),
        input_shape=derive.shape(tuple(int(v) for v in manifest["shape"])),
        sensor_size=tuple(plan.sensor_size),
        cache_dir=plan.folder,
        train_size=len(train),
        test_size=len(test),
    )
    sensor = info.sensor_size

    def served(idx: np.ndarray) -> CachedFramesDataset:
        recs = [plan.recordings[i] for i in idx]
        paths = [r.path if r.source is None else r.source for r in recs]  # Source: window, orientation
        return CachedFramesDataset(
            h5,
            idx,
            labels[idx],
            rows=rows[idx],
            files=files[idx],
            widths=widths[idx],
            derive=derive,
            count_dtype=manifest["count_dtype"],
            paths=paths,
            sensor_size=sensor,
        )

    return served(train), served(test), info


def _served_parts(cfg, plan) -> list:
    """The plans whose files serve the data set: the whole cache, or every shard of it when
    `<key>/shard-I-of-N/` folders are there (read in place, no merge). The whole cache is
    preprocessed here when neither exists; missing shards are named in one line."""
    count = None if plan.complete else shard_count(plan)
    if count is None:
        if not plan.complete:
            print(f"data: no complete cache for {cfg.data.dataset} at {plan.folder}; preprocessing")
        stats = preprocess(cfg, quiet_if_fresh=True)  # also frames again what changed
        if not stats.complete:
            raise DataError(f"{plan.folder}: the preprocess job stopped before the cache was complete")
        return [plan]
    shards = [shard_plan(plan, i, count) for i in range(count)]
    missing = [str(i) for i, s in enumerate(shards) if not s.complete]
    if missing:
        raise DataError(
            f"{plan.folder}: the cache is split in {count} shards and {len(missing)} are missing or "
            f"incomplete: {', '.join(missing)}; run `eventsnn preprocess --shard I/{count}` for each "
            f"(I = {', '.join(missing)})"
        )
    for i in range(count):
        preprocess(cfg, shard=(i, count), quiet_if_fresh=True)  # frames again what changed
    return shards


def _on_the_fly(cfg) -> tuple[FramingDataset, FramingDataset, EventDataInfo]:
    recs, names = list_all_recordings(cfg)
    sensor = tuple(sensor_size_for(cfg))
    derive = derive_from_config(cfg.framing)
    train, test = split_indices(cfg, recs)

    def served(idx: np.ndarray) -> FramingDataset:
        paths = [recs[i].path if recs[i].source is None else recs[i].source for i in idx]
        return FramingDataset(paths, [recs[i].label for i in idx], sensor, cfg.framing, derive, idx)

    info = EventDataInfo(
        num_classes=len(names),
        class_names=tuple(names),
        input_shape=derive.shape(count_shape(cfg.framing, sensor)),
        sensor_size=sensor,
        cache_dir=Path(cfg.data.cache_dir),
        train_size=len(train),
        test_size=len(test),
    )
    return served(train), served(test), info


def raw_recordings(dataset: CachedFramesDataset) -> RawRecordings:
    """The raw recordings behind exactly the items a cached data set serves (same order, skipped
    recordings left out): `(events, label)` on access, for event-level perturbations.

    Raises:
        DataError: `dataset` is not a cached event data set that knows its recordings.
    """
    paths = getattr(dataset, "paths", None)
    if paths is None or getattr(dataset, "sensor_size", None) is None:
        raise DataError(
            f"raw recordings: {type(dataset).__name__} is not a cached event data set with its recordings"
        )
    return RawRecordings(list(zip(paths, dataset.labels.tolist(), strict=True)), dataset.sensor_size)


def load_raw_split(cfg, split: str = "test") -> tuple[RawRecordings, tuple[int, int, int]]:
    """Raw recordings of exactly the items the frame cache serves for `split` ("train"/"test")
    and the sensor size (builds the cache when it is missing, like `build_event_datasets`)."""
    if split not in ("train", "test"):
        raise DataError(f"load_raw_split: split must be 'train' or 'test', got {split!r}")
    train, test, info = build_event_datasets(cfg)
    return raw_recordings(train if split == "train" else test), tuple(info.sensor_size)
