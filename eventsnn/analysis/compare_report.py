"""What `eventsnn compare` writes: paired summaries per metric, one honest verdict each, and
compare.json, compare.md, compare.png (`write_outputs`, rewritten after every run).

Per metric the report gives mean +- std of each mode and the paired difference
mode - baseline per seed with 95% t and bootstrap intervals (`eventsnn.analysis.stats`).
A mode whose metrics equal the baseline's on every seed is flagged (the rule changed nothing),
and no difference is called established from fewer than `MIN_SEEDS` seeds or from paired
differences without variance.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eventsnn.analysis.stats import PairedSummary, paired_summary
from eventsnn.robustness.plots import new_figure, save_png
from eventsnn.utils.io import atomic_write_text

MIN_SEEDS = 3  # fewer paired seeds never give an "established" verdict
ACCURACY = ("top1", "top1_best", "top5")


def summarize_runs(
    records: Sequence[Mapping[str, Any]],
    modes: Sequence[str],
    *,
    level: float = 0.95,
    n_resamples: int = 10_000,
) -> list[PairedSummary]:
    """One `PairedSummary` per (metric, mode other than the first); the first mode is the baseline."""
    by_mode: dict[str, dict[str, dict[int, float]]] = {m: {} for m in modes}
    for r in records:
        for metric, value in r["metrics"].items():
            by_mode[r["mode"]].setdefault(metric, {})[int(r["seed"])] = float(value)
    base = modes[0]
    metrics = list(dict.fromkeys(m for r in records for m in r["metrics"]))
    return [
        paired_summary(
            metric,
            base,
            mode,
            by_mode[base].get(metric, {}),
            by_mode[mode].get(metric, {}),
            level=level,
            n_resamples=n_resamples,
        )
        for mode in modes[1:]
        for metric in metrics
    ]


def identical_modes(records: Sequence[Mapping[str, Any]], modes: Sequence[str]) -> list[str]:
    """The modes (other than the baseline `modes[0]`) whose every metric equals the baseline's on
    every paired seed: the two trainings computed the same thing (e.g. a rule that never updated)."""
    runs = {(r["mode"], int(r["seed"])): r["metrics"] for r in records}
    out = []
    for mode in modes[1:]:
        seeds = [s for (m, s) in runs if m == mode and (modes[0], s) in runs]
        if seeds and all(runs[mode, s] == runs[modes[0], s] for s in seeds):
            out.append(mode)
    return out


def identical_warning(mode: str, baseline: str) -> str:
    return (
        f"WARNING: {mode} and {baseline} gave identical metrics on every seed: the runs computed the "
        "same thing (did the plasticity rule update any weight? check its warm-up and layers)."
    )


def _num(x: float, digits: int) -> str:
    return "n/a" if math.isnan(x) else f"{x:.{digits}f}"


def _digits(metric: str) -> int:
    return 6 if metric == "energy_mj" else 2


def markdown_table(summaries: Sequence[PairedSummary]) -> str:
    """mean +- std per mode, per-seed paired differences and their 95% intervals (t, bootstrap)."""
    lines = [
        "| metric | baseline | mean +- std | mode | mean +- std | difference per seed | mean difference "
        "| t 95% CI | bootstrap 95% CI | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        k = _digits(s.metric)
        per_seed = ", ".join(f"{d:+.{k}f}" for d in s.diffs)
        lines.append(
            f"| {s.metric} | {s.baseline} | {_num(s.baseline_mean, k)} +- {_num(s.baseline_std, k)} "
            f"| {s.mode} | {_num(s.mode_mean, k)} +- {_num(s.mode_std, k)} | {per_seed} "
            f"| {_num(s.diff_mean, k)} | [{_num(s.t_ci[0], k)}, {_num(s.t_ci[1], k)}] "
            f"| [{_num(s.bootstrap_ci[0], k)}, {_num(s.bootstrap_ci[1], k)}] | {len(s.seeds)} |"
        )
    return "\n".join(lines)


def verdict(s: PairedSummary) -> str:
    """One honest sentence about the difference of one metric: never "established" from fewer than
    `MIN_SEEDS` paired seeds or from paired differences without variance."""
    n = len(s.seeds)
    if n < 2:
        return (
            f"{s.metric}: {n} paired seed(s): one seed cannot establish a difference between "
            f"{s.mode} and {s.baseline}."
        )
    lo, hi = s.t_ci
    if not s.diff_std > 0:
        return (
            f"{s.metric}: not established: every one of the {n} seeds gave the same difference "
            f"{s.diff_mean:+.3g}; without variance the interval [{lo:.3g}, {hi:.3g}] measures nothing."
        )
    if n < MIN_SEEDS:
        return (
            f"{s.metric}: not established: {n} paired seeds (mean {s.diff_mean:+.3g}, t 95% CI "
            f"[{lo:.3g}, {hi:.3g}]); at least {MIN_SEEDS} are needed to estimate the seed-to-seed spread."
        )
    if lo > 0 or hi < 0:
        sign = "higher" if lo > 0 else "lower"
        return (
            f"{s.metric}: {s.mode} is {sign} than {s.baseline} by {s.diff_mean:+.3g} "
            f"(t 95% CI [{lo:.3g}, {hi:.3g}], {n} seeds)."
        )
    return (
        f"{s.metric}: no difference established between {s.mode} and {s.baseline} "
        f"(mean {s.diff_mean:+.3g}, t 95% CI [{lo:.3g}, {hi:.3g}] contains 0, {n} seeds)."
    )


def plot_comparison(
    records: Sequence[Mapping[str, Any]], summaries: Sequence[PairedSummary], path: Path
) -> Path:
    """Left: top-1 per seed for each mode, paired seeds joined. Right: mean difference of every
    accuracy metric (top-1, robustness points) with its t (bar) and bootstrap (whisker) intervals."""
    import numpy as np

    modes = list(dict.fromkeys(r["mode"] for r in records))
    fig = new_figure((11.0, 4.8))
    ax = fig.add_subplot(1, 2, 1)
    seeds = sorted({int(r["seed"]) for r in records})
    for metric, marker, shift in (("top1", "o", -0.08), ("top1_best", "s", 0.08)):
        top = {(r["mode"], int(r["seed"])): r["metrics"].get(metric) for r in records}
        for seed in seeds:
            xs = [i for i, m in enumerate(modes) if top.get((m, seed)) is not None]
            ys = [top[(modes[i], seed)] for i in xs]
            ax.plot([x + shift for x in xs], ys, "-", color="0.7", lw=1, zorder=1)
        for i, m in enumerate(modes):
            v = [top[(m, s)] for s in seeds if top.get((m, s)) is not None]
            if not v:
                continue
            what = "final" if metric == "top1" else "best epoch"
            face = f"C{i}" if metric == "top1" else "none"
            ax.scatter(
                [i + shift] * len(v),
                v,
                marker=marker,
                facecolors=face,
                edgecolors=f"C{i}",
                zorder=2,
                label=f"{m}, {what} (n={len(v)} seeds)",
            )
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylabel("test top-1 (%)")
    ax.set_title("top-1 per training seed (lines join the same seed)")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    acc = [s for s in summaries if s.metric in ACCURACY or s.metric.startswith("robust/")]
    y = np.arange(len(acc))
    for i, s in enumerate(acc):
        ax.plot(
            list(s.bootstrap_ci),
            [i + 0.12] * 2,
            color="C1",
            lw=1.5,
            label="bootstrap 95%" if i == 0 else None,
        )
        ax.plot(list(s.t_ci), [i - 0.12] * 2, color="C0", lw=3, label="t 95%" if i == 0 else None)
        ax.scatter([s.diff_mean], [i], color="k", zorder=3)
    ax.axvline(0, color="0.5", ls="--", lw=1)
    ax.set_yticks(y, [f"{s.metric} ({s.mode}, n={len(s.seeds)})" for s in acc])
    ax.set_xlabel("paired difference mode - baseline (points), intervals over training seeds")
    ax.set_title("mean paired difference and 95% intervals")
    if acc:
        ax.legend()
    fig.tight_layout()
    return save_png(fig, path)


def write_outputs(
    out: Path,
    records: Sequence[Mapping[str, Any]],
    modes: list[str],
    *,
    level: float,
    n_resamples: int,
    config: str,
) -> dict[str, Path]:
    """compare.json, compare.md and compare.png for the runs measured so far (rewritten after each run)."""
    summaries = summarize_runs(records, modes, level=level, n_resamples=n_resamples)
    identical = identical_modes(records, modes)
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "identical_to_baseline": identical,
        "config": config,
        "modes": modes,
        "level": level,
        "n_resamples": n_resamples,
        "runs": list(records),
        "summary": [s.to_dict() for s in summaries],
    }
    paths = {"json": atomic_write_text(out / "compare.json", json.dumps(doc, indent=2) + "\n")}
    text = [
        f"# eventsnn compare: {config}",
        "",
        f"Modes {', '.join(modes)} (baseline: {modes[0]}); paired differences mode - baseline per seed;",
        f"{level:.0%} intervals of the mean difference: Student t, and percentile bootstrap "
        f"({n_resamples} resamples). Means +- sample std (ddof 1) over the paired seeds.",
        "With few seeds read the t interval: a percentile bootstrap interval never leaves the range of",
        "the observed differences, so it is too narrow for small n (with 2 seeds it is exactly that range).",
        "top1: the final checkpoint; top1_best: the best test top-1 over the evaluated epochs (the",
        "convention of published tables, an optimistic selection on the test set).",
        "",
        *[f"**{identical_warning(m, modes[0])}**\n" for m in identical],
        markdown_table(summaries),
        "",
        *[f"- {verdict(s)}" for s in summaries if s.metric in ("top1", "top1_best", "energy_mj")],
        "",
        "![comparison](compare.png)",
        "",
    ]
    paths["markdown"] = atomic_write_text(out / "compare.md", "\n".join(text))
    paths["png"] = plot_comparison(records, summaries, out / "compare.png")
    return paths
