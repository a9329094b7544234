"""The DA-SSDP paper's Fig. 3 and Fig. 5 from checkpoints (Fig. 4: `eventsnn.robustness.activity`).

Fig. 3 (last DSSA block of the model, `eventsnn.models.blocks.DSSA`), for chosen test items b:

    attention   A[t, b, h, n, p]: the spiking attention `activation_attn` output (n: patch token,
                p = y * W + x: position of the block's H x W input)
    attention map  M[b, y, x] = mean over t, h, n of A[t, b, h, n, (y, x)]
    feature gain   D[b, y, x] = mean over t, c of |P_B[t, b, c, y, x] - P_A[t, b, c, y, x]|,
                P = the post-projection activation `norm_proj(Wproj(.))` (before the residual)
                of checkpoint B (DA-SSDP) and checkpoint A (baseline) on the same input.

Both checkpoints' attention maps share one colour scale (0 to the largest value of either), so
their colours compare; the feature gain has its own. Default items (`default_items`) come from
different classes.

Fig. 5 (a spiking layer, default the last): per mini-batch, the mean over its samples of the
batch synchrony score `eventsnn.spikes.cofiring_score`, in two panels by what the unit is:
(a) channel pairs, the definition of the paper's caption (quoted in `PAPER_FIG5_CAPTION`): a
channel spikes in a time bin if any of its positions does; (b) neuron pairs, every (channel,
position) a unit of its own. On the demo checkpoints the two differ by 3x to 25x.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from eventsnn.errors import ConfigError
from eventsnn.models.blocks import DSSA
from eventsnn.robustness.activity import batch_cofiring_by_units, find_layer, record_outputs
from eventsnn.robustness.plots import distribution, new_figure, save_png
from eventsnn.utils.io import atomic_path, atomic_write_text

SYNCHRONY_UNITS = ("channel", "neuron")
PAPER_FIG5_CAPTION = (
    "For batch b, we mark a channel active if it fires at least once within the window T, and define "
    "the batch synchrony score S_b as the fraction of channel pairs that spike in the same time bin."
)
FIG5_TITLES = {
    "channel": "channel pairs co-spiking per time bin (the paper's caption)",
    "neuron": "neuron pairs (channel x position) co-spiking per time bin",
}


def default_items(targets: Sequence[int], n: int = 3) -> list[int]:
    """`n` test indices from different classes (the first item of each of n classes spread over
    the class range), so that a sorted test split does not give n items of class 0."""
    first: dict[int, int] = {}
    for i, t in enumerate(targets):
        first.setdefault(int(t), i)
    classes = sorted(first)
    if not classes:
        return []
    picks = np.unique(np.linspace(0, len(classes) - 1, min(n, len(classes))).round().astype(int))
    return [first[classes[k]] for k in picks]


def last_dssa(model: nn.Module) -> str:
    """Name of the last DSSA block of `model`; ConfigError when there is none."""
    names = [name for name, m in model.named_modules() if isinstance(m, DSSA)]
    if not names:
        raise ConfigError("analyze attention: the model has no DSSA block")
    return names[-1]


def attention_map(attn: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`[T, B, h, N, H*W]` spiking attention -> `[B, H, W]`: mean over time, heads and tokens."""
    if attn.dim() != 5 or attn.shape[-1] != height * width:
        raise ValueError(f"attention {tuple(attn.shape)} is not [T, B, h, N, {height}*{width}]")
    return attn.float().mean(dim=(0, 2, 3)).reshape(attn.shape[1], height, width)


def feature_gain(proj_a: torch.Tensor, proj_b: torch.Tensor) -> torch.Tensor:
    """`[T, B, C, H, W]` x 2 -> `[B, H, W]`: mean over time and channels of |proj_b - proj_a|."""
    if proj_a.shape != proj_b.shape or proj_a.dim() != 5:
        raise ValueError(
            f"projections must share a [T, B, C, H, W] shape, got {proj_a.shape}, {proj_b.shape}"
        )
    return (proj_b.float() - proj_a.float()).abs().mean(dim=(0, 2))


def attention_arrays(model: nn.Module, x: torch.Tensor, block: str | None = None) -> dict[str, torch.Tensor]:
    """Spiking attention `[T, B, h, N, HW]`, its map `[B, H, W]` and the post-projection
    activation `[T, B, C, H, W]` of DSSA `block` (default: the last) for input batch `x`."""
    block = block or last_dssa(model)
    names = [f"{block}.activation_attn", f"{block}.norm_proj"]
    out = record_outputs(model, names, x)
    block_in = record_outputs(model, [block], x, inputs=True)[block]  # [T,B,C,H,W]
    H, W = block_in.shape[-2:]
    attn = out[names[0]]
    return {"attention": attn, "map": attention_map(attn, H, W), "projection": out[names[1]]}


def display_input(x: torch.Tensor) -> np.ndarray:
    """One model input (`[T, C, H, W]` frames or `[C, H, W]` image) -> `[H, W]` for display."""
    x = x.float()
    dims = tuple(range(x.dim() - 2))
    return (x.sum(dim=dims) if x.dim() == 4 else x.mean(dim=dims)).cpu().numpy()


def fig3(
    models: Mapping[str, nn.Module],
    items: Sequence[tuple[torch.Tensor, int]],
    indices: Sequence[int],
    out_dir: Path,
    *,
    device: Any = "cpu",
) -> dict[str, Path]:
    """attention maps of every checkpoint and the feature gain of the second vs the first
    (labels in `models` order); writes fig3_attention.png and fig3_attention.npz."""
    labels = list(models)
    if len(labels) != 2:
        raise ConfigError(
            f"analyze attention: needs exactly two checkpoints (baseline, DA-SSDP), got {len(labels)}"
        )
    x = torch.stack([torch.as_tensor(it[0]) for it in items]).to(device)
    arrays = {lab: attention_arrays(m, x) for lab, m in models.items()}
    gain = feature_gain(arrays[labels[0]]["projection"], arrays[labels[1]]["projection"])  # [n,H,W]
    data = {
        "indices": np.asarray(indices, dtype=np.int64),
        "targets": np.asarray([int(it[1]) for it in items], dtype=np.int64),
        "inputs": np.stack([display_input(it[0]) for it in items]),
        "feature_gain": gain.cpu().numpy(),
        "labels": np.asarray(labels),
    }
    for lab in labels:
        data[f"attention_map_{lab}"] = arrays[lab]["map"].cpu().numpy()
        data[f"attention_{lab}"] = arrays[lab]["attention"].float().mean(dim=(0, 2)).cpu().numpy()  # [n,N,HW]
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "fig3_attention.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **data)
    fig = fig3_figure(data, labels, indices)
    png = save_png(fig, out_dir / "fig3_attention.png")
    return {"png": png, "npz": out_dir / "fig3_attention.npz"}


def fig3_figure(data: Mapping[str, np.ndarray], labels: Sequence[str], indices: Sequence[int]):
    """The Fig. 3 grid (rows: items; columns: input, each checkpoint's attention map on ONE shared
    colour scale, the feature gain) from the arrays `fig3` saves."""
    n = len(indices)
    fig = new_figure((10.0, 2.6 * n))
    attn_max = max(float(data[f"attention_map_{lab}"].max()) for lab in labels)
    shared = (0.0, attn_max if attn_max > 0 else 1.0)  # one scale for both checkpoints' maps
    gain_max = float(data["feature_gain"].max())
    columns = [
        ("input (event counts)", data["inputs"], "gray", None),
        *[(f"attention map: {lab}", data[f"attention_map_{lab}"], "viridis", shared) for lab in labels],
        (
            f"feature gain |{labels[1]} - {labels[0]}|",
            data["feature_gain"],
            "inferno",
            (0.0, gain_max if gain_max > 0 else 1.0),
        ),
    ]
    for row in range(n):
        for col, (title, arr, cmap, lim) in enumerate(columns):
            ax = fig.add_subplot(n, len(columns), row * len(columns) + col + 1)
            im = ax.imshow(arr[row], cmap=cmap, vmin=lim[0] if lim else None, vmax=lim[1] if lim else None)
            fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(title, fontsize=8)
            if col == 0:
                ax.set_ylabel(f"item {indices[row]} (class {data['targets'][row]})", fontsize=8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def fig5(
    models: Mapping[str, nn.Module],
    batches_fn,
    out_dir: Path,
    *,
    layer: str | None = None,
    device: Any = "cpu",
    max_batches: int | None = None,
) -> dict[str, Path]:
    """The per-mini-batch synchrony (channel pairs | neuron pairs) of every checkpoint (box plots
    from 5 mini-batches, points below); writes fig5_synchrony.png, .npz and .json."""
    import json

    labels = list(models)
    layer = find_layer(models[labels[0]], layer)
    for lab in labels[1:]:
        find_layer(models[lab], layer)
    scores = {
        lab: batch_cofiring_by_units(
            m, layer, batches_fn(), units=SYNCHRONY_UNITS, device=device, max_batches=max_batches
        )
        for lab, m in models.items()
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    fig = new_figure((11.0, 5.0))
    for k, unit in enumerate(SYNCHRONY_UNITS):
        ax = fig.add_subplot(1, 2, k + 1)
        distribution(
            ax, [scores[lab][unit] for lab in labels], labels, ylabel="batch synchrony score S_b (fraction)"
        )
        ax.set_title(f"({'ab'[k]}) {FIG5_TITLES[unit]}", fontsize=8)
    fig.suptitle(
        f"batch synchrony per mini-batch (n = mini-batches), layer {layer}\n"
        f'paper, Fig. 5: "{PAPER_FIG5_CAPTION}"',
        fontsize=7,
    )
    fig.tight_layout()
    png = save_png(fig, out_dir / "fig5_synchrony.png")
    arrays = {f"{unit}_{lab}": np.asarray(scores[lab][unit]) for lab in labels for unit in SYNCHRONY_UNITS}
    with atomic_path(out_dir / "fig5_synchrony.npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    doc = {
        "layer": layer,
        "definitions": {u: FIG5_TITLES[u] for u in SYNCHRONY_UNITS},
        "paper_caption": PAPER_FIG5_CAPTION,
        "scores": scores,
        "median": {lab: {u: float(np.median(scores[lab][u])) for u in SYNCHRONY_UNITS} for lab in labels},
    }
    atomic_write_text(out_dir / "fig5_synchrony.json", json.dumps(doc, indent=2) + "\n")
    return {"png": png, "npz": out_dir / "fig5_synchrony.npz", "json": out_dir / "fig5_synchrony.json"}
