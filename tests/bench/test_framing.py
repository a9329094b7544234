"""bench framing: the contenders do the same work (equal frames where the semantics agree)."""

from __future__ import annotations

import numpy as np
import torch

from eventsnn.bench.framing import _contenders, synthetic_events


def as_int(frames) -> np.ndarray:
    return (frames.numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)).astype(np.int64)


def test_contenders_agree():
    n = 20_003  # not a multiple of T: tonic drops the remainder (last frame), the others do not
    ev = synthetic_events(n, 32, 24)
    for split in ("count", "time"):
        out = {name: as_int(fn()) for name, fn in _contenders(ev, (32, 24, 2), split).items()}
        ref = out.pop("spikingjelly")
        assert ref.shape == (10, 2, 24, 32) and ref.sum() == n
        for name, frames in out.items():
            if name.startswith("tonic"):
                np.testing.assert_array_equal(frames[:-1], ref[:-1])
                assert frames.sum() < n
            else:
                np.testing.assert_array_equal(frames, ref, err_msg=name)
