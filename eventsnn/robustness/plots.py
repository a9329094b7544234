"""PNG plots of a sweep: top-1 accuracy vs severity, one line per checkpoint, error bars = std
over seeds, one file per perturbation. Uses matplotlib's Agg canvas directly (no global backend
switch, no display); the image is exactly `figsize * dpi` pixels (no tight bounding box)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eventsnn.utils.io import atomic_path

FIGSIZE = (6.4, 4.8)
DPI = 100  # -> 640 x 480 pixels


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
    summary: Sequence[Mapping[str, Any]],
    perturbation: str,
    path: str | Path,
    *,
    metric: str = "top1",
    unit: str | None = None,
    figsize: tuple[float, float] = FIGSIZE,
    dpi: int = DPI,
) -> Path:
    """Accuracy vs severity of `perturbation`, one line (with std error bars) per checkpoint."""
    rows = [r for r in summary if r["perturbation"] == perturbation]
    if not rows:
        raise ValueError(f"no summary rows for perturbation {perturbation!r}")
    if unit is None:
        from eventsnn.robustness.registry import PERTURBATIONS

        unit = PERTURBATIONS[perturbation].unit if perturbation in PERTURBATIONS else "severity"
    fig = new_figure(figsize, dpi)
    ax = fig.add_subplot(1, 1, 1)
    for ckpt in dict.fromkeys(r["checkpoint"] for r in rows):
        mine = sorted((r for r in rows if r["checkpoint"] == ckpt), key=lambda r: r["severity"])
        ax.errorbar(
            [r["severity"] for r in mine],
            [r[f"{metric}_mean"] for r in mine],
            yerr=[r[f"{metric}_std"] for r in mine],
            marker="o",
            capsize=3,
            label=ckpt,
        )
    lo = min(r[f"{metric}_mean"] - r[f"{metric}_std"] for r in rows)
    hi = max(r[f"{metric}_mean"] + r[f"{metric}_std"] for r in rows)
    if metric.startswith("top"):  # percent: show at least a 10-point window inside [0, 100]
        lo, hi = max(0.0, min(lo, hi - 10) - 2), min(100.0, max(hi, lo + 10) + 2)
        ax.set_ylim(lo, hi)
    ax.set_xlabel(f"{perturbation}: {unit}")
    ax.set_ylabel(f"{metric} accuracy (%)")
    ax.set_title(f"{perturbation} ({rows[0]['level']} level)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_png(fig, path)


def plot_all(summary: Sequence[Mapping[str, Any]], out_dir: str | Path, **kwargs: Any) -> dict[str, Path]:
    """`robustness_<perturbation>.png` for every perturbation in `summary`."""
    out = {}
    for name in dict.fromkeys(r["perturbation"] for r in summary):
        out[name] = plot_perturbation(
            summary, name, Path(out_dir) / f"robustness_{safe_name(name)}.png", **kwargs
        )
    return out
