"""Sliding windows over an event stream that arrives in packets, by time or by event count.

By time (window W us, hop S us, t_0 = the stream's first timestamp): window k holds the events
with t in [t_0 + kS, t_0 + kS + W); it is complete, and emitted, once an event with
t >= e_k = t_0 + kS + W has arrived (the stream proved the window is over). Empty windows are
skipped (no decision on no events).

By count (window N events, hop M events): window k holds events [kM, kM + N) of the stream;
it is emitted as soon as its last event has arrived; its end time is that event's t.

`SlidingWindows.push` takes one packet and its arrival time (a wall clock) and returns the
windows it completed; each carries the arrival time of the packet that held its last event,
from which a decision's latency is measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eventsnn.errors import ConfigError


@dataclass(frozen=True)
class WindowSpec:
    """Window and hop: microseconds (`by="time"`) or events (`by="count"`)."""

    by: str  # "time" or "count"
    window: int
    hop: int

    def __post_init__(self) -> None:
        if self.by not in ("time", "count"):
            raise ConfigError(f"windows: by must be 'time' or 'count', got {self.by!r}")
        if int(self.window) < 1 or int(self.hop) < 1:
            raise ConfigError(f"windows: window and hop must be positive, got {self.window} and {self.hop}")


@dataclass
class Window:
    """One complete window: its events (a copy), bounds and the arrival of its last event."""

    index: int
    events: np.ndarray
    start_us: int  # time: window start t_0 + kS; count: t of its first event
    end_us: int  # time: window end e_k (exclusive); count: t of its last event
    last_arrival: float  # wall clock (perf_counter) when its last event arrived


class SlidingWindows:
    """Incremental windowing of a packet stream (see the module docstring)."""

    def __init__(self, spec: WindowSpec) -> None:
        self.spec = spec
        self.k = 0  # next window
        self.t0: int | None = None
        self.base = 0  # stream index of buf[0]
        self.buf: np.ndarray | None = None
        self.packet_ends: list[int] = []  # stream index one past each packet's last event
        self.packet_arrivals: list[float] = []
        self.total = 0

    def push(self, events: np.ndarray, arrival: float) -> list[Window]:
        """Add one packet (sorted by t, continuing the stream); return the windows it completed."""
        if len(events) == 0:
            return []
        if self.buf is None:
            self.buf = events.copy()
            self.t0 = int(events["t"][0])
        else:
            self.buf = np.concatenate([self.buf, events])
        self.total += len(events)
        self.packet_ends.append(self.total)
        self.packet_arrivals.append(arrival)
        out = self._time_windows() if self.spec.by == "time" else self._count_windows()
        self._trim()
        return out

    def _arrival_of(self, last_index: int) -> float:
        j = int(np.searchsorted(np.asarray(self.packet_ends), last_index, side="right"))
        return self.packet_arrivals[j]

    def _time_windows(self) -> list[Window]:
        W, S = int(self.spec.window), int(self.spec.hop)
        t = self.buf["t"]
        t_last = int(t[-1])
        out = []
        while True:
            start = self.t0 + self.k * S
            end = start + W
            if t_last < end:
                return out
            i0, i1 = (int(v) for v in np.searchsorted(t, [start, end], side="left"))
            if i1 > i0:
                out.append(
                    Window(self.k, self.buf[i0:i1].copy(), start, end, self._arrival_of(self.base + i1 - 1))
                )
            self.k += 1

    def _count_windows(self) -> list[Window]:
        N, M = int(self.spec.window), int(self.spec.hop)
        out = []
        while self.k * M + N <= self.total:
            i0, i1 = self.k * M - self.base, self.k * M + N - self.base
            ev = self.buf[i0:i1].copy()
            out.append(
                Window(self.k, ev, int(ev["t"][0]), int(ev["t"][-1]), self._arrival_of(self.k * M + N - 1))
            )
            self.k += 1
        return out

    def _trim(self) -> None:
        """Drop the events and packets no future window can need."""
        if self.spec.by == "time":
            keep_from = int(
                np.searchsorted(self.buf["t"], self.t0 + self.k * int(self.spec.hop), side="left")
            )
        else:
            keep_from = max(0, self.k * int(self.spec.hop) - self.base)
        keep_from = min(keep_from, len(self.buf))
        if keep_from:
            self.buf = self.buf[keep_from:]
            self.base += keep_from
        while len(self.packet_ends) > 1 and self.packet_ends[0] <= self.base:
            self.packet_ends.pop(0)
            self.packet_arrivals.pop(0)
