"""N-MNIST (Orchard et al. 2015): 10 digits, ATIS saccades over MNIST, 34 x 34, the official
60,000 / 10,000 split: `<root>/Train/<digit>/*.bin`, `<root>/Test/<digit>/*.bin` (also under
`<root>/NMNIST/`, tonic's folder)."""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import class_folders, dataset, missing

CLASSES = tuple(str(d) for d in range(10))
LAYOUT = "<root>/Train/<digit>/*.bin and <root>/Test/<digit>/*.bin (the N-MNIST zips unpacked)"


def official_split(name: str, layout: str, root: Path, folders, suffixes, classes):
    """(train folder, test folder) of class folders -> recordings with their split."""
    recs = []
    for folder, split in zip(folders, ("train", "test"), strict=True):
        if not (root / folder).is_dir():
            raise missing(name, layout, root / folder, "folder not found")
        part, _ = class_folders(name, layout, root / folder, suffixes, split=split, classes=classes)
        recs += part
    return recs, classes


@dataset("nmnist", "N-MNIST: 10 digits, 34x34, official train/test", sensor_size=(34, 34, 2), layout=LAYOUT,
         split="official", reader="N-MNIST .bin")
def list_files(root: Path, orientation: str | None):
    if not (root / "Train").is_dir() and (root / "NMNIST").is_dir():
        root = root / "NMNIST"
    return official_split("nmnist", LAYOUT, root, ("Train", "Test"), (".bin",), CLASSES)
