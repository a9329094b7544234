"""bench loader / train-step / gpu helpers: they measure what they say (no timings asserted)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import torch

from eventsnn.bench.core import BenchReport
from eventsnn.bench.gpu import summary_markdown
from eventsnn.bench.loader import epoch_fn, write_cache
from eventsnn.bench.train_step import contenders, label
from eventsnn.data.datasets import CachedFramesDataset


def test_loader_cache_is_sparse_lzf_chunks_served_whole_by_every_worker_count(tmp_path):
    path = write_cache(tmp_path / "frames.h5", 6, (3, 2, 8, 8), "uint16")
    with h5py.File(path) as f:
        ds = f["frames"]
        assert ds.compression == "lzf" and ds.chunks == (1, 3, 2, 8, 8)
        raw = ds[:]
    assert 0.03 < (raw > 0).mean() < 0.3
    data = CachedFramesDataset(path, np.arange(6), np.zeros(6, dtype=np.int64))
    for workers in (0, 2):
        assert epoch_fn(data, workers, batch=4)() == 6
    x, _ = data[5]
    assert x.dtype == torch.float32 and torch.equal(x, torch.from_numpy(raw[5].astype(np.float32)))


def test_train_step_contenders_cover_precision_compile_and_modes(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.delenv("EVENTSNN_BENCH_COMPILE", raising=False)
    quick = contenders(True, cpu)
    assert ("fp32", False, "da_ssdp") in quick and ("bf16", False, "off") in quick
    assert not any(c for _, c, _ in quick)
    assert not any(p == "fp16" for p, _, _ in quick + contenders(False, cpu))  # emulated on a CPU: no row
    assert ("fp16", False, "da_ssdp") in contenders(True, torch.device("cuda"))
    full = contenders(False, cpu)
    assert ("bf16", True, "da_ssdp") in full and ("fp32", True, "off") in full
    assert len({label(*c) for c in full}) == len(full)


def test_gpu_summary_lists_every_row_and_ratio(tmp_path):
    report = BenchReport("gpu")
    row = report.add("case A", "bf16 eager", [0.5, 0.25, 0.75], peak_mem_bytes=3 * 2**20)
    row["images_per_s"] = 64 / row["median_s"]
    report.add("case A", "fp32 eager", [1.0])
    report.ratio("A: bf16 speed-up", "case A", "fp32 eager", "bf16 eager")
    report.write(tmp_path / "bench_gpu.json")
    (tmp_path / "other.json").write_text(json.dumps({"not": "a report"}))
    text = summary_markdown(tmp_path)
    assert "| case A | bf16 eager | 500.00 | 128.0 | 3 |" in text
    assert "| case A | fp32 eager | 1000.00 |  |  |" in text
    assert "- A: bf16 speed-up: 2.00" in text
