"""The event data sets, one module each, found by name (like timm's `create_dataset` and tonic's
one class per data set).

    list_datasets() -> names             get_dataset(name) -> DatasetSpec
    create_dataset(name, root, split="train", orientation=None) -> RawRecordings of (events, label)

Adding a data set: one module whose lister is declared with `@dataset(name, title, sensor_size=...,
layout=..., split=..., reader=...)` (`eventsnn.data.sets._base`), imported here, and one test.
"""

from __future__ import annotations

from eventsnn.data.sets import (
    asl_dvs,
    cifar10dvs,
    digits_dvs,
    dvs128gesture,
    dvs_lip,
    folder,
    n_imagenet,
    ncaltech101,
    nmnist,
    tonic_dataset,
)
from eventsnn.data.sets._base import DATASETS, DatasetSpec, Recording
from eventsnn.errors import DataError

# imported for their `@dataset` declarations, which fill `DATASETS`
_MODULES = (asl_dvs, cifar10dvs, digits_dvs, dvs128gesture, dvs_lip, folder, n_imagenet, ncaltech101, nmnist,
            tonic_dataset)  # fmt: skip
REGISTRY: dict[str, DatasetSpec] = dict(sorted(DATASETS.items()))

__all__ = ["REGISTRY", "DatasetSpec", "Recording", "get_dataset", "list_datasets", "tonic_dataset"]


def list_datasets() -> list[str]:
    """Registered event data set names, sorted."""
    return list(REGISTRY)


def get_dataset(name: str) -> DatasetSpec:
    """The `DatasetSpec` of `name` (`DataError` naming the registered ones otherwise)."""
    spec = REGISTRY.get(name)
    if spec is None:
        raise DataError(f"unknown event data set {name!r}; registered: {', '.join(REGISTRY)}")
    return spec
