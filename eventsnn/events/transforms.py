"""Event-level perturbations of raw recordings (before framing), seeded and always valid.

A recording is a structured array with fields t, x, y, p (any integer / bool / float dtypes,
e.g. CIFAR10-DVS from tonic: t uint64, x, y uint16, p bool); `sensor_size` = (W, H, P) as in
tonic. Every perturbation (here and in `eventsnn.spikes.perturb`) is called the same way,
`fn(data, severity, *, generator=None, seed=None, **context)`, and is registered for sweeps
under its function name (`eventsnn.robustness.PERTURBATIONS`); here the context is
`sensor_size` and `generator` a `numpy.random.Generator`. With [t0, t1] the recording's time span:

- time jitter (std in us):      t' = reflect(t + round(N(0, std^2)), t0, t1)
- spatial jitter (std in px):   x' = reflect(x + round(N(0, std^2)), 0, W-1), same for y
- uniform noise (fraction f):   add round(f * N) events with x ~ U{0..W-1}, y ~ U{0..H-1},
                                p ~ U{0..P-1} (both polarities) and t ~ U{t0..t1}
- event drop (probability q):   remove round(q * N) events chosen uniformly (as tonic DropEvent)
- hot pixels (fraction h):      round(h * W * H) pixels each fire every 1/rate s over [t0, t1]
                                (random phase), polarity alternating ON/OFF (or one polarity)

reflect(v, lo, hi) mirrors a value that leaves [lo, hi] back inside (no pile-up at the border).
Arithmetic is done in int64 / float64 and cast back, so unsigned fields never wrap around
(tonic's TimeJitter / SpatialJitter give t ~ 1.8e19 or x = 65535 there), noise has both
polarities (tonic's UniformNoise gives ON events only on a bool p) and nothing assumes t0 = 0
(tonic's DropEventByTime does). Every output is sorted by t (stable), has the input's dtype,
stays inside the sensor and [t0, t1], keeps every polarity the input had and never aliases the
input. Severity 0 returns an exact copy. For a fixed generator seed the effects are nested:
the same standard-normal draws are scaled by the severity, the drop / hot-pixel choices are
prefixes of one permutation. tonic's functional kernels draw from the global `np.random` state,
which is why these are written here on a `Generator` instead of wrapping tonic.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from eventsnn.errors import ArgumentError, DataError
from eventsnn.utils.registry import PERTURBATIONS, perturbation

FIELDS = ("t", "x", "y", "p")

# fn(events, severity, *, sensor_size, generator=None, seed=None) -> events
EventPerturbation = Callable[..., np.ndarray]
Sensor = tuple[int, ...]  # (W, H, P)
Rng = np.random.Generator


def resolve_rng(generator: np.random.Generator | None, seed: int | None) -> np.random.Generator:
    """`generator` if given, else a new NumPy generator seeded with `seed` (None: fresh entropy)."""
    return generator if generator is not None else np.random.default_rng(seed)


def check_recording(events: np.ndarray, sensor_size: tuple[int, ...]) -> None:
    """Raise DataError unless `events` is a structured array with fields t, x, y, p."""
    fields = getattr(getattr(events, "dtype", None), "fields", None)  # names and titles (tonic: p/'on')
    if fields is None or not set(FIELDS) <= set(fields):
        got = getattr(events, "dtype", type(events))
        raise DataError(f"events must be a structured array with fields {FIELDS}, got {got}")
    if len(sensor_size) != 3:
        raise ArgumentError(f"sensor_size must be (W, H, P), got {sensor_size!r}")


def _span(events: np.ndarray) -> tuple[int | float, int | float]:
    t = events["t"]
    return (t.min().item(), t.max().item()) if len(t) else (0, 0)


def _reflect(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Mirror values outside [lo, hi] back inside (periodic reflection; any distance)."""
    if hi <= lo:
        return np.full_like(v, lo)
    out = v.copy()
    bad = (v < lo) | (v > hi)  # usually few: reflect only those
    if bad.any():
        period = 2 * (hi - lo)
        r = np.mod(v[bad] - lo, period)
        out[bad] = lo + np.where(r > hi - lo, period - r, r)
    return out


def _sorted(events: np.ndarray) -> np.ndarray:
    """Stable sort by t. Integer t: an unstable (4x faster) sort of the unique key (t - t0) * N + i,
    which has exactly one sorted order, so the result is the stable one on every machine."""
    t, n = events["t"], len(events)
    if t.dtype.kind in "iu" and n:
        t0 = int(t.min())
        if (int(t.max()) - t0 + 1) * n < 2**62:
            return events[np.argsort((t.astype(np.int64) - t0) * n + np.arange(n))]
    return events[np.argsort(t, kind="stable")]


def _merge(events: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Sorted `events` plus `extra` (any order) -> one array sorted by t; events first at equal t.

    O(N + M log M) instead of re-sorting all N + M events."""
    extra = _sorted(extra)
    pos = np.searchsorted(events["t"], extra["t"], side="right") + np.arange(len(extra))
    out = np.empty(len(events) + len(extra), dtype=events.dtype)
    is_extra = np.zeros(len(out), dtype=bool)
    is_extra[pos] = True
    out[is_extra] = extra
    out[~is_extra] = events
    return out


def _wide(field: np.ndarray) -> np.ndarray:
    """int64 (or float64) view of a field for overflow-free arithmetic."""
    return field.astype(np.float64 if field.dtype.kind == "f" else np.int64)


def _round_like(v: np.ndarray, field: np.ndarray) -> np.ndarray:
    return v if field.dtype.kind == "f" else np.rint(v).astype(np.int64)


def event_perturbation(
    *, unit: str, high: float | None = None
) -> Callable[[Callable[..., np.ndarray]], EventPerturbation]:
    """Declare `core(events, severity, *, sensor_size, rng, **options) -> events` an event-level
    perturbation (registered under the core's name, severity in `unit` within [0, high]) and return
    its public form, the same for every one:

        fn(events, severity, *, sensor_size, generator=None, seed=None, **options)

    which checks the recording and `sensor_size` (`check_recording`) and the severity against the
    declared bounds (`ArgumentError`), returns an exact copy at the lowest severity (0) or for no events, and
    otherwise calls `core` with the NumPy generator of `generator` / `seed`."""

    def declare(core: Callable[..., np.ndarray]) -> EventPerturbation:
        def fn(events: np.ndarray, severity: float, *, sensor_size: Sensor, generator: Rng | None = None,
               seed: int | None = None, **options) -> np.ndarray:  # fmt: skip
            check_recording(events, sensor_size)
            declared = PERTURBATIONS[core.__name__]
            problem = declared.severity_problem(severity)
            if problem is not None:
                raise ArgumentError(problem)
            if severity == declared.low or len(events) == 0:
                return events.copy()
            rng = resolve_rng(generator, seed)
            return core(events, severity, sensor_size=sensor_size, rng=rng, **options)

        fn.__name__, fn.__qualname__, fn.__doc__ = core.__name__, core.__qualname__, core.__doc__
        return perturbation("event", unit=unit, high=high)(fn)

    return declare


@event_perturbation(unit="std (us)")
def time_jitter(events: np.ndarray, std_us: float, *, sensor_size: Sensor, rng: Rng) -> np.ndarray:
    """Gaussian time jitter, std (the severity) in microseconds, reflected into the recording's [t0, t1]."""
    out = events.copy()
    t0, t1 = _span(events)
    z = rng.standard_normal(len(events))
    t = _wide(events["t"]) + _round_like(z * std_us, events["t"])
    out["t"] = _reflect(t, t0, t1).astype(events["t"].dtype)
    return _sorted(out)


@event_perturbation(unit="std (pixels)")
def spatial_jitter(events: np.ndarray, std_px: float, *, sensor_size: Sensor, rng: Rng) -> np.ndarray:
    """Gaussian jitter of x and y (independent, std = the severity in pixels), reflected into the sensor."""
    out = events.copy()
    z = rng.standard_normal((2, len(events)))
    for k, (name, size) in enumerate((("x", sensor_size[0]), ("y", sensor_size[1]))):
        v = _wide(events[name]) + np.rint(z[k] * std_px).astype(np.int64)
        out[name] = _reflect(v, 0, int(size) - 1).astype(events[name].dtype)
    return out  # t untouched: still sorted


def _polarity_values(events: np.ndarray, n_pol: int) -> np.ndarray:
    """The polarity values to draw from: 0..P-1 in the input's p dtype (bool: False, True)."""
    return np.arange(max(int(n_pol), 1)).astype(events["p"].dtype)


@event_perturbation(unit="noise events / events")
def uniform_noise(events: np.ndarray, fraction: float, *, sensor_size: Sensor, rng: Rng) -> np.ndarray:
    """Add round(fraction * N) noise events (fraction: the severity) uniform over the sensor, both
    polarities and [t0, t1]."""
    n = round(float(fraction) * len(events))
    if n == 0:
        return events.copy()
    t0, t1 = _span(events)
    noise = np.zeros(n, dtype=events.dtype)
    if events["t"].dtype.kind == "f":
        noise["t"] = rng.uniform(t0, t1, n)
    else:
        noise["t"] = rng.integers(int(t0), int(t1), n, endpoint=True)
    noise["x"] = rng.integers(0, int(sensor_size[0]), n)
    noise["y"] = rng.integers(0, int(sensor_size[1]), n)
    noise["p"] = _polarity_values(events, sensor_size[2])[rng.integers(0, max(int(sensor_size[2]), 1), n)]
    return _merge(events, noise)


@event_perturbation(unit="drop probability", high=1.0)
def drop_event(events: np.ndarray, probability: float, *, sensor_size: Sensor, rng: Rng) -> np.ndarray:
    """Remove round(probability * N) events (probability: the severity) chosen uniformly (tonic's
    DropEvent count); keeps >= 1 event of each polarity present."""
    n = len(events)
    k = int(probability * n + 0.5)  # tonic DropEvent's count
    if k == 0:
        return events.copy()
    order = rng.permutation(n)  # drop order: the first k go
    drop = np.zeros(n, dtype=bool)
    drop[order[:k]] = True
    for value in np.unique(events["p"]):
        mine = events["p"] == value
        if not (mine & ~drop).any():  # the last of this polarity to be dropped is kept
            rank = np.empty(n, dtype=np.int64)
            rank[order] = np.arange(n)
            drop[np.flatnonzero(mine)[np.argmax(rank[mine])]] = False
    return events[~drop]  # a subsequence: still sorted


@event_perturbation(unit="fraction of pixels", high=1.0)
def hot_pixels(
    events: np.ndarray,
    fraction: float,
    *,
    sensor_size: Sensor,
    rng: Rng,
    rate_hz: float = 1000.0,
    polarity: str = "both",
    time_unit_s: float = 1e-6,
) -> np.ndarray:
    """round(fraction * W * H) hot pixels, each firing every 1/rate_hz s over [t0, t1].

    Args:
        fraction: fraction of the W*H pixels that are hot (in [0, 1]).
        rate_hz: firing rate of a hot pixel (t in `time_unit_s`, microseconds by default).
        polarity: "both" (alternating OFF/ON from a random start), "on" or "off".
    """
    if polarity not in ("both", "on", "off"):
        raise ArgumentError(f"hot pixel polarity must be 'both', 'on' or 'off', got {polarity!r}")
    W, H = int(sensor_size[0]), int(sensor_size[1])
    k = round(float(fraction) * W * H)
    if k == 0:
        return events.copy()
    t0, t1 = _span(events)
    period = 1.0 / (rate_hz * time_unit_s)  # in t units
    per_pixel = max(1, int(np.floor((t1 - t0) / period)) + 1)
    pixels = rng.permutation(W * H)[:k]  # [k]
    phase = rng.uniform(0, min(period, max(t1 - t0, 0)), k)  # [k]
    t = t0 + phase[:, None] + period * np.arange(per_pixel)[None, :]  # [k, per_pixel]
    inside = t <= t1
    if events["t"].dtype.kind != "f":
        t = np.floor(t)
    pol_values = _polarity_values(events, sensor_size[2])
    if polarity == "both":
        start = rng.integers(0, 2, k)[:, None]
        pidx = (start + np.arange(per_pixel)[None, :]) % min(2, len(pol_values))
    else:
        pidx = np.full((k, per_pixel), 1 if polarity == "on" else 0)
    hot = np.zeros(int(inside.sum()), dtype=events.dtype)
    hot["t"] = t[inside].astype(events["t"].dtype)
    hot["x"] = np.broadcast_to((pixels % W)[:, None], t.shape)[inside]
    hot["y"] = np.broadcast_to((pixels // W)[:, None], t.shape)[inside]
    hot["p"] = pol_values[np.minimum(pidx, len(pol_values) - 1)][inside]
    return _merge(events, hot)


EVENT_PERTURBATIONS: dict[str, EventPerturbation] = {
    name: p.fn for name, p in PERTURBATIONS.items() if p.level == "event"
}
