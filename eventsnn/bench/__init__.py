"""Benchmarks: `eventsnn bench NAME [--quick] [--out FILE]`.

Each module here defines `NAME`, `HELP` and `run(quick: bool) -> BenchReport`; the
contenders of one benchmark run side by side in one process (DESIGN.md, "Benchmark
contract"). `eventsnn.bench.core` has the timing and reporting helpers.
"""
