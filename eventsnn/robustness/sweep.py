"""Severity sweeps: accuracy of each checkpoint under each perturbation, severity and seed.

For checkpoint m, perturbation k, severity s and seed r, every test recording i is perturbed with
its own generator seeded from (r, k, i) (so the result does not depend on batching or workers,
and for a fixed (r, k) the same draws are scaled by s), framed on the fly and evaluated:

    point(m, k, s, r) = evaluate(model_m, loader over perturb_k(recording_i; s, rng(r, k, i)))

Event-level perturbations act on the raw events before framing; spike-level ones on the framed
counts `[T, P, H, W]` before post-processing. Severity 0 is the identity at both levels, so its
result is evaluated once per checkpoint and shared by every perturbation and seed. Nothing is
written to the clean frame cache. The evaluation function and the data source are injected.
`sweep_points` is the one sweep loop (also of the sweeps inside the network,
`eventsnn.robustness.inner`), `summarize` the one mean/std over seeds.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from eventsnn.errors import ArgumentError, ConfigError
from eventsnn.robustness.registry import Perturbation, validate_sweeps

EvaluateFn = Callable[[nn.Module, DataLoader], Mapping[str, Any]]


@dataclass(frozen=True)
class EventSource:
    """Raw test recordings and how to frame them.

    Attributes:
        recordings: indexable of `(events, label)` (structured t, x, y, p arrays).
        sensor_size: (W, H, P).
        frame: events -> counts `[T, P, H, W]` (e.g. `to_frames` with the run's FramingConfig).
        postprocess: counts -> model input `[T, C, H, W]` (e.g. `events.postprocess.from_config`).
    """

    recordings: Sequence[tuple[np.ndarray, int]]
    sensor_size: tuple[int, int, int]
    frame: Callable[[np.ndarray], Any]
    postprocess: Callable[[Any], Any]


@dataclass(frozen=True)
class FramedSource:
    """Already framed or encoded test inputs: indexable of `(x [T, C, ...], label)`.

    Only spike-level perturbations apply (there are no raw events); `counts=True` for event counts
    (integer-valued, e.g. an unresized frame cache), False for binary spike trains.
    """

    dataset: Sequence[tuple[Any, int]]
    counts: bool = True

    @property
    def recordings(self) -> Sequence[tuple[Any, int]]:
        return self.dataset


Source = EventSource | FramedSource


def item_seed(seed: int, name: str, index: int) -> np.random.SeedSequence:
    """Seed of recording `index` under perturbation `name` and sweep seed `seed`."""
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(index)])


def subset_indices(n: int, max_samples: int | None) -> np.ndarray:
    """All of 0..n-1, or `max_samples` evenly spaced indices (covers every class of a sorted split)."""
    if max_samples is None or max_samples >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(int(max_samples), 1)).round().astype(np.int64))


class PerturbedDataset(Dataset):
    """`(input [T, C, H, W], label)` of the source's recordings under one perturbation point."""

    def __init__(
        self,
        source: Source,
        indices: Sequence[int],
        perturbation: Perturbation | None,
        severity: float,
        seed: int,
    ) -> None:
        self.source, self.indices = source, [int(i) for i in indices]
        self.perturbation, self.severity, self.seed = perturbation, float(severity), int(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def _generator(self, name: str, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(int(item_seed(self.seed, name, index).generate_state(1)[0]))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        index = self.indices[i]
        events, label = self.source.recordings[index]
        p = self.perturbation
        active = p is not None and self.severity != 0
        if isinstance(self.source, FramedSource):
            x = torch.as_tensor(events)  # [T,C,...]
            if active:
                if p.level != "spike":
                    raise ConfigError(
                        f"{p.name}: event-level perturbations need raw recordings (an EventSource)"
                    )
                gen = self._generator(p.name, index)
                x = p.fn(x, self.severity, counts=self.source.counts, generator=gen)
            return x, int(label)
        if active and p.level == "event":
            rng = np.random.default_rng(item_seed(self.seed, p.name, index))
            events = p.fn(events, self.severity, sensor_size=self.source.sensor_size, generator=rng)
        frames = self.source.frame(events)  # [T,P,H,W]
        if active and p.level == "spike":
            frames = p.fn(frames, self.severity, counts=True, generator=self._generator(p.name, index))
        x = self.source.postprocess(frames)  # [T,C,H,W]
        return torch.as_tensor(x), int(label)


@dataclass
class SweepResult:
    """Every evaluated point (one dict per checkpoint x perturbation x severity x seed)."""

    points: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


METRICS = ("top1", "top5", "loss")


def _metrics(result: Mapping[str, Any] | Any) -> dict[str, Any]:
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    if "top1" not in d:
        raise ArgumentError(f"the evaluation function must return 'top1'; got keys {sorted(d)}")
    out: dict[str, Any] = {k: float(d[k]) for k in METRICS if k in d}
    if "n" in d:
        out["n"] = int(d["n"])
    if "per_class" in d:  # JSON only (not a CSV column)
        out["per_class"] = [float(v) for v in d["per_class"]]
    return out


PointFn = Callable[[nn.Module, Mapping[str, Any], Perturbation, float, int], Mapping[str, Any]]
IDENTITY = ("checkpoint", "layer", "perturbation", "level", "severity")  # what a point is of (seeds aside)


def sweep_points(
    models: Mapping[str, nn.Module],
    cases: Sequence[tuple[Mapping[str, Any], Perturbation, Sequence[float]]],
    evaluate_point: PointFn,
    *,
    seeds: Sequence[int],
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """The sweep loop of every sweep: each model x case x severity x seed, one dict per point.

    A case is `(keys, perturbation, severities)`, `keys` the point's other coordinates (e.g.
    `{"layer": name}` inside the network, `{}` at the input); `evaluate_point(model, keys,
    perturbation, severity, seed)` returns the evaluation's metrics ("top1" at least). Severity 0
    is the identity at every level and place, so it is evaluated once per model and shared.

    A point: `{"checkpoint", **keys, "perturbation", "level", "severity", "seed", "top1",
    "top5"?, "loss"?, "n"?, "per_class"?, "seconds"}` (`seconds`: the evaluation that gave it).
    """
    if not seeds:
        raise ArgumentError("a sweep needs at least one seed")
    points: list[dict[str, Any]] = []
    for label, model in models.items():
        clean: dict[str, Any] | None = None
        for keys, pert, severities in cases:
            for severity in severities:
                for seed in seeds:
                    if severity == 0 and clean is not None:
                        metrics = clean
                    else:
                        t0 = time.perf_counter()
                        metrics = _metrics(evaluate_point(model, keys, pert, float(severity), int(seed)))
                        metrics["seconds"] = time.perf_counter() - t0
                        if severity == 0:
                            clean = metrics
                    where = {"checkpoint": label, **keys, "perturbation": pert.name, "level": pert.level}
                    points.append({**where, "severity": float(severity), "seed": int(seed), **metrics})
                    if progress is not None:
                        progress(
                            f"{' '.join(str(v) for v in (label, *keys.values(), pert.name))} "
                            f"severity={severity:g} seed={seed}: top1 {metrics['top1']:.2f}%"
                        )
    return points


def run_sweep(
    models: Mapping[str, nn.Module],
    source: Source,
    sweeps: Sequence[Any],
    evaluate: EvaluateFn,
    *,
    seeds: Sequence[int] = (0,),
    batch_size: int = 64,
    max_samples: int | None = None,
    num_workers: int = 0,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Evaluate every model at every (perturbation, severity, seed) point of the input.

    Args:
        models: label -> model (already loaded and validated, in eval mode on its device).
        source: the raw test recordings (`EventSource`), or framed inputs (`FramedSource`, spike
            level only).
        sweeps: `PerturbationSweep`s (name, severities, level); validated first.
        evaluate: `(model, loader) -> {"top1": ..., ...}` (e.g. the engine's `evaluate_model`).
        seeds: sweep seeds; each point is repeated once per seed.
        max_samples: evaluate on this many evenly spaced test recordings (None: all).
    """
    perturbations = validate_sweeps(sweeps)
    if isinstance(source, FramedSource):
        event_level = [p.name for p in perturbations if p.level == "event"]
        if event_level:
            raise ConfigError(
                f"robustness.sweeps: {', '.join(event_level)} need raw recordings; this data source has "
                "framed inputs only (spike-level perturbations)"
            )
    indices = subset_indices(len(source.recordings), max_samples)

    def evaluate_point(model, _keys, pert, severity, seed):
        ds = PerturbedDataset(source, indices, pert, severity, seed)
        return evaluate(model, DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=num_workers))

    start = time.perf_counter()
    cases = [({}, pert, sweep.severities) for sweep, pert in zip(sweeps, perturbations)]
    points = sweep_points(models, cases, evaluate_point, seeds=seeds, progress=progress)
    return SweepResult(points, time.perf_counter() - start)


def summarize(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean and std (population, ddof=0) of each metric over the seeds of each point, grouped by
    the coordinates the points have of `IDENTITY` (checkpoint, layer inside the network,
    perturbation, level, severity), in first-seen order; `n_seeds` counts them."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for p in points:
        groups.setdefault(tuple((k, p[k]) for k in IDENTITY if k in p), []).append(p)
    rows = []
    for key, ps in groups.items():
        row: dict[str, Any] = {**dict(key), "n_seeds": len(ps)}
        for m in METRICS:
            vals = [float(p[m]) for p in ps if m in p]
            if vals:
                row[f"{m}_mean"] = float(np.mean(vals))
                row[f"{m}_std"] = float(np.std(vals))
        rows.append(row)
    return rows
