"""The job behind `eventsnn compare`: N seeds x plasticity modes of one config, with error bars.

Run (mode m, seed s) is the config with `plasticity.mode=m`, `train.seed=s` in
`<out>/<m>_seed<s>/`, trained by the engine's `train_job` (sequentially, in this process)
and evaluated by its `evaluate_job` (top-1, energy), optionally swept by `robustness_job`.
Resumable: a run whose `checkpoint_latest.pt` reached `train.epochs` is not trained again
(a partial one is resumed), and its metrics (`compare_metrics.json`, keyed by the
checkpoint's global step) are reused. A run folder trained with a different config is an error.

Per metric the report gives mean +- std of each mode and the paired difference
mode - baseline per seed with 95% t and bootstrap intervals (`eventsnn.analysis.stats`).
Accuracy comes twice: `top1` of the final checkpoint and `top1_best`, the best test top-1 over
the evaluated epochs (the convention of published tables; epochs are evaluated every
`train.eval_every`). A mode whose metrics equal the baseline's on every seed is flagged (the rule
changed nothing), and no difference is called established from fewer than 3 seeds or from
paired differences without variance.
Files in `<out>`: compare.json, compare.md, compare.png.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsnn.analysis.stats import PairedSummary, paired_summary
from eventsnn.checkpoint import Checkpoint
from eventsnn.config import RunConfig, load_config, to_dict, with_absolute_paths
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.jobs import evaluate_job, train_job
from eventsnn.errors import ConfigError
from eventsnn.plasticity.warmup import refuse_full_warmup
from eventsnn.robustness.job import robustness_job
from eventsnn.robustness.plots import new_figure, save_png
from eventsnn.robustness.sweep import summarize
from eventsnn.utils.io import atomic_write_text

METRICS_FILE = "compare_metrics.json"
IGNORED_SECTIONS = ("output", "robustness")  # where a run is written and how it is swept later
UNITS = {"top1": "%", "top1_best": "%", "top5": "%", "energy_mj": "mJ"}
MIN_SEEDS = 3  # fewer paired seeds never give an "established" verdict
ACCURACY = ("top1", "top1_best", "top5")


@dataclass(frozen=True)
class RunSpec:
    """One (mode, seed) run of the comparison."""

    mode: str
    seed: int
    cfg: RunConfig
    run_dir: Path

    @property
    def label(self) -> str:
        return f"{self.mode}_seed{self.seed}"


def plan_runs(
    config: str | Path, overrides: Sequence[str], modes: Sequence[str], seeds: Sequence[int], out: Path
) -> list[RunSpec]:
    """Every (mode, seed) run, seeds inner (so the first seeds of every mode finish first)."""
    if len(set(modes)) != len(modes) or len(modes) < 2:
        raise ConfigError(f"compare: --modes needs at least two different modes, got {list(modes)}")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise ConfigError(f"compare: seeds must be distinct and at least one, got {list(seeds)}")
    runs = []
    for seed in seeds:
        for mode in modes:
            name = f"{mode}_seed{seed}"
            extra = [
                f"plasticity.mode={mode}",
                f"train.seed={seed}",
                f"output.root={out}",
                f"output.name={name}",
            ]
            cfg = load_config(config, [*overrides, *extra])
            refuse_full_warmup(cfg, what=f"run {name}")
            runs.append(RunSpec(mode, int(seed), cfg, out / name))
    return runs


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = list(v) if isinstance(v, tuple) else v
    return out


def config_differences(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> list[str]:
    """`key: saved -> wanted` for every field both configs have that differs (output.*, robustness.*
    ignored: they do not change what is trained)."""
    a, b = _flatten(saved), _flatten(wanted)
    keys = [k for k in b if k in a and not k.startswith(IGNORED_SECTIONS)]
    return [f"{k}: {a[k]!r} -> {b[k]!r}" for k in keys if json.dumps(a[k]) != json.dumps(b[k])]


def run_state(run: RunSpec) -> tuple[str, Checkpoint | None]:
    """('new' | 'partial' | 'complete', checkpoint or None); ConfigError if the folder holds another run."""
    latest = run.run_dir / LATEST
    if not latest.is_file():
        return "new", None
    ckpt = Checkpoint.load(latest)
    # a run stores its config with absolute paths (train_job): compare like with like
    diffs = config_differences(ckpt.config_dict or {}, to_dict(with_absolute_paths(run.cfg)))
    if diffs:
        raise ConfigError(
            f"{run.run_dir}: holds a run trained with another config ({'; '.join(diffs[:3])}); "
            "use another --out or remove the folder"
        )
    done = ckpt.training is not None and ckpt.training.epoch >= run.cfg.train.epochs
    return ("complete" if done else "partial"), ckpt


def report_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """top1, top5 and the headline energy (mJ) of an `evaluate_job` report."""
    out = {k: float(evaluation[k]) for k in ("top1", "top5") if k in evaluation}
    ops = evaluation.get("operations", {})
    energy = ops.get("energy_mj", ops.get("totals", {}).get("energy_mj"))
    if energy is not None:
        out["energy_mj"] = float(energy)
    return out


def best_top1(ckpt: Checkpoint) -> float | None:
    """The best test top-1 over the evaluated epochs of a training checkpoint (None if never evaluated)."""
    history = ckpt.training.history if ckpt.training is not None else ()
    scores = [float(r["test_top1"]) for r in history if "test_top1" in r]
    return max(scores) if scores else None


def robustness_metrics(summary: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """`robust/<perturbation>@<severity>` -> top-1 mean over sweep seeds (severity 0 left out)."""
    return {
        f"robust/{row['perturbation']}@{row['severity']:g}": float(row["top1_mean"])
        for row in summary
        if row["severity"] != 0
    }


def measure_run(run: RunSpec, *, robustness: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Train (or resume) and evaluate one run unless its metrics are already recorded."""
    state, ckpt = run_state(run)
    saved = _read_json(run.run_dir / METRICS_FILE)
    if state == "complete" and saved and saved.get("global_step") == _global_step(ckpt):
        if not robustness or any(k.startswith("robust/") for k in saved["metrics"]):
            log(f"compare: {run.label}: complete, metrics recorded (not retrained)")
            best = best_top1(ckpt)
            if "top1_best" not in saved["metrics"] and best is not None:  # recorded by an older eventsnn
                saved["metrics"]["top1_best"] = best
            return saved
    if state != "complete":
        log(f"compare: {run.label}: {'resume' if state == 'partial' else 'train'}")
        train_job(run.cfg, run.run_dir, resume=state == "partial")
    else:
        log(f"compare: {run.label}: complete (not retrained); evaluating")
    ckpt_path = run.run_dir / LATEST
    metrics = report_metrics(evaluate_job(run.cfg, ckpt_path, run.run_dir))
    best = best_top1(Checkpoint.load(ckpt_path))
    if best is not None:
        metrics["top1_best"] = best
    if robustness:
        result = robustness_job(
            run.cfg, [f"{run.label}={ckpt_path}"], run.run_dir / "robustness", analysis=False
        )
        metrics.update(robustness_metrics(summarize(result["points"])))
    record = {
        "mode": run.mode,
        "seed": run.seed,
        "global_step": _global_step(Checkpoint.load(ckpt_path)),
        "metrics": metrics,
    }
    atomic_write_text(run.run_dir / METRICS_FILE, json.dumps(record, indent=2) + "\n")
    return record


def _global_step(ckpt: Checkpoint | None) -> int | None:
    """The optimizer steps a run's checkpoint has done (None: not a training checkpoint)."""
    return ckpt.training.global_step if ckpt is not None and ckpt.training is not None else None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


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


def compare_job(
    config: str | Path,
    overrides: Sequence[str],
    *,
    seeds: Sequence[int],
    modes: Sequence[str] = ("off", "da_ssdp"),
    out_dir: str | Path,
    robustness: bool = False,
    level: float = 0.95,
    n_resamples: int = 10_000,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train / collect every (mode, seed) run, then write compare.json / .md / .png into `out_dir`."""
    out = Path(out_dir)
    runs = plan_runs(config, overrides, modes, seeds, out)  # every config loads before any training
    records = []
    for i, run in enumerate(runs):
        log(f"compare: run {i + 1}/{len(runs)}: {run.label}")
        records.append(measure_run(run, robustness=robustness, log=log))
        write_outputs(out, records, list(modes), level=level, n_resamples=n_resamples, config=str(config))
    paths = write_outputs(out, records, list(modes), level=level, n_resamples=n_resamples, config=str(config))
    for mode in identical_modes(records, modes):
        log(f"compare: {identical_warning(mode, modes[0])}")
    return {"records": records, "paths": paths}


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
