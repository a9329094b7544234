"""The user jobs behind `eventsnn train / finetune / evaluate` (thin over the engine)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eventsnn.checkpoint import Checkpoint
from eventsnn.config import RunConfig, with_absolute_paths
from eventsnn.data.sampling import EvalSampler
from eventsnn.devices import resolve_device
from eventsnn.engine import builders
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.distributed import shutdown_distributed
from eventsnn.engine.evaluate import EvalResult, evaluate_model
from eventsnn.engine.precision import resolve_precision
from eventsnn.engine.runfolder import clean_run_folder, refuse_changes, run_folder_lock
from eventsnn.engine.tracking import start_banner
from eventsnn.engine.train import Trainer, TrainResult
from eventsnn.errors import CheckpointError, ConfigError
from eventsnn.models.ops import format_operations
from eventsnn.plasticity.warmup import refuse_full_warmup
from eventsnn.utils.io import atomic_write_text


def run_dir_for(cfg: RunConfig, config_path: str | None) -> Path:
    """`output.root / output.name`, the name defaulting to the config file's stem."""
    name = cfg.output.name or (Path(config_path).stem if config_path else "run")
    return Path(cfg.output.root) / name


def train_job(
    cfg: RunConfig,
    run_dir: Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    init_checkpoint: str | None = None,
    stop_at_step: int | None = None,
    allow_changes: Sequence[str] = (),
) -> TrainResult:
    """Train (or continue with `resume`) into `run_dir`. Refuses to clobber an existing run.

    A new run starts from `init_checkpoint` (finetune), else `model.pretrained`, with the
    transfer rules of `Checkpoint.load_weights(transfer=True)`. `overwrite` removes the previous run's
    outputs once every input (data, model, checkpoint) has been checked. One writer per run
    folder: a second training into `run_dir` while this one runs is refused (`run_folder_lock`).
    `resume` refuses settings that differ from the checkpoint's config unless `allow_changes`
    names them (see `runfolder.FREE_TO_CHANGE` for those that may always change).
    """
    refuse_full_warmup(cfg)  # before any work (nothing locked, nothing written)
    cfg = with_absolute_paths(cfg)  # the stored config works from any folder
    main = int(os.environ.get("RANK", "0")) == 0
    with run_folder_lock(run_dir, enabled=main):  # one writer per run folder
        return _train_locked(
            cfg, run_dir, resume, overwrite, init_checkpoint, stop_at_step, allow_changes, main
        )


def _train_locked(
    cfg: RunConfig,
    run_dir: Path,
    resume: bool,
    overwrite: bool,
    init_checkpoint: str | None,
    stop_at_step: int | None,
    allow_changes: Sequence[str],
    main: bool,
) -> TrainResult:
    latest = run_dir / LATEST
    if resume and not latest.is_file():
        raise CheckpointError(f"{latest}: nothing to resume (no checkpoint_latest in the run directory)")
    if not resume and latest.exists() and not overwrite:
        raise ConfigError(
            f"{run_dir}: already holds a run; use --resume to continue it, --overwrite to start again, "
            "or --set output.name=<new name>"
        )
    ckpt = None
    if resume:
        ckpt = Checkpoint.load(latest)
        ckpt.require_training()
        for key, old, new in refuse_changes("resume", ckpt.config_dict, cfg, allow_changes, where=latest):
            print(f"resume: {key} changed from {old} to {new} (allowed)")
    init = None if resume else (init_checkpoint or cfg.model.pretrained)
    if init and not Path(init).is_file():
        what = "--checkpoint" if init_checkpoint else "model.pretrained"
        raise ConfigError(f"{what}={init}: checkpoint not found")
    if not resume:
        builders.check_frames_fit_model(cfg, init)  # before the cache is built
    trainer = Trainer(cfg, run_dir, init_checkpoint=init)  # checks the data, model and checkpoint
    if overwrite and not resume and main:  # only now: a bad input leaves the previous run as it was
        removed = clean_run_folder(run_dir)
        if removed:
            print(f"overwrite: removed the previous run's {', '.join(removed)} from {run_dir}")
    try:
        if resume:
            trainer.resume(ckpt)
        return trainer.fit(stop_at_step=stop_at_step)
    finally:
        shutdown_distributed()


def evaluate_job(
    cfg: RunConfig, checkpoint: str | Path, out_dir: Path, *, ops_batches: int | None = None
) -> dict[str, Any]:
    """Top-1/top-5, per-class accuracy, firing rates, SOPs / MACs per step / energy (counted over
    the whole test set, or its first `ops_batches` batches); JSON + printed table."""
    ckpt = Checkpoint.load(checkpoint)
    ckpt.check_model(cfg.model.name)  # before the data set is built
    data = builders.build_datasets(cfg)
    device = resolve_device(cfg.train.device)
    model = ckpt.model(device, model_cfg=cfg.model, data=data.describe())
    print(f"loaded weights: {checkpoint} ({len(model.state_dict())} tensors)")
    print(
        start_banner(
            job="evaluate",
            sizes={"test": len(data.test)},
            device=str(device),
            precision=resolve_precision(cfg.train.precision, device),
            world_size=1,
            out=out_dir,
        ),
        flush=True,
    )
    bs = cfg.train.eval_batch_size or cfg.train.batch_size
    sampler = EvalSampler(len(data.test))
    loader = builders.build_loader(data.test, bs, sampler, cfg.data.num_workers, train=False)
    result: EvalResult = evaluate_model(
        model,
        loader,
        device,
        data.num_classes,
        firing_rates=True,
        operations=True,
        ops_batches=ops_batches,
        precision=cfg.train.precision,
    )
    report = {
        "checkpoint": str(checkpoint),
        "model": cfg.model.name,
        "dataset": cfg.data.dataset,
        **result.to_dict(),
        "class_names": list(data.class_names),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "evaluation.json", json.dumps(report, indent=2) + "\n")
    print(format_evaluation(report))
    print(f"wrote {out_dir / 'evaluation.json'}")
    return report


def format_evaluation(report: dict[str, Any]) -> str:
    """A printed summary table of an evaluation report."""
    lines = [
        f"model {report['model']} on {report['dataset']} ({report['n']} test samples)",
        f"  top-1 {report['top1']:.2f}%   top-5 {report['top5']:.2f}%   loss {report['loss']:.4f}",
        "  per-class top-1: "
        + ", ".join(f"{n}={a:.1f}" for n, a in zip(report["class_names"], report["per_class"])),
    ]
    if report.get("operations"):
        lines.append(format_operations(report["operations"]))
    rates = report.get("firing_rates", {})
    if rates:
        lines.append("  firing rates (first 8 neuron layers):")
        for name in list(rates)[:8]:
            lines.append(f"    {name:<40} {rates[name]:.4f}")
    return "\n".join(lines)
