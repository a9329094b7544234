"""The evaluation sampler, SeededDataset and resolve_device, against hand values and properties."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from eventsnn.data.sampling import EvalSampler, SeededDataset
from eventsnn.engine.distributed import resolve_device
from eventsnn.errors import ConfigError


def test_eval_sampler_shards_by_hand():
    assert list(EvalSampler(10)) == list(range(10))
    shards = [list(EvalSampler(10, rank=r, world_size=3)) for r in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]  # disjoint, no padding
    assert [len(EvalSampler(10, rank=r, world_size=3)) for r in range(3)] == [4, 3, 3]
    assert list(EvalSampler(2, rank=3, world_size=4)) == []


class Draws:
    """An item = draws from the three global generators a third-party transform would use."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = torch.tensor([random.random(), float(np.random.rand()), float(torch.rand(1))])  # noqa: NPY002
        return x, i


def test_seeded_dataset_items_depend_only_on_seed_epoch_index():
    ds = SeededDataset(Draws(), seed=5)
    forward = [ds[i][0] for i in range(8)]
    torch.manual_seed(123)  # global state and access order do not matter
    random.seed(9)
    backward = [ds[i][0] for i in reversed(range(8))][::-1]
    assert all(torch.equal(a, b) for a, b in zip(forward, backward, strict=True))
    assert len({tuple(x.tolist()) for x in forward}) == 8  # every index draws differently
    ds.set_epoch(1)
    assert not torch.equal(ds[0][0], forward[0])
    other = SeededDataset(Draws(), seed=6)
    assert not torch.equal(other[0][0], forward[0])


def test_seeded_dataset_restores_global_generators_and_seeds_augment():
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())  # noqa: NPY002
    seen = []

    def augment(x, g):
        seen.append(float(torch.rand(1, generator=g)))
        return x + 1

    ds = SeededDataset(Draws(), seed=0, augment=augment)
    x, y = ds[3]
    assert y == 3 and torch.equal(x, SeededDataset(Draws(), seed=0)[3][0] + 1)
    ds[3]
    assert seen[0] == seen[1]  # the augmentation's generator is seeded per item too
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), before[2])


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    if torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cuda:0")
        assert resolve_device("cuda:0") == torch.device("cuda:0")
        assert resolve_device("cuda", local_rank=0) == torch.device("cuda:0")
    else:
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ConfigError, match="'cuda:1'"):
            resolve_device("cuda:1")
