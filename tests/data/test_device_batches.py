"""Per-batch work on the device (eventsnn.data.device): the frames the model sees equal the
per-item path's (today's: `SeededDataset` deriving and augmenting each item), and a training run
on the device path equals one on the per-item path, resumed or not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from eventsnn.checkpoint import Checkpoint
from eventsnn.config import load_config
from eventsnn.data import build_event_datasets
from eventsnn.data.device import DeviceBatches, IndexedCounts, WaitMeter, derive_on_device, input_bound_line
from eventsnn.data.sampling import EpochSampler, SeededDataset
from eventsnn.engine.augment import dvs_augment
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.jobs import train_job
from eventsnn.engine.train import StopRequested
from tests.factories import REPO
from tests.tiny_data import write_tiny_folder

SMOKE = REPO / "configs" / "smoke" / "events.yaml"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_tiny_folder(tmp_path_factory.mktemp("src") / "rec", per_class=6, size=24)


def _cfg(source, tmp_path, *extra):
    return load_config(
        SMOKE,
        [
            "data.dataset=folder",
            f"data.root={source}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "data.preprocess_workers=1",
            "framing.n_frames=4",
            "framing.resize=[16,16]",
            "framing.polarity_sum_channel=true",
            "model.in_channels=3",
            "train.epochs=2",
            "train.max_steps_per_epoch=2",
            "train.batch_size=4",
            "train.precise_bn_batches=2",
            "train.dvs_augment=true",
            "plasticity.warmup=1",
            "plasticity.warmup_unit=steps",
            f"output.root={tmp_path / 'runs'}",
            "output.tensorboard=false",
            *extra,
        ],
    )


@pytest.mark.parametrize("workers", [0, 2])
def test_device_batches_equal_the_per_item_path_bitwise(source, tmp_path, workers):
    train, _test, _info = build_event_datasets(_cfg(source, tmp_path))
    sampler = EpochSampler(len(train), shuffle=True, seed=3)
    sampler.set_epoch(2)
    today = SeededDataset(train, 3, dvs_augment)  # the per-item path: derive, then augment each item
    today.set_epoch(2)
    expected = list(DataLoader(today, batch_size=4, sampler=sampler))
    loader = DataLoader(
        IndexedCounts(train),
        batch_size=4,
        sampler=sampler,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    batches = DeviceBatches(loader, torch.device("cpu"), train.derive, augment=dvs_augment, seed=3)
    batches.set_epoch(2)
    got = list(batches)
    assert len(got) == len(expected) == 3
    for (x, y), (xe, ye) in zip(got, expected, strict=True):
        assert x.dtype == torch.float32 and x.shape[1:] == (4, 3, 16, 16)
        assert torch.equal(x, xe) and torch.equal(y, ye)
    counts, _, index = next(iter(loader))
    assert counts.dtype == torch.uint8 and counts.shape == (4, 4, 2, 24, 24)  # integers travel
    np.testing.assert_array_equal(counts[0].numpy(), train.read_counts(int(index[0])))
    assert not train.counts  # the bundle's own data set still serves model input


def test_derive_on_setting():
    class Counts:
        counts, derive = False, None

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert derive_on_device("auto", cuda, Counts()) and not derive_on_device("auto", cpu, Counts())
    assert derive_on_device("device", cpu, Counts()) and not derive_on_device("workers", cuda, Counts())
    assert not derive_on_device("device", cuda, object())  # images: no counts to derive


def _weights(run):
    return Checkpoint.load(Path(run) / LATEST).weights


def test_training_on_the_device_path_equals_the_per_item_path_and_resumes_exactly(source, tmp_path):
    items = train_job(_cfg(source, tmp_path, "data.derive_on=workers"), tmp_path / "items")
    device = train_job(_cfg(source, tmp_path, "data.derive_on=device"), tmp_path / "device")
    run = tmp_path / "resumed"
    cfg = _cfg(source, tmp_path, "data.derive_on=device")
    with pytest.raises(StopRequested):
        train_job(cfg, run, stop_at_step=3)  # mid-epoch 2
    resumed = train_job(cfg, run, resume=True)
    a, b, c = _weights(items.run_dir), _weights(device.run_dir), _weights(run)
    for key in a:
        assert torch.equal(a[key], b[key]) and torch.equal(a[key], c[key]), key
    assert items.state.history == device.state.history == resumed.state.history


def test_wait_meter_shares_waiting_and_names_the_fix(monkeypatch):
    import eventsnn.data.device as device

    clock = iter(float(t) for t in range(1000))
    now = [0.0]

    def tick():
        now[0] = next(clock)
        return now[0]

    monkeypatch.setattr(device.time, "perf_counter", tick)
    meter = WaitMeter(steps=3, skip=1)
    shares = []
    for _batch in meter.iterate(range(10)):  # next(): t0, got -> 1 s waiting (fake clock)
        tick()  # the step computes for one more tick: 2 s after `got`
        shares.append(meter.step_done(torch.device("cpu")))
    assert shares[:3] == [None, None, None] and shares[4:] == [None] * 6
    assert shares[3] == pytest.approx(3 / (3 + 6))  # steps 2-4: 1 s waiting, 2 s computing each
    line = input_bound_line(0.75, meter, 0, on_device=False)
    assert line.startswith("data: the run waited for data 75% of its time over steps 2-4 (1000.0 ms a step")
    assert "raise data.num_workers (now 0;" in line and "data.derive_on=device" in line
