"""CIFAR10-DVS (Li et al. 2017): 10 classes x 1000 recordings, DVS128 (128 x 128), per-class split
(the first 900 of each class's sorted files train, the last 100 test, as the released pipeline).

Two copies are read:
  * the original download: `<root>/<class>/cifar10_<class>_<i>.aedat`, jAER AEDAT 2.0. Default
    orientation `spikingjelly_cifar10dvs` (x' = 127 - y, y' = 127 - x, p' = 1 - p from the
    address fields): the reader of spikingjelly and the released SpikingResformer / DA-SSDP
    pipeline.
  * tonic's `.aedat4` copy: `<root>/<class>/*.aedat4` (or `<root>/CIFAR10DVS/<class>/`), read as
    stored (`native`).
`data.orientation` chooses another map for either copy (e.g. `spikingjelly_cifar10dvs` for the
.aedat4 copy, or `native` / `jaer_dvs128` for the original). How they relate is stated in
`eventsnn.events.orientation` and docs/formats.md.
"""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import class_folders, dataset, first_existing
from eventsnn.events.io import Source

LAYOUT = (
    "<root>/<class>/*.aedat4 (tonic's copy; also <root>/CIFAR10DVS/<class>/) or "
    "<root>/<class>/*.aedat (the original AEDAT 2.0 download, class folders unpacked)"
)
RELEASED = "spikingjelly_cifar10dvs"


# orientation "native" here; per file, .aedat defaults to RELEASED (see `source` below)
@dataset("cifar10dvs", "CIFAR10-DVS: 10 classes, 10,000 recordings, per-class 9:1 split",
         sensor_size=(128, 128, 2), layout=LAYOUT, split="per_class",
         reader="AEDAT 2.0 (original) or AEDAT 4 (tonic)", orientations=(RELEASED, "jaer_dvs128"))
def list_files(root: Path, orientation: str | None):
    root = first_existing(root, "CIFAR10DVS")

    def source(path: Path) -> Source | None:
        o = orientation or (RELEASED if path.suffix.lower() == ".aedat" else "native")
        return None if o == "native" else Source(path, orientation=o)

    return class_folders("cifar10dvs", LAYOUT, root, (".aedat", ".aedat4"), source)
