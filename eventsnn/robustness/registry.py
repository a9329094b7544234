"""Named perturbations for severity sweeps: event-level (raw recordings) and spike-level (frames).

Event level (before framing, `eventsnn.events.transforms`), severity meaning:
    time_jitter     std in microseconds          spatial_jitter  std in pixels
    uniform_noise   added events / event count   drop_event      drop probability
    hot_pixels      fraction of sensor pixels (1 kHz, both polarities)
Spike level (on the framed counts `[T, P, H, W]`, `eventsnn.spikes`, counts=True):
    spike_jitter    std in time steps            spike_deletion  deletion probability
    spike_insertion insertion probability per (t, p, y, x) cell
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from eventsnn.errors import ConfigError

Level = Literal["event", "spike"]


@dataclass(frozen=True)
class Perturbation:
    """A registered perturbation: `fn(data, severity, rng)` at `level`.

    Event level: `fn(events, sensor_size, severity, numpy Generator) -> events`.
    Spike level: `fn(frames [T, P, H, W], severity, torch Generator, counts=True) -> frames`
    (counts=False for binary spike trains).
    """

    name: str
    level: Level
    fn: Callable[..., Any]
    unit: str


def _spike(kind: str) -> Callable[..., Any]:
    def apply(frames, severity: float, generator, counts: bool = True):
        from eventsnn import spikes

        fn = {
            "jitter": spikes.temporal_jitter,
            "deletion": spikes.spike_deletion,
            "insertion": spikes.spike_insertion,
        }[kind]
        return fn(frames, severity, counts=counts, time_dim=0, generator=generator)

    apply.__name__ = f"spike_{kind}"
    return apply


def _event(name: str) -> Callable[..., Any]:
    def apply(events, sensor_size, severity: float, rng):
        from eventsnn.events.transforms import EVENT_PERTURBATIONS

        return EVENT_PERTURBATIONS[name](events, sensor_size, severity, rng)

    apply.__name__ = name
    return apply


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation("time_jitter", "event", _event("time_jitter"), "std (us)"),
        Perturbation("spatial_jitter", "event", _event("spatial_jitter"), "std (pixels)"),
        Perturbation("uniform_noise", "event", _event("uniform_noise"), "noise events / events"),
        Perturbation("drop_event", "event", _event("drop_event"), "drop probability"),
        Perturbation("hot_pixels", "event", _event("hot_pixels"), "fraction of pixels"),
        Perturbation("spike_jitter", "spike", _spike("jitter"), "std (time steps)"),
        Perturbation("spike_deletion", "spike", _spike("deletion"), "deletion probability"),
        Perturbation("spike_insertion", "spike", _spike("insertion"), "insertion probability"),
    )
}


def list_perturbations(level: Level | None = None) -> list[str]:
    """Registered names, optionally of one level."""
    return sorted(n for n, p in PERTURBATIONS.items() if level is None or p.level == level)


def get_perturbation(
    name: str, level: str | None = None, *, where: str = "robustness.sweeps"
) -> Perturbation:
    """Look up `name`; ConfigError with the closest valid name, or when the level does not match."""
    if name not in PERTURBATIONS:
        close = difflib.get_close_matches(name, list(PERTURBATIONS), n=1, cutoff=0.0)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{where}: unknown perturbation {name!r}{hint} (valid: {', '.join(list_perturbations())})"
        )
    p = PERTURBATIONS[name]
    if level is not None and level != p.level:
        raise ConfigError(f"{where}: {name!r} is a {p.level}-level perturbation; set level: {p.level}")
    return p


def validate_sweeps(sweeps: Iterable[Any]) -> list[Perturbation]:
    """Check every `PerturbationSweep` (name, level, severities >= 0) before any work starts."""
    out = []
    for i, sweep in enumerate(sweeps):
        where = f"robustness.sweeps[{i}]"
        p = get_perturbation(sweep.name, sweep.level, where=where)
        if not sweep.severities:
            raise ConfigError(f"{where}: {sweep.name!r} has no severities")
        bad = [s for s in sweep.severities if not s >= 0]
        if bad:
            raise ConfigError(f"{where}: severities must be >= 0, got {bad}")
        if sweep.name in ("drop_event", "hot_pixels", "spike_deletion", "spike_insertion"):
            if max(sweep.severities) > 1:
                raise ConfigError(f"{where}: {sweep.name!r} severities are probabilities / fractions <= 1")
        out.append(p)
    names = [s.name for s in sweeps]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"robustness.sweeps: perturbation listed twice: {', '.join(dup)}")
    return out
