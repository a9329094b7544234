"""framing.normalize's pure function against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from eventsnn.events.normalize import normalize_counts


def test_modes_by_hand():
    x = torch.zeros(2, 1, 1, 2, 2, dtype=torch.int32)  # [B, T, C, H, W]
    x[0, 0, 0] = torch.tensor([[0, 2], [4, 8]])
    # sample 1 stays all zeros
    assert torch.equal(normalize_counts(x, "none"), x.float())
    per = normalize_counts(x, "per_sample")
    assert per[0, 0, 0].tolist() == [[0.0, 0.25], [0.5, 1.0]]
    assert torch.equal(per[1], torch.zeros(1, 1, 2, 2))  # no division by zero
    log = normalize_counts(x, "log1p")
    want = torch.tensor([[0.0, math.log(3)], [math.log(5), math.log(9)]])
    assert torch.allclose(log[0, 0, 0], want)


def test_per_sample_is_invariant_to_scaling_a_sample():
    x = torch.randint(0, 5, (3, 2, 2, 4, 4)).float()
    scaled = x * torch.tensor([1.0, 0.5, 3.0]).view(3, 1, 1, 1, 1)
    assert torch.allclose(normalize_counts(x, "per_sample"), normalize_counts(scaled, "per_sample"))


def test_unknown_mode_is_one_clear_error():
    with pytest.raises(ValueError, match="framing.normalize: 'zscore', expected one of none, per_sample, log1p"):
        normalize_counts(torch.zeros(1, 1), "zscore")


def test_config_reaches_both_paths_and_they_agree():
    """`framing.normalize` from a config: the loader's per-batch `Derive` and the per-recording
    `FramePostprocess` (robustness, predict, stream) give the same input, equal to the hand rule."""
    from eventsnn.config import load_config
    from eventsnn.data.cache_plan import framing_params
    from eventsnn.data.derive import derive_from_config
    from eventsnn.events.postprocess import from_config

    counts = torch.randint(0, 7, (2, 3, 2, 4, 4), dtype=torch.int32)  # [B, T, P, H, W]
    counts[1] = 0
    counts[1, 0, 0, 0, 0] = 5
    base = load_config(None, overrides=["framing.polarity_sum_channel=true"]).framing
    for mode in ("none", "per_sample", "log1p"):
        framing = load_config(None, overrides=[f"framing.normalize={mode}", "framing.polarity_sum_channel=true"]).framing
        batch = derive_from_config(framing)(counts)  # [B, T, 3, 4, 4]
        items = torch.stack([torch.as_tensor(from_config(framing)(c.numpy())) for c in counts])
        assert torch.allclose(batch, items)
        x = torch.cat([counts, counts.sum(2, keepdim=True)], dim=2).float()  # P0, P1, P0 + P1
        peak = x.flatten(1).amax(1).view(2, 1, 1, 1, 1)
        want = {"none": x, "per_sample": x / peak, "log1p": torch.log1p(x)}[mode]
        assert torch.allclose(batch, want)
        assert framing_params(framing) == framing_params(base)  # derived: not in the cache key
