"""Timing, reporting and the registry of benchmarks (the contract in docs/benchmarks.md).

A report is `{"name", "machine", "versions", "rows": [{"case", "contender", "median_s",
"peak_mem_bytes"?, ...}], "ratios": {...}}`; medians of repeated timings are quoted.

A benchmark declares itself where it is defined (as timm's `@register_model`): its
`run(quick) -> BenchReport` decorated with its name and one line of help, in any module of
`eventsnn.bench`; `eventsnn bench list | NAME | all` read `load_benchmarks()`.

    @benchmark("decode", help="file decoding per format: eventsnn vs expelliarmus, ...")
    def run(quick: bool) -> BenchReport: ...
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import pkgutil
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsnn.utils.environment import package_versions
from eventsnn.utils.io import atomic_write_text
from eventsnn.utils.registry import Registry


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark: `run(quick)` times its contenders side by side and returns the report."""

    name: str
    help: str
    run: Callable[[bool], BenchReport]


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")
RunFn = Callable[[bool], "BenchReport"]


def benchmark(name: str, *, help: str) -> Callable[[RunFn], RunFn]:
    """Declare the decorated `run(quick: bool) -> BenchReport` the benchmark `name` (what
    `eventsnn bench NAME` runs; the report's "name"), with one line of `help` for `bench list`.
    The function itself is returned unchanged."""

    def register(run: RunFn) -> RunFn:
        BENCHMARKS.add(name, Benchmark(name, help, run))
        return run

    return register


def load_benchmarks() -> Registry[Benchmark]:
    """Every benchmark: imports each public module of `eventsnn.bench` (each declares its own)."""
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not info.name.startswith("_") and info.name != "core":
            importlib.import_module(f"{__package__}.{info.name}")
    return BENCHMARKS


def time_call(
    fn: Callable[[], Any], *, repeat: int = 7, warmup: int = 1, sync: Callable[[], None] | None = None
) -> list[float]:
    """Wall-clock seconds of `repeat` calls of `fn` after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            if sync:
                sync()
            times.append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


def time_interleaved(
    fns: dict[str, Callable[[], Any]],
    *,
    repeat: int = 7,
    warmup: int = 1,
    rewarm: int = 0,
    sync: Callable[[], None] | None = None,
) -> dict[str, list[float]]:
    """Wall-clock seconds of `repeat` rounds, each calling every fn once in turn (A B C A B C ...).

    Interleaving spreads slow drifts of the machine (allocator growth, page faults, another
    process, clock changes) over all contenders instead of charging them to whichever ran first.
    `rewarm` untimed calls of the same fn precede each timed one, so that a fast kernel is timed
    with warm caches rather than after a slow contender has evicted its input.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    if sync:
        sync()
    times: dict[str, list[float]] = {name: [] for name in fns}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            for name, fn in fns.items():
                for _ in range(rewarm):
                    fn()
                if sync and rewarm:
                    sync()
                start = time.perf_counter()
                fn()
                if sync:
                    sync()
                times[name].append(time.perf_counter() - start)
    finally:
        if gc_was_enabled:
            gc.enable()
    return times


@contextlib.contextmanager
def limited_threads(n: int = 1, *, torch: bool = True, numba: bool = False) -> Iterator[None]:
    """`n` torch threads (and / or numba threads) while the body runs; the previous counts after."""
    import numba as nb
    import torch as th

    libraries = [lib for lib, on in ((th, torch), (nb, numba)) if on]
    before = [lib.get_num_threads() for lib in libraries]
    for lib in libraries:
        lib.set_num_threads(n)
    try:
        yield
    finally:
        for lib, count in zip(libraries, before):
            lib.set_num_threads(count)


def cuda_peak(step: Callable[[], Any]) -> int:
    """Peak CUDA memory (bytes) of one more call of `step`, synchronised before and after."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated()


def median(values: list[float]) -> float:
    return float(statistics.median(values))


@dataclass
class BenchReport:
    """Rows of one benchmark run plus the ratios that matter."""

    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, case: str, contender: str, times: list[float], **extra: Any) -> dict[str, Any]:
        """Record one contender on one case; returns the row."""
        row = {
            "case": case,
            "contender": contender,
            "median_s": median(times),
            "min_s": min(times),
            "repeats": len(times),
            **extra,
        }
        self.rows.append(row)
        return row

    def median_of(self, case: str, contender: str) -> float:
        for row in self.rows:
            if row["case"] == case and row["contender"] == contender:
                return float(row["median_s"])
        raise KeyError((case, contender))

    def ratio(self, key: str, case: str, slow: str, fast: str) -> float:
        """Store and return median(slow) / median(fast) for one case."""
        value = self.median_of(case, slow) / self.median_of(case, fast)
        self.ratios[key] = value
        return value

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "machine": machine_description(),
            "versions": package_versions(),
            "rows": self.rows,
            "ratios": self.ratios,
            "notes": self.notes,
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        return atomic_write_text(path, json.dumps(self.to_json(), indent=2) + "\n")

    def format_table(self) -> str:
        """A plain-text table of the rows followed by the ratios."""
        extra_keys = sorted(
            {k for r in self.rows for k in r} - {"case", "contender", "median_s", "min_s", "repeats"}
        )
        header = ["case", "contender", "median ms", *extra_keys]
        lines = [header]
        for r in self.rows:
            lines.append(
                [
                    str(r["case"]),
                    str(r["contender"]),
                    f"{r['median_s'] * 1e3:.3f}",
                    *(_fmt(r.get(k)) for k in extra_keys),
                ]
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        out = [f"== bench {self.name} =="]
        for i, line in enumerate(lines):
            out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
            if i == 0:
                out.append("  ".join("-" * w for w in widths))
        if self.ratios:
            out.append("ratios:")
            out.extend(f"  {k}: {v:.2f}" for k, v in self.ratios.items())
        out.extend(f"note: {n}" for n in self.notes)
        return "\n".join(out)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def machine_description() -> dict[str, Any]:
    """CPU, core count and devices, for the JSON header."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if torch.cuda.is_available()
        else [],
    }
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
