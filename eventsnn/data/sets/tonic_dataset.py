"""tonic: any tonic event data set already on disk (`data.tonic_class`, `data.root` = its
`save_to`); nothing is ever downloaded (tonic's `download` is replaced by an error that names the
folder). Data sets with a `train` argument keep their official split; others get the per-class
split. Items are read through tonic (`dataset[i]` events, fields by name) and checked like any
recording; the sensor is the class's `sensor_size`.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import numpy as np

from eventsnn.data.sets._base import Recording, dataset
from eventsnn.errors import DataError
from eventsnn.events.formats import to_checked_events
from eventsnn.events.io import Source

LAYOUT = "<root> = the save_to folder of a tonic data set already downloaded (data.tonic_class names it)"


def tonic_class(name: str):
    """`tonic.datasets.<name>` with downloading replaced by a `DataError`."""
    import tonic.datasets

    cls = getattr(tonic.datasets, name, None)
    if not isinstance(cls, type):
        names = sorted(n for n in dir(tonic.datasets) if n[:1].isupper())
        raise DataError(f"data.tonic_class={name!r} is not a tonic data set (tonic has: {', '.join(names)})")

    def refuse(self):
        raise DataError(
            f"tonic {name}: files not found under {Path(self.location_on_system, self.folder_name)}; "
            "download them yourself (eventsnn never downloads) and point data.root at tonic's save_to"
        )

    def on_disk(self) -> bool:  # tonic checks for its archive and a full count; any files will do
        folder = Path(self.location_on_system, self.folder_name)
        return folder.is_dir() and any(f.is_file() for f in folder.rglob("*"))

    # the same class name: tonic finds its files under save_to/<class name>
    return type(cls.__name__, (cls,), {"download": refuse, "_check_exists": on_disk})


@functools.lru_cache(maxsize=4)
def open_tonic(name: str, root: str, train: bool | None):
    """The tonic data set object (one per process and split)."""
    cls = tonic_class(name)
    kwargs = {} if train is None else {"train": train}
    try:
        return cls(save_to=root, **kwargs)
    except DataError:
        raise
    except Exception as exc:  # tonic's asserts / missing files
        raise DataError(f"tonic {name} at {root}: {str(exc).strip() or type(exc).__name__}") from None


def read_item(src: Source) -> np.ndarray:
    """A `Source.reader`: events of item `src.item = (class name, train, index)`."""
    name, train, index = src.item
    ds = open_tonic(name, str(src.path), train)
    ev, _ = ds[index]
    names = ev.dtype.names or ()
    t = next((k for k in ("t", "ts") if k in names), None)
    p = next((k for k in ("p", "pol", "polarity") if k in names), None)
    if t is None or p is None or "x" not in names or "y" not in names:
        raise DataError(f"{src}: tonic {name} item {index} has fields {names}, expected t, x, y, p")
    return to_checked_events(f"{src.path} ({name}[{index}])", ev[t], ev["x"], ev["y"], ev[p])


def list_items(name: str, root: Path) -> tuple[list[Recording], tuple[str, ...], tuple[int, int, int]]:
    """Every item of the tonic data set `name` at `root` -> (recordings, classes, sensor)."""
    cls = tonic_class(name)
    has_split = "train" in inspect.signature(cls.__init__).parameters
    splits = ((True, "train"), (False, "test")) if has_split else ((None, None),)
    recs = []
    for train, split in splits:
        ds = open_tonic(name, str(root), train)
        targets = getattr(ds, "targets", None)
        if targets is None or len(targets) != len(ds):
            targets = [ds[i][1] for i in range(len(ds))]
        files = getattr(ds, "data", None)
        for i, label in enumerate(targets):
            f = Path(files[i]) if files is not None and isinstance(files[i], str) else root
            recs.append(Recording(f if f.exists() else root, int(label), split,
                                  Source(root, item=(name, train, i), reader=read_item)))  # fmt: skip
    classes = getattr(cls, "classes", None)
    if isinstance(classes, dict):
        classes = tuple(sorted(classes, key=classes.get))
    n = max((r.label for r in recs), default=-1) + 1
    classes = tuple(str(c) for c in classes) if classes is not None and len(classes) >= n else tuple(
        str(i) for i in range(n)
    )  # fmt: skip
    sensor = getattr(cls, "sensor_size", None)
    return recs, classes, (tuple(int(v) for v in sensor) if sensor is not None else None)


@dataset("tonic", "tonic: any tonic data set already on disk (data.tonic_class, data.root = save_to)",
         sensor_size=None, layout=LAYOUT, split="official", reader="tonic")
def _list_files(root: Path, orientation: str | None):
    raise DataError("tonic: the items depend on data.tonic_class; list them with list_items(name, root)")
