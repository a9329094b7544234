"""distributed.sync_bn: BatchNorm -> SyncBatchNorm with the same state, only when several GPU
processes train; several CPU processes are refused with one line (torch's SyncBatchNorm is GPU-only)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from eventsnn.engine.distributed import DistContext, sync_batchnorm
from eventsnn.errors import ConfigError
from eventsnn.models import create_model

TINY = dict(planes=[16, 32, 32], num_heads=[1, 2, 2], group_size=16, img_size=16, T=2, num_classes=5)


def _model():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", **TINY)
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 3, 16, 16))  # running statistics away from their initial values
    return model.eval()


def test_one_process_keeps_the_model():
    model = _model()
    assert sync_batchnorm(model, True, DistContext()) is model
    two_cpu = DistContext(rank=0, world_size=2, device=torch.device("cpu"))
    assert sync_batchnorm(model, False, two_cpu) is model


def test_several_cpu_processes_are_refused():
    two_cpu = DistContext(rank=0, world_size=2, device=torch.device("cpu"))
    with pytest.raises(ConfigError, match=r"^distributed\.sync_bn: torch's SyncBatchNorm runs on GPUs only"):
        sync_batchnorm(_model(), True, two_cpu)


def test_several_gpu_processes_convert_every_batchnorm_keeping_its_state():
    model = _model()
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    before = copy.deepcopy(model.state_dict())
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
    two_gpu = DistContext(rank=0, world_size=2, device=torch.device("cuda:0"))  # conversion needs no GPU
    synced = sync_batchnorm(model, True, two_gpu)
    assert n_bn > 5 and sum(isinstance(m, nn.SyncBatchNorm) for m in synced.modules()) == n_bn
    assert not any(type(m) is nn.BatchNorm2d for m in synced.modules())
    after = synced.state_dict()
    assert list(after) == list(before) and all(torch.equal(after[k], before[k]) for k in before)
    with torch.no_grad():  # evaluation uses the running statistics: the same outputs
        assert torch.equal(synced.eval()(x), expected)
