"""bench loader / train-step / gpu helpers: they measure what they say (no timings asserted)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import torch

from eventsnn.bench.core import BenchReport
from eventsnn.bench.gpu import summary_markdown
from eventsnn.bench.loader import counts_of, epoch_fn, synthetic_events, write_lzf, write_v2
from eventsnn.bench.train_step import contenders, label
from eventsnn.data.datasets import CachedFramesDataset
from eventsnn.data.derive import Derive


def test_loader_caches_hold_the_same_rows_and_serve_them_whole(tmp_path):
    rows = [counts_of(synthetic_events(k, n=5000)) for k in range(3)]
    assert rows[0].shape == (10, 2, 128, 128) and 0.005 < np.mean([(r > 0).mean() for r in rows]) < 0.5
    v2 = write_v2(tmp_path / "v2.h5", rows)
    lzf = write_lzf(tmp_path / "lzf.h5", rows)
    with h5py.File(lzf) as f:
        assert f["frames"].compression == "lzf" and f["frames"].chunks == (1, 10, 2, 128, 128)
        np.testing.assert_array_equal(f["frames"][:], np.stack(rows))
    data = CachedFramesDataset(
        v2, np.arange(3), np.zeros(3, dtype=np.int64), derive=Derive(), count_dtype="uint8"
    )
    for workers in (0, 2):
        assert epoch_fn(data, workers, batch=2)() == 3
    x, _ = data[2]
    assert x.dtype == torch.float32 and torch.equal(x, torch.from_numpy(rows[2].astype(np.float32)))
    data.close()


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
