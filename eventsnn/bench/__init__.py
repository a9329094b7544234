"""Benchmarks: `eventsnn bench NAME [--quick] [--out FILE]`.

Each module here declares its benchmark where it is defined: `run(quick: bool) -> BenchReport`
decorated with `@benchmark(NAME, help=HELP)` (`eventsnn.bench.core`, which also has the timing
and reporting helpers); the contenders of one benchmark run side by side in one process
(docs/benchmarks.md). Modules named `_*` are shared pieces, not benchmarks.
"""
