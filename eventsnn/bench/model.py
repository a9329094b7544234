"""`eventsnn bench model`: forward and forward+backward images/s of SpikingResformer.

CPU: a tiny model and `spikingresformer_cifar` at 32x32, T = 4, batch 32, for each neuron
implementation spikingjelly offers here (its multi-step Python loop; `torch.compile` of the
whole model where it works). GPU (when present): also `spikingresformer_s` at 224x224 and
`spikingresformer_l`.
"""

from __future__ import annotations

import torch

from eventsnn.bench.core import BenchReport, benchmark, time_call
from eventsnn.models import create_model, mean_logits

NAME = "model"
HELP = "SpikingResformer forward / forward+backward throughput (images/s)"

TINY = dict(
    layers=[["DSSA", "GWFFN"], ["DSSA", "GWFFN"]],
    planes=[32, 64],
    num_heads=[1, 2],
    patch_sizes=[4, 2],
    group_size=32,
)


def _cases(quick: bool, cuda: bool) -> list[tuple[str, str, dict, int, int]]:
    """(label, variant, overrides, image size, batch)."""
    batch = 8 if quick else 32
    cases = [
        ("tiny", "spikingresformer_cifar", {**TINY, "num_classes": 10, "T": 4}, 32, batch),
        ("spikingresformer_cifar", "spikingresformer_cifar", {"num_classes": 10, "T": 4}, 32, batch),
    ]
    if cuda:
        cases += [
            ("spikingresformer_s", "spikingresformer_s", {"num_classes": 1000, "T": 4}, 224, 32),
            ("spikingresformer_l", "spikingresformer_l", {"num_classes": 1000, "T": 4}, 224, 16),
        ]
    return cases


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    repeat = 3 if quick else 7
    for device in devices:
        sync = torch.cuda.synchronize if device.type == "cuda" else None
        for label, name, overrides, size, batch in _cases(quick, device.type == "cuda"):
            if device.type == "cpu" and size > 64:
                continue
            torch.manual_seed(0)
            model = create_model(name, img_size=size, **overrides).to(device)
            x = torch.rand(batch, 3, size, size, device=device)
            case = f"{label} {size}x{size} T=4 B={batch} {device.type}"

            def forward(model=model, x=x):
                with torch.no_grad():
                    model(x)

            def train_step(model=model, x=x):
                model.zero_grad(set_to_none=True)
                mean_logits(model(x)).logsumexp(-1).mean().backward()

            for label_fn, fn, mode in (("forward", forward, False), ("forward+backward", train_step, True)):
                model.train(mode)
                times = time_call(fn, repeat=repeat, warmup=1, sync=sync)
                row = report.add(case, f"{label_fn} (spikingjelly torch loop)", times)
                row["images_per_s"] = batch / row["median_s"]
    report.notes.append(
        "spikingjelly 2 runs its multi-step LIF as a Python loop over T on CPU (no cupy/triton kernel there)"
    )
    return report
