"""`eventsnn bench decode`: every format gets a file, eventsnn decodes it to the events written,
and at least one independent reference reader runs on it."""

from __future__ import annotations

import numpy as np
import pytest

from eventsnn.bench import decode
from eventsnn.events.formats import FORMATS, read_file

pytest.importorskip("faery")


def test_every_format_has_a_case_and_a_reference(tmp_path):
    n = 3000
    files = decode._write_files(tmp_path, n)
    assert set(files) == {f.name for f in FORMATS} - {"npy"} | {"npz"}
    t, x, _, p = decode._events(n)
    for fmt, path in files.items():
        ev = read_file(path).events
        assert len(ev) == n, fmt
        np.testing.assert_array_equal(ev["p"], p, err_msg=fmt)
        if fmt in ("evt2", "evt3", "dat", "es", "aedat4", "hdf5", "npz"):
            np.testing.assert_array_equal(ev["t"], t, err_msg=fmt)
            np.testing.assert_array_equal(ev["x"], x, err_msg=fmt)
        refs = decode._references(fmt, path)
        assert refs, fmt
        for ref in refs.values():
            ref()
