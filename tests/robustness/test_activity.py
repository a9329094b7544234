"""Spiking-layer activity and its figures: hooked raster, neuron counts and batch co-firing against
hand computations."""

from __future__ import annotations

import json
from itertools import combinations

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from eventsnn.errors import ConfigError
from eventsnn.robustness import PerturbedDataset
from eventsnn.robustness.activity import (
    analysis_figures,
    batch_cofiring,
    find_layer,
    neuron_counts,
    raster,
    record_layer,
)

from .test_sweep import TinySNN, source, trained


def reference_cofiring(s: np.ndarray) -> float:
    """Slow pair loop: fraction of channel pairs spiking in the same bin, averaged over T. s: bool [T, C]."""
    T, C = s.shape
    pairs = list(combinations(range(C), 2))
    return float(np.mean([sum(s[t, i] and s[t, j] for i, j in pairs) / len(pairs) for t in range(T)]))


def loader(batch_size=5):
    return DataLoader(PerturbedDataset(source(), range(12), None, 0.0, 0), batch_size=batch_size)


def test_record_layer_raster_counts_and_cofiring_match_hand_computation():
    model = TinySNN(0).eval()
    x, _ = next(iter(loader()))
    layer = find_layer(model)
    assert layer == "lif"
    s = record_layer(model, layer, x)  # [T,B,C]
    with torch.no_grad():
        expect = model.lif(model.fc1(x.transpose(0, 1).flatten(2)) * 0.5)
    assert s.shape == (4, 5, 12) and torch.equal(s, expect)
    r = raster(s, sample=2, channels=8)
    assert r.shape == (4, 8) and np.array_equal(r, expect[:, 2, :8].numpy() > 0)
    assert np.array_equal(neuron_counts(s, 2), (expect[:, 2] > 0).sum(0).numpy())
    scores = batch_cofiring(model, layer, loader())
    assert len(scores) == 3  # 12 samples in batches of 5
    ref0 = np.mean([reference_cofiring(expect[:, b].numpy() > 0) for b in range(5)])
    assert scores[0] == pytest.approx(ref0)


def test_unknown_layer_names_the_closest():
    with pytest.raises(ConfigError, match="did you mean 'lif'"):
        find_layer(TinySNN(0), "lif1")


def _hand_spikes(model, x) -> np.ndarray:
    """The TinySNN's LIF output by hand (fc1, scale, LIF), as bool `[T, B, C]`."""
    from spikingjelly.activation_based import functional

    functional.reset_net(model)
    with torch.no_grad():
        return (model.lif(model.fc1(x.transpose(0, 1).flatten(2)) * 0.5) > 0).numpy()


def test_analysis_figures_for_a_pair(tmp_path):
    models = {"baseline": trained(0), "da_ssdp": trained(1)}
    x, _ = next(iter(loader(1)))
    assert all(_hand_spikes(m, x).any() for m in models.values())  # the sample makes both fire
    paths = analysis_figures(models, x, loader, tmp_path, channels=10)
    for key in ("raster", "counts", "cofiring"):
        img = mpimg.imread(paths[key])
        assert img.shape[:2] == ((240 * len(models), 640) if key == "raster" else (480, 640))
        assert (img[..., :3] < 0.9).any(axis=-1).mean() > 0.01  # something is drawn, not a blank page
    doc = json.loads(paths["json"].read_text())
    assert doc["layer"] == "lif" and set(doc["checkpoints"]) == set(models)
    for lab, model in models.items():
        d = doc["checkpoints"][lab]
        s = _hand_spikes(model, x)  # [T, 1, C]
        assert d["raster_shape"] == [4, 10]
        assert d["neuron_counts"] == s[:, 0].sum(0).tolist()  # time steps each channel fired
        per_batch = [
            np.mean([reference_cofiring(sb[:, b]) for b in range(sb.shape[1])])
            for sb in (_hand_spikes(model, xb) for xb, _ in loader())
        ]
        assert d["cofiring_per_batch"] == pytest.approx(per_batch)
        assert d["cofiring_mean"] == pytest.approx(np.mean(per_batch))
    counts = [doc["checkpoints"][lab]["neuron_counts"] for lab in models]
    assert counts[0] != counts[1]  # two different networks, two different figures
