"""DVS128 Gesture (Amir et al. 2017): 11 gestures, 29 users x lighting conditions, DVS128
(128 x 128), the official split (users 1-23 train, 24-29 test, as listed in the release).

Two layouts are read:
  * the original release: `<root>/DvsGesture/` (or `<root>/`) with `trials_to_train.txt`,
    `trials_to_test.txt`, `userNN_<lighting>.aedat` (AEDAT 3.1) and `userNN_<lighting>_labels.csv`
    (class, startTime_usec, endTime_usec). Each csv row is one sample: the events with
    start <= t < end of that file, label = class - 1 (spikingjelly's cut).
  * tonic's `.npy` copy: `<root>/ibmGestureTrain/userNN_<lighting>/<label>.npy` and
    `<root>/ibmGestureTest/...` (also under `<root>/DVSGesture/`): unnamed columns x, y, p, t (ms).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eventsnn.data.sets._base import Recording, dataset, missing, readable
from eventsnn.errors import DataError
from eventsnn.events.io import ReadOptions, Source

CLASSES = (
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
LAYOUT = (
    "<root>/DvsGesture/{trials_to_train.txt, trials_to_test.txt, userNN_<light>.aedat, "
    "userNN_<light>_labels.csv} (the original release) or <root>/ibmGestureTrain/userNN_<light>/"
    "<label>.npy + <root>/ibmGestureTest/ (tonic's copy)"
)
TONIC_NPY = ReadOptions(columns=("x", "y", "p", "t"), time_scale=1000.0)


def _labels_csv(path: Path) -> np.ndarray:
    try:
        rows = np.loadtxt(path, dtype=np.int64, delimiter=",", skiprows=1, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable labels file ({exc})") from None
    if rows.shape[1] != 3:
        raise DataError(f"{path}: expected columns class,startTime_usec,endTime_usec, got {rows.shape[1]}")
    bad = np.flatnonzero((rows[:, 0] < 1) | (rows[:, 0] > len(CLASSES)))
    if len(bad):
        raise DataError(f"{path}: row {bad[0] + 2}: class {rows[bad[0], 0]} outside 1..{len(CLASSES)}")
    return rows


def _original(root: Path) -> list[Recording]:
    out = []
    for listing, split in (("trials_to_train.txt", "train"), ("trials_to_test.txt", "test")):
        for name in (root / listing).read_text().split():
            aedat = readable(root / name)
            for cls, start, end in _labels_csv(root / f"{Path(name).stem}_labels.csv"):
                src = Source(aedat, window=(int(start), int(end)))
                out.append(Recording(aedat, int(cls) - 1, split, src))
    return out


def _tonic(root: Path) -> list[Recording]:
    out = []
    for folder, split in (("ibmGestureTrain", "train"), ("ibmGestureTest", "test")):
        base = root / folder
        if not base.is_dir():
            raise missing("dvs128gesture", LAYOUT, base, "folder not found")
        for f in sorted(base.rglob("*.npy")):
            if not f.stem.isdigit() or not 0 <= int(f.stem) < len(CLASSES):
                raise DataError(f"{f}: label {f.stem!r} is not one of 0..{len(CLASSES) - 1}")
            out.append(Recording(readable(f), int(f.stem), split, Source(f, TONIC_NPY)))
    return out


@dataset("dvs128gesture", "DVS128 Gesture: 11 gestures, official user split", sensor_size=(128, 128, 2),
         layout=LAYOUT, split="official", reader="AEDAT 3.1 + labels csv (original) or .npy (tonic)")
def list_files(root: Path, orientation: str | None):
    for base in (root / "DvsGesture", root):
        if (base / "trials_to_train.txt").is_file():
            recs = _original(base)
            break
    else:
        sub = root / "DVSGesture"
        base = sub if not (root / "ibmGestureTrain").is_dir() and sub.is_dir() else root
        recs = _tonic(base)
    if not recs:
        raise missing("dvs128gesture", LAYOUT, root, "no recordings")
    return recs, CLASSES
