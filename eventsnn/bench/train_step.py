"""`eventsnn bench train-step`: one training step with plasticity off / ssdp / da_ssdp.

The same model, batch and optimizer; only `plasticity.mode` changes. The DA-SSDP rule is
past its warm-up (gate fitted), so the timed steps include the full update. Target: DA-SSDP
adds at most 3% to the step time, and nothing at inference (no hooks outside training).
The three modes' steps are timed interleaved (off, ssdp, da_ssdp, off, ...), so a drift of
the machine during the run does not land on one of them.
"""

from __future__ import annotations

import copy

import torch

from eventsnn.bench.core import BenchReport, time_interleaved

NAME = "train-step"
HELP = "training step time and memory with plasticity off / ssdp / da_ssdp"
MODES = ("off", "ssdp", "da_ssdp")


def _cases(quick: bool) -> list[tuple[str, dict, tuple[int, ...], int]]:
    """(model name, overrides, input shape [B, C, H, W], batch)."""
    cases = [("spikingresformer_cifar", {"num_classes": 10, "T": 4}, (3, 32, 32), 8 if quick else 32)]
    if torch.cuda.is_available():
        cases.append(("spikingresformer_s", {"num_classes": 1000, "T": 4}, (3, 224, 224), 32))
    return cases


def _step_fn(model, optimizer, plasticity, x, y):
    from eventsnn.models import mean_logits

    def step() -> None:
        with plasticity.record():
            out = model(x)
            loss = torch.nn.functional.cross_entropy(mean_logits(out), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        plasticity.apply(loss=loss.detach(), per_sample_loss=None, epoch=0)

    return step


def _cuda_peak(step) -> int:
    """Peak CUDA memory of one more step."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated()


def run(quick: bool) -> BenchReport:
    from eventsnn.config import PlasticityConfig
    from eventsnn.models import create_model
    from eventsnn.plasticity import build_plasticity

    report = BenchReport(NAME)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    repeat = 3 if quick else 7
    for name, overrides, shape, batch in _cases(quick):
        torch.manual_seed(0)
        base = create_model(name, **overrides).to(device)
        x = torch.rand(batch, *shape, device=device)
        y = torch.randint(0, overrides["num_classes"], (batch,), device=device)
        case = f"{name} B={batch} {device.type}"
        steps, models = {}, {}
        for mode in MODES:
            model = copy.deepcopy(base)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            cfg = PlasticityConfig(mode=mode, warmup=1, warmup_unit="steps")
            plasticity = build_plasticity(model, cfg, steps_per_epoch=10)
            steps[mode] = _step_fn(model, optimizer, plasticity, x, y)
            steps[mode]()  # the warm-up step; the gate is fitted at the next apply()
            models[mode] = model
        times = time_interleaved(steps, repeat=repeat, warmup=1, sync=sync)
        for mode in MODES:
            peak = _cuda_peak(steps[mode]) if device.type == "cuda" else None
            hooks = sum(len(m._forward_hooks) for m in models[mode].modules())
            report.add(
                case, f"plasticity={mode}", times[mode], peak_mem_bytes=peak, hooks_outside_training=hooks
            )
        for mode in ("ssdp", "da_ssdp"):
            ratio = report.ratio(f"{case}: {mode}/off", case, f"plasticity={mode}", "plasticity=off")
            report.notes.append(f"{case}: {mode} adds {100 * (ratio - 1):+.1f}% to the step time")
    return report
