"""Sliding windows over packets: equal to a slow reference loop, whatever the packet sizes."""

from __future__ import annotations

import numpy as np
import pytest

from eventsnn.errors import ConfigError
from eventsnn.events.io import EVENT_DTYPE
from eventsnn.inference.windows import SlidingWindows, WindowSpec


def _events(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["t"] = 1000 + np.sort(rng.integers(0, 500_000, n))  # ties included
    ev["x"], ev["y"], ev["p"] = rng.integers(0, 64, n), rng.integers(0, 64, n), rng.integers(0, 2, n)
    return ev


def _reference(ev: np.ndarray, spec: WindowSpec) -> list[tuple[int, np.ndarray, int, int]]:
    """(index, events, start, end) by the definitions in the module docstring, one window at a time."""
    out = []
    t = ev["t"]
    k = 0
    while True:
        if spec.by == "time":
            start = int(t[0]) + k * spec.hop
            end = start + spec.window
            if int(t[-1]) < end:
                return out
            sel = ev[(t >= start) & (t < end)]
            if len(sel):
                out.append((k, sel, start, end))
        else:
            if k * spec.hop + spec.window > len(ev):
                return out
            sel = ev[k * spec.hop : k * spec.hop + spec.window]
            out.append((k, sel, int(sel["t"][0]), int(sel["t"][-1])))
        k += 1


@pytest.mark.parametrize(
    "spec",
    [
        WindowSpec("time", 50_000, 20_000),
        WindowSpec("time", 30_000, 45_000),  # hop > window: gaps
        WindowSpec("time", 1_000, 1_000),  # many empty windows
        WindowSpec("count", 700, 300),
        WindowSpec("count", 200, 500),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_windows_match_the_reference_for_any_packets(spec, seed):
    ev = _events(5000, seed)
    rng = np.random.default_rng(seed + 10)
    cuts = np.sort(rng.choice(np.arange(1, len(ev)), size=60, replace=False))
    windower = SlidingWindows(spec)
    got = []
    arrivals = {}
    for j, part in enumerate(np.split(ev, cuts)):
        for w in windower.push(part, float(j)):
            got.append(w)
        arrivals[j] = (0 if j == 0 else cuts[j - 1], cuts[j] if j < len(cuts) else len(ev))
    ref = _reference(ev, spec)
    assert len(got) == len(ref) > 3
    for w, (k, sel, start, end) in zip(got, ref, strict=True):
        assert (w.index, w.start_us, w.end_us) == (k, start, end)
        assert np.array_equal(w.events, sel)
        # the arrival is that of the packet that held the window's last event
        if spec.by == "time":
            last = int(np.searchsorted(ev["t"], end, side="left")) - 1
        else:
            last = k * spec.hop + spec.window - 1
        lo, hi = arrivals[int(w.last_arrival)]
        assert lo <= last < hi
    assert len(windower.buf) < len(ev)  # old events are dropped


def test_bad_window_spec():
    with pytest.raises(ConfigError):
        WindowSpec("time", 0, 10)
    with pytest.raises(ConfigError):
        WindowSpec("frames", 10, 10)


def test_stream_batch_sizes_are_powers_of_two():
    from eventsnn.inference.stream import batch_sizes

    assert batch_sizes(13, 16) == [8, 4, 1]
    assert batch_sizes(40, 16) == [16, 16, 8]
    assert batch_sizes(5, 6) == [4, 1]  # max_batch rounds down to a power of two
    assert batch_sizes(0, 16) == []
    for n in range(1, 70):
        sizes = batch_sizes(n, 16)
        assert sum(sizes) == n and set(sizes) <= {1, 2, 4, 8, 16} and sizes == sorted(sizes, reverse=True)
