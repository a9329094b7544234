"""How long the training recordings last and how many events they hold (stored in checkpoints).

A model trained on recordings framed whole (n_frames over the recording) has seen frames that
each cover about 1/T of a recording's duration and hold about 1/T of its events. A stream cut
into windows of another length gives it frames of other spans and counts, so `eventsnn stream`
defaults its window to the training recordings' median duration (`eventsnn.inference.windows`).

Per recording i (events read with `read_recording`, timestamps t in microseconds):

    duration_i = max(t) - min(t)                          [us]
    events_i   = number of events
    rate_i     = events_i / (duration_i * 1e-6)           [events/s]; left out when duration_i = 0

`RecordingStats` holds the median / mean / min / max of the durations and event counts and the
median / mean of the rates over the recordings measured (`measured` of `total`: at most
`MAX_MEASURED`, evenly spaced over the list, so a large training set costs a bounded read).
Recordings that cannot be read are left out and counted (`unreadable`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from eventsnn.errors import DataError
from eventsnn.events.io import read_recording

__all__ = ["MAX_MEASURED", "RecordingStats", "measure_recordings", "recording_stats"]

MAX_MEASURED = 200  # recordings read to measure a training set (evenly spaced over its list)


@dataclass(frozen=True)
class RecordingStats:
    """Duration (us), event count and event rate (events/s) statistics of a set of recordings."""

    measured: int  # recordings the numbers come from
    total: int  # recordings in the set (measured <= total)
    duration_us: Mapping[str, float]  # median, mean, min, max
    events: Mapping[str, float]  # median, mean, min, max
    event_rate_hz: Mapping[str, float] | None  # median, mean (None: every duration was 0)
    unreadable: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: dict(v) if isinstance(v, Mapping) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, raw: Any) -> RecordingStats:
        """Parse a stored dict; `ValueError` naming the first bad entry."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"recordings: a {type(raw).__name__}, not a mapping")

        def numbers(key: str, names: tuple[str, ...], optional: bool = False) -> dict[str, float] | None:
            value = raw.get(key)
            if value is None and optional:
                return None
            if not isinstance(value, Mapping) or not all(
                isinstance(value.get(n), (int, float)) and math.isfinite(value[n]) for n in names
            ):
                raise ValueError(f"recordings.{key} {value!r}")
            return {n: float(value[n]) for n in names}

        for key in ("measured", "total", "unreadable"):
            if not isinstance(raw.get(key, 0), int) or raw.get(key, 0) < 0:
                raise ValueError(f"recordings.{key} {raw.get(key)!r}")
        if not 0 < raw.get("measured", 0) <= raw.get("total", 0):
            raise ValueError(f"recordings: measured {raw.get('measured')!r} of total {raw.get('total')!r}")
        full = ("median", "mean", "min", "max")
        return cls(
            measured=raw["measured"],
            total=raw["total"],
            duration_us=numbers("duration_us", full),
            events=numbers("events", full),
            event_rate_hz=numbers("event_rate_hz", ("median", "mean"), optional=True),
            unreadable=raw.get("unreadable", 0),
        )

    def describe(self) -> str:
        """One phrase for messages: 'median 293.8 ms, 2405 events, 8.2 kev/s over 40 recordings'."""
        rate = self.event_rate_hz
        parts = [f"median {self.duration_us['median'] / 1e3:.1f} ms", f"{self.events['median']:.0f} events"]
        if rate is not None:
            parts.append(f"{rate['median'] / 1e3:.1f} kev/s")
        return ", ".join(parts) + f" over {self.measured} recordings"


def _summary(values: np.ndarray, full: bool = True) -> dict[str, float]:
    out = {"median": float(np.median(values)), "mean": float(np.mean(values))}
    if full:
        out |= {"min": float(values.min()), "max": float(values.max())}
    return out


def recording_stats(
    spans: Sequence[tuple[int, int, int]], *, total: int | None = None, unreadable: int = 0
) -> RecordingStats:
    """Statistics of recordings given as `(t_min, t_max, n_events)` per recording (see module).

    Raises:
        DataError: no recording to measure.
    """
    if not spans:
        raise DataError("recording statistics: no recording to measure")
    arr = np.asarray(spans, dtype=np.int64)  # [N, 3]
    duration = (arr[:, 1] - arr[:, 0]).astype(np.float64)
    events = arr[:, 2].astype(np.float64)
    timed = duration > 0
    rate = events[timed] / (duration[timed] * 1e-6)
    return RecordingStats(
        measured=len(arr),
        total=len(arr) if total is None else int(total),
        duration_us=_summary(duration),
        events=_summary(events),
        event_rate_hz=_summary(rate, full=False) if len(rate) else None,
        unreadable=int(unreadable),
    )


def measure_recordings(paths: Sequence, *, limit: int = MAX_MEASURED) -> RecordingStats | None:
    """Read at most `limit` of `paths` (files or `Source`s, evenly spaced over the list) and return
    their `RecordingStats`; None when there are none or none could be read."""
    n = len(paths)
    if n == 0:
        return None
    picked = np.unique(np.linspace(0, n - 1, min(n, int(limit))).round().astype(np.int64))
    spans, unreadable = [], 0
    for i in picked.tolist():
        try:
            t = read_recording(paths[i])["t"]
        except DataError:
            unreadable += 1
            continue
        if len(t):
            spans.append((int(t.min()), int(t.max()), len(t)))
    if not spans:
        return None
    return recording_stats(spans, total=n, unreadable=unreadable)
