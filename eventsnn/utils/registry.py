"""Things declared where they are defined: a name registry (timm's `@register_model` pattern) and
the perturbation record every sweep reads. At the bottom of the package (it imports nothing from
eventsnn): user-facing lookups with their `ConfigError`s live with the users (`eventsnn.robustness`).

A perturbation declares its level, the unit of its severity and the severity's bounds at its
definition, with `@perturbation(...)` (event level in `eventsnn.events.transforms`, spike level in
`eventsnn.spikes.perturb`); `eventsnn.robustness` lists and validates them from `PERTURBATIONS`.

    @perturbation("spike", unit="deletion probability", high=1.0)
    def spike_deletion(frames, p, *, counts=False, time_dim=0, generator=None, seed=None): ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
Level = Literal["event", "spike"]


class Registry(Generic[T]):
    """Named entries of one kind, each registered once (a second registration is a bug: KeyError)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise KeyError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = item
        return item

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class Perturbation:
    """A registered perturbation: `fn(data, severity, *, generator, **context)` at `level`.

    Event level: `fn(events, severity, *, sensor_size, generator=numpy Generator) -> events`.
    Spike level: `fn(frames [T, P, H, W], severity, *, counts=True, generator=torch Generator)
    -> frames` (counts=False for binary spike trains). `name` is the function's name; a severity
    lies in [low, high] (`high` None: unbounded) and severity `low` leaves the input unchanged.
    """

    name: str
    level: Level
    fn: Callable[..., Any]
    unit: str
    low: float = 0.0
    high: float | None = None

    def severity_problem(self, severity: float) -> str | None:
        """Why `severity` is out of [low, high], or None when it is within."""
        if severity >= self.low and (self.high is None or severity <= self.high):
            return None
        bound = f">= {self.low:g}" + (f" and <= {self.high:g}" if self.high is not None else "")
        return f"{self.name!r} severities ({self.unit}) must be {bound}, got {severity}"


PERTURBATIONS: Registry[Perturbation] = Registry("perturbation")


def perturbation(level: Level, *, unit: str, low: float = 0.0, high: float | None = None) -> Callable[[F], F]:
    """Declare the decorated function a perturbation of `level` whose severity is in `unit`,
    within [low, high]; the function itself is returned unchanged."""

    def register(fn: F) -> F:
        PERTURBATIONS.add(fn.__name__, Perturbation(fn.__name__, level, fn, unit, low, high))
        return fn

    return register
