"""Shared fixtures: repository paths, the real recordings, GPU skipping."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data() -> Path:
    """`../shared/data/real/`; tests using it are skipped when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real recordings not found at {REAL_DATA}")
    return REAL_DATA


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


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """A fresh 2-class x 4-recording folder data set (16x16 sensor) under tmp_path/rec."""
    return write_tiny_folder(tmp_path / "rec")
