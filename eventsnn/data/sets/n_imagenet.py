"""N-ImageNet (Kim et al. 2021): 1000 ImageNet classes re-recorded with a Prophesee Gen3 (640 x 480),
one `.npz` per image holding a structured `event_data` array (x, y, t, p with p in {-1, 1});
the official split: `<root>/extracted_train/<wnid>/*.npz`, `<root>/extracted_val/<wnid>/*.npz`,
listed by `<root>/train_list.txt` / `<root>/val_list.txt` when present (paths whose last three
parts are <folder>/<wnid>/<file>); classes are the sorted wnids of the training folder."""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import Recording, dataset, missing, readable, visible_dirs
from eventsnn.errors import DataError

LAYOUT = (
    "<root>/extracted_train/<wnid>/*.npz and <root>/extracted_val/<wnid>/*.npz "
    "(+ optional train_list.txt / val_list.txt)"
)
FOLDERS = (("extracted_train", "train_list.txt", "train"), ("extracted_val", "val_list.txt", "test"))


def _listed(root: Path, folder: str, listing: Path) -> list[Path]:
    files = []
    for line in listing.read_text().split():
        parts = Path(line).parts[-3:]
        if len(parts) != 3:
            raise DataError(f"{listing}: {line!r} is not <folder>/<wnid>/<file>.npz")
        files.append(root / folder / parts[1] / parts[2])
    return files


@dataset("n_imagenet", "N-ImageNet: 1000 classes, 640x480, official train/val", sensor_size=(640, 480, 2),
         layout=LAYOUT, split="official", reader=".npz (event_data)")
def list_files(root: Path, orientation: str | None):
    train = root / "extracted_train"
    if not train.is_dir():
        raise missing("n_imagenet", LAYOUT, train, "folder not found")
    classes = tuple(d.name for d in visible_dirs(train))
    index = {c: i for i, c in enumerate(classes)}
    recs = []
    for folder, listing, split in FOLDERS:
        if (root / listing).is_file():
            files = _listed(root, folder, root / listing)
        elif (root / folder).is_dir():
            files = sorted((root / folder).glob("*/*.npz"))
        else:
            raise missing("n_imagenet", LAYOUT, root / folder, "folder not found")
        for f in files:
            if f.parent.name not in index:
                raise DataError(f"{f}: class {f.parent.name} has no folder in {train}")
            recs.append(Recording(readable(f), index[f.parent.name], split))
    if not recs:
        raise missing("n_imagenet", LAYOUT, root, "no .npz recordings")
    return recs, classes
