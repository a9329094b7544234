"""PNG plots of a sweep and the conventions every eventsnn figure follows.

A sweep: top-1 accuracy vs severity, one line per checkpoint, one file per perturbation; error
bars are +-1 std over the *perturbation* seeds (the same trained model perturbed with different
random draws; not training seeds) and the legend says so with their number; the title gives the
number of test samples; a dotted line marks chance (100 / classes); every plot of one sweep
shares one y range. Distributions (`distribution`) are box plots only from `MIN_BOX` values per
group, points below that, with n in the tick labels. Uses matplotlib's Agg canvas directly (no
global backend switch, no display); the image is exactly `figsize * dpi` pixels."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eventsnn.robustness.registry import PERTURBATIONS
from eventsnn.utils.io import atomic_path

FIGSIZE = (6.4, 4.8)
DPI = 100  # -> 640 x 480 pixels
MIN_BOX = 5  # fewer values per group are drawn as points, not as a box


def distribution(
    ax, values: Sequence[Sequence[float]], labels: Sequence[str], *, ylabel: str, from_zero: bool = True
) -> bool:
    """Per group: a box plot (every group has >= MIN_BOX values) with the values as points on top,
    or the points alone; `n=` in each tick label; y from 0 when `from_zero` (a ratio compared).
    Returns True when boxes were drawn."""
    import numpy as np

    boxed = all(len(v) >= MIN_BOX for v in values)
    if boxed:
        ax.boxplot([list(v) for v in values], showfliers=False)
    rng = np.random.default_rng(0)
    for k, v in enumerate(values):
        jitter = rng.uniform(-0.12, 0.12, len(v)) if boxed else np.zeros(len(v))
        ax.scatter(k + 1 + jitter, v, s=14 if boxed else 28, color=f"C{k}", alpha=0.8, zorder=3)
    ax.set_xticks(range(1, len(labels) + 1), [f"{lab}\n(n={len(v)})" for lab, v in zip(labels, values)])
    ax.set_xlim(0.5, len(labels) + 0.5)
    ax.set_ylabel(ylabel)
    if from_zero:
        top = max((max(v) for v in values if len(v)), default=1.0)
        ax.set_ylim(0, top * 1.1 if top > 0 else 1.0)
    return boxed


def integer_ticks(axis) -> None:
    """Integer tick labels only (an axis of counts)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def shared_accuracy_range(summary: Sequence[Mapping[str, Any]], chance: float | None, metric: str = "top1"):
    """One (low, high) y range for every plot of a sweep: the means +- std of all its rows and the
    chance line, padded by 2 points, clipped to [0, 100]."""
    lows = [r[f"{metric}_mean"] - r[f"{metric}_std"] for r in summary]
    highs = [r[f"{metric}_mean"] + r[f"{metric}_std"] for r in summary]
    if chance is not None:
        lows.append(chance)
    return max(0.0, min(lows) - 2), min(100.0, max(highs) + 2)


def new_figure(figsize: tuple[float, float] = FIGSIZE, dpi: int = DPI):
    """A matplotlib Figure on an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: str | Path) -> Path:
    """Save `fig` as PNG atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=fig.dpi)
    return Path(path)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_perturbation(
    summary: Sequence[Mapping[str, Any]], perturbation: str, path: str | Path, **options: Any
) -> Path:
    """Save `perturbation_figure(summary, perturbation, **options)` as a PNG at `path`."""
    return save_png(perturbation_figure(summary, perturbation, **options), path)


def perturbation_figure(
    summary: Sequence[Mapping[str, Any]],
    perturbation: str,
    *,
    metric: str = "top1",
    unit: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
    dpi: int = DPI,
    chance: float | None = None,
    samples: int | None = None,
    ylim: tuple[float, float] | None = None,
):
    """Accuracy vs severity of `perturbation`, one line per checkpoint with error bars of +-1 std
    over the perturbation seeds; `chance` (%) dotted, `samples` test samples in the title, `ylim`
    the sweep's shared range (default: `shared_accuracy_range` of this perturbation alone)."""
    rows = [r for r in summary if r["perturbation"] == perturbation]
    if not rows:
        raise ValueError(f"no summary rows for perturbation {perturbation!r}")
    if unit is None:
        unit = PERTURBATIONS[perturbation].unit if perturbation in PERTURBATIONS else "severity"
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot(1, 1, 1)
    seeds = sorted({int(r.get("n_seeds", 1)) for r in rows})
    seed_text = "/".join(str(n) for n in seeds)
    for ckpt in dict.fromkeys(r["checkpoint"] for r in rows):
        mine = sorted((r for r in rows if r["checkpoint"] == ckpt), key=lambda r: r["severity"])
        ax.errorbar(
            [r["severity"] for r in mine],
            [r[f"{metric}_mean"] for r in mine],
            yerr=[r[f"{metric}_std"] for r in mine],
            marker="o",
            capsize=3,
            label=f"{ckpt} (bars: +-1 std over {seed_text} perturbation seeds)",
        )
    if chance is not None:
        ax.axhline(chance, color="0.4", ls=":", lw=1.2, label=f"chance ({chance:.3g}%)")
    if metric.startswith("top"):
        ax.set_ylim(*(ylim or shared_accuracy_range(rows, chance, metric)))
    ax.set_xlabel(f"{perturbation}: {unit}")
    ax.set_ylabel(f"{metric} accuracy (%)")
    n_text = f", n = {samples} test samples" if samples is not None else ""
    ax.set_title(f"{perturbation} ({rows[0]['level']} level){n_text}", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_all(
    summary: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    chance: float | None = None,
    samples: int | None = None,
    **kwargs: Any,
) -> dict[str, Path]:
    """`robustness_<perturbation>.png` for every perturbation in `summary`, all on one y range."""
    metric = kwargs.get("metric", "top1")
    ylim = shared_accuracy_range(summary, chance, metric) if metric.startswith("top") else None
    out = {}
    for name in dict.fromkeys(r["perturbation"] for r in summary):
        out[name] = plot_perturbation(
            summary,
            name,
            Path(out_dir) / f"robustness_{safe_name(name)}.png",
            chance=chance,
            samples=samples,
            ylim=ylim,
            **kwargs,
        )
    return out
