"""Raw recordings of the event data sets: on-disk layouts, sorted file lists, train/test splits.

Layouts (nothing is ever downloaded; a missing folder raises `DataError` naming the layout):

    cifar10dvs, digits_dvs, folder   <root>/<class>/*.aedat4 (folder: also N-MNIST *.bin)
                                     (tonic's `<save_to>/CIFAR10DVS/<class>/` is accepted too)
    dvs128gesture                    <root>/ibmGestureTrain/userNN_<lighting>/<label>.npy and
                                     <root>/ibmGestureTest/... (tonic's DVSGesture layout, also
                                     under <root>/DVSGesture/); the official train/test split
    nmnist                           <root>/Train/<digit>/*.bin and <root>/Test/<digit>/*.bin
                                     (also under <root>/NMNIST/); the official split

File lists are sorted by path (lexical, as torchvision's DatasetFolder that the reference
SpikingResformer/spikingjelly pipeline reads), classes are the sorted class-folder names.

Per-class split (`eventsnn.data.splits`, the one split of every data set): for each class, the
first floor(n_c * train_fraction) files of its sorted list train, the rest test (for CIFAR10-DVS:
900 / 100 per class). Random split: a seeded permutation of each class, same sizes.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eventsnn.data.splits import per_class_split, random_split
from eventsnn.errors import DataError
from eventsnn.events.io import declared_sensor_size, read_events, read_recording

SENSOR_SIZES = {
    "cifar10dvs": (128, 128, 2),
    "dvs128gesture": (128, 128, 2),
    "nmnist": (34, 34, 2),
}
GESTURE_CLASSES = (
    "hand_clapping",
    "right_hand_wave",
    "left_hand_wave",
    "right_arm_cw",
    "right_arm_ccw",
    "left_arm_cw",
    "left_arm_ccw",
    "arm_roll",
    "air_drums",
    "air_guitar",
    "other_gestures",
)
FOLDER_SUFFIXES = (".aedat4", ".bin")
_LAYOUT = {
    "cifar10dvs": "<root>/<class>/*.aedat4 (e.g. <root>/airplane/cifar10_airplane_0.aedat4); "
    "download CIFAR10-DVS (figshare) and unpack the class folders there",
    "digits_dvs": "<root>/<class>/*.aedat4; write it with `eventsnn demo-data --root <root>`",
    "folder": "<root>/<class>/*.aedat4 or *.bin (one sub-folder per class)",
    "dvs128gesture": "<root>/ibmGestureTrain/userNN_<lighting>/<label>.npy and <root>/ibmGestureTest/ "
    "(tonic's DVSGesture layout)",
    "nmnist": "<root>/Train/<digit>/*.bin and <root>/Test/<digit>/*.bin (the N-MNIST zips unpacked)",
}


@dataclass(frozen=True)
class Recording:
    """One recording: file, class index, and its fixed split ("train"/"test") or None."""

    path: Path
    label: int
    split: str | None = None


def _missing(dataset: str, root: Path, what: str) -> DataError:
    return DataError(f"{dataset}: {what} at {root} (expected layout: {_LAYOUT[dataset]})")


def _class_folders(dataset: str, root: Path, suffixes: tuple[str, ...]) -> list[Recording]:
    if (root / "CIFAR10DVS").is_dir():
        root = root / "CIFAR10DVS"
    if not root.is_dir():
        raise _missing(dataset, root, "data set folder not found")
    names = tuple(sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")))
    per_class = [
        sorted(f for f in (root / name).iterdir() if f.suffix in suffixes and not f.name.startswith("."))
        for name in names
    ]
    if not any(per_class):
        raise _missing(dataset, root, f"no recordings ({', '.join(suffixes)}) in class folders")
    empty = [name for name, files in zip(names, per_class) if not files]
    if empty:  # dropping it would give every later class the label of the one before it
        raise DataError(
            f"{dataset}: class folder {root / empty[0]} has no recordings ({', '.join(suffixes)})"
            + (f" (nor {len(empty) - 1} more)" if len(empty) > 1 else "")
            + "; add recordings or remove the folder (labels are the sorted class-folder names)"
        )
    out = [Recording(_readable(f), label) for label, files in enumerate(per_class) for f in files]
    return out, names


def _readable(path: Path) -> Path:
    """`path`, after checking that it leads to a regular file (not a link loop or a dangling link)."""
    try:
        st = path.stat()
    except OSError as exc:
        kind = "a symbolic link loop" if exc.errno == errno.ELOOP else "a broken symbolic link"
        if exc.errno not in (errno.ELOOP, errno.ENOENT):
            kind = f"unreadable ({exc.strerror})"
        raise DataError(f"{path}: {kind}; fix or remove it") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(f"{path}: not a regular file; remove it from the data set folder")
    return path


def _official_split(dataset: str, root: Path) -> tuple[list[Recording], tuple[str, ...]]:
    if dataset == "nmnist":
        sub, folders, suffix, classes = "NMNIST", ("Train", "Test"), ".bin", tuple(str(d) for d in range(10))
    else:
        sub, folders, suffix, classes = (
            "DVSGesture",
            ("ibmGestureTrain", "ibmGestureTest"),
            ".npy",
            GESTURE_CLASSES,
        )
    if not (root / folders[0]).is_dir() and (root / sub).is_dir():
        root = root / sub
    out = []
    for folder, split in zip(folders, ("train", "test"), strict=True):
        base = root / folder
        if not base.is_dir():
            raise _missing(dataset, base, "folder not found")
        for f in sorted(base.rglob(f"*{suffix}")):
            label = int(f.parent.name) if dataset == "nmnist" else int(f.stem)
            if not 0 <= label < len(classes):
                raise DataError(f"{f}: label {label} outside 0..{len(classes) - 1}")
            out.append(Recording(_readable(f), label, split))
    if not out:
        raise _missing(dataset, root, f"no {suffix} recordings")
    return out, classes


def dataset_root(cfg) -> Path:
    return Path(cfg.data.root).expanduser()


def list_all_recordings(cfg) -> tuple[list[Recording], tuple[str, ...]]:
    """Every recording of the configured data set (sorted), `data.limit_per_class` applied."""
    dataset = cfg.data.dataset
    root = dataset_root(cfg)
    if dataset in ("cifar10dvs", "digits_dvs"):
        recs, names = _class_folders(dataset, root, (".aedat4",))
    elif dataset == "folder":
        recs, names = _class_folders(dataset, root, FOLDER_SUFFIXES)
    elif dataset in ("nmnist", "dvs128gesture"):
        recs, names = _official_split(dataset, root)
    else:
        raise DataError(f"data.dataset={dataset!r} is not an event data set")
    limit = cfg.data.limit_per_class
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


def split_recordings(cfg) -> tuple[list[tuple[Path, int]], list[tuple[Path, int]], tuple[str, ...]]:
    """(train [(path, label)], test [(path, label)], class_names) of the configured data set."""
    recs, names = list_all_recordings(cfg)
    tr, te = split_indices(cfg, recs)
    return [(recs[i].path, recs[i].label) for i in tr], [(recs[i].path, recs[i].label) for i in te], names


def list_recordings(cfg, split: str = "train") -> list[tuple[Path, int]]:
    """(path, label) of one split ("train" or "test")."""
    train, test, _ = split_recordings(cfg)
    return train if split == "train" else test


def sensor_size_for(cfg) -> tuple[int, int, int]:
    """(W, H, P): `data.sensor_size`, else the data set's own (digits_dvs/folder: from the data)."""
    if cfg.data.sensor_size is not None:
        s = tuple(int(v) for v in cfg.data.sensor_size)
        return (s[0], s[1], s[2] if len(s) > 2 else 2)
    dataset = cfg.data.dataset
    if dataset in SENSOR_SIZES:
        return SENSOR_SIZES[dataset]
    root = dataset_root(cfg)
    manifest = root / "MANIFEST.json"
    if dataset == "digits_dvs" and manifest.is_file():
        import json

        return tuple(json.loads(manifest.read_text())["sensor_size"])
    recs, _ = list_all_recordings(cfg)
    return _sensor_from_files([r.path for r in recs], skip_bad=cfg.data.on_error == "skip")


def _sensor_from_files(paths: Sequence[Path], *, skip_bad: bool) -> tuple[int, int, int]:
    """The one resolution the recordings declare (`.aedat4` headers, N-MNIST; headers only, ~25 us
    each), else the extent of the events of the first readable recording (`skip_bad`: a bad one is
    passed over, as the preprocess job will skip it; otherwise its `DataError` is raised)."""
    declared: dict[tuple[int, int, int], Path] = {}
    for path in paths:
        size = declared_sensor_size(path)
        if size is not None:
            declared.setdefault(size, path)
    if len(declared) > 1:
        listed = ", ".join(f"{s} in {p}" for s, p in list(declared.items())[:3])
        raise DataError(
            f"recordings declare different sensor sizes (W, H, P): {listed}; set data.sensor_size to "
            "one that holds them all"
        )
    if declared:
        return next(iter(declared))
    for path in paths:
        try:
            ev = read_events(path)
            if len(ev) == 0:
                raise DataError(f"{path}: empty recording (no events)")
        except DataError:
            if skip_bad:
                continue
            raise
        return (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1, 2)
    raise DataError(
        f"no readable recording to take the sensor size from ({len(paths)} tried); set data.sensor_size"
    )


class RawRecordings(Sequence):
    """Lazy `(events, label)` items of a list of recordings (read on access)."""

    def __init__(self, items: Sequence[tuple[Path, int]], sensor_size: tuple[int, int, int]):
        self.items = list(items)
        self.sensor_size = sensor_size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        path, label = self.items[i]
        return read_recording(path, self.sensor_size), int(label)
