"""`eventsnn bench plasticity`: the factorised DA-SSDP update against the direct transcription.

Both contenders compute the same dW `[C_out, C_in]` (docs/dassdp.md) from recorded activity
bool `[T, B, C]` with a per-sample gate, at B = 128, T = 4 and the SpikingResformer integration
shapes. "direct" builds the `[B, C_out, C_in]` tensors (lambda, g, P) as written; "factorised"
is `eventsnn.plasticity.functional.da_ssdp_delta_w` (one GEMM). Time: medians in this process.
Peak memory on CPU: each contender runs once in a fresh child process that first allocates
its inputs, then resets its peak RSS; `peak_mem_bytes` is the rise of the peak RSS over that. On CUDA (when
present): `torch.cuda.max_memory_allocated` above the inputs. Targets at 1024 -> 1000: >= 50x
faster, >= 20x less peak memory, < 64 MB extra.

`spatial: positions` rows (docs/dassdp.md "Findings" point 2) at the paper's Wproj shape, 384 channels at
7x7 and 8x8 positions, T = 4: "factorised" is `da_ssdp_delta_w(..., spatial="positions")`,
"direct" builds the whole `[B, N_pos, C_out, C_in]` tensors (4.8 GB each at B = 128, 8x8). On
CPU both run at a reduced batch (`POS_DIRECT_B`, the same for both, so the ratios compare like
with like; both forms are linear in B) and the factorised form also at B = 128. Targets: >= 20x
faster, >= 20x less peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys

import torch

from eventsnn.bench.core import BenchReport, benchmark, time_call
from eventsnn.plasticity._reference import direct_delta_w, direct_positions_delta_w
from eventsnn.plasticity.functional import da_ssdp_delta_w

NAME = "plasticity"
HELP = "DA-SSDP update: factorised GEMM vs direct [B, C_out, C_in] transcription (time, peak memory)"
B, T = 128, 4
SHAPES = (  # (case, C_in, C_out)
    ("classifier 384->10", 384, 10),
    ("classifier 384->100", 384, 100),
    ("Wproj 384x384", 384, 384),
    ("classifier 1024->1000", 1024, 1000),
    ("Wproj 1024x1024", 1024, 1024),
)
TARGET = "classifier 1024->1000"
POS_SHAPES = (("Wproj 384 positions 7x7", 384, 7), ("Wproj 384 positions 8x8", 384, 8))
POS_DIRECT_B = {"quick": 2, "full": 8, "cuda": 128}
KW = dict(a_plus=1.5e-3, a_minus=5e-4, sigma=1.0)


def _inputs(c_in: int, c_out: int, device: str = "cpu", seed: int = 0, *, batch: int = B, hw: int = 0):
    """Spikes `[T, batch, C, (hw, hw)]` at rate 0.15 and a gate `[batch]` in [0, 2]."""
    g = torch.Generator().manual_seed(seed)
    sp = (hw, hw) if hw else ()
    pre = torch.rand(T, batch, c_in, *sp, generator=g) < 0.15  # bool, as the layer's spikes
    post = torch.rand(T, batch, c_out, *sp, generator=g) < 0.15
    gate = torch.rand(batch, generator=g) * 2
    return pre.to(device), post.to(device), gate.to(device)


def _contender(name: str, positions: bool = False):
    from functools import partial

    if positions:
        return {
            "factorised": partial(da_ssdp_delta_w, spatial="positions"),
            "direct": direct_positions_delta_w,
        }[name]
    return {"factorised": da_ssdp_delta_w, "direct": direct_delta_w}[name]


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def child_peak(name: str, c_in: int, c_out: int, batch: int = B, hw: int = 0) -> int:
    """Run in a fresh process: bytes by which one call raises the peak RSS above the inputs' baseline.

    Linux: the high-water mark VmHWM is reset to the current RSS (/proc/self/clear_refs) once
    the inputs exist (ru_maxrss would carry the parent's peak across exec). Elsewhere ru_maxrss.
    A warm-up call on small inputs first keeps the BLAS libraries' one-off set-up out of it.
    """
    import resource

    fn = _contender(name, positions=bool(hw))
    small_pre, small_post, small_gate = _inputs(8, 8, batch=2, hw=2 if hw else 0)
    fn(small_pre, small_post, gate=small_gate, **KW)
    pre, post, gate = _inputs(c_in, c_out, batch=batch, hw=hw)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak RSS to the current RSS
        base = _status_kib("VmRSS")
    except OSError:
        base = None
    if base is None:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fn(pre, post, gate=gate, **KW)
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024  # KiB on Linux
    fn(pre, post, gate=gate, **KW)
    return ((_status_kib("VmHWM") or base) - base) * 1024


def _cpu_peak(name: str, c_in: int, c_out: int, batch: int = B, hw: int = 0) -> int | None:
    code = (
        "import sys; from eventsnn.bench.plasticity import child_peak; "
        f"print(child_peak({name!r}, {c_in}, {c_out}, {batch}, {hw}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return None
    return int(out.stdout.strip().splitlines()[-1])


def _cuda_peak(fn, args) -> int:
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn(*args[:2], gate=args[2], **KW)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


@benchmark(NAME, help=HELP)
def run(quick: bool) -> BenchReport:
    report = BenchReport(NAME)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    shapes = SHAPES if not quick else tuple(s for s in SHAPES if s[0] in ("Wproj 384x384", TARGET))
    for device in devices:
        sync = torch.cuda.synchronize if device == "cuda" else None
        for case_name, c_in, c_out in shapes:
            case = f"{case_name} B={B} T={T} {device}"
            args = _inputs(c_in, c_out, device)
            for name in ("factorised", "direct"):
                fn = _contender(name)
                slow = name == "direct" and device == "cpu"
                repeat = (2 if quick else 3) if slow else (5 if quick else 20)
                times = time_call(
                    lambda fn=fn, a=args: fn(a[0], a[1], gate=a[2], **KW), repeat=repeat, sync=sync
                )
                peak = _cuda_peak(fn, args) if device == "cuda" else _cpu_peak(name, c_in, c_out)
                report.add(case, name, times, peak_mem_bytes=peak, device=device)
            fast = _contender("factorised")(*args[:2], gate=args[2], **KW)
            ref = _contender("direct")(*args[:2], gate=args[2], **KW)
            err = float((fast - ref).abs().max() / ref.abs().max())
            report.rows[-1]["max_rel_diff"] = err
            report.ratio(f"{case}: direct/factorised time", case, "direct", "factorised")
            peaks = {r["contender"]: r["peak_mem_bytes"] for r in report.rows if r["case"] == case}
            if peaks.get("factorised") and peaks.get("direct"):
                report.ratios[f"{case}: direct/factorised peak memory"] = (
                    peaks["direct"] / peaks["factorised"]
                )
            if case_name == TARGET:
                speed = report.ratios[f"{case}: direct/factorised time"]
                mem = report.ratios.get(f"{case}: direct/factorised peak memory", float("nan"))
                extra = (peaks.get("factorised") or 0) / 2**20
                report.notes.append(
                    f"{case}: {speed:.0f}x faster (target 50x), {mem:.0f}x less peak memory (target 20x), "
                    f"factorised extra memory {extra:.1f} MB (target < 64 MB)"
                )
    for device in devices:
        _positions_rows(report, device, quick)
    report.notes.append(
        "CPU peak memory: rise of the peak RSS (VmHWM reset after the inputs) in a fresh child process"
    )
    return report


def _positions_rows(report: BenchReport, device: str, quick: bool) -> None:
    """spatial=positions at Wproj 384 x 7x7 / 8x8: factorised vs whole-tensor direct at one batch,
    and the factorised form alone at B = 128 (the paper's batch)."""
    sync = torch.cuda.synchronize if device == "cuda" else None
    small = POS_DIRECT_B["cuda" if device == "cuda" else ("quick" if quick else "full")]
    for case_name, c, hw in POS_SHAPES:
        batches = [small] + ([B] if small != B else [])
        for batch in batches:
            case = f"{case_name} B={batch} T={T} {device}"
            args = _inputs(c, c, device, batch=batch, hw=hw)
            names = ("factorised", "direct") if batch == small else ("factorised",)
            for name in names:
                fn = _contender(name, positions=True)
                repeat = (2 if quick else 3) if name == "direct" else (7 if quick else 15)
                warm = 1 if name == "direct" else 3  # the first calls of a new shape are slow (allocator)
                times = time_call(
                    lambda fn=fn, a=args: fn(a[0], a[1], gate=a[2], **KW),
                    repeat=repeat,
                    warmup=warm,
                    sync=sync,
                )
                if device == "cuda":
                    peak = _cuda_peak(fn, args)
                else:
                    peak = _cpu_peak(name, c, c, batch, hw)
                report.add(case, name, times, peak_mem_bytes=peak, device=device, positions=hw * hw)
            if len(names) == 2:
                fast = _contender("factorised", True)(*args[:2], gate=args[2], **KW)
                ref = _contender("direct", True)(*args[:2], gate=args[2], **KW)
                report.rows[-1]["max_rel_diff"] = float((fast - ref).abs().max() / ref.abs().max())
                speed = report.ratio(f"{case}: direct/factorised time", case, "direct", "factorised")
                peaks = {r["contender"]: r["peak_mem_bytes"] for r in report.rows if r["case"] == case}
                mem = float("nan")
                if peaks.get("factorised") and peaks.get("direct"):
                    mem = peaks["direct"] / peaks["factorised"]
                    report.ratios[f"{case}: direct/factorised peak memory"] = mem
                report.notes.append(
                    f"{case}: positions factorised {speed:.0f}x faster (target 20x), {mem:.0f}x less peak "
                    "memory (target 20x)"
                )


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(quick="--quick" in sys.argv).to_json(), indent=2))
