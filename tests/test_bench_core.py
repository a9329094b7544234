"""Benchmark helpers: interleaved timing order and counts."""

from __future__ import annotations

import time

from eventsnn.bench.core import median, time_interleaved


def test_time_interleaved_warms_each_then_alternates():
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    times = time_interleaved(fns, repeat=3, warmup=2)
    assert calls == ["a", "a", "b", "b", "c", "c"] + ["a", "b", "c"] * 3
    assert {name: len(t) for name, t in times.items()} == {"a": 3, "b": 3, "c": 3}


def test_time_interleaved_measures_each_contender_separately():
    fns = {"fast": lambda: None, "slow": lambda: time.sleep(0.02)}
    times = time_interleaved(fns, repeat=3, warmup=0)
    assert median(times["slow"]) >= 0.02 > median(times["fast"])
