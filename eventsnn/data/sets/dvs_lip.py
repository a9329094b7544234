"""DVS-Lip (Tan et al. 2022, listed by spikingjelly): 100 spoken words, DAVIS346 crops of
128 x 128, the official split: `<root>/train/<word>/*.npy`, `<root>/test/<word>/*.npy`
(structured arrays with named fields t, x, y, p)."""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import dataset, missing, visible_dirs
from eventsnn.data.sets.nmnist import official_split

LAYOUT = "<root>/train/<word>/*.npy and <root>/test/<word>/*.npy"


@dataset("dvs_lip", "DVS-Lip: 100 words, 128x128, official train/test", sensor_size=(128, 128, 2),
         layout=LAYOUT, split="official", reader=".npy (named fields)")
def list_files(root: Path, orientation: str | None):
    if not (root / "train").is_dir():
        raise missing("dvs_lip", LAYOUT, root / "train", "folder not found")
    classes = tuple(d.name for d in visible_dirs(root / "train"))
    return official_split("dvs_lip", LAYOUT, root, ("train", "test"), (".npy",), classes)
