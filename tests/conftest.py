"""Shared fixtures: repository paths, the real recordings, GPU skipping."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.factories import REPO, small_run_config
from tests.tiny_data import write_tiny_folder

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


@pytest.fixture
def small_run(tmp_path):
    """`small_run("plasticity.mode=off", config="events")`: `tests.factories.small_run_config` under
    this test's tmp_path."""
    return lambda *extra, config="images": small_run_config(tmp_path, *extra, config=config)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """`../shared/data/real/`; tests using it are skipped when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real recordings not found at {REAL_DATA}")
    return REAL_DATA


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    """A fresh 2-class x 4-recording folder data set (16x16 sensor) under tmp_path/rec."""
    return write_tiny_folder(tmp_path / "rec")


@pytest.fixture
def tmpfs(tmp_path):
    """`tmpfs("6m")` mounts a tmpfs of that size under tmp_path and returns it (root only; the
    test is skipped where it cannot mount one); unmounted at teardown."""
    import os
    import subprocess

    mounted: list[Path] = []

    def mount(size: str) -> Path:
        mnt = tmp_path / f"tmpfs{len(mounted)}"
        mnt.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a tmpfs needs root")
        out = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True
        )
        if out.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {out.stderr.decode().strip()}")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
