"""`eventsnn bench framing`: events -> [T, P, H, W] frames, eventsnn vs tonic / spikingjelly / dv.

Cases: the real recording `sample.aedat4` of the test data, when present (320x240x2, 111,954 events), and
synthetic CIFAR10-DVS-sized recordings (128x128x2, 100k / 300k / 1M events), T = 10, split by
event count and by time. Contenders: `to_frames` numba and torch (CPU), spikingjelly's
`integrate_events_by_fixed_frames_number`, tonic `ToFrame(n_event_bins / n_time_bins)` (drops
the remainder, see `eventsnn.events.frame`), and dv-processing's `EdgeMapAccumulator` fed 10
index slices (a note row: one uint8 channel, not per-polarity counts). Everything runs on one
thread (torch and numba set to 1) so that ns/event compares kernels, not core counts.
Targets (count split, 300k events, T = 10, one core): >= 20x tonic, >= 4x spikingjelly,
<= 1.5 ns/event.

`run()` is a list of sections; the preprocess-throughput rows go in as one more section
(`add_preprocess_rows(report, quick)`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from eventsnn.bench._preprocess_rows import add_preprocess_rows
from eventsnn.bench.core import BenchReport, benchmark, limited_threads, time_call, time_interleaved
from eventsnn.events import to_frames

NAME = "framing"
HELP = "event framing: numba / torch vs tonic ToFrame, spikingjelly, dv-processing"
T = 10
TONIC_DTYPE = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real" / "sample.aedat4"


def synthetic_events(
    n: int, W: int = 128, H: int = 128, seed: int = 0, span_us: int = 1_300_000
) -> np.ndarray:
    """Uniform pixels and polarities, sorted uniform times: a CIFAR10-DVS-sized recording."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=TONIC_DTYPE)
    ev["t"] = np.sort(rng.integers(0, span_us, n))
    ev["x"] = rng.integers(0, W, n)
    ev["y"] = rng.integers(0, H, n)
    ev["p"] = rng.integers(0, 2, n).astype(bool)
    return ev


def _contenders(ev: np.ndarray, sensor: tuple[int, int, int], split: str) -> dict[str, Callable[[], object]]:
    from spikingjelly.datasets import integrate_events_by_fixed_frames_number
    from tonic.transforms import ToFrame

    W, H, _ = sensor
    plain = np.zeros(len(ev), TONIC_DTYPE)  # tonic's ToFrame needs a field named "p"
    for k in ("t", "x", "y", "p"):
        plain[k] = ev[k]
    sj_events = {k: plain[k] for k in ("t", "x", "y", "p")}
    tonic_kw = {"n_event_bins": T} if split == "count" else {"n_time_bins": T}
    tonic_tf = ToFrame(sensor, **tonic_kw)
    sj_split = "number" if split == "count" else "time"
    return {
        "eventsnn numba": lambda: to_frames(ev, sensor, n_frames=T, split_by=split, backend="numba"),
        "eventsnn torch-cpu": lambda: to_frames(ev, sensor, n_frames=T, split_by=split, backend="torch"),
        "spikingjelly": lambda: integrate_events_by_fixed_frames_number(sj_events, sj_split, T, H, W),
        f"tonic ToFrame({next(iter(tonic_kw))})": lambda: tonic_tf(plain),
    }


def _add_case(report: BenchReport, case: str, ev: np.ndarray, sensor, split: str, repeat: int) -> None:
    n = len(ev)
    for name, times in time_interleaved(_contenders(ev, sensor, split), repeat=repeat, rewarm=1).items():
        row = report.add(case, name, times, events=n)
        row["ns_per_event"] = row["median_s"] / n * 1e9
    tonic = next(
        r["contender"] for r in report.rows if r["case"] == case and r["contender"].startswith("tonic")
    )
    report.ratio(f"{case}: tonic/numba", case, tonic, "eventsnn numba")
    report.ratio(f"{case}: spikingjelly/numba", case, "spikingjelly", "eventsnn numba")
    report.ratio(f"{case}: spikingjelly/torch-cpu", case, "spikingjelly", "eventsnn torch-cpu")


def _add_dv_case(report: BenchReport, n: int, repeat: int) -> None:
    try:
        import dv_processing as dv
    except ImportError:  # pragma: no cover - optional peer
        report.notes.append("dv-processing not installed: no dv row")
        return
    store = dv.data.generate.uniformlyDistributedEvents(0, (128, 128), n, 0)
    acc = dv.EdgeMapAccumulator((128, 128))

    def frames():
        d = n // T
        out = []
        for i in range(T):
            acc.accept(store.slice(i * d, d if i < T - 1 else n - i * d))
            out.append(acc.generateFrame().image)
        return out

    case = f"synthetic {n // 1000}k count"
    row = report.add(
        case, "dv EdgeMapAccumulator (not comparable)", time_call(frames, repeat=repeat), events=n
    )
    row["ns_per_event"] = row["median_s"] / n * 1e9
    report.notes.append(
        "dv EdgeMapAccumulator: 10 index slices of dv's own uniform events, each accumulated into one "
        "uint8 edge map (polarity ignored, saturating): same workload size, different output"
    )


def add_framing_rows(report: BenchReport, quick: bool) -> None:
    repeat = 5 if quick else 15
    with limited_threads(1, numba=True):
        if REAL.is_file():
            import tonic

            real = tonic.io.read_aedat4(str(REAL))
            _add_case(report, "real sample.aedat4 count", real, (320, 240, 2), "count", repeat)
            report.notes.append(
                "real sample: 10 x 2 x 240 x 320 int32 frames are 6.1 MB for 112k events, so writing "
                "the output, not counting, sets its ns/event"
            )
        else:
            report.notes.append(f"real recording not found at {REAL}: no real-data row")
        sizes = (300_000,) if quick else (100_000, 300_000, 1_000_000)
        for n in sizes:
            ev = synthetic_events(n)
            _add_case(report, f"synthetic {n // 1000}k count", ev, (128, 128, 2), "count", repeat)
            if n == 300_000:
                _add_dv_case(report, n, repeat)
        ev = synthetic_events(300_000)
        _add_case(report, "synthetic 300k time", ev, (128, 128, 2), "time", repeat)
    case = "synthetic 300k count"
    ns = report.median_of(case, "eventsnn numba") / 300_000 * 1e9
    tonic_x = report.ratios[f"{case}: tonic/numba"]
    sj_x = report.ratios[f"{case}: spikingjelly/numba"]

    def met(ok: bool) -> str:
        return "met" if ok else "missed"

    report.notes.append(
        f"targets at 300k events, T=10, one thread: numba {ns:.2f} ns/event (<= 1.5: {met(ns <= 1.5)}), "
        f"{tonic_x:.1f}x tonic (>= 20: {met(tonic_x >= 20)}), "
        f"{sj_x:.1f}x spikingjelly (>= 4: {met(sj_x >= 4)})"
    )
    report.notes.append("tonic n_event_bins / n_time_bins drop the remainder; the others frame every event")


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    add_framing_rows(report, quick)

    add_preprocess_rows(report, quick)
    return report
