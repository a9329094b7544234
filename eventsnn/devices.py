"""Which device and which autocast: the one home of `auto` for devices and precisions.

Below the engine and inference alike (both build models and run them): `resolve_device`
turns `auto` / `cpu` / `cuda[:N]` into a `torch.device`, `resolve_precision` turns
`train.precision` (`fp32`, `bf16`, `fp16`, `auto`) into a concrete precision on that device,
and `autocast` is the context that runs a forward in it.

precision   CPU                      CUDA
fp32        plain float32            plain float32
bf16        autocast(cpu, bf16)      autocast(cuda, bf16)
fp16        autocast(cpu, fp16)      autocast(cuda, fp16) (+ GradScaler in training)
auto        fp32 (AUTO_CPU_BF16)     fp16 (AUTO_CUDA, the released training's amp)
"""

from __future__ import annotations

import contextlib

import torch

from eventsnn.errors import ConfigError

PRECISIONS = ("fp32", "bf16", "fp16", "auto")
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

# What `auto` picks on a CPU: fp32. bf16 autocast makes a training step 1.3-1.55x faster on
# CPUs with native bf16 (avx512_bf16 / AMX). Over 3 demo seeds bf16 training was within 1.5
# points in the mean (baseline -0.54, DA-SSDP 0.00) but doubled the baseline's spread, and
# seed 0 lost 5.95 points (README, "Precision and compilation"); bf16 evaluation of an
# fp32-trained model matched it exactly. Training keeps fp32 unless asked for bf16.
AUTO_CPU_BF16 = False

# What `auto` picks on CUDA: fp16 autocast + GradScaler, the precision the released SpikingResformer /
# DA-SSDP training used (`amp: True`: torch.cuda.amp.autocast + GradScaler). bf16 becomes the CUDA
# default only once a GPU parity measurement supports it (3 seeds, mean within 1.5 points of fp16 /
# fp32); none exists yet, and on CPU bf16 training widened the seed-to-seed spread (docs/reproducing.md).
AUTO_CUDA = "fp16"


def resolve_device(name: str | torch.device, local_rank: int = 0) -> torch.device:
    """`auto` -> `cuda:<local_rank>` when CUDA is there, else `cpu`; `cuda` -> `cuda:<local_rank>`.

    Raises:
        ConfigError: not a device name, or CUDA asked for where there is none.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"device {name!r}: not a device (auto, cpu, cuda, cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name!r} asked for but no CUDA device is available")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def cpu_has_native_bf16() -> bool:
    """True on x86 CPUs with avx512_bf16 or AMX-BF16 (bf16 matmuls run natively)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """The concrete precision ('fp32' | 'bf16' | 'fp16') that `precision` means on `device`."""
    if precision not in PRECISIONS:
        raise ConfigError(f"train.precision: {precision!r}, expected one of {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return AUTO_CUDA
    if device.type == "cpu" and AUTO_CPU_BF16 and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def autocast(device: torch.device | str, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of a concrete precision on `device` (a no-op for fp32)."""
    dtype = DTYPES[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)
