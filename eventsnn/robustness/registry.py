"""Named perturbations for severity sweeps: event-level (raw recordings) and spike-level (frames).

Every name is the name of the function it runs, and every function is called the same way,
`fn(data, severity, *, generator=None, seed=None, **context)`. Each declares its level, unit and
severity bounds at its definition (`@perturbation(...)`, `eventsnn.utils.registry`): a new one is
one decorated function, and this module only lists, looks up and validates them.
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
from collections.abc import Iterable
from typing import Any

from eventsnn.errors import ConfigError
from eventsnn.events import transforms as _event_level  # noqa: F401  (defines and registers them)
from eventsnn.spikes import perturb as _spike_level  # noqa: F401  (defines and registers them)
from eventsnn.utils.registry import PERTURBATIONS, Level, Perturbation

__all__ = ["PERTURBATIONS", "Perturbation", "get_perturbation", "list_perturbations", "validate_sweeps"]


def list_perturbations(level: Level | None = None) -> list[str]:
    """Registered names, optionally of one level."""
    return [n for n, p in PERTURBATIONS.items() if level is None or p.level == level]


def get_perturbation(
    name: str, level: str | None = None, *, where: str = "robustness.sweeps"
) -> Perturbation:
    """Look up `name`; ConfigError with the closest valid name, or when the level does not match."""
    if name not in PERTURBATIONS:
        close = difflib.get_close_matches(name, PERTURBATIONS.names(), n=1, cutoff=0.0)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{where}: unknown perturbation {name!r}{hint} (valid: {', '.join(list_perturbations())})"
        )
    p = PERTURBATIONS[name]
    if level is not None and level != p.level:
        raise ConfigError(f"{where}: {name!r} is a {p.level}-level perturbation; set level: {p.level}")
    return p


def validate_sweeps(sweeps: Iterable[Any]) -> list[Perturbation]:
    """Check every `PerturbationSweep` (name, level, severities within the perturbation's declared
    bounds) before any work starts."""
    out = []
    for i, sweep in enumerate(sweeps):
        where = f"robustness.sweeps[{i}]"
        p = get_perturbation(sweep.name, sweep.level, where=where)
        if not sweep.severities:
            raise ConfigError(f"{where}: {sweep.name!r} has no severities")
        problems = [p.severity_problem(s) for s in sweep.severities]
        if any(problems):
            raise ConfigError(f"{where}: {next(m for m in problems if m)}")
        out.append(p)
    names = [s.name for s in sweeps]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"robustness.sweeps: perturbation listed twice: {', '.join(dup)}")
    return out
