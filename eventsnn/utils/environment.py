"""What this process runs on: package versions, CPU and GPU devices."""

from __future__ import annotations

import importlib.metadata
import os
import platform

_PACKAGES = (
    "eventsnn",
    "torch",
    "torchvision",
    "timm",
    "spikingjelly",
    "tonic",
    "aedat",
    "dv-processing",
    "numba",
    "numpy",
    "h5py",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages eventsnn depends on ('missing' if absent)."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def describe_environment() -> dict[str, str]:
    """Versions plus the devices torch sees (used by `eventsnn env` and benchmark JSON)."""
    import torch

    info = {"python": platform.python_version(), "platform": platform.platform()}
    info.update(package_versions())
    info["cuda (torch build)"] = str(torch.version.cuda)
    info["cuda available"] = str(torch.cuda.is_available())
    info["cpu cores"] = str(os.cpu_count())
    info["torch threads"] = str(torch.get_num_threads())
    devices = ["cpu"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            devices.append(f"cuda:{i} {torch.cuda.get_device_name(i)}")
    info["devices"] = "; ".join(devices)
    return info
