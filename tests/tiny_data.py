"""A tiny folder data set of real `.aedat4` recordings (random events), written in milliseconds."""

from __future__ import annotations

from pathlib import Path


def write_tiny_folder(
    root: Path, classes: int = 2, per_class: int = 4, size: int = 16, seed: int = 0
) -> Path:
    """`<root>/c<k>/r<i>.aedat4`: random events (600 each, sorted in time) on a size x size sensor."""
    import numpy as np

    from eventsnn.events.io import to_event_array, write_aedat4

    rng = np.random.default_rng(seed)
    for c in range(classes):
        for i in range(per_class):
            n = 600
            t = np.sort(rng.integers(0, 100_000, n))
            ev = to_event_array(t, rng.integers(0, size, n), rng.integers(0, size, n), rng.integers(0, 2, n))
            write_aedat4(root / f"c{c}" / f"r{i:02d}.aedat4", ev, (size, size, 2))
    return root
