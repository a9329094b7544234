"""`make gpu-check`'s loader + step rows, run on the CPU at the demo model's size, so that the code
path a GPU session runs has run before (it was written without a GPU)."""

from __future__ import annotations

import pytest

from eventsnn.bench.core import BenchReport
from eventsnn.bench.loader_gpu import LoaderStepSetup, loader_step_rows
from eventsnn.bench.train_step import DEMO
from eventsnn.data.derive import Derive

DEMO_T10 = dict(DEMO, in_channels=3, T=10)  # the demo model at the transfer shape's T and channels


def test_loader_and_step_rows_run_on_cpu_and_count_what_they_served():
    setup = LoaderStepSetup(
        device="cpu",
        n=16,
        batch=4,
        steps=2,
        skip=1,
        workers=1,
        model="spikingresformer_cifar",
        model_kw=DEMO_T10,
        derive=Derive(polarity_sum_channel=True, resize=(16, 16)),
        precision="fp32",
    )
    report = BenchReport("gpu")
    loader_step_rows(report, setup)
    rows = {r["contender"]: r for r in report.rows}
    assert set(rows) == {"loader only (counts -> device, derive, augment)", "loader + training step"}
    loader, step = rows["loader only (counts -> device, derive, augment)"], rows["loader + training step"]
    assert loader["samples_per_s"] * loader["median_s"] == pytest.approx(16)  # 4 full batches, one pass
    assert step["samples_per_s"] * step["median_s"] == pytest.approx(4)  # one batch per measured step
    assert 0.0 <= step["data_wait_share"] <= 1.0
    assert "spikingresformer_cifar B4 fp32 on cpu, 1 workers" in step["case"]
