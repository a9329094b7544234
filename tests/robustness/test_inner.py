"""Sweeps inside the network and at the input run one loop (`robustness.sweep.sweep_points`) and
one summary (`summarize`): the same point fields, the clean point evaluated once per model, and
mean / std over seeds per layer as a slow loop over the points computes them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional, neuron
from torch import nn
from torch.utils.data import DataLoader

from eventsnn.config.schema import PerturbationSweep
from eventsnn.robustness import PerturbedDataset, run_sweep, summarize
from eventsnn.robustness.inner import run_layer_sweep

from .test_sweep import CountingEvaluate, source

SWEEP = PerturbationSweep("spike_deletion", (0.0, 0.5), "spike")


class TwoLayerSNN(nn.Module):
    """[B, T, 2, 16, 16] -> Linear -> LIF -> Linear -> LIF -> Linear -> logits [T, B, 2]."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.fc1, self.fc2, self.fc3 = nn.Linear(512, 16), nn.Linear(16, 16), nn.Linear(16, 2)
        self.lif1, self.lif2 = (neuron.LIFNode(tau=2.0, step_mode="m") for _ in range(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        functional.reset_net(self)
        s = self.lif1(self.fc1(x.transpose(0, 1).flatten(2)))  # [T, B, 16]
        return self.fc3(self.lif2(self.fc2(s) * 4.0))


def _no_time(point):
    return {k: v for k, v in point.items() if k != "seconds"}


def test_layer_and_input_sweeps_share_the_loop_and_the_summary():
    models = {"a": TwoLayerSNN(0).eval(), "b": TwoLayerSNN(1).eval()}
    evaluate = CountingEvaluate()

    def loader():
        return DataLoader(PerturbedDataset(source(), range(12), None, 0.0, 0), batch_size=5)

    layers = ["lif1", "lif2"]
    points = run_layer_sweep(models, layers, [SWEEP], loader, evaluate, seeds=(0, 1, 2))
    assert evaluate.calls == len(models) * (1 + len(layers) * 3)  # severity 0 once per model
    assert len(points) == len(models) * len(layers) * 2 * 3
    clean = {m: [p["top1"] for p in points if p["checkpoint"] == m and p["severity"] == 0] for m in models}
    assert all(len(set(v)) == 1 for v in clean.values())
    inputs = run_sweep(models, source(), [SWEEP], CountingEvaluate(), seeds=(0, 1, 2), batch_size=5).points
    assert {k for p in points for k in p} == {k for p in inputs for k in p} | {"layer"}
    assert [p["level"] for p in points] == ["spike"] * len(points)

    first = run_layer_sweep(models, None, [SWEEP], loader, CountingEvaluate(), seeds=(0, 1, 2))  # None: lif1
    assert [_no_time(p) for p in first] == [_no_time(p) for p in points if p["layer"] == "lif1"]

    rows = summarize(points)
    assert len(rows) == len(models) * len(layers) * 2
    for row in rows:
        mine = []
        for p in points:  # the slow way: every point of this (checkpoint, layer, severity)
            if (p["checkpoint"], p["layer"], p["severity"]) == (
                row["checkpoint"],
                row["layer"],
                row["severity"],
            ):
                mine.append(p["top1"])
        assert row["n_seeds"] == 3 == len(mine)
        assert row["top1_mean"] == pytest.approx(sum(mine) / 3)
        assert row["top1_std"] == pytest.approx(np.sqrt(sum((v - sum(mine) / 3) ** 2 for v in mine) / 3))
        assert row["loss_mean"] > 0
    assert list(rows[0]) == ["checkpoint", "layer", "perturbation", "level", "severity", "n_seeds",
                             "top1_mean", "top1_std", "loss_mean", "loss_std"]  # fmt: skip
