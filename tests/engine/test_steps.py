"""One training step's behaviour: mixup / cutmix soft targets and their loss, gradient clipping,
and Ctrl-C (a real SIGINT) stopping after the current step with a checkpoint."""

from __future__ import annotations

import math
import os
import signal

import numpy as np
import pytest
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.config import load_config
from eventsnn.engine import builders
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.train import StopRequested, Trainer
from eventsnn.models import per_sample_loss
from tests.factories import REPO

SMOKE = REPO / "configs" / "smoke" / "images.yaml"


def _smoothed(y: torch.Tensor, k: int, eps: float) -> torch.Tensor:
    """(1 - eps) one_hot(y) + eps / K, by hand."""
    out = torch.full((len(y), k), eps / k)
    out[torch.arange(len(y)), y] += 1 - eps
    return out


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_mixup_and_cutmix_soft_targets_and_their_loss(kind):
    cfg = load_config(SMOKE, [f"train.{kind}=1.0", "train.mixup_prob=1.0", "train.label_smoothing=0.1"])
    mix = builders.build_mixup(cfg, 10)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(8, 2, 1, 16, 16, generator=g) + 1.0  # [B, T, C, H, W], no pixel equal to another
    y = torch.arange(8) % 10
    np.random.seed(3)  # noqa: NPY002 (timm draws lambda from the global generator)
    xm, soft = mix(x.clone(), y.clone())
    partner = x.flip(0)  # timm's batch mode mixes sample b with sample B-1-b
    if kind == "mixup":
        lam = float(((xm - partner) / (x - partner))[0, 0, 0, 0, 0])
        torch.testing.assert_close(xm, lam * x + (1 - lam) * partner)
    else:  # a box pasted from the partner: lam = the fraction of pixels kept
        kept = torch.isclose(xm, x)
        assert bool((kept | torch.isclose(xm, partner)).all())
        assert torch.equal(kept, kept[:, :1, :1].expand_as(kept))  # one H x W box for every T and C
        lam = float(kept[0, 0, 0].double().mean())
    assert 0.0 < lam < 1.0
    expected = lam * _smoothed(y, 10, 0.1) + (1 - lam) * _smoothed(y.flip(0), 10, 0.1)
    torch.testing.assert_close(soft, expected)
    logits = torch.randn(8, 10, generator=g)
    by_hand = -(soft * torch.log_softmax(logits.double(), -1)).sum(-1)
    torch.testing.assert_close(per_sample_loss(logits, soft).double(), by_hand, rtol=1e-5, atol=1e-6)
    from timm.loss import SoftTargetCrossEntropy  # the peer library's loss, batch mean

    assert float(per_sample_loss(logits, soft).mean()) == pytest.approx(
        float(SoftTargetCrossEntropy()(logits, soft)), rel=1e-6
    )


def _trainer(tmp_path, *extra):
    cfg = load_config(
        SMOKE,
        [
            f"output.root={tmp_path}",
            "plasticity.mode=off",
            "optim.optimizer=momentum",
            "optim.momentum=0",
            "optim.weight_decay=0",
            "optim.scheduler=none",
            "optim.lr=0.5",
            "train.batch_size=16",
            *extra,
        ],
    )
    return Trainer(cfg, tmp_path / "run")


def _step_size(trainer) -> float:
    """||theta_after - theta_before|| over the trainable parameters after one training step."""
    x, y = next(iter(trainer.train_loader))
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.net.train()
    trainer._train_step(x, y)
    return math.sqrt(
        sum(float((p.detach() - b).double().square().sum()) for p, b in zip(trainer.model.parameters(), before))
    )


def test_grad_clip_bounds_the_step_to_lr_times_clip(tmp_path):
    """Plain SGD moves by lr * g; clipped to total norm c it moves by exactly lr * c."""
    clipped = _step_size(_trainer(tmp_path / "a", "optim.grad_clip=1e-4"))
    assert clipped == pytest.approx(0.5 * 1e-4, rel=1e-4)
    free = _step_size(_trainer(tmp_path / "b"))
    assert free > 100 * clipped  # without the clip the same step is far longer


def test_ctrl_c_stops_after_the_current_step_with_a_checkpoint(tmp_path):
    trainer = _trainer(tmp_path, "train.epochs=1", "train.precise_bn_batches=0")
    calls = []

    def interrupt(_module, _args, _out):
        if trainer.model.training:
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C during the second step

    handle = trainer.model.register_forward_hook(interrupt)
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(StopRequested, match="stopped at step 2"):
        trainer.fit()
    handle.remove()
    assert len(calls) == 2  # the step in flight finished, no third step began
    assert Checkpoint.load(tmp_path / "run" / LATEST).training.global_step == 2
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is restored
