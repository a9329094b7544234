"""Evaluation: top-1 / top-5, per-class accuracy, per-layer firing rates, operations.

Predictions use the time-averaged logits (`[T, B, K]` -> mean over T), as the reference.
Under DDP each rank evaluates a disjoint shard and the counts are summed, so the numbers
equal a single-process evaluation over the whole test set. Operations (SOPs, MACs per step,
energy; `eventsnn.models.ops`) are counted in the same pass over the first `ops_batches`
batches (all by default).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader

from eventsnn.engine.precision import autocast as precision_autocast
from eventsnn.engine.precision import resolve_precision
from eventsnn.models.neurons import spiking_modules
from eventsnn.models.ops import OpsCounter, random_pass_sops, released_sops
from eventsnn.models.readout import mean_logits, per_sample_loss
from eventsnn.utils.distributed import all_reduce_sum


@dataclass
class EvalResult:
    """Accuracies in percent; per-class accuracy indexed by class id."""

    top1: float
    top5: float
    loss: float
    n: int
    per_class: list[float]
    firing_rates: dict[str, float] = field(default_factory=dict)
    operations: dict = field(default_factory=dict)  # OpsReport.to_dict(); empty when not counted

    def to_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def record_firing_rates(model: nn.Module, sums: dict[str, torch.Tensor]) -> Iterator[None]:
    """Accumulate `[spike count, element count]` per neuron module into `sums` while active."""
    handles = []
    for name, module in spiking_modules(model):

        def hook(_m, _inp, out, name=name):
            acc = sums.setdefault(name, torch.zeros(2, dtype=torch.float64))
            acc[0] += float((out > 0).sum())
            acc[1] += out.numel()

        handles.append(module.register_forward_hook(hook))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def released_convention(
    model: nn.Module, counter: OpsCounter, batch_size: int | None, image_shape: tuple[int, ...]
) -> dict[str, float]:
    """The SOPs the released `test()` would print for the counted batches (`models.ops.released_sops`)."""
    total, batches = counter.batch_totals()
    if not batches or not batch_size:
        return {}
    extra = random_pass_sops(model, image_shape)
    return {
        "sops": released_sops(total, batches, extra, batch_size),
        "batch_size": float(batch_size),
        "batches": float(batches),
        "released_sops_extra": extra,
    }


@torch.no_grad()
def evaluate_model(
    model: nn.Module,
    loader: DataLoader,
    device: torch.device,
    num_classes: int,
    *,
    firing_rates: bool = False,
    precision: str = "fp32",
    operations: bool = False,
    ops_batches: int | None = None,
) -> EvalResult:
    """Evaluate `model` on every batch of `loader` (sums are all-reduced under DDP).

    `operations`: also count SOPs / MACs per step / energy, averaged over the samples of the
    first `ops_batches` batches (None: every batch). `precision`: fp32 | bf16 | fp16 | auto
    (`train.precision`), autocast around the forward; the logits are cast to float32 before the
    loss and the top-k.
    """
    model.eval()
    correct1 = torch.zeros((), dtype=torch.float64)
    correct5 = torch.zeros((), dtype=torch.float64)
    loss_sum = torch.zeros((), dtype=torch.float64)
    count = torch.zeros((), dtype=torch.float64)
    class_hits = torch.zeros(num_classes, dtype=torch.float64)
    class_total = torch.zeros(num_classes, dtype=torch.float64)
    rate_sums: dict[str, torch.Tensor] = {}
    recorder = record_firing_rates(model, rate_sums) if firing_rates else contextlib.nullcontext()
    counter = OpsCounter(model, ops_batches) if operations else None
    autocast = precision_autocast(device, resolve_precision(precision, device))
    with recorder, counter.attached() if counter else contextlib.nullcontext():
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            image_shape = tuple(x.shape[2:] if x.dim() == 5 else x.shape[1:])  # [C, H, W]
            with autocast:
                logits = mean_logits(model(x)).float()  # [B, K]
            loss_sum += float(per_sample_loss(logits, y).sum())  # plain CE, no smoothing
            k = min(5, num_classes)
            topk = logits.topk(k, dim=-1).indices  # [B, k]
            hit1 = (topk[:, 0] == y).double().cpu()
            correct1 += hit1.sum()
            correct5 += (topk == y[:, None]).any(dim=-1).double().sum().cpu()
            count += len(y)
            y_cpu = y.cpu()
            class_total.index_add_(0, y_cpu, torch.ones_like(hit1))
            class_hits.index_add_(0, y_cpu, hit1)
    stats = torch.cat([torch.stack([correct1, correct5, loss_sum, count]), class_hits, class_total])
    stats = all_reduce_sum(stats)
    c1, c5, ls, n = stats[:4].tolist()
    hits, totals = stats[4 : 4 + num_classes], stats[4 + num_classes :]
    rates = {}
    for name in sorted(rate_sums):
        pair = all_reduce_sum(rate_sums[name])
        rates[name] = float(pair[0] / pair[1]) if pair[1] > 0 else 0.0
    per_class = (100.0 * hits / totals.clamp(min=1)).tolist()
    n = max(n, 1.0)
    ops = {}
    if counter:
        report = counter.report()
        report.released = released_convention(model, counter, loader.batch_size, image_shape)
        ops = report.to_dict()
    return EvalResult(100.0 * c1 / n, 100.0 * c5 / n, ls / n, int(n), per_class, rates, ops)
