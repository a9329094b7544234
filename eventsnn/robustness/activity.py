"""The activity of spiking layers: recording it, and the figures of a checkpoint pair from it
(DA-SSDP paper, Fig. 4: raster, per-neuron counts, batch co-firing).

A forward hook on a module records its output (`record_outputs`: the one layer recorder, also
of Fig. 3 and 5 in `eventsnn.analysis.figures`); a spiking neuron module's is the multi-step
output S `[T, B, C, ...]` (`record_layer`).
With s[t, c] = any over the spatial dims of S[t, b, c, ...] for one sample b:

    raster          s[t, c] for the first N channels                          `[T, N]`
    neuron counts   n_c = sum_t s[t, c]  (time steps in which channel c fired)  `[C]`
    co-firing       per mini-batch: mean over its samples of
                    `eventsnn.spikes.cofiring_score` = sum_t n_t (n_t - 1) / (T C (C - 1)),
                    n_t = sum_c s[t, c]; one dot per mini-batch in the box plot.

Files: analysis_raster.png, analysis_counts.png, analysis_cofiring.png, analysis.json.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from spikingjelly.activation_based import functional
from torch import nn

from eventsnn.errors import ConfigError
from eventsnn.models.neurons import spiking_layers
from eventsnn.robustness.plots import distribution, integer_ticks, new_figure, save_png
from eventsnn.spikes import cofiring_score
from eventsnn.utils.io import atomic_write_text


def find_layer(model: nn.Module, name: str | None = None) -> str:
    """`name` if it is a spiking layer of `model` (ConfigError with the closest name otherwise);
    None: the last spiking layer."""
    names = spiking_layers(model)
    if not names:
        raise ConfigError("analysis: the model has no spiking neuron layer")
    if name is None:
        return names[-1]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.0)
        raise ConfigError(f"analysis: {name!r} is not a spiking layer; did you mean {close[0]!r}?")
    return name


@torch.no_grad()
def record_outputs(
    model: nn.Module, names: Sequence[str], x: torch.Tensor, *, inputs: bool = False
) -> dict[str, torch.Tensor]:
    """Output (or first input, `inputs=True`) of each named module in one eval forward of `x`
    (the network's spiking state reset before and after; a module run twice: its last call)."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules]
    if missing:
        raise ConfigError(f"analyze: the model has no module {missing[0]!r}")
    seen: dict[str, torch.Tensor] = {}

    def hook(name):
        def fn(_m, args, out):
            seen[name] = (args[0] if inputs else out).detach()

        return fn

    handles = [modules[n].register_forward_hook(hook(n)) for n in names]
    try:
        model.eval()
        functional.reset_net(model)
        model(x)
        functional.reset_net(model)
    finally:
        for h in handles:
            h.remove()
    return seen


def record_layer(model: nn.Module, layer: str, x: torch.Tensor) -> torch.Tensor:
    """Output `[T, B, C, ...]` of spiking layer `layer` for model input `x` (one forward)."""
    out = record_outputs(model, [layer], x).get(layer)
    if out is None:
        raise ConfigError(f"analysis: layer {layer!r} did not run in the forward pass")
    if out.dim() < 3:
        raise ConfigError(
            f"analysis: layer {layer!r} output {tuple(out.shape)} is not multi-step [T, B, C, ...]"
        )
    return out


def channel_spikes(spikes: torch.Tensor, sample: int = 0) -> np.ndarray:
    """`[T, B, C, ...]` -> bool `[T, C]` of one sample (any over the spatial dims)."""
    s = spikes[:, sample] > 0  # [T,C,...]
    if s.dim() > 2:
        s = s.flatten(2).any(dim=2)
    return s.cpu().numpy()


def raster(spikes: torch.Tensor, sample: int = 0, channels: int = 64) -> np.ndarray:
    """Bool `[T, N]`: the first `channels` channels of one sample."""
    return channel_spikes(spikes, sample)[:, :channels]


def neuron_counts(spikes: torch.Tensor, sample: int = 0) -> np.ndarray:
    """Int `[C]`: number of time steps in which each channel fired (one sample)."""
    return channel_spikes(spikes, sample).sum(axis=0).astype(np.int64)


@torch.no_grad()
def batch_cofiring(
    model: nn.Module,
    layer: str,
    batches: Iterable[Any],
    *,
    device: Any = "cpu",
    max_batches: int | None = None,
) -> list[float]:
    """Mean channel co-firing score of `layer` per mini-batch (`batches` yields `x` or `(x, y)`)."""
    return batch_cofiring_by_units(
        model, layer, batches, units=("channel",), device=device, max_batches=max_batches
    )["channel"]


def batch_cofiring_by_units(
    model: nn.Module,
    layer: str,
    batches: Iterable[Any],
    *,
    units: Sequence[str],
    device: Any = "cpu",
    max_batches: int | None = None,
) -> dict[str, list[float]]:
    """Per mini-batch mean co-firing score of `layer` for each of `units` ("channel", "neuron";
    see `spikes.cofiring_score`), all from one forward per batch."""
    scores: dict[str, list[float]] = {u: [] for u in units}
    for i, batch in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        s = (record_layer(model, layer, x.to(device)) > 0).to(torch.uint8).cpu()  # [T,B,C,...]
        for u in units:
            scores[u].append(float(cofiring_score(s, units=u).mean()))
    return scores


def analysis_figures(
    models: Mapping[str, nn.Module],
    sample: torch.Tensor,
    batches_fn,
    out_dir: str | Path,
    *,
    layer: str | None = None,
    channels: int = 64,
    device: Any = "cpu",
    max_batches: int | None = None,
) -> dict[str, Path]:
    """Raster, neuron-count and co-firing figures for `models` (label -> model; a pair, usually).

    Args:
        sample: one model input `[1, T, C, H, W]` (the layout the models take).
        batches_fn: a callable returning a fresh iterable of test batches (called once per model).
        layer: spiking layer name (None: the last spiking layer of the first model).
    """
    from matplotlib.ticker import MaxNLocator

    labels = list(models)
    layer = find_layer(models[labels[0]], layer)
    for lab in labels[1:]:
        find_layer(models[lab], layer)
    data: dict[str, dict[str, Any]] = {}
    for lab, model in models.items():
        s = record_layer(model, layer, sample.to(device))
        data[lab] = {
            "raster": raster(s, 0, channels),
            "counts": neuron_counts(s, 0),
            "cofiring": batch_cofiring(model, layer, batches_fn(), device=device, max_batches=max_batches),
        }
    out = Path(out_dir)
    n = len(labels)
    paths = {}

    fig = new_figure((6.4, 2.4 * n))
    for k, lab in enumerate(labels):
        ax = fig.add_subplot(n, 1, k + 1)
        t_idx, c_idx = np.nonzero(data[lab]["raster"])
        ax.scatter(t_idx, c_idx, s=40, marker="|", linewidths=1.5, color=f"C{k}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(-0.5, data[lab]["raster"].shape[0] - 0.5)
        ax.set_ylim(-0.5, data[lab]["raster"].shape[1] - 0.5)
        ax.set_ylabel("channel")
        ax.set_title(f"{lab}: spike raster of {layer} (one sample)")
    ax.set_xlabel("time step")
    fig.tight_layout()
    paths["raster"] = save_png(fig, out / "analysis_raster.png")

    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / n
    for k, lab in enumerate(labels):
        counts = data[lab]["counts"][:channels]
        ax.bar(np.arange(len(counts)) + k * width, counts, width=width, label=lab, color=f"C{k}")
    ax.set_xlabel("channel")
    ax.set_ylabel("spike count (time steps)")
    integer_ticks(ax.yaxis)
    ax.set_title(f"per-neuron spike counts of test item 0 (n = 1 sample), {layer}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    paths["counts"] = save_png(fig, out / "analysis_counts.png")

    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    values = [data[lab]["cofiring"] for lab in labels]
    distribution(ax, values, labels, ylabel="co-firing score per mini-batch")
    ax.set_title(f"batch co-firing (synchrony), {layer}; n = mini-batches", fontsize=9)
    fig.tight_layout()
    paths["cofiring"] = save_png(fig, out / "analysis_cofiring.png")

    doc = {
        "layer": layer,
        "checkpoints": {
            lab: {
                "raster_shape": list(d["raster"].shape),
                "neuron_counts": d["counts"].tolist(),
                "cofiring_per_batch": d["cofiring"],
                "cofiring_mean": float(np.mean(d["cofiring"])) if d["cofiring"] else None,
            }
            for lab, d in data.items()
        },
    }
    paths["json"] = atomic_write_text(out / "analysis.json", json.dumps(doc, indent=2) + "\n")
    return paths
