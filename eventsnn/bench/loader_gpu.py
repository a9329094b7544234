"""The loader + step rows of `make gpu-check` (`eventsnn bench gpu`): does the data path keep a
GPU fed at the transfer shape?

spikingresformer_s on CIFAR10-DVS-sized input (counts T 10 x 2 x 128 x 128 from a cache v2 file,
derived on the GPU to 3 x 128 x 128 with the P0+P1 channel, DVS augmentation per batch), batch
32, bf16 autocast, AdamW. Rows: the loader alone (samples/s) and loader + training step
(samples/s and the share of step time spent waiting for data, `WaitMeter`), with all CPU cores
as DataLoader workers (pinned memory, persistent workers, prefetch 4).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from eventsnn.bench.core import BenchReport
from eventsnn.bench.loader import counts_of, synthetic_events, write_v2
from eventsnn.data.datasets import CachedFramesDataset
from eventsnn.data.derive import Derive
from eventsnn.data.device import DeviceBatches, IndexedCounts, WaitMeter
from eventsnn.engine.augment import dvs_augment
from eventsnn.models import create_model

BATCH, N, STEPS = 32, 512, 24


def loader_step_rows(report: BenchReport) -> None:
    from torch.utils.data import DataLoader

    device = torch.device("cuda")
    workers = max(1, min(8, (os.cpu_count() or 2) - 2))
    case = f"transfer shape: spikingresformer_s T10 3x128x128 B{BATCH} bf16, {workers} workers"
    with tempfile.TemporaryDirectory(prefix="eventsnn-gpu-loader-") as tmp:
        rows = [counts_of(synthetic_events(k % 32)) for k in range(N)]
        path = write_v2(Path(tmp) / "frames.h5", rows)
        data = CachedFramesDataset(path, np.arange(N), np.arange(N) % 10, count_dtype="uint8")
        loader = DataLoader(
            IndexedCounts(data),
            batch_size=BATCH,
            shuffle=True,
            num_workers=workers,
            pin_memory=True,
            persistent_workers=True,
            prefetch_factor=4,
            drop_last=True,
        )
        batches = DeviceBatches(loader, device, Derive(polarity_sum_channel=True), augment=dvs_augment)
        for _ in batches:  # start the workers, warm the page cache
            pass
        t0, seen = time.perf_counter(), 0
        for x, _ in batches:
            seen += len(x)
        torch.cuda.synchronize()
        row = report.add(case, "loader only (counts -> GPU, derive, augment)", [time.perf_counter() - t0])
        row["samples_per_s"] = seen / row["median_s"]
        model = create_model("spikingresformer_s", T=10, in_channels=3, img_size=128, num_classes=10).to(
            device
        )
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        meter = WaitMeter(steps=STEPS - 4, skip=4)
        share, t0, seen = None, None, 0
        while share is None:
            for x, y in meter.iterate(batches):
                if meter.seen == meter.skip:
                    t0 = time.perf_counter()
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    out = model(x)  # [T, B, K]
                    loss = torch.nn.functional.cross_entropy(out.mean(0).float(), y)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                seen += len(x) if meter.seen >= meter.skip else 0
                share = meter.step_done(device)
                if share is not None:
                    break
        elapsed = time.perf_counter() - t0
        row = report.add(case, "loader + training step", [elapsed / meter.steps])
        row.update(samples_per_s=seen / elapsed, data_wait_share=share)
        data.close()
