"""digits_dvs: the embedded demo (scikit-learn digits through the DVS emulator), written by
`eventsnn demo-data --root <root>`: `<root>/<digit>/*.aedat4` and `<root>/MANIFEST.json` (which
states the sensor size); per-class split."""

from __future__ import annotations

import json
from pathlib import Path

from eventsnn.data.sets._base import class_folders, dataset

LAYOUT = "<root>/<class>/*.aedat4; write it with `eventsnn demo-data --root <root>`"


def sensor_from_root(root: Path):
    manifest = root / "MANIFEST.json"
    if manifest.is_file():
        return tuple(json.loads(manifest.read_text())["sensor_size"])
    return None


@dataset("digits_dvs", "digits_dvs: the embedded demo (10 digits, emulated DVS)", sensor_size=None,
         layout=LAYOUT, split="per_class", reader="AEDAT 4", sensor_from_root=sensor_from_root)
def list_files(root: Path, orientation: str | None):
    return class_folders("digits_dvs", LAYOUT, root, (".aedat4",))
