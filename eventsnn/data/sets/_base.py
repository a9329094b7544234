"""What a data set module declares (`DatasetSpec`) and the recordings it lists (`Recording`).

A data set is one module: sensor size, folder layout, class names, split, reader, orientation,
declared once where its lister is defined, with `@dataset(...)` (timm's `@register_model`
pattern); `DATASETS` holds every declared one by name. The lister `list_files(root, orientation)`
returns the recordings as `Recording`s whose `source` (`eventsnn.events.io.Source`) says how to
read each: the file, reader options, a time window cut out of a longer file, and the orientation
map.

    @dataset("nmnist", "N-MNIST: 10 digits, 34x34, official train/test", sensor_size=(34, 34, 2),
             layout=LAYOUT, split="official", reader="N-MNIST .bin")
    def list_files(root: Path, orientation: str | None): ...
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eventsnn.errors import DataError
from eventsnn.events.io import Source

SensorSize = tuple[int, int, int]


@dataclass(frozen=True)
class Recording:
    """One recording: file, class index, its fixed split ("train"/"test") or None, and how to read
    it (`source`; default: the whole file as stored)."""

    path: Path
    label: int
    split: str | None = None
    source: Source | None = None

    @property
    def src(self) -> Source:
        """The `Source` to hand to `read_recording` (the file itself when none was set)."""
        return self.source if self.source is not None else Source(self.path)


Lister = Callable[[Path, str | None], tuple[list[Recording], tuple[str, ...]]]


@dataclass(frozen=True)
class DatasetSpec:
    """One data set's facts.

    Attributes:
        name: registry name (`data.dataset`).
        title: one line for `eventsnn data list`.
        sensor_size: (W, H, P) after the orientation map, None: from the recordings.
        layout: the folder layout `root` must have (shown in errors and `data list`).
        split: "official" (the data set's own train/test) or "per_class" (`data.split`).
        reader: the file format(s) read.
        orientation: the default orientation map (`eventsnn.events.orientation`), "native" = as
            stored; `orientations` the others `data.orientation` may choose.
        list_files: (root, orientation or None for the default) -> (recordings, class names).
        sensor_from_root: optional (root) -> sensor size when a data set stores it beside the data.
    """

    name: str
    title: str
    sensor_size: SensorSize | None
    layout: str
    split: str
    reader: str
    list_files: Lister
    orientation: str = "native"
    orientations: tuple[str, ...] = ("native",)
    sensor_from_root: Callable[[Path], SensorSize | None] | None = field(default=None)

    def check_orientation(self, orientation: str | None) -> str:
        """`orientation` (None: the default) if this data set offers it, else `DataError`."""
        o = orientation or self.orientation
        if o not in (self.orientation, *self.orientations):
            offered = ", ".join(dict.fromkeys((self.orientation, *self.orientations)))
            raise DataError(f"{self.name}: data.orientation={o!r} is not offered (choose one of: {offered})")
        return o


DATASETS: dict[str, DatasetSpec] = {}


def dataset(
    name: str,
    title: str,
    *,
    sensor_size: SensorSize | None,
    layout: str,
    split: str,
    reader: str,
    orientation: str = "native",
    orientations: tuple[str, ...] = ("native",),
    sensor_from_root: Callable[[Path], SensorSize | None] | None = None,
) -> Callable[[Lister], Lister]:
    """Declare the decorated `list_files(root, orientation)` the lister of data set `name` with
    these facts (`DatasetSpec`'s fields) and register it in `DATASETS`; the function itself is
    returned unchanged. A name declared twice is a bug (KeyError)."""

    def register(list_files: Lister) -> Lister:
        if name in DATASETS:
            raise KeyError(f"data set {name!r} is declared twice")
        DATASETS[name] = DatasetSpec(name, title, sensor_size, layout, split, reader, list_files,
                                     orientation, orientations, sensor_from_root)  # fmt: skip
        return list_files

    return register


def missing(spec_name: str, layout: str, root: Path, what: str) -> DataError:
    """The error of a missing data set: what is missing, where, and the layout expected."""
    return DataError(f"{spec_name}: {what} at {root} (expected layout: {layout}; nothing is downloaded)")


def readable(path: Path) -> Path:
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


def visible_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def class_folders(
    name: str,
    layout: str,
    root: Path,
    suffixes: tuple[str, ...],
    make_source: Callable[[Path], Source | None] = lambda p: None,
    split: str | None = None,
    classes: tuple[str, ...] | None = None,
) -> tuple[list[Recording], tuple[str, ...]]:
    """`root/<class>/*<suffix>` -> recordings sorted by path, classes = sorted folder names (or the
    fixed `classes`, whose labels do not depend on which folders exist). Without fixed classes, a
    class folder without recordings is an error (its removal would shift every later label)."""
    if not root.is_dir():
        raise missing(name, layout, root, "data set folder not found")
    names = classes or tuple(d.name for d in visible_dirs(root))
    per_class = []
    for c in names:
        folder = root / c
        files = sorted(
            f for f in folder.iterdir() if f.suffix.lower() in suffixes and not f.name.startswith(".")
        ) if folder.is_dir() else []  # fmt: skip
        per_class.append(files)
    if not any(per_class):
        raise missing(name, layout, root, f"no recordings ({', '.join(suffixes)}) in class folders")
    empty = [c for c, files in zip(names, per_class, strict=True) if not files]
    if empty and classes is None:
        raise DataError(
            f"{name}: class folder {root / empty[0]} has no recordings ({', '.join(suffixes)})"
            + (f" (nor {len(empty) - 1} more)" if len(empty) > 1 else "")
            + "; add recordings or remove the folder (labels are the sorted class-folder names)"
        )
    recs = [
        Recording(readable(f), label, split, make_source(f))
        for label, files in enumerate(per_class)
        for f in files
    ]
    return recs, tuple(names)


def first_existing(root: Path, *candidates: str) -> Path:
    """`root/<candidate>` for the first candidate folder that exists, else `root`."""
    for c in candidates:
        if (root / c).is_dir():
            return root / c
    return root
