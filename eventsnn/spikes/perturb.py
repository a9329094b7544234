"""Spike-level perturbations for robustness evaluation (seeded, composable, never in place).

Inputs are spike tensors with a time axis (`time_dim`, default 0): binary trains
`[T, B, C, ...]` from a model or encoder, or framed DVS event counts `[T, P, H, W]` /
`[T, B, P, H, W]` (non-negative integers, `counts=True`). Each function returns a new tensor
of the input's dtype and device; numpy input gives numpy output.

Every perturbation is called `fn(x, severity, *, generator=None, seed=None, **context)` (the
convention of `eventsnn.events.transforms` too; context here: `counts`, `time_dim`) and is
registered for sweeps under its function name.

- spike jitter (std sigma in time steps): every spike (for counts: every unit of a count)
  moves independently from t to clamp(t + round(N(0, sigma^2)), 0, T - 1). Counts are
  conserved exactly; for binary trains two spikes landing in the same bin merge into one
  (the output stays binary), so the spike count is kept only when no collisions occur.
- deletion with probability p: every spike (every unit of a count) is removed independently
  with probability p, i.e. binomial thinning n -> Binomial(n, 1 - p).
- insertion with probability p: every (time, neuron) cell draws e ~ Bernoulli(p);
  binary: out = max(x, e) (a spike is added only where there is none, so the fraction of
  empty cells that gain a spike is p); counts: out = x + e.
std = 0 or p = 0 returns an unchanged copy. Randomness comes from `generator` (a
`torch.Generator` on the input's device) or `seed`; neither -> torch's global generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from eventsnn.errors import ArgumentError
from eventsnn.spikes.encode import resolve_generator
from eventsnn.spikes.stats import SpikeInputError
from eventsnn.utils.registry import PERTURBATIONS, perturbation

Perturbation = Callable[..., torch.Tensor]


def _to_torch(x) -> tuple[torch.Tensor, bool]:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x), True
    if isinstance(x, torch.Tensor):
        return x, False
    raise SpikeInputError(f"spikes must be a torch tensor or numpy array, got {type(x).__name__}")


def _back(y: torch.Tensor, was_numpy: bool):
    return y.numpy() if was_numpy else y


def _check_values(x: torch.Tensor, counts: bool, time_dim: int) -> int:
    """Validate; return the time dim as a non-negative index."""
    if x.dim() < 1:
        raise SpikeInputError("spikes need a time axis; got a scalar")
    if not -x.dim() <= time_dim < x.dim():
        raise SpikeInputError(f"time_dim {time_dim} out of range for shape {tuple(x.shape)}")
    if x.dtype == torch.bool:
        return time_dim % x.dim()
    if x.is_floating_point() and bool(torch.isnan(x).any()):
        raise SpikeInputError("spikes contain NaN")
    if counts:
        if bool((x < 0).any()) or (x.is_floating_point() and bool((x != torch.round(x)).any())):
            raise SpikeInputError("counts must be non-negative integers")
    elif bool(((x != 0) & (x != 1)).any()):
        raise SpikeInputError("spikes must be 0 or 1 (binary); pass counts=True for event counts")
    return time_dim % x.dim()


def spike_perturbation(
    *, unit: str, high: float | None = None
) -> Callable[[Callable[..., torch.Tensor]], Perturbation]:
    """Declare `core(x, severity, *, counts, dim, generator) -> tensor` a spike-level perturbation
    (registered under the core's name, severity in `unit` within [0, high]) and return its public
    form, the same for every one:

        fn(x, severity, *, counts=False, time_dim=0, generator=None, seed=None)

    which checks the severity against the declared bounds (`ArgumentError`) and x (`_check_values`),
    returns an unchanged copy at the lowest severity (0) or for an empty x, and otherwise calls `core` with a
    torch `x`, the non-negative time dim and the generator of `generator` / `seed`; numpy in gives
    numpy out."""

    def declare(core: Callable[..., torch.Tensor]) -> Perturbation:
        def fn(x, severity: float, *, counts: bool = False, time_dim: int = 0,
               generator: torch.Generator | None = None, seed: int | None = None):  # fmt: skip
            declared = PERTURBATIONS[core.__name__]
            problem = declared.severity_problem(severity)
            if problem is not None:
                raise ArgumentError(problem)
            xt, was_numpy = _to_torch(x)
            dim = _check_values(xt, counts, time_dim)
            if severity == declared.low or xt.numel() == 0:
                return _back(xt.clone(), was_numpy)
            gen = resolve_generator(xt, generator, seed)
            return _back(core(xt, severity, counts=counts, dim=dim, generator=gen), was_numpy)

        fn.__name__, fn.__qualname__, fn.__doc__ = core.__name__, core.__qualname__, core.__doc__
        return perturbation("spike", unit=unit, high=high)(fn)

    return declare


@spike_perturbation(unit="std (time steps)")
def spike_jitter(x: torch.Tensor, std: float, *, counts: bool, dim: int, generator) -> torch.Tensor:
    """Move every spike (or unit count) by round(N(0, std^2)) steps, clamped to [0, T-1]; the severity
    is std (time steps)."""
    moved = x.movedim(dim, 0)
    T = moved.shape[0]
    flat = moved.reshape(T, -1)  # [T, N]
    n = flat.to(torch.int64).flatten()  # units per (t, neuron) cell
    cells = torch.nonzero(n, as_tuple=True)[0]
    reps = n[cells]
    units = torch.repeat_interleave(cells, reps)  # one entry per spike / unit count
    t = units // flat.shape[1]
    neuron = units % flat.shape[1]
    offset = torch.round(torch.randn(units.shape, generator=generator, device=x.device) * std).to(torch.int64)
    t_new = (t + offset).clamp_(0, T - 1)
    out = torch.zeros(flat.numel(), dtype=torch.int64, device=x.device)
    out.index_add_(0, t_new * flat.shape[1] + neuron, torch.ones_like(t_new))
    if not counts:
        out.clamp_(max=1)
    return out.view(flat.shape).to(x.dtype).reshape(moved.shape).movedim(0, dim).contiguous()


@spike_perturbation(unit="deletion probability", high=1.0)
def spike_deletion(x: torch.Tensor, p: float, *, counts: bool, dim: int, generator) -> torch.Tensor:
    """Remove every spike (unit count) independently with probability p (the severity):
    n -> Binomial(n, 1 - p)."""
    n = x.to(torch.float32 if x.dtype != torch.float64 else torch.float64)
    return torch.binomial(n, torch.full_like(n, 1.0 - p), generator=generator).to(x.dtype)


@spike_perturbation(unit="insertion probability", high=1.0)
def spike_insertion(x: torch.Tensor, p: float, *, counts: bool, dim: int, generator) -> torch.Tensor:
    """Add e ~ Bernoulli(p) per (time, neuron) cell, p the severity: binary max(x, e), counts x + e."""
    e = torch.rand(x.shape, generator=generator, device=x.device) < p
    if x.dtype == torch.bool:
        return x | e
    if counts:
        return x + e.to(x.dtype)
    return torch.maximum(x, e.to(x.dtype))


@dataclass(frozen=True)
class _SpikeTransform:
    """Transform form of a spike perturbation `fn`: `__call__(x, generator=None)`."""

    severity: float
    counts: bool = False
    time_dim: int = 0
    fn: ClassVar[Perturbation]

    def __call__(self, x, generator: torch.Generator | None = None):
        fn = type(self).fn
        return fn(x, self.severity, counts=self.counts, time_dim=self.time_dim, generator=generator)


class SpikeJitter(_SpikeTransform):
    """Transform form of `spike_jitter` (severity: the std in time steps)."""

    fn = staticmethod(spike_jitter)


class SpikeDeletion(_SpikeTransform):
    """Transform form of `spike_deletion` (severity: p)."""

    fn = staticmethod(spike_deletion)


class SpikeInsertion(_SpikeTransform):
    """Transform form of `spike_insertion` (severity: p)."""

    fn = staticmethod(spike_insertion)


SPIKE_PERTURBATIONS: dict[str, Perturbation] = {
    name: p.fn for name, p in PERTURBATIONS.items() if p.level == "spike"
}


@dataclass(frozen=True)
class ComposeSpikes:
    """Apply perturbations in order, sharing one generator (or one seeded from `seed`)."""

    transforms: Sequence[Perturbation]
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "transforms", tuple(self.transforms))  # hashable

    def __call__(self, x, generator: torch.Generator | None = None):
        if generator is None and self.seed is not None:
            device = x.device if isinstance(x, torch.Tensor) else "cpu"
            generator = torch.Generator(device=device).manual_seed(self.seed)
        for t in self.transforms:
            x = t(x, generator)
        return x
