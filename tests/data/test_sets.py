"""Each registered data set on a small file set written in its real layout (tmp_path), read
through the registry, against an independent reader where one exists (spikingjelly, tonic)."""

from __future__ import annotations

import struct
from typing import get_args

import numpy as np
import pytest
import scipy.io

from eventsnn.config import load_config
from eventsnn.config.schema import DatasetName
from eventsnn.data import (
    RawRecordings,
    create_dataset,
    list_all_recordings,
    sensor_size_for,
    split_recordings,
)
from eventsnn.data.sets import REGISTRY, get_dataset, list_datasets, nmnist
from eventsnn.data.sets._base import DATASETS, dataset
from eventsnn.errors import DataError
from eventsnn.events.io import read_recording, to_event_array, write_aedat4

IMAGE_DATASETS = {"digits", "cifar10", "cifar100", "imagenet"}


def _cfg(dataset, root, *sets):
    return load_config(None, [f"data.dataset={dataset}", f"data.root={root}", *sets])


def _raw(cfg, split):
    train, test, _ = split_recordings(cfg)
    return RawRecordings(train if split == "train" else test, sensor_size_for(cfg))


def _same(ev, t, x, y, p):
    np.testing.assert_array_equal(ev["t"], np.asarray(t, np.int64))
    np.testing.assert_array_equal(ev["x"], x)
    np.testing.assert_array_equal(ev["y"], y)
    np.testing.assert_array_equal(ev["p"], np.asarray(p, np.uint8))


def _rng_events(rng, n, w, h, span=10**6):
    return (
        np.sort(rng.integers(0, span, n)),
        rng.integers(0, w, n),
        rng.integers(0, h, n),
        rng.integers(0, 2, n),
    )


def test_registry_lists_at_least_8_and_the_config_knows_every_name():
    assert len(list_datasets()) >= 8
    assert set(get_args(DatasetName)) == set(list_datasets()) | IMAGE_DATASETS
    for name, spec in REGISTRY.items():
        assert spec.name == name and spec.layout and spec.split in ("official", "per_class")
    with pytest.raises(DataError, match="unknown event data set 'nope'; registered: asl_dvs, cifar10dvs, digits_dvs"):
        get_dataset("nope")


def test_a_data_set_is_declared_once_on_its_lister():
    spec = get_dataset("nmnist")
    assert spec.list_files is nmnist.list_files and spec.sensor_size == (34, 34, 2)
    with pytest.raises(KeyError, match="'nmnist' is declared twice"):
        dataset("nmnist", "again", sensor_size=None, layout="x", split="official", reader="x")(lambda r, o: ([], ()))
    assert DATASETS["nmnist"] is spec


def _aedat2(path, t, x, y, p):
    path.parent.mkdir(parents=True, exist_ok=True)
    body = np.empty(2 * len(t), ">u4")
    body[0::2], body[1::2] = (y << 8) | (x << 1) | p, t
    path.write_bytes(b"#!AER-DAT2.0\r\n# created by the test\r\n" + body.tobytes())


def test_cifar10dvs_original_aedat2_in_the_released_orientation(tmp_path):
    from spikingjelly.datasets.cifar10_dvs import _load_origin_data

    rng = np.random.default_rng(0)
    for cls in ("airplane", "automobile"):
        for i in range(10):
            _aedat2(tmp_path / cls / f"cifar10_{cls}_{i}.aedat", *_rng_events(rng, 300, 128, 128))
    cfg = _cfg("cifar10dvs", tmp_path)
    recs, names = list_all_recordings(cfg)
    assert names == ("airplane", "automobile") and len(recs) == 20 and sensor_size_for(cfg) == (128, 128, 2)
    train, test = _raw(cfg, "train"), _raw(cfg, "test")
    assert len(train) == 18 and len(test) == 2  # 9:1 per class
    ev, label = test[1]
    ref = _load_origin_data(str(tmp_path / "automobile" / "cifar10_automobile_9.aedat"))
    assert label == 1
    _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])
    by_name = create_dataset("cifar10dvs", tmp_path, "test")  # the registry's timm-style entry point
    assert by_name.class_names == names and len(by_name) == 2
    np.testing.assert_array_equal(by_name[1][0], ev)
    # the config switch: the stored jAER address fields instead
    native, _ = _raw(_cfg("cifar10dvs", tmp_path, "data.orientation=native"), "test")[1]
    np.testing.assert_array_equal(native["x"], 127 - ev["y"])
    with pytest.raises(DataError, match="data.orientation='sideways' is not offered"):
        list_all_recordings(_cfg("cifar10dvs", tmp_path, "data.orientation=sideways"))


def test_cifar10dvs_tonic_aedat4_copy_read_as_stored(tmp_path):
    import tonic.io

    rng = np.random.default_rng(1)
    for cls in ("bird", "cat"):
        for i in range(2):
            t, x, y, p = _rng_events(rng, 200, 128, 128)
            write_aedat4(
                tmp_path / "CIFAR10DVS" / cls / f"{cls}_{i}.aedat4", to_event_array(t, x, y, p), (128, 128)
            )
    cfg = _cfg("cifar10dvs", tmp_path, "data.train_fraction=0.5")
    ev, label = _raw(cfg, "test")[0]
    ref = tonic.io.read_aedat4(str(tmp_path / "CIFAR10DVS" / "bird" / "bird_1.aedat4"))
    assert label == 0
    _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])


def test_dvs128gesture_original_aedat31_cut_per_gesture_as_spikingjelly(tmp_path):
    from spikingjelly.datasets.dvs128_gesture import _split_aedat_files_to_np

    root = tmp_path / "DvsGesture"
    root.mkdir()
    rng = np.random.default_rng(2)
    for user in ("user01_fluorescent", "user24_led"):
        t, x, y, p = _rng_events(rng, 3000, 128, 128, span=9_000_000)
        data = (x << 17) | (y << 2) | (p << 1) | 1
        body = np.empty(2 * len(t), "<u4")
        body[0::2], body[1::2] = data, t
        header = struct.pack("<hhiiiiii", 1, 1, 8, 4, 0, len(t), len(t), len(t))
        (root / f"{user}.aedat").write_bytes(
            b"#!AER-DAT3.1\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n" + header + body.tobytes()
        )
        rows = "class,startTime_usec,endTime_usec\n1,100000,2000000\n11,2500000,6000000\n3,6000000,8500000\n"
        (root / f"{user}_labels.csv").write_text(rows)
    (root / "trials_to_train.txt").write_text("user01_fluorescent.aedat\n")
    (root / "trials_to_test.txt").write_text("user24_led.aedat\n")
    cfg = _cfg("dvs128gesture", tmp_path)
    train, test = _raw(cfg, "train"), _raw(cfg, "test")
    assert [lab for _, lab in split_recordings(cfg)[0]] == [0, 10, 2] and len(train) == len(test) == 3
    out = tmp_path / "sj"
    for label in range(11):
        (out / str(label)).mkdir(parents=True)
    _split_aedat_files_to_np("user24_led", root / "user24_led.aedat", root / "user24_led_labels.csv", out)
    for (ev, label), k in zip(test, (0, 10, 2), strict=True):
        ref = np.load(out / str(k) / "user24_led_0.npz")
        assert label == k
        _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])


def _nbin(path, t, x, y, p):
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = np.empty((len(t), 5), np.uint8)
    rec[:, 0], rec[:, 1], rec[:, 2] = x, y, (p << 7) | ((t >> 16) & 0x7F)
    rec[:, 3], rec[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.write_bytes(rec.tobytes())


def test_nmnist_official_split_equals_tonic(tmp_path):
    import tonic.datasets
    import tonic.io

    rng = np.random.default_rng(3)
    for split in ("Train", "Test"):
        for d in ("0", "5"):
            _nbin(tmp_path / split / d / "00001.bin", *_rng_events(rng, 100, 34, 34, span=300_000))
    cfg = _cfg("nmnist", tmp_path)
    assert sensor_size_for(cfg) == (34, 34, 2)
    ev, label = _raw(cfg, "test")[1]
    ref = tonic.io.read_mnist_file(
        str(tmp_path / "Test" / "5" / "00001.bin"), dtype=tonic.datasets.NMNIST.dtype
    )
    assert label == 5
    _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])


def test_ncaltech101_reads_its_240x180_bins(tmp_path):
    rng = np.random.default_rng(4)
    for cls in ("accordion", "airplanes"):
        for i in range(1, 4):
            _nbin(tmp_path / "Caltech101" / cls / f"image_{i:04d}.bin", *_rng_events(rng, 200, 234, 174))
    cfg = _cfg("ncaltech101", tmp_path, "data.train_fraction=0.5")
    assert sensor_size_for(cfg) == (240, 180, 2)
    ev, label = _raw(cfg, "train")[1]  # x up to 233: inside this sensor, outside N-MNIST's 34
    assert label == 1 and ev["x"].max() > 34


def test_asl_dvs_mat_as_spikingjelly(tmp_path):
    from spikingjelly.datasets.asl_dvs import _read_mat_save_to_np

    rng = np.random.default_rng(5)
    for letter in ("a", "b"):
        for i in range(2):
            t, x, y, p = _rng_events(rng, 150, 240, 180)
            (tmp_path / letter).mkdir(exist_ok=True)
            scipy.io.savemat(tmp_path / letter / f"{letter}_{i:04d}.mat", {
                "ts": t[:, None], "x": x[:, None], "y": y[:, None], "pol": p[:, None]})  # fmt: skip
    cfg = _cfg("asl_dvs", tmp_path, "data.train_fraction=0.5")
    ev, label = _raw(cfg, "test")[1]
    _read_mat_save_to_np(tmp_path / "b" / "b_0001.mat", tmp_path / "ref.npz")
    ref = np.load(tmp_path / "ref.npz")
    assert label == 1
    _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])


def test_n_imagenet_npz_with_listing(tmp_path):
    rng = np.random.default_rng(6)
    written = {}
    for folder in ("extracted_train", "extracted_val"):
        for wnid in ("n01440764", "n01443537"):
            (tmp_path / folder / wnid).mkdir(parents=True)
            t, x, y, p = _rng_events(rng, 100, 640, 480)
            a = np.zeros(100, [("x", "<u2"), ("y", "<u2"), ("t", "<i8"), ("p", "i1")])
            a["x"], a["y"], a["t"], a["p"] = x, y, t, 2 * p - 1
            name = f"{wnid}_{folder[-3:]}.npz"
            np.savez_compressed(tmp_path / folder / wnid / name, event_data=a)
            written[name] = (t, x, y, p)
    (tmp_path / "val_list.txt").write_text(  # the listing orders val by its own order
        "/data/N_Imagenet/extracted_val/n01443537/n01443537_val.npz\n"
        "/data/N_Imagenet/extracted_val/n01440764/n01440764_val.npz\n"
    )
    cfg = _cfg("n_imagenet", tmp_path)
    _, test, names = split_recordings(cfg)
    assert names == ("n01440764", "n01443537") and [lab for _, lab in test] == [1, 0]
    ev, _ = _raw(cfg, "test")[0]
    _same(ev, *written["n01443537_val.npz"])


def test_dvs_lip_named_npy(tmp_path):
    rng = np.random.default_rng(7)
    for split in ("train", "test"):
        for word in ("about", "world"):
            (tmp_path / split / word).mkdir(parents=True)
            t, x, y, p = _rng_events(rng, 80, 128, 128)
            a = np.zeros(80, [("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")])
            a["t"], a["x"], a["y"], a["p"] = t, x, y, p
            np.save(tmp_path / split / word / "0.npy", a)
    cfg = _cfg("dvs_lip", tmp_path)
    ev, label = _raw(cfg, "test")[1]
    ref = np.load(tmp_path / "test" / "world" / "0.npy")
    assert label == 1
    _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])


def test_folder_with_mixed_formats(tmp_path):
    faery = pytest.importorskip("faery")
    rng = np.random.default_rng(8)
    t, x, y, p = _rng_events(rng, 120, 64, 48)
    write_aedat4(tmp_path / "c0" / "a.aedat4", to_event_array(t, x, y, p), (64, 48))
    fe = np.zeros(120, faery.EVENTS_DTYPE)
    fe["t"], fe["x"], fe["y"], fe["on"] = t, x, y, p.astype(bool)
    (tmp_path / "c1").mkdir()
    faery.events_stream_from_array(fe, (64, 48)).to_file(
        tmp_path / "c1" / "b.raw", zero_t0=False, version="evt3"
    )
    np.savez(tmp_path / "c1" / "c.npz", t=t, x=x, y=y, p=p)
    cfg = _cfg("folder", tmp_path, "data.train_fraction=0.5")
    recs, names = list_all_recordings(cfg)
    assert names == ("c0", "c1") and [r.path.name for r in recs] == ["a.aedat4", "b.raw", "c.npz"]
    assert sensor_size_for(cfg) == (64, 48, 2)  # the .aedat4 and .raw headers agree
    for r in recs:
        _same(read_recording(r.src, (64, 48, 2)), t, x, y, p)


def test_tonic_data_set_on_disk_never_downloads(tmp_path):
    import tonic.datasets
    import tonic.io

    rng = np.random.default_rng(9)
    for split in ("Train", "Test"):
        for d in ("2", "8"):
            _nbin(tmp_path / "NMNIST" / split / d / "1.bin", *_rng_events(rng, 60, 34, 34, span=100_000))
    cfg = _cfg("tonic", tmp_path, "data.tonic_class=NMNIST")
    assert sensor_size_for(cfg) == (34, 34, 2)
    _, test, _ = split_recordings(cfg)
    assert [lab for _, lab in test] == [2, 8]
    ev, label = _raw(cfg, "test")[1]
    # tonic.datasets.NMNIST itself would download (it wants 10,000 files): its reader instead
    ref = tonic.io.read_mnist_file(
        str(tmp_path / "NMNIST" / "Test" / "8" / "1.bin"), dtype=tonic.datasets.NMNIST.dtype
    )
    assert label == 8
    _same(ev, ref["t"], ref["x"], ref["y"], ref["p"])
    with pytest.raises(
        DataError, match=r"tonic DVSGesture: files not found under .*eventsnn never downloads"
    ):
        list_all_recordings(_cfg("tonic", tmp_path / "empty", "data.tonic_class=DVSGesture"))
    assert not (tmp_path / "empty").exists()
