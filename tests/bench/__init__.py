"""Benchmark tests (eventsnn.bench): one file per benchmark, plus the timing/report core."""
