"""Event data sets: raw recordings and splits, the framed h5 cache, cached-frame datasets.

Static-image data sets live in `eventsnn.data.images`; the embedded demo data in
`eventsnn.data.demo` (`ensure_demo_data`).
"""

from eventsnn.data.cache import PreprocessStats, cache_key, plan_cache, preprocess
from eventsnn.data.datasets import (
    CachedFramesDataset,
    EventDataInfo,
    build_event_datasets,
    load_raw_split,
    raw_recordings,
)
from eventsnn.data.recordings import (
    RawRecordings,
    Recording,
    create_dataset,
    list_all_recordings,
    list_recordings,
    per_class_split,
    random_split,
    read_recording,
    sensor_size_for,
    split_recordings,
)

__all__ = [
    "CachedFramesDataset",
    "EventDataInfo",
    "PreprocessStats",
    "RawRecordings",
    "Recording",
    "build_event_datasets",
    "cache_key",
    "create_dataset",
    "list_all_recordings",
    "list_recordings",
    "load_raw_split",
    "per_class_split",
    "plan_cache",
    "preprocess",
    "random_split",
    "raw_recordings",
    "read_recording",
    "sensor_size_for",
    "split_recordings",
]


def ensure_demo_data(*args, **kwargs):
    """See `eventsnn.data.demo.ensure_demo_data` (imported lazily: it needs scikit-learn)."""
    from eventsnn.data.demo import ensure_demo_data as _ensure

    return _ensure(*args, **kwargs)
