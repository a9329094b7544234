"""Recordings that must never mislabel, miscount or stop a skip run (issue 11)."""

from __future__ import annotations

import gc
import json
import shutil

import numpy as np
import pytest

from eventsnn.config import load_config
from eventsnn.data import build_event_datasets, plan_cache, preprocess
from eventsnn.data.cache import MANIFEST
from eventsnn.engine.builders import build_datasets
from eventsnn.errors import DataError
from eventsnn.events.io import SUFFIXES, read_events, write_aedat4
from eventsnn.events.postprocess import frames_from_config


def _cfg(root, cache, *sets):
    base = [
        "data.dataset=folder",
        f"data.root={root}",
        f"data.cache_dir={cache}",
        "framing.n_frames=3",
        "data.preprocess_workers=1",
    ]
    return load_config(None, base + list(sets))


def test_skip_covers_a_bad_first_recording(tiny_folder, tmp_path):
    first = tiny_folder / "c0" / "r00.aedat4"  # first in sorted order: the sensor size came from it
    first.write_bytes(b"\x00garbage" * 50)
    cfg = _cfg(tiny_folder, tmp_path / "cache", "data.on_error=skip")
    stats = preprocess(cfg, progress=False, verbose=False)
    assert stats.complete and stats.skipped == 1 and stats.processed == 7
    manifest = json.loads((stats.folder / MANIFEST).read_text())
    assert manifest["sensor_size"] == [16, 16, 2]
    assert [s["path"] for s in manifest["skipped"]] == ["c0/r00.aedat4"]
    with pytest.raises(DataError, match=rf"{first}: corrupt or truncated \.aedat4"):
        preprocess(_cfg(tiny_folder, tmp_path / "cache2"), progress=False, verbose=False)


def test_recordings_that_declare_different_sensors_are_refused(tiny_folder, tmp_path):
    ev = read_events(tiny_folder / "c1" / "r00.aedat4")
    write_aedat4(tiny_folder / "c1" / "r00.aedat4", ev, (32, 24, 2))
    with pytest.raises(DataError) as info:
        plan_cache(_cfg(tiny_folder, tmp_path / "cache"))
    assert str(info.value) == (
        f"recordings declare different sensor sizes (W, H, P): (16, 16, 2) in {tiny_folder / 'c0' / 'r00.aedat4'}, "
        f"(32, 24, 2) in {tiny_folder / 'c1' / 'r00.aedat4'}; set data.sensor_size to one that holds them all"
    )


def test_empty_class_folder_is_refused_not_renumbered(tiny_folder, tmp_path):
    shutil.move(tiny_folder / "c1", tiny_folder / "c2")
    (tiny_folder / "c1").mkdir()  # between c0 and c2: dropping it would give c2 label 1
    with pytest.raises(DataError) as info:
        plan_cache(_cfg(tiny_folder, tmp_path / "cache"))
    assert str(info.value) == (
        f"folder: class folder {tiny_folder / 'c1'} has no recordings ({', '.join(SUFFIXES)}); add "
        "recordings or remove the folder (labels are the sorted class-folder names)"
    )


def test_symlink_loop_among_recordings_is_one_line(tiny_folder, tmp_path):
    loop = tiny_folder / "c0" / "loop.aedat4"
    loop.symlink_to(loop)
    with pytest.raises(DataError) as info:
        plan_cache(_cfg(tiny_folder, tmp_path / "cache"))
    assert str(info.value) == f"{loop}: a symbolic link loop; fix or remove it"
    loop.unlink()
    (tiny_folder / "c0" / "gone.aedat4").symlink_to(tmp_path / "nowhere.aedat4")
    with pytest.raises(DataError, match="gone.aedat4: a broken symbolic link; fix or remove it"):
        plan_cache(_cfg(tiny_folder, tmp_path / "cache"))


def test_empty_test_split_is_refused(tiny_folder, tmp_path):
    for c in ("c0", "c1"):  # each class's only test recording (4 per class, 0.75 train) is bad
        (tiny_folder / c / "r03.aedat4").write_bytes(b"\x00garbage" * 50)
    cfg = _cfg(tiny_folder, tmp_path / "cache", "data.on_error=skip", "data.train_fraction=0.75")
    with pytest.raises(DataError) as info:
        build_datasets(cfg)
    assert str(info.value) == (
        "folder: the test split is empty (6 training items, data.train_fraction=0.75 per class, skipped "
        "recordings left out); lower data.train_fraction or add recordings"
    )


def test_recording_changed_in_place_with_the_same_size_is_framed_again(real_data, tmp_path):
    root = tmp_path / "rec"
    for c in ("a", "b"):
        for i in range(2):
            (root / c).mkdir(parents=True, exist_ok=True)
            shutil.copy(real_data / "sample_nmnist.bin", root / c / f"{i}.bin")
    cfg = _cfg(root, tmp_path / "cache", "data.train_fraction=0.5")
    _, test, _ = build_event_datasets(cfg)
    before = test[1][0].numpy().copy()
    del test  # its open h5 file handle goes with it (the rebuild writes that file)
    gc.collect()
    target = root / "b" / "1.bin"  # b's test recording, row 3
    raw = bytearray(target.read_bytes())
    first_x = raw[0]
    raw[0::5] = bytes((x + 1) % 34 for x in raw[0::5])  # every event one pixel to the right: same size
    target.write_bytes(bytes(raw))
    assert target.stat().st_size == len(raw) and raw[0] != first_x
    _, test2, info2 = build_event_datasets(cfg)
    # the cache keeps its key (rel path, label, split); the changed file's content hash re-frames it
    want = frames_from_config(read_events(target), info2.sensor_size, cfg.framing)
    np.testing.assert_array_equal(test2[1][0].numpy(), np.asarray(want, dtype=np.float32))
    assert not np.array_equal(test2[1][0].numpy(), before)  # not the stale frames
