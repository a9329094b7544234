"""`eventsnn bench spikes`: the fused spike-statistics pass, Numba vs torch (CPU) vs naive numpy.

Workload per case (what DA-SSDP reads per hooked layer): spikes `[T, B, C, *spatial]` ->
first-spike times, activity flags and counts with the spatial dims reduced by *any*, plus the
per-sample active fraction mean_c a[b, c] (the factor of the synchrony S_b). Shapes as the
model produces them: T = 4 and 10, B = 128, C = 384 and 1024, with and without 8x8 spatial
dims, float32 (the model's spikes) and uint8. Each contender's input bytes read per second
is compared with the memory bandwidth measured in the same run (a large numpy array copy,
read + write bytes / time). Target: the Numba pass within 3x of that bound and faster than
the torch CPU path.
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from eventsnn.bench.core import BenchReport, benchmark, median, time_call, time_interleaved
from eventsnn.spikes import spike_statistics

NAME = "spikes"
HELP = "fused first-spike / flags / synchrony pass: numba vs torch vs numpy"


def _naive_numpy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The obvious numpy version: several full-size temporaries."""
    T, B, C = x.shape[:3]
    s = (x > 0).reshape(T, B, C, -1).any(axis=3)  # [T,B,C]
    counts = s.sum(axis=0)
    active = counts > 0
    first = np.where(active, s.argmax(axis=0), T)
    return first, active, counts, active.mean(axis=1)


def _fused(x, backend: str):
    st = spike_statistics(x, reduce_spatial=True, backend=backend)
    frac = st.active.to(torch.float64).mean(1) if isinstance(st.active, torch.Tensor) else st.active.mean(1)
    return st, frac


def memory_bandwidth(nbytes: int = 1 << 28, repeat: int = 5) -> float:
    """Copy bandwidth in bytes/s: (read + write bytes) / median time of np.copyto on `nbytes`."""
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    times = time_call(lambda: np.copyto(dst, src), repeat=repeat, warmup=1)
    return 2 * src.nbytes / median(times)


def _cases(quick: bool) -> list[tuple[int, int, int, tuple[int, ...], str]]:
    if quick:
        return [
            (4, 128, 384, (), "float32"),
            (4, 128, 384, (8, 8), "float32"),
            (4, 128, 384, (8, 8), "uint8"),
        ]
    return [
        (T, 128, C, spatial, dtype)
        for dtype in ("float32", "uint8")
        for spatial in ((), (8, 8))
        for T in (4, 10)
        for C in (384, 1024)
    ]


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    bandwidth = memory_bandwidth(1 << (27 if quick else 28))
    report.notes.append(f"memory bandwidth (numpy copy, read+write): {bandwidth / 1e9:.2f} GB/s")
    report.notes.append(
        "read_GBps = input bytes / median; moved_GBps adds the output bytes; frac_of_bw = read / copy bw"
    )
    report.notes.append(
        "copy-bound counts the input bytes only (the target); traffic-bound adds the outputs (int64 "
        "first and counts, bool flags: 17 bytes per unit), which outweigh a uint8 input without "
        "spatial dims, so there the read-only bound cannot be reached"
    )
    report.notes.append(f"torch threads {torch.get_num_threads()}; numba threads {numba.get_num_threads()}")
    repeat = 5 if quick else 7
    rng = np.random.default_rng(0)
    cuda = torch.cuda.is_available()
    for T, B, C, spatial, dtype in _cases(quick):
        shape = (T, B, C, *spatial)
        x = (rng.random(shape, dtype=np.float32) < 0.15).astype(dtype)  # [T,B,C,*spatial]
        xt = torch.from_numpy(x)
        case = f"T{T} B{B} C{C} {'x'.join(map(str, spatial)) or 'nosp'} {dtype}"
        ref_first = _naive_numpy(x)[0]
        out_bytes = B * C * (8 + 8 + 1) + B * 8  # first, counts (int64), active (bool), fraction
        contenders = {
            "numba": lambda x=x: _fused(x, "numba"),
            "torch-cpu": lambda xt=xt: _fused(xt, "torch"),
            "numpy-naive": lambda x=x: _naive_numpy(x),
        }
        assert np.array_equal(_fused(x, "numba")[0].first_spike, ref_first)
        assert np.array_equal(_fused(xt, "torch")[0].first_spike.numpy(), ref_first)
        for name, times in time_interleaved(contenders, repeat=repeat).items():
            rate = x.nbytes / median(times)
            moved = (x.nbytes + out_bytes) / median(times)
            report.add(
                case,
                name,
                times,
                read_GBps=rate / 1e9,
                moved_GBps=moved / 1e9,
                frac_of_bw=rate / bandwidth,
                bytes=x.nbytes,
            )
        if cuda:
            xc = xt.cuda()
            times = time_call(
                lambda xc=xc: _fused(xc, "auto"), repeat=repeat, warmup=2, sync=torch.cuda.synchronize
            )
            report.add(case, "torch-cuda", times, read_GBps=x.nbytes / median(times) / 1e9, bytes=x.nbytes)
        report.ratio(f"{case}: torch-cpu / numba", case, "torch-cpu", "numba")
        report.ratio(f"{case}: numpy / numba", case, "numpy-naive", "numba")
        numba_s = report.median_of(case, "numba")
        report.ratios[f"{case}: copy-bound / numba (<=3 wanted)"] = bandwidth / (x.nbytes / numba_s)
        report.ratios[f"{case}: traffic-bound / numba"] = bandwidth / ((x.nbytes + out_bytes) / numba_s)
    return report
