"""Sweep outputs: CSV and JSON of every point and of the mean/std summary, a Markdown table.

Files (all written atomically into `out_dir`):
    robustness_points.csv    one row per checkpoint x perturbation x severity x seed
    robustness_summary.csv   mean / std over seeds per checkpoint x perturbation x severity
    robustness.json          {"points": [...], "summary": [...], "meta": {...}}
    robustness.md            Markdown table: top-1 mean +- std, one column per checkpoint
    robustness_<name>.png    accuracy vs severity per perturbation (`eventsnn.robustness.plots`)
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eventsnn.robustness.plots import plot_all
from eventsnn.robustness.sweep import summarize
from eventsnn.utils.io import atomic_write_text

POINT_COLUMNS = (
    "checkpoint",
    "perturbation",
    "level",
    "severity",
    "seed",
    "top1",
    "top5",
    "loss",
    "n",
    "seconds",
)
SUMMARY_COLUMNS = (
    "checkpoint",
    "perturbation",
    "level",
    "severity",
    "n_seeds",
    "top1_mean",
    "top1_std",
    "top5_mean",
    "top5_std",
    "loss_mean",
    "loss_std",
)


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Rows -> CSV text with `columns` (missing values empty; extra scalar keys appended in first-seen
    order; list / dict values such as per-class accuracy stay in the JSON only)."""
    cols = list(columns)
    for r in rows:
        cols += [k for k, v in r.items() if k not in cols and not isinstance(v, (list, tuple, dict))]
    used = [c for c in cols if any(c in r for r in rows)] or list(columns)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=used, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def markdown_table(summary: Sequence[Mapping[str, Any]], metric: str = "top1") -> str:
    """One table: rows (perturbation, level, severity), one column per checkpoint, `mean ± std` %."""
    ckpts = list(dict.fromkeys(r["checkpoint"] for r in summary))
    keys = list(dict.fromkeys((r["perturbation"], r["level"], r["severity"]) for r in summary))
    cell = {(r["checkpoint"], r["perturbation"], r["level"], r["severity"]): r for r in summary}
    lines = [
        "| perturbation | level | severity | " + " | ".join(ckpts) + " |",
        "|---|---|---:|" + "---:|" * len(ckpts),
    ]
    for name, level, sev in keys:
        vals = []
        for c in ckpts:
            r = cell.get((c, name, level, sev))
            vals.append("" if r is None else f"{r[f'{metric}_mean']:.2f} ± {r[f'{metric}_std']:.2f}")
        lines.append(f"| {name} | {level} | {sev:g} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def write_reports(
    points: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    *,
    meta: Mapping[str, Any] | None = None,
    plots: bool = True,
) -> dict[str, Path]:
    """Write CSV / JSON / Markdown (and PNG plots) of a sweep's points; returns {kind: path}."""
    out = Path(out_dir)
    summary = summarize(points)
    paths = {
        "points_csv": out / "robustness_points.csv",
        "summary_csv": out / "robustness_summary.csv",
        "json": out / "robustness.json",
        "markdown": out / "robustness.md",
    }
    atomic_write_text(paths["points_csv"], to_csv(points, POINT_COLUMNS))
    atomic_write_text(paths["summary_csv"], to_csv(summary, SUMMARY_COLUMNS))
    doc = {"meta": dict(meta or {}), "points": list(points), "summary": summary}
    atomic_write_text(paths["json"], json.dumps(doc, indent=2) + "\n")
    md = "# Robustness: top-1 accuracy (%), mean ± std over perturbation seeds\n\n" + markdown_table(summary)
    if plots:
        classes = next((len(p["per_class"]) for p in points if p.get("per_class")), None)
        samples = next((int(p["n"]) for p in points if "n" in p), None)
        pngs = plot_all(summary, out, chance=100.0 / classes if classes else None, samples=samples)
        md += "\n" + "".join(f"![{name}]({p.name})\n" for name, p in pngs.items())
        paths.update({f"png_{name}": p for name, p in pngs.items()})
    atomic_write_text(paths["markdown"], md)
    return paths
