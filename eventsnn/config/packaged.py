"""The configs shipped with eventsnn, addressable by name.

The repository's top-level `configs/` folder is the one source; the package reaches it as
`eventsnn/configs` (a symlink in the source tree, package data in the wheel), so an installed
eventsnn finds the same files as a checkout.

A config is named by its path under `configs/` without `.yaml`: `smoke/events`,
`data/cifar10dvs`, `demo/demo`. A folder holding one config also names it (`demo`), and so
does a file stem that only one folder uses (`spikingresformer_ti`).

>>> "smoke/events" in list_packaged_configs()
True
>>> resolve_config_path("smoke/events").name
'events.yaml'
>>> resolve_config_path("demo") == resolve_config_path("demo/demo")
True
"""

from __future__ import annotations

import os
from pathlib import Path

from eventsnn.errors import ConfigError

_SUFFIX = ".yaml"


def packaged_config_dir() -> Path:
    """The folder of the shipped configs (`eventsnn/configs`)."""
    return Path(__file__).resolve().parent.parent / "configs"


def list_packaged_configs() -> list[str]:
    """Names of every shipped config (`folder/stem`, sorted), e.g. `['data/cifar10dvs', ...]`."""
    root = packaged_config_dir()
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob(f"*{_SUFFIX}"))


def _candidates(name: str) -> list[str]:
    names = list_packaged_configs()
    key = name.removesuffix(_SUFFIX).strip("/")
    key = key.removeprefix("configs/")
    if key in names:
        return [key]
    in_folder = [n for n in names if n.startswith(f"{key}/") and "/" not in n[len(key) + 1 :]]
    if len(in_folder) == 1:
        return in_folder
    by_stem = [n for n in names if n.rsplit("/", 1)[-1] == key]
    return by_stem or in_folder


def resolve_config_path(name: str | os.PathLike[str]) -> Path:
    """An existing file as given, else the shipped config that `name` names.

    Raises:
        ConfigError: neither a file nor a shipped config, or a name that fits several configs.
    """
    path = Path(name)
    if path.is_file():
        return path
    matches = _candidates(str(name))
    if len(matches) == 1:
        return packaged_config_dir() / f"{matches[0]}{_SUFFIX}"
    if len(matches) > 1:
        raise ConfigError(f"{name}: names several shipped configs: {', '.join(matches)}; give one of them")
    raise ConfigError(
        f"{name}: config file not found (and no shipped config has this name; `eventsnn config list` "
        "shows them)"
    )
