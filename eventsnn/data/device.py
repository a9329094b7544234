"""Per-batch work on the device: integer count batches travel to the GPU, are derived and
augmented there.

    DataLoader (pinned memory, persistent workers, prefetch)  -> counts [B, T, P, H, W] uint8/16
        -> .to(device, non_blocking=True)                       (a quarter / half of float32's bytes)
        -> Derive (eventsnn.data.derive: float, sum channel, resize, dtype)  [B, T, C, H', W']
        -> DVS augmentation per sample (engine/augment.py), generator seeded with
           mix_seed(seed, epoch, index) exactly as `SeededDataset` seeds it per item

so the frames the model sees equal the per-item path's (the same functions in the same order;
bitwise on the CPU, within float rounding of the GPU's resize and rotation), and a resumed run
repeats an uninterrupted one. `IndexedCounts` serves `(counts, label, index)`: the index, not
the epoch, travels with the batch, so persistent workers need no epoch.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterator

import torch
from torch.utils.data import Dataset

from eventsnn.data.derive import Derive
from eventsnn.utils.seeds import mix_seed

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


class IndexedCounts(Dataset):
    """`(counts [T, P, H, W], label, index)` of a `CachedFramesDataset` (its `counts` mode)."""

    def __init__(self, base) -> None:
        self.base = copy.copy(base)  # the data bundle's own data set keeps serving model input
        self.base.counts = True

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        x, y = self.base[index]
        return x, y, index

    def set_epoch(self, epoch: int) -> None:  # the seed is made on the device side
        del epoch


def augment_batch(x: torch.Tensor, seeds: list[int], augment: Augment) -> torch.Tensor:
    """`augment(x[b], Generator(seeds[b]))` for every sample of `x` `[B, T, C, H, W]` (any device;
    the random draws come from CPU generators, as in the per-item path)."""
    return torch.stack([augment(x[b], torch.Generator().manual_seed(s)) for b, s in enumerate(seeds)])


class DeviceBatches:
    """Iterate `loader`'s `(counts, labels, indices)` as `(input on device, labels on device)`."""

    def __init__(
        self,
        loader,
        device: torch.device,
        derive: Derive,
        *,
        augment: Augment | None = None,
        seed: int = 0,
    ) -> None:
        self.loader, self.device, self.derive = loader, torch.device(device), derive
        self.augment, self.seed, self.epoch = augment, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for counts, y, index in self.loader:
            x = self.derive(counts.to(self.device, non_blocking=True))  # [B,T,C,H,W] float32
            if self.augment is not None:
                seeds = [mix_seed(self.seed, self.epoch, int(i)) for i in index]
                x = augment_batch(x, seeds, self.augment)
            yield x, y.to(self.device, non_blocking=True)


def derive_on_device(setting: str, device: torch.device, dataset) -> bool:
    """Whether counts are derived per batch on the device: `data.derive_on` ("auto": on CUDA) for a
    data set that can serve counts."""
    if not hasattr(dataset, "counts") or not hasattr(dataset, "derive"):
        return False
    if setting == "auto":
        return torch.device(device).type == "cuda"
    return setting == "device"


class WaitMeter:
    """Over the steps `[skip, skip + steps)` of a run: seconds waiting for the next batch vs seconds
    computing the step (CUDA synchronised at the measured steps only).

        share = sum(wait) / (sum(wait) + sum(compute))

    `iterate(batches)` times each `next()`; `step_done(device)` closes a step and returns the
    share once, when the window is full (None otherwise)."""

    def __init__(self, steps: int = 20, skip: int = 2) -> None:
        self.steps, self.skip = steps, skip
        self.seen, self.wait_s, self.compute_s = 0, 0.0, 0.0
        self._wait, self._got = 0.0, 0.0

    @property
    def active(self) -> bool:
        return self.seen < self.skip + self.steps

    def iterate(self, batches) -> Iterator:
        it = iter(batches)
        while True:
            t0 = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                return
            self._got = time.perf_counter()
            self._wait = self._got - t0
            yield batch

    def step_done(self, device: torch.device) -> float | None:
        if not self.active:
            return None
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
        if self.seen >= self.skip:  # the first steps start workers and warm caches
            self.wait_s += self._wait
            self.compute_s += time.perf_counter() - self._got
        self.seen += 1
        if self.active:
            return None
        return self.wait_s / max(self.wait_s + self.compute_s, 1e-12)


def input_bound_line(share: float, meter: WaitMeter, num_workers: int, on_device: bool) -> str:
    """The one line a run prints when data limits it, with the fix."""
    n = meter.steps
    fixes = [f"raise data.num_workers (now {num_workers}; {os.cpu_count()} cores here)"]
    if not on_device:
        fixes.append("derive on the GPU (data.derive_on=device)")
    fixes.append("compare codecs and worker counts with `eventsnn bench loader`")
    return (
        f"data: the run waited for data {share:.0%} of its time over steps {meter.skip + 1}-{meter.skip + n} "
        f"({meter.wait_s / n * 1e3:.1f} ms a step waiting, {meter.compute_s / n * 1e3:.1f} ms computing): "
        f"it is input-bound; {', or '.join(fixes)}"
    )
