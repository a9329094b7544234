"""Figures fit for a paper: shared colour scales (Fig. 3), items from different classes, error bars
that say what they span, n and chance on every sweep plot, one y range per sweep, points instead of
boxes below 5 values, y from 0 for ratios, both Fig. 5 definitions labelled."""

from __future__ import annotations

import numpy as np
import pytest

from eventsnn.analysis.figures import FIG5_TITLES, PAPER_FIG5_CAPTION, default_items, fig3_figure
from eventsnn.robustness.plots import distribution, new_figure, perturbation_figure, shared_accuracy_range


def test_fig3_attention_maps_of_both_checkpoints_share_one_colour_scale():
    rng = np.random.default_rng(0)
    data = {
        "inputs": rng.random((2, 4, 4)),
        "targets": np.array([0, 5]),
        "attention_map_off": rng.random((2, 4, 4)) * 0.35,  # the baseline's maps are dimmer
        "attention_map_da": rng.random((2, 4, 4)) * 0.5,
        "feature_gain": rng.random((2, 4, 4)) * 3,
    }
    fig = fig3_figure(data, ["off", "da"], [0, 17])
    images = [ax.images[0] for ax in fig.axes if ax.images]
    titles = [ax.get_title() for ax in fig.axes]
    attn = [
        im for im, ax in zip(images, [a for a in fig.axes if a.images]) if "attention map" in ax.get_title()
    ]
    assert len(attn) == 2 and "attention map: off" in titles and "attention map: da" in titles
    top = float(data["attention_map_da"].max())
    for im in images[1:3] + images[5:7]:  # both rows, both checkpoints: one scale
        assert im.get_clim() == (0.0, pytest.approx(top))
    assert images[3].get_clim() == (0.0, pytest.approx(float(data["feature_gain"].max())))
    assert "item 17 (class 5)" in [ax.get_ylabel() for ax in fig.axes]


def test_default_items_come_from_different_classes_of_a_sorted_split():
    targets = [0] * 20 + [1] * 20 + [2] * 20 + [3] * 20
    items = default_items(targets)
    assert len({targets[i] for i in items}) == 3
    assert default_items([4, 4, 4]) == [0]


def test_fewer_than_five_values_are_points_and_ratios_start_at_zero():
    ax = new_figure().add_subplot(1, 1, 1)
    assert distribution(ax, [[0.3, 0.31, 0.32], [0.5, 0.52]], ["off", "da_ssdp"], ylabel="S_b") is False
    assert not ax.lines  # a box plot draws lines (whiskers, medians): none here
    assert ax.get_ylim()[0] == 0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["off\n(n=3)", "da_ssdp\n(n=2)"]
    ax = new_figure().add_subplot(1, 1, 1)
    assert distribution(ax, [list(np.linspace(0.1, 0.2, 6))] * 2, ["a", "b"], ylabel="S_b") is True
    assert ax.lines


def test_sweep_plots_label_their_error_bars_n_and_chance_and_share_one_y_range():
    rows = [
        {
            "checkpoint": c,
            "perturbation": p,
            "level": "event",
            "severity": s,
            "n_seeds": 3,
            "top1_mean": m,
            "top1_std": 1.0,
        }
        for c, off in (("off", 0), ("da", 2))
        for p, drop in (("noise", 10), ("jitter", 60))
        for s, m in ((0.0, 90 - off), (1.0, 90 - off - drop))
    ]
    ylim = shared_accuracy_range(rows, 10.0)
    assert ylim == (pytest.approx(8.0), pytest.approx(93.0))
    for name in ("noise", "jitter"):
        fig = perturbation_figure(rows, name, unit="x", chance=10.0, samples=185, ylim=ylim)
        ax = fig.axes[0]
        assert ax.get_ylim() == pytest.approx(ylim)  # the same range on every plot of the sweep
        assert "n = 185 test samples" in ax.get_title()
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("+-1 std over 3 perturbation seeds" in t for t in legend)
        assert "chance (10%)" in legend


def test_fig5_definitions_are_labelled_by_what_they_compute():
    assert "channel pairs" in FIG5_TITLES["channel"] and "the paper's caption" in FIG5_TITLES["channel"]
    assert "neuron pairs (channel x position)" in FIG5_TITLES["neuron"]
    assert "fraction of channel pairs that spike in the same time bin" in PAPER_FIG5_CAPTION
