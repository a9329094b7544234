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


def test_time_interleaved_rewarm_calls_each_fn_untimed_before_its_timed_call():
    calls: list[str] = []

    def make(name: str):
        def fn() -> None:
            calls.append(name)
            if calls.count(name) % 2 == 1:  # untimed (re)warm-up calls are the slow ones
                time.sleep(0.02)

        return fn

    times = time_interleaved({"a": make("a"), "b": make("b")}, repeat=2, warmup=0, rewarm=1)
    assert calls == ["a", "a", "b", "b"] * 2
    assert max(max(t) for t in times.values()) < 0.02  # the sleeping calls were not timed
