"""Training engine: smoke runs through the CLI, exact resume, NaN stop, fine-tuning, evaluation."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.cli import main
from eventsnn.config import load_config, with_absolute_paths
from eventsnn.data.sampling import EpochSampler
from eventsnn.engine import builders
from eventsnn.engine.checkpoint import BEST, LATEST
from eventsnn.engine.evaluate import evaluate_model
from eventsnn.engine.jobs import evaluate_job, train_job
from eventsnn.engine.train import StopRequested, Trainer
from eventsnn.errors import CheckpointError, ConfigError, TrainingError
from eventsnn.models import build_model
from eventsnn.models.ops import OpsCounter
from tests.factories import REPO, SMALL_RUN, small_run_config
from tests.factories import SMOKE as SMOKES

SMOKE = SMOKES["images"]
FAST = list(SMALL_RUN)


ALLOW = "plasticity.allow_full_warmup=true"  # runs shorter than the 3-step warm-up


def fast_cfg(tmp_path: Path, *extra: str):
    return small_run_config(tmp_path, *extra)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return Checkpoint.load(path).weights


@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_smoke_images_through_cli_learns(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "eventsnn",
            "train",
            "-c",
            str(SMOKE),
            "--set",
            f"output.root={tmp_path}",
            "--set",
            "train.max_steps_per_epoch=12",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    run = tmp_path / "smoke_images"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] < math.log(10)  # ln 10: a uniform guess
    assert rows[-1]["test_loss"] < math.log(10)
    assert max(r["test_top1"] for r in rows) > 40.0  # 10 classes: chance is 10%
    for key in ("active_pre", "active_post", "g_coactive"):  # DA-SSDP diagnostics: epoch means
        assert all(0.0 <= r[f"plasticity/classifier/{key}"] <= 1.0 for r in rows), key
    assert "plasticity/classifier/uniform_share" in rows[-1]  # epoch 2 is past the 1-epoch warm-up
    assert (run / LATEST).is_file() and (run / BEST).is_file() and (run / "config.yaml").is_file()
    assert load_config(run / "config.yaml") == with_absolute_paths(
        load_config(SMOKE, [f"output.root={tmp_path}", "train.max_steps_per_epoch=12"]), REPO
    )  # stored with absolute paths: the run folder works from any folder
    assert list((run / "tensorboard").iterdir())
    with open(run / "metrics.csv", newline="") as fh:  # the CSV log holds the jsonl rows
        table = list(csv.DictReader(fh))
    assert [float(r["test_top1"]) for r in table] == [r["test_top1"] for r in rows]
    assert "train: " in out.stdout and "world size 1" in out.stdout and str(run) in out.stdout  # banner
    ckpt = Checkpoint.load(run / LATEST)
    assert ckpt.training.epoch == 3 and ckpt.training.plasticity  # DA-SSDP state travels with the run


@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_resume_reproduces_uninterrupted_run_exactly(tmp_path):
    cfg = fast_cfg(tmp_path)
    full = train_job(cfg, tmp_path / "full")
    interrupted = tmp_path / "interrupted"
    with pytest.raises(StopRequested):
        train_job(cfg, interrupted, stop_at_step=2)  # inside the 3-step DA-SSDP warm-up
    with pytest.raises(StopRequested):
        train_job(cfg, interrupted, resume=True, stop_at_step=6)  # after the gate fit, mid-epoch 2
    resumed = train_job(cfg, interrupted, resume=True)
    a, b = weights(tmp_path / "full" / LATEST), weights(interrupted / LATEST)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    pa, pb = (
        Checkpoint.load(tmp_path / "full" / LATEST).training.plasticity,
        Checkpoint.load(interrupted / LATEST).training.plasticity,
    )
    for key in pa:
        assert torch.equal(pa[key], pb[key]), key
    assert full.state.history == resumed.state.history
    assert full.final_eval.top1 == resumed.final_eval.top1


def test_existing_run_is_not_overwritten_and_resume_needs_a_checkpoint(tmp_path):
    cfg = fast_cfg(tmp_path, "train.epochs=1", "train.max_steps_per_epoch=1", ALLOW)
    train_job(cfg, tmp_path / "r")
    before = (tmp_path / "r" / LATEST).read_bytes()
    with pytest.raises(ConfigError, match="already holds a run"):
        train_job(cfg, tmp_path / "r")
    assert (tmp_path / "r" / LATEST).read_bytes() == before
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train_job(cfg, tmp_path / "fresh", resume=True)


def test_nan_loss_stops_with_step_and_keeps_last_good_checkpoint(tmp_path):
    cfg = fast_cfg(tmp_path, "plasticity.mode=off")
    trainer = Trainer(cfg, tmp_path / "nan")
    with pytest.raises(StopRequested):
        trainer.fit(stop_at_step=3)  # writes checkpoint_latest after step 3
    good = (trainer.run_dir / LATEST).read_bytes()
    with torch.no_grad():  # poison the classifier: the next forward pass gives NaN logits
        trainer.model.classifier.weight.fill_(float("nan"))
    with pytest.raises(TrainingError, match=r"loss is nan at step 4 \(epoch 1, batch 4\).*checkpoint_latest"):
        trainer.fit()
    assert (trainer.run_dir / LATEST).read_bytes() == good


def test_finetune_loads_original_format_backbone_and_new_classifier(tmp_path):
    cfg = fast_cfg(tmp_path)
    data = builders.build_datasets(cfg)
    donor = build_model(cfg.model, data.num_classes, data.input_shape)
    with torch.no_grad():
        for p in donor.parameters():
            p.add_(1.0)  # "pretrained": every weight differs from a fresh initialisation
    sd = {k: v for k, v in donor.state_dict().items()}
    w = sd["classifier.weight"]
    sd["classifier.weight"] = torch.randn(7, w.shape[1])  # pretrained on 7 classes (no bias)
    path = tmp_path / "original.pth"
    torch.save({"model": sd, "epoch": 10}, path)  # the original training script's format
    trainer = Trainer(cfg, tmp_path / "ft", init_checkpoint=str(path))
    got = trainer.model.state_dict()
    torch.manual_seed(cfg.train.seed)  # what the run's own fresh model starts from
    fresh = build_model(cfg.model, data.num_classes, data.input_shape).state_dict()
    for key, value in sd.items():
        if key.startswith("classifier."):  # a new classifier: the fresh initialisation, 10 classes
            assert got[key].shape[0] == data.num_classes and torch.equal(got[key], fresh[key]), key
        else:  # the backbone: the pretrained weights
            assert torch.equal(got[key], value), key


@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_evaluation_equals_direct_computation(tmp_path):
    cfg = fast_cfg(tmp_path, "train.epochs=1", "train.max_steps_per_epoch=2", ALLOW)
    train_job(cfg, tmp_path / "ev")
    data = builders.build_datasets(cfg)
    model = Checkpoint.load(tmp_path / "ev" / LATEST).model(model_cfg=cfg.model, data=data.describe())
    loader = builders.build_loader(
        data.test, 50, EpochSampler(len(data.test), shuffle=False, seed=0), 0, train=False
    )
    result = evaluate_model(model, loader, torch.device("cpu"), data.num_classes)
    # direct: one sample at a time, plain Python counting
    hits1 = hits5 = 0
    loss_sum = 0.0
    per_class_hits, per_class_n = [0] * 10, [0] * 10
    model.eval()
    counter = OpsCounter(model)  # operations, one sample per forward pass
    with torch.no_grad(), counter.attached():
        for i in range(len(data.test)):
            x, y = data.test[i]
            logits = model(x[None]).mean(0)[0]
            z = logits.double().tolist()  # cross-entropy by hand: log sum_k exp z_k - z_y
            loss_sum += max(z) + math.log(sum(math.exp(v - max(z)) for v in z)) - z[y]
            order = torch.argsort(logits, descending=True).tolist()
            hits1 += order[0] == y
            hits5 += y in order[:5]
            per_class_hits[y] += order[0] == y
            per_class_n[y] += 1
    n = len(data.test)
    assert result.n == n
    assert result.top1 == pytest.approx(100 * hits1 / n, abs=1e-9)
    assert result.top5 == pytest.approx(100 * hits5 / n, abs=1e-9)
    assert result.per_class == pytest.approx([100 * h / c for h, c in zip(per_class_hits, per_class_n)])
    assert result.loss == pytest.approx(loss_sum / n, rel=1e-5)  # mean plain CE, no label smoothing
    report = evaluate_job(cfg, tmp_path / "ev" / LATEST, tmp_path / "ev_out")
    assert report["top1"] == pytest.approx(result.top1)
    # the CLI without -c: the config stored in the checkpoint, the report beside the checkpoint
    assert main(["evaluate", "--checkpoint", str(tmp_path / "ev" / LATEST)]) == 0
    beside = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert beside["top1"] == pytest.approx(result.top1) and beside["n"] == n
    if not torch.cuda.is_available():  # the configured device is honoured, never silently replaced
        on_gpu1 = fast_cfg(tmp_path, "train.epochs=1", "train.max_steps_per_epoch=2", "train.device=cuda:1", ALLOW)
        with pytest.raises(ConfigError, match="'cuda:1'"):
            evaluate_job(on_gpu1, tmp_path / "ev" / LATEST, tmp_path / "ev_gpu")
    saved = json.loads((tmp_path / "ev_out" / "evaluation.json").read_text())
    # operations: averaged over the whole test set, independent of the batching
    ops, single = saved["operations"], counter.report()
    assert ops["samples"] == n == single.samples
    assert ops["totals"]["sops"] == pytest.approx(single.totals["sops"], rel=1e-9)
    assert ops["totals"]["sops"] > 0
    assert ops["totals"]["energy_mj"] == pytest.approx(0.9e-9 * ops["totals"]["sops"])


def test_wrong_model_checkpoint_is_a_clear_error(tmp_path):
    cfg = fast_cfg(tmp_path, "train.epochs=1", "train.max_steps_per_epoch=1", ALLOW)
    train_job(cfg, tmp_path / "a")
    other = load_config(SMOKE, [*FAST, "model.planes=[48]"])
    with pytest.raises(
        CheckpointError, match=r"^\S+checkpoint_latest\.pt: does not fit this model: \d+ wrong-shaped \(\S+ \("
    ):
        Checkpoint.load(tmp_path / "a" / LATEST).model(model_cfg=other.model)
    with pytest.raises(CheckpointError, match="not found"):
        Checkpoint.load(tmp_path / "missing.pt")
    renamed = load_config(SMOKE, [*FAST, "model.name=spikingresformer_ti"])
    with pytest.raises(CheckpointError, match="checkpoint of model 'spikingresformer_cifar', the config asks"):
        Checkpoint.load(tmp_path / "a" / LATEST).model(model_cfg=renamed.model)
    weights_only = tmp_path / "weights.pth"
    torch.save({"model": Checkpoint.load(tmp_path / "a" / LATEST).weights}, weights_only)
    with pytest.raises(CheckpointError, match=r"weights\.pth: not an eventsnn training checkpoint"):
        Trainer(cfg, tmp_path / "b").resume(weights_only)
