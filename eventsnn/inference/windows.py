"""Sliding windows over an event stream that arrives in packets, by time or by event count.

By time (window W us, hop S us, t_0 = the stream's first timestamp): window k holds the events
with t in [t_0 + kS, t_0 + kS + W); it is complete, and emitted, once an event with
t >= e_k = t_0 + kS + W has arrived (the stream proved the window is over). Empty windows are
skipped (no decision on no events).

By count (window N events, hop M events): window k holds events [kM, kM + N) of the stream;
it is emitted as soon as its last event has arrived; its end time is that event's t.

`SlidingWindows.push` takes one packet and its arrival time (a wall clock) and returns the
windows it completed; each carries the arrival time of the packet that held its last event,
from which a decision's latency is measured. Memory is bounded: the buffer holds the events of
the windows not yet complete, at most `max_events` (a `DataError` beyond that), whatever the
stream's time span; a long silence is skipped in one step, not window by window.

At the end of the stream (`flush`), a stream that never completed a window (shorter than one
window: a short recording) gives one window of all its events, marked `partial`, so it still
gets one decision at its end.

Default window (`stream_window`): the training recordings' median duration (stored in the
checkpoint, `eventsnn.events.recording_stats`), else `WINDOW_US`; hop `HOP_US`, at most the
window. A window `MISMATCH` times longer or shorter than the training recordings (by time or by
event count) is warned about in one line (logging), naming what the model was trained on.

Timestamps that do not increase (`TimeOrder`, applied before the windows): events out of order
inside one packet are sorted (stable); events older than the newest one already seen, by less
than `restart_us` (the stream uses one window length, at most `RESTART_US` = 1 s), arrived late
and are dropped (counted); a jump back by `restart_us` or more means the sender started again
(a looping replay): the windows start again from there. Each
kind is reported once, in one line, when it first happens, and counted in the summary.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from eventsnn.errors import ConfigError, DataError
from eventsnn.events.recording_stats import RecordingStats

LOG = logging.getLogger(__name__)
MAX_EVENTS = 4_000_000  # events buffered for the windows not yet complete (~52 MB)
RESTART_US = 1_000_000  # a jump back in time by this much or more: the sender started again
WINDOW_US = 300_000  # the window when the checkpoint does not know its training recordings
HOP_US = 100_000  # the hop when none is given (at most the window)
MISMATCH = 1.5  # a window this many times longer (or 1/MISMATCH shorter) than training: warned


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
    partial: bool = False  # the stream ended before any window was complete: all its events


class SlidingWindows:
    """Incremental windowing of a packet stream (see the module docstring)."""

    def __init__(self, spec: WindowSpec, *, max_events: int = MAX_EVENTS) -> None:
        if spec.by == "count" and int(spec.window) > max_events:
            raise ConfigError(f"windows of {spec.window} events: at most {max_events} are buffered")
        self.spec = spec
        self.max_events = int(max_events)
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
        if len(self.buf) > self.max_events:
            raise DataError(
                f"a window holds more than {self.max_events} events (the stream is denser than the "
                "window can buffer): use a shorter --window, or --window-events"
            )
        return out

    def flush(self) -> Window | None:
        """At the end of the stream: one `partial` window of every event when no window was
        completed (k = 0: the stream was shorter than one window), else None. Its bounds: the
        first event's t (time: the window start t_0) and one past the last event's t (by count:
        the last event's t)."""
        if self.k or self.buf is None or not len(self.buf):
            return None
        t = self.buf["t"]
        end = int(t[-1]) + (1 if self.spec.by == "time" else 0)
        start = self.t0 if self.spec.by == "time" else int(t[0])
        self.k = 1
        return Window(0, self.buf.copy(), start, end, self.packet_arrivals[-1], partial=True)

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
            else:  # empty: jump to the first window that holds the next event (t[i1] >= end)
                self.k = max(self.k + 1, (int(t[i1]) - self.t0 - W) // S + 1)

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


class TimeOrder:
    """The policy for timestamps that do not increase (see the module docstring).

    `apply(events)` returns the segments to window, each with `restart=True` when the windows
    must start again before it; `notes` collects the one-line reports (each kind once).
    """

    def __init__(self, restart_us: int = RESTART_US) -> None:
        self.restart_us = int(restart_us)
        self.newest: int | None = None
        self.reordered = self.dropped = self.restarts = 0
        self.notes: list[str] = []

    def apply(self, events: np.ndarray) -> list[tuple[bool, np.ndarray]]:
        t = events["t"]
        jumps = np.flatnonzero(np.diff(t) <= -self.restart_us) + 1  # a restart inside the packet
        out = []
        for part in np.split(events, jumps):
            restart = self._restart(part)
            part = self._sorted(part)
            if not restart and self.newest is not None:
                late = part["t"] < self.newest
                if late.any():
                    n = int(late.sum())
                    if not self.dropped:
                        self.notes.append(
                            f"stream: {n} events came with timestamps before ones already seen "
                            f"(up to {(self.newest - int(part['t'][late].min())) / 1e3:.3f} ms); late "
                            "events are dropped (counted in the summary)"
                        )
                    self.dropped += n
                    part = part[~late]
            if len(part):
                last = int(part["t"][-1])
                self.newest = last if self.newest is None else max(self.newest, last)
                out.append((restart, part))
        return out

    def _restart(self, part: np.ndarray) -> bool:
        if self.newest is None or not len(part) or int(part["t"][0]) > self.newest - self.restart_us:
            return False
        if not self.restarts:
            self.notes.append(
                f"stream: timestamps went back by {(self.newest - int(part['t'][0])) / 1e6:.3f} s (from "
                f"{self.newest} to {int(part['t'][0])} us): the sender started again; the windows start "
                "again from there"
            )
        self.restarts += 1
        self.newest = None
        return True

    def _sorted(self, part: np.ndarray) -> np.ndarray:
        if len(part) < 2 or bool((np.diff(part["t"]) >= 0).all()):
            return part
        n = int((np.diff(part["t"]) < 0).sum())
        if not self.reordered:
            self.notes.append(
                f"stream: {n} events out of time order inside one packet; each packet is sorted by "
                "time (stable) before windowing"
            )
        self.reordered += n
        return part[np.argsort(part["t"], kind="stable")]

    def summary(self) -> dict[str, int]:
        return {"reordered": self.reordered, "late_dropped": self.dropped, "restarts": self.restarts}


def stream_window(
    stats: RecordingStats | None,
    *,
    window_ms: float | None = None,
    hop_ms: float | None = None,
    window_events: int | None = None,
    hop_events: int | None = None,
) -> tuple[WindowSpec, str]:
    """The stream's `WindowSpec` from the options (None: not given) and the training recordings'
    `stats` (None: unknown), and a phrase saying where the window came from.

    Defaults: window = ceil(median training duration) us (else `WINDOW_US`), hop = min(`HOP_US`,
    window); by count, hop = window. Logs one warning when the window is more than `MISMATCH`
    times longer or shorter than the training recordings (median duration, or median event
    count for `window_events`).

    Raises:
        ConfigError: a window or hop that is not a positive, finite number of milliseconds, or
            `hop_events` without `window_events`.
    """
    if stats is not None and stats.duration_us["median"] <= 0:
        stats = None  # recordings of one timestamp: no duration to match
    if window_events is not None:
        spec = WindowSpec("count", int(window_events), int(hop_events or window_events))
        if stats is not None:
            _warn_mismatch(
                spec.window / stats.events["median"], f"--window-events {spec.window}", "event count", stats
            )
        return spec, f"windows of {spec.window} events"
    if hop_events is not None:
        raise ConfigError("--hop-events needs --window-events")
    for name, value in (("--window", window_ms), ("--hop", hop_ms)):
        if value is not None and not 0 < value < math.inf:
            raise ConfigError(f"{name} must be positive, finite milliseconds, got {value:g}")
    if window_ms is not None:
        window, origin = max(1, round(window_ms * 1000)), "--window"
    elif stats is not None:
        window, origin = (
            max(1, math.ceil(stats.duration_us["median"])),
            "the training recordings' median duration",
        )
    else:
        window, origin = WINDOW_US, "the default; the checkpoint does not store its recordings' durations"
    hop = max(1, round(hop_ms * 1000)) if hop_ms is not None else min(HOP_US, window)
    if window_ms is not None and stats is not None:
        _warn_mismatch(window / stats.duration_us["median"], f"--window {window_ms:g} ms", "duration", stats)
    return WindowSpec("time", window, hop), f"windows of {window / 1e3:g} ms ({origin}), hop {hop / 1e3:g} ms"


def _warn_mismatch(ratio: float, option: str, what: str, stats: RecordingStats) -> None:
    if 1 / MISMATCH <= ratio <= MISMATCH:
        return
    LOG.warning(
        f"stream: {option} is {ratio:.2f}x the training recordings' {what} (trained on {stats.describe()}); "
        "its frames cover other spans and counts than the model saw (leave the window option out to "
        "use the training duration)"
    )
