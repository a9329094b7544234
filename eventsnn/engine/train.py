"""The training loop: surrogate-gradient backprop plus DA-SSDP after every optimizer step.

One step is `eventsnn.engine.step.TrainStep` (out = model(x) [T,B,K] -> loss = CE(mean_T out, y)
-> backward -> optimizer.step() -> plasticity.apply(), W += dW, docs/dassdp.md); a step the
GradScaler skips (inf/NaN gradients) applies no dW either, and the skip is counted
(`scaler_skips` in the metrics rows, `train/scaler_skips` in TensorBoard).
`train.compile` trains a compiled copy of the model (engine/compilation.py) that shares its
parameters; evaluation, precise BN and checkpoints use the eager model.
Checkpoints hold everything needed to resume exactly; a stop request (Ctrl-C, or
`stop_at_step` in tests) is honoured between steps, after writing `checkpoint_latest`.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NoReturn

import torch
from torch import nn
from torch.utils.data import Dataset

from eventsnn.checkpoint import Checkpoint, TrainingState
from eventsnn.config import RunConfig, dump_yaml, save_resolved, to_dict
from eventsnn.data.device import WaitMeter
from eventsnn.data.prepare import prepare_event_cache
from eventsnn.data.sampling import EpochSampler, EvalSampler, mix_seed, numpy_seeded
from eventsnn.engine import builders
from eventsnn.engine.checkpoint import BEST, LATEST, capture_rng_state, restore_rng_state, save_checkpoint
from eventsnn.engine.compilation import maybe_compile
from eventsnn.engine.distributed import DistContext, init_distributed, sync_batchnorm
from eventsnn.engine.evaluate import EvalResult, evaluate_model
from eventsnn.engine.precise_bn import recalibrate_batchnorm
from eventsnn.engine.precision import make_grad_scaler, resolve_precision
from eventsnn.engine.runfolder import disk_full_is_one_line
from eventsnn.engine.step import TrainStep
from eventsnn.engine.tracking import MetricsLog, loaded_weights_line, report_data_wait, start_banner
from eventsnn.errors import ArgumentError, TrainingError
from eventsnn.models.registry import build_model
from eventsnn.plasticity import build_plasticity
from eventsnn.plasticity.warmup import refuse_full_warmup
from eventsnn.utils.distributed import all_reduce_sum


class StopRequested(Exception):
    """Raised after a checkpoint was written because a stop was requested."""


@dataclass
class TrainState:
    """Where the run is: the epoch being trained and how many of its steps are done."""

    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    best_top1: float = -1.0
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch_loss_sum: float = 0.0  # training loss summed over this epoch's steps (this rank)
    scaler_skips: int = 0  # optimizer steps the GradScaler skipped (inf/NaN gradients), whole run


@dataclass
class TrainResult:
    run_dir: Path
    state: TrainState
    final_eval: EvalResult | None


class Trainer:
    """Owns the model, optimizer, schedule, plasticity and data loaders of one run."""

    def __init__(
        self,
        cfg: RunConfig,
        run_dir: Path,
        *,
        init_checkpoint: str | None = None,
        compile_backend: str = "inductor",
        train_dataset: Dataset | None = None,
        test_dataset: Dataset | None = None,
        class_names: tuple[str, ...] | None = None,
        sensor_size: tuple[int, ...] | None = None,
    ) -> None:
        """`train_dataset` / `test_dataset`: any torch data sets of `(events or frames, label)`
        used instead of `cfg.data` (events are framed with `cfg.framing`; `sensor_size` (W, H, P)
        is then required), see `builders.user_datasets`."""
        self.cfg, self.run_dir = cfg, Path(run_dir)
        self.dist: DistContext = init_distributed(cfg.distributed, cfg.train.device)
        torch.manual_seed(cfg.train.seed)
        if (train_dataset is None) != (test_dataset is None):
            raise ArgumentError("Trainer: give both train_dataset and test_dataset, or neither")
        if train_dataset is not None:
            self.data = builders.user_datasets(cfg, train_dataset, test_dataset, class_names, sensor_size)
        else:
            if cfg.data.dataset in builders.EVENT_DATASETS and cfg.data.cache != "none":
                prepare_event_cache(  # under torchrun: once per node, the others wait
                    cfg, rank=self.dist.rank, local_rank=self.dist.local_rank, world_size=self.dist.world_size
                )
            self.data = builders.build_datasets(cfg)
        model = build_model(cfg.model, self.data.num_classes, self.data.input_shape)
        if init_checkpoint:
            fresh = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("classifier.")}
            dropped = Checkpoint.load(init_checkpoint).load_weights(model, transfer=True)
            if cfg.model.transfer_classifier == "reinit":  # the released transfer: a new classifier always
                model.load_state_dict(fresh, strict=False)
                dropped = [*dropped, *(k for k in fresh if k not in dropped)]
            if self.dist.is_main:
                print(loaded_weights_line(init_checkpoint, model, dropped, self.data.num_classes), flush=True)
        model = sync_batchnorm(model, cfg.distributed.sync_bn, self.dist)
        self.model = model.to(self.dist.device)
        self.optimizer = builders.build_optimizer(cfg, self.model)
        self.scheduler = builders.build_scheduler(cfg, self.optimizer)
        self.mixup = builders.build_mixup(cfg, self.data.num_classes)
        self.precision = resolve_precision(cfg.train.precision, self.dist.device)
        d = self.dist
        self.train_sampler = EpochSampler(
            len(self.data.train), shuffle=True, seed=cfg.train.seed, rank=d.rank, world_size=d.world_size
        )
        self.test_sampler = EvalSampler(len(self.data.test), rank=d.rank, world_size=d.world_size)
        bs = cfg.train.batch_size
        loaders = builders.run_loaders(cfg, self.data, self.train_sampler, self.test_sampler, d.device)
        self.on_device = loaders.on_device
        self.train_loader, self.test_loader = loaders.train_loader, loaders.test_loader
        self.train_batches, self.test_batches = loaders.train_batches, loaders.test_batches
        steps = len(self.data.train) // max(d.world_size, 1) // bs
        if cfg.train.max_steps_per_epoch:
            steps = min(steps, cfg.train.max_steps_per_epoch)
        if steps < 1:
            raise TrainingError(
                f"training set has {len(self.data.train)} samples: fewer than one batch of {bs} per rank"
            )
        refuse_full_warmup(cfg, steps)  # warm-up in steps: decided once the data set's size is known
        self.steps_per_epoch = steps

        self.plasticity = build_plasticity(self.model, cfg.plasticity, steps_per_epoch=steps)
        self.step = TrainStep(  # forward runs the (compiled) model, in the DDP wrapper under torchrun
            net=self._wrap(
                maybe_compile(self.model, cfg.train.compile, self.plasticity.layers, backend=compile_backend)
            ),
            model=self.model,
            optimizer=self.optimizer,
            plasticity=self.plasticity,
            device=d.device,
            precision=self.precision,
            scaler=make_grad_scaler(d.device, self.precision),
            label_smoothing=cfg.train.label_smoothing,
            grad_clip=cfg.optim.grad_clip,
            compile_mode=cfg.train.compile,
            wrap=self._wrap,
            on_nonfinite=self._stop_on_nonfinite,
        )
        self.state = TrainState()
        self.log = MetricsLog(self.run_dir, enabled=d.is_main, tensorboard=cfg.output.tensorboard)
        self.wait_meter = WaitMeter(steps=min(20, max(1, steps - 2)), skip=min(2, steps - 1))
        self._stop_requested = False

    @property
    def net(self) -> nn.Module:
        """What the forward runs in training (the compiled model, in DDP under torchrun)."""
        return self.step.net

    @property
    def scaler(self) -> torch.amp.GradScaler | None:
        """The fp16 GradScaler of the step (None for fp32 / bf16)."""
        return self.step.scaler

    @scaler.setter
    def scaler(self, scaler: torch.amp.GradScaler | None) -> None:
        self.step.scaler = scaler

    def _wrap(self, net: nn.Module) -> nn.Module:
        """`net` in DistributedDataParallel under torchrun, else `net`."""
        if not self.dist.distributed:
            return net
        ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(net, device_ids=ids)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self) -> Checkpoint:
        """The run as a `Checkpoint`: weights, config, data description and training state."""
        s = self.state
        training = TrainingState(
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict() if self.scheduler is not None else None,
            scaler=self.scaler.state_dict() if self.scaler is not None else None,
            plasticity=self.plasticity.state_dict(),
            rng=capture_rng_state(),
            **{f.name: getattr(s, f.name) for f in fields(TrainState)},  # where the run is
        )
        return Checkpoint.of_run(self.model, self.cfg, self.data.describe(), training)

    def save(self, name: str = LATEST) -> None:
        if self.dist.is_main:
            save_checkpoint(self.run_dir / name, self.checkpoint_state())

    def resume(self, checkpoint: Checkpoint | str | Path) -> None:
        """Continue exactly from a training checkpoint (a `Checkpoint` or its path)."""
        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else Checkpoint.load(checkpoint)
        t = ckpt.require_training()
        ckpt.check_model(self.cfg.model.name)
        ckpt.load_weights(self.model)
        self.optimizer.load_state_dict(t.optimizer)
        if self.scheduler is not None and t.scheduler is not None:
            self.scheduler.load_state_dict(t.scheduler)
        if self.scaler is not None and t.scaler is not None:
            self.scaler.load_state_dict(t.scaler)
        self.plasticity.load_state_dict(t.plasticity)
        restore_rng_state(t.rng)
        self.state = TrainState(**{f.name: getattr(t, f.name) for f in fields(TrainState)})
        self.state.history = list(t.history)

    # ------------------------------------------------------------------ the loop
    def fit(self, *, stop_at_step: int | None = None) -> TrainResult:
        """Train from the current state to `train.epochs`; evaluate and checkpoint per epoch."""
        cfg, s = self.cfg, self.state
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            with disk_full_is_one_line(self.run_dir / "config.yaml", "config"):
                save_resolved(cfg, self.run_dir)
            self.log.reset_rows(s.history)  # the checkpoint's rows only: no row twice after a resume
        if self.dist.is_main:
            print(self._banner(), flush=True)
            self.log.config_text(dump_yaml(cfg))
        if s.epoch >= cfg.train.epochs:
            print(
                f"{self.run_dir}: the run is complete ({s.epoch} of {cfg.train.epochs} epochs, best top-1 "
                f"{s.best_top1:.2f}%); nothing to train (more epochs: --set train.epochs=N "
                "--allow-changes train.epochs)",
                flush=True,
            )
        final: EvalResult | None = None
        with self._stop_on_sigint():
            while s.epoch < cfg.train.epochs:
                self._train_epoch(stop_at_step)
                if (s.epoch + 1) % cfg.train.eval_every == 0 or s.epoch + 1 == cfg.train.epochs:
                    final = self.evaluate()
                    self._record_epoch(final)
                s.epoch, s.step_in_epoch, s.epoch_loss_sum = s.epoch + 1, 0, 0.0
                if s.epoch % cfg.train.checkpoint_every == 0 or s.epoch == cfg.train.epochs:
                    self.save(LATEST)
        if final is not None:
            self.log.hparams(
                to_dict(cfg), {"test_top1": final.top1, "test_top5": final.top5, "best_top1": s.best_top1}
            )
        self.log.close()
        return TrainResult(self.run_dir, s, final)

    def _banner(self) -> str:
        s = self.state
        extra = {"model": self.cfg.model.name, "plasticity": self.cfg.plasticity.mode}
        if s.epoch or s.step_in_epoch:
            extra["resumed at epoch"] = f"{s.epoch + 1} step {s.step_in_epoch}"
        return start_banner(
            job="train",
            sizes={"train": len(self.data.train), "test": len(self.data.test)},
            device=str(self.dist.device),
            precision=self.precision,
            world_size=self.dist.world_size,
            out=self.run_dir,
            extra=extra,
        )

    def evaluate(self) -> EvalResult:
        """Test-set metrics; first re-estimates BN statistics when `train.precise_bn_batches` > 0."""
        if self.cfg.train.precise_bn_batches:  # the epoch's first batches, also after a mid-epoch resume
            self.train_sampler.set_epoch(self.state.epoch, start=0)
            inputs = (x for x, _ in itertools.islice(self.train_batches, self.cfg.train.precise_bn_batches))
            recalibrate_batchnorm(self.model, inputs, self.dist.device, self.dist.world_size)
        return evaluate_model(
            self.model,
            self.test_batches,
            self.dist.device,
            self.data.num_classes,
            firing_rates=True,
            precision=self.precision,
        )

    def _record_epoch(self, result: EvalResult) -> None:
        s = self.state
        lr = self.optimizer.param_groups[0]["lr"]
        loss_sum = torch.tensor([s.epoch_loss_sum], dtype=torch.float64, device=self.dist.device)
        train_loss = float(all_reduce_sum(loss_sum)) / (self.steps_per_epoch * self.dist.world_size)
        row = {
            "epoch": s.epoch,
            "step": s.global_step,
            "lr": lr,
            "train_loss": train_loss,
            "test_top1": result.top1,
            "test_top5": result.top5,
            "test_loss": result.loss,
            "scaler_skips": s.scaler_skips,
        }
        row.update(self.plasticity.epoch_summary())  # DA-SSDP diagnostics: epoch means per layer
        s.history.append(row)
        self.log.scalars("test", {"top1": result.top1, "top5": result.top5, "loss": result.loss}, s.epoch)
        self.log.scalars("firing_rate", result.firing_rates, s.epoch)
        self.log.epoch_row(row)
        if result.top1 > s.best_top1:
            s.best_top1 = result.top1
            if self.dist.is_main:
                best = self.checkpoint_state()
                best.training = replace(best.require_training(), epoch=s.epoch + 1, step_in_epoch=0)
                save_checkpoint(self.run_dir / BEST, best)

    def _train_epoch(self, stop_at_step: int | None) -> None:
        cfg, s, d = self.cfg, self.state, self.dist
        if self.scheduler is not None:
            self.scheduler.step(s.epoch)
        self.train_sampler.set_epoch(s.epoch, start=s.step_in_epoch * cfg.train.batch_size)
        self.data.train.set_epoch(s.epoch)  # type: ignore[attr-defined]
        if self.on_device:
            self.train_batches.set_epoch(s.epoch)  # type: ignore[union-attr]
        self.net.train()
        remaining = self.steps_per_epoch - s.step_in_epoch
        bar = self.log.progress(remaining, f"epoch {s.epoch + 1}/{cfg.train.epochs}")
        start, seen = time.perf_counter(), 0
        for x, y in self.wait_meter.iterate(self.train_batches):
            if s.step_in_epoch >= self.steps_per_epoch:
                break
            loss = self._train_step(x, y)
            workers = cfg.data.num_workers
            report_data_wait(
                self.log, self.wait_meter, d.device, s.global_step, bar, d.is_main, workers, self.on_device
            )
            s.epoch_loss_sum += loss
            s.step_in_epoch += 1
            s.global_step += 1
            seen += len(x) * self.dist.world_size
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", img_s=f"{seen / (time.perf_counter() - start):.1f}")
            if self._stop_requested or (stop_at_step is not None and s.global_step >= stop_at_step):
                bar.close()
                self.save(LATEST)
                self.log.close()
                raise StopRequested(f"stopped at step {s.global_step}; checkpoint in {self.run_dir / LATEST}")
        bar.close()

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """Mixup (seeded per step and rank), the engine's `TrainStep`, the step's logs."""
        cfg, s, device = self.cfg, self.state, self.dist.device
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if self.mixup is not None:
            with numpy_seeded(mix_seed(cfg.train.seed, s.global_step, self.dist.rank)):
                x, y = self.mixup(x, y)
        result = self.step(x, y, epoch=s.epoch)
        if not result.stepped:
            s.scaler_skips += 1
        if s.global_step % cfg.train.log_every == 0 or not result.stepped:
            lr = self.optimizer.param_groups[0]["lr"]
            row = {"loss": result.loss, "lr": lr, "scaler_skips": s.scaler_skips}
            self.log.scalars("train", row, s.global_step)
            self.log.scalars("plasticity", result.logs, s.global_step)
        return result.loss

    def _stop_on_nonfinite(self, loss: float) -> NoReturn:
        s = self.state
        kept = self.run_dir / LATEST
        where = f"the last good checkpoint is {kept}" if kept.exists() else "no checkpoint was written yet"
        raise TrainingError(
            f"loss is {loss} at step {s.global_step + 1} (epoch {s.epoch + 1}, "
            f"batch {s.step_in_epoch + 1}); training stopped ({where})"
        )

    @contextlib.contextmanager
    def _stop_on_sigint(self):
        """Ctrl-C sets a flag; the loop writes a checkpoint after the current step and stops."""

        def handler(_sig, _frame):
            if self._stop_requested:  # second Ctrl-C: give up at once
                raise KeyboardInterrupt
            self._stop_requested = True

        try:
            previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread
            yield
            return
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
