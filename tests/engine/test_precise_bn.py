"""Precise BN: recalibrated statistics equal the hand-computed batch averages."""

from __future__ import annotations

import torch

from eventsnn.engine.precise_bn import batchnorm_layers, recalibrate_batchnorm
from eventsnn.models import create_model

TINY = dict(planes=[16, 32, 32], num_heads=[1, 2, 2], group_size=16, img_size=16, T=2, num_classes=5)


def _bn_inputs(model: torch.nn.Module, batches: list[torch.Tensor]) -> dict[str, list[torch.Tensor]]:
    """Every BN layer's input for each batch, from a train-mode copy of the BN layers."""
    seen: dict[str, list[torch.Tensor]] = {}
    names = {m: n for n, m in model.named_modules()}
    hooks = [
        m.register_forward_pre_hook(lambda mod, args: seen.setdefault(names[mod], []).append(args[0].clone()))
        for m in batchnorm_layers(model)
    ]
    with torch.no_grad():
        for x in batches:
            model(x)
    for h in hooks:
        h.remove()
    return seen


def test_recalibrated_statistics_are_the_average_of_per_batch_statistics():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", **TINY).train()
    model(torch.rand(4, 3, 16, 16))  # one train step's worth of EMA drift in the buffers
    rates = {n: b.clone() for n, b in model.named_buffers() if "firing_rate" in n}
    model.eval()
    batches = [torch.rand(6, 3, 16, 16) for _ in range(3)]
    assert recalibrate_batchnorm(model, iter(batches), torch.device("cpu")) == 3
    assert not model.training and not any(m.training for m in model.modules())  # flags restored
    for n, b in model.named_buffers():
        if "firing_rate" in n:
            assert torch.equal(b, rates[n]), n  # DSSA rates are left alone

    recalibrated = {
        n: (m.running_mean.clone(), m.running_var.clone(), m.momentum)
        for n, m in model.named_modules()
        if m in batchnorm_layers(model)
    }
    # Reference: the inputs each BN saw, with the recalibrated model's BN in train mode
    # (the statistics of layer l depend only on the layers before it, not on its own buffers).
    for m in batchnorm_layers(model):
        m.train()
    inputs = _bn_inputs(model, batches)
    assert len(recalibrated) == len(inputs) > 10
    for name, (running_mean, running_var, momentum) in recalibrated.items():
        xs, dims = inputs[name], (0, 2, 3)
        mean = torch.stack([x.mean(dims) for x in xs]).mean(0)
        var = torch.stack([x.var(dims, unbiased=True) for x in xs]).mean(0)
        torch.testing.assert_close(running_mean, mean, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(running_var, var, rtol=1e-4, atol=1e-6)
        assert momentum == 0.1  # restored for training


def test_no_batches_leaves_the_model_unchanged():
    model = create_model("spikingresformer_cifar", **TINY).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert recalibrate_batchnorm(model, iter([]), torch.device("cpu")) == 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
