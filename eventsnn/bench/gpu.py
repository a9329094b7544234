"""`eventsnn bench gpu`: the GPU rows of `make gpu-check` (nothing is measured without CUDA).

* `spikingresformer_s` at 224x224, T 4, batch 64: forward+backward images/s and peak memory for
  fp32 / bf16 / fp16 (autocast; GradScaler for fp16), eager and compiled (dynamic=False),
  interleaved; compiled rows are dropped (and said so) once `EVENTSNN_GPU_BUDGET_S` (default
  180 s) of this benchmark is spent, so the whole check stays under 8 minutes;
* spikingjelly's LIF implementation chosen automatically (triton) vs forced to torch
  (`SJ_LIF_CUDA_IMPLEMENTATION=torch`, read at import: measured in a child process each);
* DA-SSDP overhead on the same model (bf16 eager training step, plasticity off vs da_ssdp);
* the DA-SSDP dW at B 128, 1024 -> 1000 on CUDA vs CPU;
* framing 300k events (T 10, 128x128x2, by count) on CUDA vs numba;
* loader + step at the transfer shape: samples/s and the share of step time waiting for data
  (`eventsnn.bench.loader_gpu`).

`python -m eventsnn.bench.gpu summary FOLDER` writes FOLDER/SUMMARY.md from every bench JSON there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from eventsnn.bench.core import BenchReport, benchmark, cuda_peak, time_call, time_interleaved
from eventsnn.bench.framing import synthetic_events
from eventsnn.bench.loader_gpu import loader_step_rows
from eventsnn.bench.plasticity import KW, _inputs
from eventsnn.bench.train_step import label, make_step
from eventsnn.events import to_frames
from eventsnn.models import create_model
from eventsnn.plasticity.functional import da_ssdp_delta_w

NAME = "gpu"
HELP = "GPU rows: spikingresformer_s precision x compile, LIF triton vs torch, DA-SSDP, dW, framing"
MODEL = ("spikingresformer_s", {"num_classes": 1000, "T": 4})
BATCH, SIZE = 64, 224


def _fwd_bwd(precision: str, compiled: bool, x: torch.Tensor, y: torch.Tensor):
    """A forward+backward+optimizer step of a fresh spikingresformer_s at `precision`."""
    torch.manual_seed(0)
    base = create_model(MODEL[0], **MODEL[1]).cuda()
    return make_step(base, precision, compiled, "off", x, y)


def model_rows(report: BenchReport, quick: bool, budget_s: float) -> None:
    start = time.perf_counter()
    x = torch.rand(BATCH, 3, SIZE, SIZE, device="cuda")
    y = torch.randint(0, 1000, (BATCH,), device="cuda")
    case = f"{MODEL[0]} {SIZE}x{SIZE} T=4 B={BATCH} cuda"
    steps = {f"{p} eager": _fwd_bwd(p, False, x, y) for p in ("fp32", "bf16", "fp16")}
    for p in ("bf16", "fp32", "fp16"):  # most useful first
        if time.perf_counter() - start > budget_s:
            report.notes.append(f"{case}: {p} compiled skipped (time budget {budget_s:.0f} s spent)")
            continue
        t0 = time.perf_counter()
        try:
            steps[f"{p} compiled"] = _fwd_bwd(p, True, x, y)
            report.notes.append(f"{case}: {p} compile + first step took {time.perf_counter() - t0:.0f} s")
        except Exception as exc:  # a compiler failure is a result here, not a crash
            report.notes.append(f"{case}: {p} compile failed: {type(exc).__name__}: {str(exc)[:200]}")
    times = time_interleaved(steps, repeat=5 if quick else 10, warmup=1, sync=torch.cuda.synchronize)
    for key, fn in steps.items():
        row = report.add(case, key, times[key], peak_mem_bytes=cuda_peak(fn))
        row["images_per_s"] = BATCH / row["median_s"]
    for key in steps:
        if key != "fp32 eager":
            report.ratio(f"{case}: {key} speed-up vs fp32 eager", case, "fp32 eager", key)


def lif_child() -> dict:
    """In a child process: bf16 eager fwd+bwd images/s with the LIF implementation the env selects."""
    x = torch.rand(BATCH, 3, SIZE, SIZE, device="cuda")
    y = torch.randint(0, 1000, (BATCH,), device="cuda")
    step = _fwd_bwd("bf16", False, x, y)
    times = time_call(step, repeat=5, warmup=1, sync=torch.cuda.synchronize)
    return {"times": times, "peak": cuda_peak(step)}


def lif_rows(report: BenchReport) -> None:
    case = f"{MODEL[0]} {SIZE}x{SIZE} T=4 B={BATCH} bf16 eager, LIF implementation"
    for impl in ("auto", "torch"):
        env = {**os.environ, "SJ_LIF_CUDA_IMPLEMENTATION": impl}
        cmd = [sys.executable, "-m", "eventsnn.bench.gpu", "lif-child"]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            report.notes.append(f"{case}: {impl} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        res = json.loads(out.stdout.strip().splitlines()[-1])
        row = report.add(case, f"SJ_LIF_CUDA_IMPLEMENTATION={impl}", res["times"], peak_mem_bytes=res["peak"])
        row["images_per_s"] = BATCH / row["median_s"]
    if sum(r["case"] == case for r in report.rows) == 2:
        report.ratio(
            f"{case}: torch/auto time",
            case,
            "SJ_LIF_CUDA_IMPLEMENTATION=torch",
            "SJ_LIF_CUDA_IMPLEMENTATION=auto",
        )
    report.notes.append(f"{case}: each implementation in its own child process (not interleaved)")


def plasticity_rows(report: BenchReport, quick: bool) -> None:
    torch.manual_seed(0)
    base = create_model(MODEL[0], **MODEL[1]).cuda()
    x = torch.rand(BATCH, 3, SIZE, SIZE, device="cuda")
    y = torch.randint(0, 1000, (BATCH,), device="cuda")
    case = f"{MODEL[0]} {SIZE}x{SIZE} T=4 B={BATCH} cuda bf16 eager training step"
    steps = {label("bf16", False, m): make_step(base, "bf16", False, m, x, y) for m in ("off", "da_ssdp")}
    times = time_interleaved(steps, repeat=5 if quick else 10, warmup=1, sync=torch.cuda.synchronize)
    for key in steps:
        report.add(case, key, times[key])
    r = report.ratio(
        f"{case}: da_ssdp/off", case, label("bf16", False, "da_ssdp"), label("bf16", False, "off")
    )
    report.notes.append(f"{case}: DA-SSDP adds {100 * (r - 1):+.1f}% (target <= 3%)")

    case = "DA-SSDP dW 1024->1000 B=128 T=4"
    for device in ("cpu", "cuda"):
        pre, post, gate = _inputs(1024, 1000, device)
        sync = torch.cuda.synchronize if device == "cuda" else None
        times = time_call(
            lambda a=(pre, post, gate): da_ssdp_delta_w(a[0], a[1], gate=a[2], **KW), repeat=20, sync=sync
        )
        report.add(case, device, times)
    report.ratio(f"{case}: cpu/cuda", case, "cpu", "cuda")


def framing_rows(report: BenchReport) -> None:
    ev = synthetic_events(300_000)
    sensor = (128, 128, 2)
    case = "to_frames 300k events T=10 128x128x2 by count"
    fns = {
        "numba (CPU)": lambda: to_frames(ev, sensor, n_frames=10, backend="numba"),
        "torch cuda (events copied in)": lambda: to_frames(ev, sensor, n_frames=10, device="cuda"),
    }
    times = time_interleaved(fns, repeat=20, warmup=2, rewarm=1, sync=torch.cuda.synchronize)
    for key in fns:
        report.add(case, key, times[key])
    report.ratio(f"{case}: numba/cuda", case, "numba (CPU)", "torch cuda (events copied in)")


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    if not torch.cuda.is_available():
        report.notes.append("no CUDA device: nothing measured (run `make gpu-check` on a GPU machine)")
        return report
    budget = float(os.environ.get("EVENTSNN_GPU_BUDGET_S", "180"))
    model_rows(report, quick, budget)
    lif_rows(report)
    plasticity_rows(report, quick)
    framing_rows(report)

    loader_step_rows(report)
    return report


def summary_markdown(folder: Path) -> str:
    """A Markdown summary of every bench JSON (`{"name", "rows", "ratios", "notes"}`) in `folder`."""
    lines = [f"# GPU check: {folder.name}", ""]
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if "rows" not in data:
            continue
        machine = data.get("machine", {})
        lines += [
            f"## {data['name']} ({path.name})",
            "",
            f"machine: {machine.get('cuda') or machine.get('processor')}",
            "",
        ]
        lines += ["| case | contender | median ms | images/s | peak MiB |", "|---|---|---|---|---|"]
        for r in data["rows"]:
            ips = f"{r['images_per_s']:.1f}" if r.get("images_per_s") else ""
            mem = f"{r['peak_mem_bytes'] / 2**20:.0f}" if r.get("peak_mem_bytes") else ""
            lines.append(f"| {r['case']} | {r['contender']} | {r['median_s'] * 1e3:.2f} | {ips} | {mem} |")
        lines += ["", *(f"- {k}: {v:.2f}" for k, v in data.get("ratios", {}).items())]
        lines += [*(f"- note: {n}" for n in data.get("notes", [])), ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - run by lif_rows and make gpu-check
    if sys.argv[1:2] == ["lif-child"]:
        print(json.dumps(lif_child()))
    elif sys.argv[1:2] == ["summary"]:
        folder = Path(sys.argv[2])
        (folder / "SUMMARY.md").write_text(summary_markdown(folder))
        print(f"wrote {folder / 'SUMMARY.md'}")
