"""The loader + step rows of `make gpu-check` (`eventsnn bench gpu`): does the data path keep a
GPU fed at the transfer shape?

spikingresformer_s on CIFAR10-DVS-sized input (counts T 10 x 2 x 128 x 128 from a cache v2 file,
derived on the device to 3 x 128 x 128 with the P0+P1 channel, DVS augmentation per batch),
batch 32, bf16, AdamW, the engine's own training step (`engine.step.TrainStep`, host syncs
included). Rows: the loader alone (samples/s) and loader + training step (samples/s and the
share of step time spent waiting for data, `WaitMeter`), with the CPU cores as DataLoader
workers (pinned memory on CUDA, persistent workers, prefetch 4).

`LoaderStepSetup` makes the same rows at another size on another device: the test suite runs
them on the CPU with the demo model, so the code path is exercised before a GPU sees it.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from eventsnn.bench.core import BenchReport
from eventsnn.bench.loader import counts_of, synthetic_events, write_v2
from eventsnn.config import PlasticityConfig
from eventsnn.data.datasets import CachedFramesDataset
from eventsnn.data.derive import Derive
from eventsnn.data.device import DeviceBatches, IndexedCounts, WaitMeter
from eventsnn.engine.augment import dvs_augment
from eventsnn.engine.precision import make_grad_scaler
from eventsnn.engine.step import TrainStep
from eventsnn.models import create_model
from eventsnn.plasticity import build_plasticity


@dataclass(frozen=True)
class LoaderStepSetup:
    """What the rows measure: `n` cached items, `steps` measured steps after `skip`, the model
    (`create_model(model, **model_kw)`), the derive step and the precision."""

    device: str = "cuda"
    n: int = 512
    batch: int = 32
    steps: int = 20
    skip: int = 4
    workers: int | None = None  # default: the cores less two, 1 to 8
    model: str = "spikingresformer_s"
    model_kw: dict = field(default_factory=lambda: dict(T=10, in_channels=3, img_size=128, num_classes=10))
    derive: Derive = field(default_factory=lambda: Derive(polarity_sum_channel=True))
    precision: str = "bf16"

    @property
    def n_workers(self) -> int:
        return self.workers if self.workers is not None else max(1, min(8, (os.cpu_count() or 2) - 2))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loader_step_rows(report: BenchReport, setup: LoaderStepSetup | None = None) -> None:
    """Add the rows "loader only (counts -> device, derive, augment)" (samples/s) and
    "loader + training step" (s per step, samples/s, `data_wait_share`) to `report`."""
    s = setup or LoaderStepSetup()
    device = torch.device(s.device)
    case = f"transfer shape: {s.model} B{s.batch} {s.precision} on {device.type}, {s.n_workers} workers"
    with tempfile.TemporaryDirectory(prefix="eventsnn-loader-step-") as tmp:
        rows = [counts_of(synthetic_events(k % 32)) for k in range(s.n)]
        data = CachedFramesDataset(
            write_v2(Path(tmp) / "frames.h5", rows), np.arange(s.n), np.arange(s.n) % 10, count_dtype="uint8"
        )
        loader = DataLoader(
            IndexedCounts(data),
            batch_size=s.batch,
            shuffle=True,
            num_workers=s.n_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=True,
            prefetch_factor=4,
            drop_last=True,
        )
        batches = DeviceBatches(loader, device, s.derive, augment=dvs_augment)
        for _ in batches:  # start the workers, warm the page cache
            pass
        t0, seen = time.perf_counter(), 0
        for x, _ in batches:
            seen += len(x)
        _sync(device)
        row = report.add(case, "loader only (counts -> device, derive, augment)", [time.perf_counter() - t0])
        row["samples_per_s"] = seen / row["median_s"]
        step = _engine_step(s, device)
        meter = WaitMeter(steps=s.steps, skip=s.skip)
        share, t0, seen = None, time.perf_counter(), 0
        while share is None:  # epochs of `batches` until the meter's window is full
            for x, y in meter.iterate(batches):
                if meter.seen == meter.skip:
                    t0, seen = time.perf_counter(), 0
                step(x, y)
                seen += len(x)
                share = meter.step_done(device)
                if share is not None:
                    break
        elapsed = time.perf_counter() - t0
        row = report.add(case, "loader + training step", [elapsed / meter.steps])
        row.update(samples_per_s=seen / elapsed, data_wait_share=share)
        data.close()


def _engine_step(s: LoaderStepSetup, device: torch.device) -> TrainStep:
    """The engine's step (no plasticity) on a fresh `s.model` with AdamW."""
    torch.manual_seed(0)
    model = create_model(s.model, **s.model_kw).to(device).train()
    return TrainStep(
        net=model,
        model=model,
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-4),
        plasticity=build_plasticity(model, PlasticityConfig(mode="off")),
        device=device,
        precision=s.precision,
        scaler=make_grad_scaler(device, s.precision),
    )
