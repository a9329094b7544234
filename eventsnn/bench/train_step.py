"""`eventsnn bench train-step`: one training step per precision x compile x plasticity mode.

The same model, batch and optimizer in every contender; only `train.precision` (fp32 / bf16 /
fp16 with GradScaler), `train.compile` and the plasticity config (off / ssdp / da_ssdp, and at
fp32 eager also da_ssdp with `spatial: positions` and with `reference: released`) change.
What is timed is the engine's own step, `eventsnn.engine.step.TrainStep` (the one the Trainer
runs), host syncs included (the finite-loss check and the returned loss).
The DA-SSDP rule is past its warm-up (gate fitted), so the timed steps include the full update.
All contenders of a case are timed interleaved (A B C A B C ...); rows give images/s and, on
CUDA, peak memory; ratios are against fp32 eager with the same plasticity mode, and DA-SSDP
against plasticity off in the same setting (target: at most +3%).
Compiled contenders (torch.compile, dynamic=False) cost ~30-60 s each to compile on 2 cores:
`--quick` leaves them out unless EVENTSNN_BENCH_COMPILE=1. On a CPU there are no fp16 rows
(autocast fp16 is emulated there: minutes per step, gigabytes), and `--quick` times the demo
model only, at batch 8 (with spikingresformer_cifar it ran over 15 minutes at 3 GB on 2 cores
shared with other jobs; the demo case alone peaked at 1.7 GB).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import torch

from eventsnn.bench.core import BenchReport, benchmark, cuda_peak, time_interleaved
from eventsnn.config import PlasticityConfig
from eventsnn.engine.compilation import maybe_compile
from eventsnn.engine.precision import make_grad_scaler
from eventsnn.engine.step import TrainStep
from eventsnn.models import create_model
from eventsnn.plasticity import build_plasticity

NAME = "train-step"
HELP = "training step per precision x compile x plasticity mode (images/s, memory, ratios)"
MODES = ("off", "ssdp", "da_ssdp", "da_ssdp_positions", "da_ssdp_released")
VARIANTS = {  # contender -> PlasticityConfig keys (docs/dassdp.md); the variants run at fp32 eager
    "off": {"mode": "off"},
    "ssdp": {"mode": "ssdp"},
    "da_ssdp": {"mode": "da_ssdp"},
    "da_ssdp_positions": {"mode": "da_ssdp", "spatial": "positions"},
    "da_ssdp_released": {"mode": "da_ssdp", "reference": "released"},
}

DEMO = dict(  # the demo model (configs/demo/demo.yaml): 2 polarity channels, 16x16, T 4
    layers=[["DSSA", "GWFFN"], ["DSSA", "GWFFN"]],
    planes=[32, 64],
    num_heads=[1, 2],
    patch_sizes=[4, 2],
    group_size=32,
    in_channels=2,
    img_size=16,
    T=4,
    num_classes=10,
)


def _cases(quick: bool, cuda: bool) -> list[tuple[str, str, dict, tuple[int, ...], int]]:
    """(label, variant, overrides, input shape per sample, batch)."""
    cases = [
        ("demo", "spikingresformer_cifar", DEMO, (4, 2, 16, 16), 8 if quick and not cuda else 32),
        (
            "spikingresformer_cifar",
            "spikingresformer_cifar",
            {"num_classes": 10, "T": 4},
            (3, 32, 32),
            8 if quick else 32,
        ),
    ]
    if quick and not cuda:  # 2 busy cores: the demo model only (under 5 minutes and 4 GB)
        return cases[:1]
    if cuda:
        cases.append(
            ("spikingresformer_s", "spikingresformer_s", {"num_classes": 1000, "T": 4}, (3, 224, 224), 32)
        )
    return cases


def contenders(quick: bool, device: torch.device) -> list[tuple[str, bool, str]]:
    """(precision, compiled, plasticity mode) of every contender on `device`."""
    with_compile = not quick or os.environ.get("EVENTSNN_BENCH_COMPILE") == "1"
    cpu = device.type == "cpu"
    out = [("fp32", False, mode) for mode in MODES]
    for precision in ("bf16",) if cpu else ("bf16", "fp16"):  # fp16 on a CPU is emulated: no row
        out += [(precision, False, mode) for mode in ("off", "da_ssdp")]
    if with_compile:
        precisions = ("fp32", "bf16") if device.type == "cpu" else ("fp32", "bf16", "fp16")
        out += [(p, True, mode) for p in precisions for mode in ("off", "da_ssdp")]
    return out


def label(precision: str, compiled: bool, mode: str) -> str:
    return f"precision={precision} compile={int(compiled)} plasticity={mode}"


def make_step(
    base: torch.nn.Module, precision: str, compiled: bool, mode: str, x: torch.Tensor, y: torch.Tensor
) -> Callable[[], Any]:
    """The engine's training step (`TrainStep`: autocast, GradScaler, compile, DA-SSDP, host syncs)
    on a copy of `base` with batch `x` [B, ...], `y` [B]; one untimed step has run (it compiles)."""
    model = copy.deepcopy(base)
    plasticity = build_plasticity(
        model, PlasticityConfig(**VARIANTS[mode], warmup=1, warmup_unit="steps"), steps_per_epoch=10
    )
    how = "require" if compiled else False
    step = TrainStep(
        net=maybe_compile(model, how, plasticity.layers),
        model=model,
        optimizer=torch.optim.AdamW(model.parameters(), lr=1e-4),
        plasticity=plasticity,
        device=x.device,
        precision=precision,
        scaler=make_grad_scaler(x.device, precision),
        compile_mode=how,
    )
    step.net.train()
    step(x, y)  # warm-up step (compiles); the gate is fitted at the next apply()
    return lambda: step(x, y)


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    repeat = 3 if quick else 7
    for case_label, name, overrides, shape, batch in _cases(quick, device.type == "cuda"):
        torch.manual_seed(0)
        base = create_model(name, **overrides).to(device)
        x = (
            (torch.rand(batch, *shape, device=device) < 0.3).float()
            if len(shape) == 4
            else torch.rand(batch, *shape, device=device)
        )
        y = torch.randint(0, overrides["num_classes"], (batch,), device=device)
        case = f"{case_label} B={batch} {device.type}"
        steps = {label(*c): make_step(base, *c, x, y) for c in contenders(quick, device)}
        times = time_interleaved(steps, repeat=repeat, warmup=1, sync=sync)
        for key, fn in steps.items():
            peak = cuda_peak(fn) if device.type == "cuda" else None
            row = report.add(case, key, times[key], peak_mem_bytes=peak)
            row["images_per_s"] = batch / row["median_s"]
        _ratios(report, case, [c for c in contenders(quick, device)])
    report.notes.append(
        "CPU rows have no peak memory (CUDA only); ratios are median(fp32 eager) / median(row)"
    )
    return report


def _ratios(report: BenchReport, case: str, cs: list[tuple[str, bool, str]]) -> None:
    """Speed-up vs fp32 eager (same plasticity mode); DA-SSDP overhead in each setting."""
    for precision, compiled, mode in cs:
        if (precision, compiled) != ("fp32", False):
            key = f"{case}: {precision} compile={int(compiled)} {mode} speed-up vs fp32 eager"
            report.ratio(key, case, label("fp32", False, mode), label(precision, compiled, mode))
        if mode != "off":
            key = f"{case}: {precision} compile={int(compiled)} {mode}/off"
            r = report.ratio(key, case, label(precision, compiled, mode), label(precision, compiled, "off"))
            report.notes.append(
                f"{case}: {mode} adds {100 * (r - 1):+.1f}% at {precision} compile={int(compiled)}"
            )
