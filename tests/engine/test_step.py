"""The engine's one training step (`engine.step.TrainStep`): a plain step by hand is its reference,
a non-finite loss stops it before any update, and `bench train-step` times this very step."""

from __future__ import annotations

import ast
import copy
import inspect
import math

import pytest
import torch
from torch import nn

import eventsnn.bench.train_step as bench_train_step
from eventsnn.config import PlasticityConfig
from eventsnn.engine.step import TrainStep
from eventsnn.errors import TrainingError
from eventsnn.models import create_model
from eventsnn.plasticity import build_plasticity
from tests.engine import TINY


def _batch(seed: int = 0, batch: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, 16, 16, generator=g), torch.randint(0, 10, (batch,), generator=g)


def _model() -> nn.Module:
    torch.manual_seed(0)
    return create_model("spikingresformer_cifar", **TINY).train()


def _engine_step(model: nn.Module, optimizer, **kw) -> TrainStep:
    off = build_plasticity(model, PlasticityConfig(mode="off"), steps_per_epoch=10)
    return TrainStep(model, model, optimizer, off, torch.device("cpu"), **kw)


def test_a_step_is_the_plain_step_by_hand():
    """Two steps with SGD + clip: weights and losses equal a hand-written loop (forward, CE on the
    time-averaged logits, backward, clip, step, zero_grad)."""
    model, ref = _model(), _model()
    step = _engine_step(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), grad_clip=0.5)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    for k in range(2):
        x, y = _batch(k)
        result = step(x, y)
        loss = nn.functional.cross_entropy(ref(x).mean(0), y)
        loss.backward()
        nn.utils.clip_grad_norm_(ref.parameters(), 0.5)
        opt.step()
        opt.zero_grad(set_to_none=True)
        assert result.stepped and result.loss == pytest.approx(float(loss.detach()), rel=1e-6)
        assert isinstance(result.loss, float)  # the host sync is part of the step
    for (name, a), b in zip(model.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    assert all(p.grad is None for p in model.parameters())


def test_a_non_finite_loss_stops_before_any_update():
    model = _model()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    step = _engine_step(model, torch.optim.SGD(model.parameters(), lr=0.1))
    x, y = _batch()
    with pytest.raises(TrainingError, match="loss is nan"):
        step(x * float("nan"), y)
    assert all(p.grad is None for p in model.parameters())  # no backward ran
    assert all(torch.equal(p, before[k]) for k, p in model.named_parameters())  # no update (BN stats aside)
    seen = []

    def stop(value):
        seen.append(value)
        raise TrainingError("the run's own line")

    step.on_nonfinite = stop
    with pytest.raises(TrainingError, match="the run's own line"):
        step(x * float("inf"), y)
    assert len(seen) == 1 and not math.isfinite(seen[0])


def test_bench_train_step_times_the_engine_step_not_a_copy():
    """The benchmark's step is a real AdamW step of the engine: its second step's loss equals the
    hand-written loop's, and its source builds a TrainStep and copies none of its parts."""
    torch.manual_seed(0)
    base = create_model("spikingresformer_cifar", **TINY)
    x, y = _batch(3)
    timed = bench_train_step.make_step(base, "fp32", False, "off", x, y)  # one warm-up step ran
    ref = copy.deepcopy(base).train()
    opt = torch.optim.AdamW(ref.parameters(), lr=1e-4)
    losses = []
    for _ in range(2):
        loss = nn.functional.cross_entropy(ref(x).mean(0), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    assert timed().loss == pytest.approx(losses[1], rel=1e-5)
    tree = ast.parse(inspect.getsource(bench_train_step))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert "TrainStep" in called and not called & {
        "backward",
        "optimizer_step",
        "autocast",
        "per_sample_loss",
    }
