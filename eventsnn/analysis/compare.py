"""The job behind `eventsnn compare`: N seeds x plasticity modes of one config, with error bars.

Run (mode m, seed s) is the config with `plasticity.mode=m`, `train.seed=s` in
`<out>/<m>_seed<s>/`, trained by the engine's `train_job` (sequentially, in this process)
and evaluated by its `evaluate_job` (top-1, energy), optionally swept by `robustness_job`.
Resumable: a run whose `checkpoint_latest.pt` reached `train.epochs` is not trained again
(a partial one is resumed), and its metrics (`compare_metrics.json`, keyed by the
checkpoint's global step) are reused. A run folder trained with a different config is an error
(the engine's one "same run" test, `engine.runfolder.config_changes`, as `--resume` uses: a
moved data or cache folder is the same run).

Accuracy comes twice: `top1` of the final checkpoint and `top1_best`, the best test top-1 over
the evaluated epochs (the convention of published tables; epochs are evaluated every
`train.eval_every`). The report (paired summaries, verdicts, compare.json / .md / .png in
`<out>`) is `eventsnn.analysis.compare_report`'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsnn.analysis.compare_report import identical_modes, identical_warning, write_outputs
from eventsnn.checkpoint import Checkpoint
from eventsnn.config import RunConfig, load_config, with_absolute_paths
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.jobs import evaluate_job, train_job
from eventsnn.engine.runfolder import config_changes, describe_changes
from eventsnn.errors import ConfigError
from eventsnn.plasticity.warmup import refuse_full_warmup
from eventsnn.robustness.job import robustness_job
from eventsnn.robustness.sweep import summarize
from eventsnn.utils.io import atomic_write_text

METRICS_FILE = "compare_metrics.json"


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


def run_state(run: RunSpec) -> tuple[str, Checkpoint | None]:
    """('new' | 'partial' | 'complete', checkpoint or None); ConfigError if the folder holds another run."""
    latest = run.run_dir / LATEST
    if not latest.is_file():
        return "new", None
    ckpt = Checkpoint.load(latest)
    # a run stores its config with absolute paths (train_job): compare like with like
    changes = config_changes(ckpt.config_dict or {}, with_absolute_paths(run.cfg))
    if changes:
        raise ConfigError(
            f"{run.run_dir}: holds a run trained with another config ({describe_changes(changes[:3])}); "
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
