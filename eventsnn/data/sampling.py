"""Deterministic sampling and augmentation, so a resumed run repeats an uninterrupted one.

Every random choice is a function of (seed, epoch, index): the epoch's sample order comes
from a generator seeded with (seed, epoch), and each sample's augmentation from one seeded
with (seed, epoch, index). Resuming in the middle of an epoch skips the samples already
seen; nothing depends on how many workers or restarts there were.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from eventsnn.utils.seeds import mix_seed

__all__ = ["EpochSampler", "EvalSampler", "SeededDataset", "mix_seed", "numpy_seeded"]


class EpochSampler(Sampler[int]):
    """Seeded per-epoch permutation, sharded over DDP ranks, able to start mid-epoch.

    Ranks take `perm[rank::world_size]` after padding the permutation to a multiple of the
    world size (as `DistributedSampler` does), so every rank runs the same number of steps.
    """

    def __init__(self, n: int, *, shuffle: bool, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.n, self.shuffle, self.seed = n, shuffle, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Use epoch `epoch`'s order and skip the first `start` samples of this rank."""
        self.epoch, self.start = epoch, start

    def _indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
            order = torch.randperm(self.n, generator=g).tolist()
        else:
            order = list(range(self.n))
        per_rank = math.ceil(self.n / self.world_size) if self.n else 0
        order += order[: per_rank * self.world_size - self.n]
        return order[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        per_rank = math.ceil(self.n / self.world_size) if self.n else 0
        return max(per_rank - self.start, 0)


class EvalSampler(Sampler[int]):
    """The evaluation sampler: rank r takes indices r, r + W, r + 2W, ... in order -- disjoint
    shards that cover every index exactly once (no padding), so sums over ranks equal a
    single-process evaluation. With one process: 0, 1, ..., n - 1."""

    def __init__(self, n: int, *, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, n, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class SeededDataset(Dataset):
    """Make a data set's randomness a function of (seed, epoch, index).

    Around each item the global `random`, NumPy and torch generators are seeded with
    `mix_seed(seed, epoch, index)` (and restored afterwards), so transforms that use them
    (timm RandAugment, torchvision) repeat exactly; `augment(x, generator)`, if given, gets
    its own generator with the same seed.
    """

    def __init__(
        self,
        base: Dataset,
        seed: int,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    ) -> None:
        self.base, self.augment, self.seed = base, augment, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        item_seed = mix_seed(self.seed, self.epoch, index)
        py_state, np_state = random.getstate(), np.random.get_state()  # noqa: NPY002 (third-party transforms use it)
        with torch.random.fork_rng(devices=[]):
            random.seed(item_seed)
            np.random.seed(item_seed % (2**32))  # noqa: NPY002
            torch.manual_seed(item_seed)
            try:
                x, y = self.base[index]
            finally:
                random.setstate(py_state)
                np.random.set_state(np_state)  # noqa: NPY002
        if self.augment is not None:
            x = self.augment(x, torch.Generator().manual_seed(item_seed))
        return x, y


@contextlib.contextmanager
def numpy_seeded(seed: int) -> Iterator[None]:
    """NumPy's global generator seeded with `seed` while the body runs, restored after (timm's
    Mixup draws from the global generator: a step's mix is then a function of its seed)."""
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(seed % (2**32))  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002
