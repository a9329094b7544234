"""A released DA-SSDP checkpoint loads: its `ssdp.*` / `ssdp_dssa.*` entries (the rule's A_plus,
A_baseline, sigma registered as parameters) are separated from the weights."""

from __future__ import annotations

import pytest
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.models import create_model
from eventsnn.models.released_keys import split_released_rule
from tests.engine import TINY


def released_layout(model: torch.nn.Module) -> dict:
    """What NeuroSyd/DA-SSDP's train.py saves under DDP: {'model': module.-prefixed weights plus the
    two AdaptiveSSDPModule's scalar parameters, 'optimizer': ..., 'epoch': ...}."""
    sd = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    for module, (a_plus, a_base, sigma) in {
        "ssdp": (1.5e-3, 5e-4, 1.0),
        "ssdp_dssa": (2e-3, 1e-4, 0.5),
    }.items():
        sd[f"module.{module}.A_plus"] = torch.tensor(a_plus)
        sd[f"module.{module}.A_baseline"] = torch.tensor(a_base)
        sd[f"module.{module}.sigma"] = torch.tensor(sigma)
    return {"model": sd, "optimizer": {}, "lr_scheduler": {}, "epoch": 99, "max_acc1": 80.0}


def test_released_dassdp_checkpoint_loads_and_its_rule_settings_are_read():
    torch.manual_seed(0)
    donor = create_model("spikingresformer_cifar", **TINY)
    with torch.no_grad():
        for p in donor.parameters():
            p.add_(0.5)
    ckpt = released_layout(donor)
    fresh = create_model("spikingresformer_cifar", **TINY)
    loaded = Checkpoint.from_dict(ckpt)
    assert loaded.load_weights(fresh) == []  # strict: every weight found, nothing left over
    for key, value in donor.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    weights, rules = split_released_rule({k.removeprefix("module."): v for k, v in ckpt["model"].items()})
    want = {
        "classifier": {"a_plus": 1.5e-3, "a_minus": 5e-4, "sigma": 1.0},
        "dssa": {"a_plus": 2e-3, "a_minus": 1e-4, "sigma": 0.5},
    }
    assert rules.keys() == want.keys()
    for name, params in want.items():  # float32 parameters read back as Python floats
        assert rules[name] == pytest.approx(params, rel=1e-6)
    assert set(weights) == set(donor.state_dict())
    assert loaded.released_rule == rules  # the Checkpoint keeps the rule's settings apart
