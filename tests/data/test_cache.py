"""The frame cache: keys, equality with direct framing, resume, idempotence, bad inputs, DataLoader."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import h5py
import numpy as np
import pytest
import torch
from spikingjelly.datasets import integrate_events_by_fixed_frames_number

from eventsnn.config import load_config
from eventsnn.data import build_event_datasets, plan_cache, preprocess, split_recordings
from eventsnn.data.cache import COMPLETE, FINAL, MANIFEST, PARTIAL, cache_key, framing_params
from eventsnn.errors import DataError
from eventsnn.events.emulator import EmulatorParams, emulate_recording
from eventsnn.events.io import EVENT_DTYPE, read_recording, to_event_array, write_aedat4
from tests.reference import antialias_matrix

SIZE = 32


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """3 classes x 5 emulated digit recordings (32x32) in the folder layout."""
    from sklearn.datasets import load_digits

    d = load_digits()
    root = tmp_path_factory.mktemp("rec")
    p = replace(EmulatorParams(), size=SIZE)
    for cls in range(3):
        idx = np.flatnonzero(d.target == cls)[:5]
        for k, i in enumerate(idx):
            ev = emulate_recording(d.images[i] / 16, p, sensor_seed=0, noise_seed=(0, int(i)))
            write_aedat4(root / f"c{cls}" / f"r{k:02d}.aedat4", ev, p.sensor_size)
    return root


def _copy(source, tmp_path):
    root = tmp_path / "rec"
    shutil.copytree(source, root)
    return root


def _cfg(root, cache, *sets):
    base = [
        "data.dataset=folder",
        f"data.root={root}",
        f"data.cache_dir={cache}",
        "framing.n_frames=4",
        "framing.resize=[16,16]",
        "data.preprocess_workers=1",
    ]
    return load_config(None, base + list(sets))


def _frames(folder):
    """(counts [N, T, P, H, W] as uint32, labels, status) of a complete cache, row by row."""
    with h5py.File(folder / FINAL, "r") as f:
        width = f["width"][:]
        names = {1: "frames_u8", 2: "frames_u16", 4: "frames_u32"}
        rows = [f[names[int(w)]][i].astype(np.uint32) if w else None for i, w in enumerate(width)]
        shape = f["frames_u8"].shape[1:]
        counts = np.stack([r if r is not None else np.zeros(shape, np.uint32) for r in rows])
        return counts, f["labels"][:], f["status"][:]


def test_keys_differ_for_every_framing_parameter(source, tmp_path):
    base = _cfg(source, tmp_path)
    k0 = plan_cache(base).key
    changes = [
        "framing.n_frames=5",
        "framing.split_by=time",
        "data.sensor_size=[40,32,2]",
    ]
    keys = {plan_cache(_cfg(source, tmp_path, c)).key for c in changes}
    assert k0 not in keys and len(keys) == len(changes)
    assert plan_cache(_cfg(source, tmp_path, "framing.backend=numpy")).key == k0  # backends agree exactly
    derived = ["framing.polarity_sum_channel=true", "framing.resize=[16,8]", "framing.resize=null", "framing.dtype=float16"]
    assert {plan_cache(_cfg(source, tmp_path, c)).key for c in derived} == {k0}  # the loader derives these
    assert plan_cache(_cfg(source, tmp_path, "data.limit_per_class=4")).key != k0  # file list
    f = framing_params(base.framing)
    files = [("a.aedat4", 0, None)]
    k = cache_key("folder", (32, 32, 2), f, files)
    assert cache_key("folder", (32, 32, 2), {**f, "time_window": 1000.0}, files) != k
    assert cache_key("folder", (32, 32, 2), {**f, "event_count": 100}, files) != k
    assert cache_key("folder", (32, 32, 2), f, [("a.aedat4", 1, None)]) != k  # label


def test_cache_equals_direct_framing_and_second_run_is_a_no_op(source, tmp_path, capsys):
    cfg = _cfg(source, tmp_path / "cache")
    stats = preprocess(cfg, progress=False)
    assert stats.complete and stats.processed == 15
    folder = stats.folder
    assert sorted(p.name for p in folder.iterdir()) == [COMPLETE, FINAL, MANIFEST]
    counts, labels, _ = _frames(folder)
    train, test, _names = split_recordings(cfg)
    everything = sorted(train + test)
    R = antialias_matrix(SIZE, 16)  # the resize, by hand
    frames = []  # what the model must see: today's (pre-v2) path, resized by hand
    for i, (path, label) in enumerate(everything):
        ev = read_recording(path, (SIZE, SIZE, 2))
        d = {k: ev[k].astype(np.int64) for k in ("t", "x", "y", "p")}
        expected_counts = integrate_events_by_fixed_frames_number(d, "number", 4, SIZE, SIZE)  # spikingjelly
        np.testing.assert_array_equal(counts[i], expected_counts)  # stored losslessly, bitwise
        frames.append(np.einsum("ih,tphw,jw->tpij", R, expected_counts.astype(np.float64), R))
        assert labels[i] == label
    frames = np.stack(frames).astype(np.float32)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert [f["split"] for f in manifest["files"]].count("test") == 3 and manifest["skipped"] == []
    mtime = (folder / FINAL).stat().st_mtime_ns
    capsys.readouterr()
    again = preprocess(cfg, progress=False)
    assert again.nothing_to_do and "nothing to do" in capsys.readouterr().out
    assert (folder / FINAL).stat().st_mtime_ns == mtime
    tr, te, info = build_event_datasets(cfg)
    assert (
        info.input_shape == (4, 2, 16, 16)
        and info.num_classes == 3
        and info.class_names == ("c0", "c1", "c2")
    )
    assert (len(tr), len(te)) == (12, 3)
    x, y = te[0]
    assert x.dtype == torch.float32 and x.shape == (4, 2, 16, 16) and y == 0
    np.testing.assert_allclose(x.numpy(), frames[4], rtol=1e-5, atol=1e-5)  # c0's 5th: its test item
    # DataLoader workers each open the file themselves
    batches = list(torch.utils.data.DataLoader(tr, batch_size=5, num_workers=2))
    xs = torch.cat([b[0] for b in batches])
    np.testing.assert_allclose(xs.numpy(), frames[tr.indices], rtol=1e-5, atol=1e-5)


def test_interrupted_preprocess_resumes_to_the_same_cache(source, tmp_path):
    ref = preprocess(_cfg(source, tmp_path / "ref"), progress=False, verbose=False)
    cfg = _cfg(source, tmp_path / "cache")

    def boom(i):
        if i == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        preprocess(cfg, on_item=boom, progress=False, verbose=False)
    folder = plan_cache(cfg).folder
    assert (folder / PARTIAL).is_file() and not (folder / COMPLETE).exists() and not (folder / FINAL).exists()
    part = preprocess(cfg, max_items=3, progress=False, verbose=False)  # stop hook: 7 + 3 done
    assert not part.complete and part.processed == 3
    done = preprocess(cfg, workers=2, progress=False, verbose=False)  # the rest, in a process pool
    assert done.complete and done.processed == 5
    a, b = _frames(ref.folder), _frames(done.folder)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def _bad_cases(root):
    ev = read_recording(next(root.glob("c0/*.aedat4")))
    return {
        "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
        "corrupt": lambda p: p.write_bytes(b"\x00garbage" * 100),
        "empty": lambda p: write_aedat4(p, np.zeros(0, EVENT_DTYPE), (SIZE, SIZE, 2)),
        "outside": lambda p: write_aedat4(
            p, to_event_array(ev["t"], np.minimum(ev["x"] + 40, 63), ev["y"], ev["p"]), (64, SIZE, 2)
        ),
    }


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("truncated", r"corrupt or truncated \.aedat4"),
        ("corrupt", r"corrupt or truncated \.aedat4"),
        ("empty", "empty recording"),
        ("outside", r"event field x=\d+ outside the sensor \(W, H, P\)=\(32, 32, 2\)"),
    ],
)
def test_bad_recording_stops_or_is_skipped(source, tmp_path, case, reason):
    root = _copy(source, tmp_path)
    bad = root / "c1" / "r02.aedat4"
    _bad_cases(root)[case](bad)
    cfg = _cfg(root, tmp_path / "cache", f"data.sensor_size=[{SIZE},{SIZE},2]")
    with pytest.raises(DataError, match=rf"{bad}: {reason}"):
        preprocess(cfg, progress=False, verbose=False)
    assert not any((tmp_path / "cache").rglob("*.h5")) and not any((tmp_path / "cache").rglob(COMPLETE))
    skip = _cfg(root, tmp_path / "cache", f"data.sensor_size=[{SIZE},{SIZE},2]", "data.on_error=skip")
    stats = preprocess(skip, progress=False, verbose=False)
    assert stats.complete and stats.skipped == 1 and stats.processed == 14
    manifest = json.loads((stats.folder / MANIFEST).read_text())
    assert (
        manifest["skipped"][0]["path"] == "c1/r02.aedat4"
        and reason.split("\\")[0].split(" ")[0] in (manifest["skipped"][0]["reason"])
    )
    tr, te, _ = build_event_datasets(skip)
    assert len(tr) + len(te) == 14 and 7 not in set(tr.indices) | set(te.indices)
