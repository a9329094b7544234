"""folder: a user's recordings, one sub-folder per class, any format eventsnn reads (mixed
suffixes allowed; each file's format comes from its header); per-class split; the sensor comes
from the files' headers or the events (see `eventsnn.data.recordings.sensor_size_for`)."""

from __future__ import annotations

from pathlib import Path

from eventsnn.data.sets._base import class_folders, dataset
from eventsnn.events.io import SUFFIXES

LAYOUT = f"<root>/<class>/*.{{{','.join(s.lstrip('.') for s in SUFFIXES)}}} (one sub-folder per class)"


@dataset("folder", "folder: one sub-folder per class, any supported format", sensor_size=None, layout=LAYOUT,
         split="per_class", reader="any (from the header)")
def list_files(root: Path, orientation: str | None):
    return class_folders("folder", LAYOUT, root, SUFFIXES)
