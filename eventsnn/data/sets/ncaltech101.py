"""N-Caltech101 (Orchard et al. 2015): 101 object classes + BACKGROUND_Google as released, ATIS
saccades, up to 240 x 180 (not N-MNIST's 34 x 34), per-class split:
`<root>/<class>/image_NNNN.bin` (also `<root>/Caltech101/` or tonic's `<root>/NCALTECH101/Caltech101/`)."""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import class_folders, dataset, first_existing

LAYOUT = "<root>/<class>/image_NNNN.bin (the Caltech101 folder of the N-Caltech101 zip)"


@dataset("ncaltech101", "N-Caltech101: 101 classes (+ background), 240x180, per-class split",
         sensor_size=(240, 180, 2), layout=LAYOUT, split="per_class", reader="N-MNIST .bin")
def list_files(root: Path, orientation: str | None):
    root = first_existing(root, "NCALTECH101/Caltech101", "Caltech101")
    return class_folders("ncaltech101", LAYOUT, root, (".bin",))
