"""Named perturbations for severity sweeps: event-level (raw recordings) and spike-level (frames).

Every name is the name of the function it runs, and every function is called the same way,
`fn(data, severity, *, generator=None, seed=None, **context)`.
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
    """A registered perturbation: `fn(data, severity, *, generator, **context)` at `level`.

    Event level: `fn(events, severity, *, sensor_size, generator=numpy Generator) -> events`.
    Spike level: `fn(frames [T, P, H, W], severity, *, counts=True, generator=torch Generator)
    -> frames` (counts=False for binary spike trains). `name` is the function's name.
    """

    name: str
    level: Level
    fn: Callable[..., Any]
    unit: str


def _registry() -> dict[str, Perturbation]:
    from eventsnn.events.transforms import EVENT_PERTURBATIONS as EV
    from eventsnn.spikes.perturb import SPIKE_PERTURBATIONS as SP

    units = {
        "time_jitter": "std (us)",
        "spatial_jitter": "std (pixels)",
        "uniform_noise": "noise events / events",
        "drop_event": "drop probability",
        "hot_pixels": "fraction of pixels",
        "spike_jitter": "std (time steps)",
        "spike_deletion": "deletion probability",
        "spike_insertion": "insertion probability",
    }
    levels = [("event", EV), ("spike", SP)]
    return {
        name: Perturbation(name, level, fn, units[name]) for level, fns in levels for name, fn in fns.items()
    }


PERTURBATIONS: dict[str, Perturbation] = _registry()


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
