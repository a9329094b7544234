"""Atomic writes: the final file appears only on success, with the usual permissions."""

from __future__ import annotations

import os
import stat

import pytest

from eventsnn.utils.io import atomic_path, atomic_write_text


def test_atomic_write_replaces_and_uses_umask_mode(tmp_path):
    path = atomic_write_text(tmp_path / "a" / "f.txt", "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ["f.txt"]


def test_failure_leaves_nothing_behind(tmp_path):
    target = tmp_path / "f.bin"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert list(tmp_path.iterdir()) == []
