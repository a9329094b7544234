"""Layouts, sorted listings, splits (per-class 9:1 vs hand-computed, seeded random), missing data sets."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from eventsnn.config import load_config
from eventsnn.data import (
    list_all_recordings,
    load_raw_split,
    per_class_split,
    random_split,
    sensor_size_for,
    split_recordings,
)
from eventsnn.errors import DataError
from eventsnn.events.io import to_event_array, write_aedat4


def _cfg(*sets):
    return load_config(None, list(sets))


def _events(n=50, W=16, H=12, seed=0):
    rng = np.random.default_rng(seed)
    return to_event_array(
        np.sort(rng.integers(0, 10**5, n)),
        rng.integers(0, W, n),
        rng.integers(0, H, n),
        rng.integers(0, 2, n),
    )


def test_per_class_split_by_hand():
    labels = [0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1]  # class 0: 10 files, class 1: 5 files
    train, test = per_class_split(labels, 0.9)
    c0 = [0, 2, 3, 5, 6, 8, 9, 10, 12, 13]
    c1 = [1, 4, 7, 11, 14]
    assert test.tolist() == sorted([c0[9], c1[4]])  # floor(10*.9)=9 and floor(5*.9)=4 train
    assert train.tolist() == sorted(c0[:9] + c1[:4])
    # CIFAR10-DVS: 10 classes x 1000 -> 900 / 100 per class, the last 100 of each class test
    lab = np.repeat(np.arange(10), 1000)
    tr, te = per_class_split(lab, 0.9)
    assert len(tr) == 9000 and len(te) == 1000
    assert te[:100].tolist() == list(range(900, 1000))


def test_one_split_for_images_and_events_pins_the_digit_counts():
    """The 1,797 scikit-learn digits at 0.9: floor per class (exact rational arithmetic here),
    1,612 train / 185 test, the same for the image data set and for any list of labels."""
    from fractions import Fraction

    from sklearn.datasets import load_digits

    from eventsnn.data.images import DigitsImages

    target = load_digits().target
    expected = sum(int(Fraction(int(n)) * Fraction(9, 10)) for n in np.bincount(target))
    assert expected == 1612
    train, test = per_class_split(target, 0.9)
    assert (len(train), len(test)) == (1612, 185)
    images = DigitsImages(True, size=8)
    assert len(images) == 1612 and len(DigitsImages(False, size=8)) == 185
    assert images.labels.tolist() == target[train].tolist()
    assert len(per_class_split([0] * 100, 0.29)[0]) == 29  # 0.29 * 100 = 28.999999999999996 in floats


def test_random_split_seeded():
    labels = np.repeat(np.arange(3), 20)
    a = random_split(labels, 0.9, seed=1)
    b = random_split(labels, 0.9, seed=1)
    c = random_split(labels, 0.9, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])
    assert len(a[0]) == 54 and len(a[1]) == 6 and np.bincount(labels[a[1]]).tolist() == [2, 2, 2]
    assert sorted(np.concatenate(a).tolist()) == list(range(60))


def test_folder_listing_sorted(tmp_path):
    ev = _events()
    for cls, names in {"b": ["b_10", "b_2", "b_1"], "a": ["a_3", "a_0"]}.items():
        for name in names:
            write_aedat4(tmp_path / cls / f"{name}.aedat4", ev, (16, 12, 2))
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    cfg = _cfg("data.dataset=folder", f"data.root={tmp_path}")
    recs, names = list_all_recordings(cfg)
    assert names == ("a", "b")
    assert [r.path.name for r in recs] == [
        "a_0.aedat4",
        "a_3.aedat4",
        "b_1.aedat4",
        "b_10.aedat4",
        "b_2.aedat4",
    ]
    assert [r.label for r in recs] == [0, 0, 1, 1, 1]
    assert sensor_size_for(cfg) == (16, 12, 2)  # from the .aedat4 header
    train, test, _ = split_recordings(cfg)
    assert [p.name for p, _ in train] == ["a_0.aedat4", "b_1.aedat4", "b_10.aedat4"]
    assert [p.name for p, _ in test] == ["a_3.aedat4", "b_2.aedat4"]  # floor(2*.9)=1, floor(3*.9)=2 train
    limited = _cfg("data.dataset=folder", f"data.root={tmp_path}", "data.limit_per_class=1")
    assert [r.path.name for r in list_all_recordings(limited)[0]] == ["a_0.aedat4", "b_1.aedat4"]
    cached = _cfg("data.dataset=folder", f"data.root={tmp_path}", f"data.cache_dir={tmp_path / 'cache'}")
    raw, sensor = load_raw_split(cached, "test")
    events, label = raw[1]
    assert sensor == (16, 12, 2) and label == 1
    np.testing.assert_array_equal(events, ev)


@pytest.mark.parametrize(
    ("dataset", "expect"),
    [
        (
            "cifar10dvs",
            r"cifar10dvs: data set folder not found at .*nowhere \(expected layout: <root>/<class>/\*\.aedat4",
        ),
        ("digits_dvs", r"digits_dvs: .*nowhere.*eventsnn demo-data"),
        (
            "nmnist",
            r"nmnist: folder not found at .*nowhere/Train \(expected layout: <root>/Train/<digit>/\*\.bin",
        ),
        ("dvs128gesture", r"dvs128gesture: folder not found at .*nowhere/ibmGestureTrain"),
    ],
)
def test_missing_data_set(tmp_path, dataset, expect):
    cfg = _cfg(f"data.dataset={dataset}", f"data.root={tmp_path / 'nowhere'}")
    with pytest.raises(DataError, match=expect):
        list_all_recordings(cfg)
    assert not (tmp_path / "nowhere").exists()  # nothing created, nothing downloaded


def test_nmnist_and_gesture_layouts(tmp_path, real_data):
    for split in ("Train", "Test"):
        for digit in ("3", "7"):
            (tmp_path / "NMNIST" / split / digit).mkdir(parents=True)
            shutil.copy(real_data / "sample_nmnist.bin", tmp_path / "NMNIST" / split / digit / "00001.bin")
    cfg = _cfg("data.dataset=nmnist", f"data.root={tmp_path}", f"data.cache_dir={tmp_path / 'cache'}")
    train, test, names = split_recordings(cfg)
    assert names == tuple(str(d) for d in range(10)) and sensor_size_for(cfg) == (34, 34, 2)
    assert [lab for _, lab in train] == [3, 7] and all("Test" in str(p) for p, _ in test)
    events, _ = load_raw_split(cfg, "test")[0][0]
    assert len(events) == 4_325

    g = tmp_path / "g"
    for folder, user in (("ibmGestureTrain", "user01_fluorescent"), ("ibmGestureTest", "user24_led")):
        (g / folder / user).mkdir(parents=True)
        for label in (0, 10):
            np.save(
                g / folder / user / f"{label}.npy", np.array([[1.0, 2.0, 1.0, 0.5], [3.0, 4.0, 0.0, 2.0]])
            )
    cfg = _cfg("data.dataset=dvs128gesture", f"data.root={g}")
    train, test, names = split_recordings(cfg)
    assert len(names) == 11 and [lab for _, lab in train] == [0, 10] and len(test) == 2
    assert sensor_size_for(cfg) == (128, 128, 2)
