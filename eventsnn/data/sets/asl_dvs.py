"""ASL-DVS (Bi et al. 2019): 24 letters of American Sign Language (a-y without j), DAVIS240
(240 x 180), per-class split: `<root>/<letter>/*.mat` (variables ts, x, y, pol; also tonic's
`<root>/ASLDVS/`). Default orientation `spikingjelly_asl_dvs` (x' = 239 - x, y' = 179 - y, as
spikingjelly's reader); `data.orientation: native` keeps the stored addresses."""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import class_folders, dataset, first_existing
from eventsnn.events.io import Source

LAYOUT = "<root>/<letter>/*.mat (a..y without j, the ICCV2019_DVS_dataset unpacked)"
DEFAULT = "spikingjelly_asl_dvs"


@dataset("asl_dvs", "ASL-DVS: 24 letters, 240x180, per-class split", sensor_size=(240, 180, 2), layout=LAYOUT,
         split="per_class", reader="MATLAB .mat (scipy.io)", orientation=DEFAULT, orientations=("native",))
def list_files(root: Path, orientation: str | None):
    o = orientation or DEFAULT
    root = first_existing(root, "ASLDVS")
    return class_folders(
        "asl_dvs", LAYOUT, root, (".mat",), lambda p: None if o == "native" else Source(p, orientation=o)
    )
