"""Runs that never mislabel or miscount (issue 11): pretrained weights, metrics rows, --overwrite,
--resume with changed settings, NaN wording, wrong-size checkpoints, a full disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.cli import main
from eventsnn.commands._outputs import MIN_FREE
from eventsnn.engine import builders
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.jobs import train_job
from eventsnn.engine.train import StopRequested, Trainer
from eventsnn.errors import CheckpointError, ConfigError, TrainingError
from eventsnn.models import build_model
from tests.factories import REPO, small_run_config

SMOKE = REPO / "configs" / "smoke" / "images.yaml"
FAST = [  # on top of tests.factories.SMALL_RUN (also given alone to the CLI below)
    "train.epochs=2",
    "train.max_steps_per_epoch=2",
    "train.batch_size=16",
    "train.precise_bn_batches=0",
    "plasticity.warmup=2",
    "plasticity.warmup_unit=steps",
    "plasticity.allow_full_warmup=true",  # the 1-epoch runs below end inside the warm-up
    "output.tensorboard=false",
]


def fast_cfg(tmp_path: Path, *extra: str):
    return small_run_config(tmp_path, *FAST, *extra)


def rows(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


# ---- model.pretrained -------------------------------------------------------------------------------
def test_model_pretrained_is_loaded_with_the_finetune_transfer_rules(tmp_path):
    cfg = fast_cfg(tmp_path, "plasticity.mode=off", "optim.lr=1e-12", "optim.weight_decay=0")
    data = builders.build_datasets(cfg)
    donor = build_model(cfg.model, data.num_classes, data.input_shape)
    sd = {k: (v + 0.25 if v.is_floating_point() else v) for k, v in donor.state_dict().items()}
    sd["classifier.weight"] = torch.randn(7, sd["classifier.weight"].shape[1])  # another class count
    sd["classifier.bias"] = torch.randn(7)
    path = tmp_path / "original.pth"
    torch.save({"model": sd, "epoch": 10}, path)  # the original SpikingResformer format
    with pytest.raises(StopRequested):  # one step with lr 1e-12: the weights are still the file's
        train_job(small_run_config(tmp_path, *FAST, "plasticity.mode=off", "optim.lr=1e-12",
                                   "optim.weight_decay=0", f"model.pretrained={path}"),
                  tmp_path / "ft", stop_at_step=1)  # fmt: skip
    got = Checkpoint.load(tmp_path / "ft" / LATEST).weights
    params = {name for name, _ in donor.named_parameters()}
    for key in params:
        if key.startswith("classifier."):
            assert got[key].shape[0] == 10  # a fresh classifier for the 10 digits
        else:
            torch.testing.assert_close(got[key], sd[key], atol=1e-6, rtol=0, msg=key)


def test_missing_pretrained_file_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nowhere.pth"
    argv = [
        "train",
        "-c",
        str(SMOKE),
        "--set",
        f"output.root={tmp_path}",
        "--set",
        f"model.pretrained={missing}",
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"eventsnn train: error: model.pretrained={missing}: checkpoint not found"
    ]
    assert not (tmp_path / "smoke_images").exists()


# ---- metrics rows, --overwrite ------------------------------------------------------------------------
@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_resume_after_a_failed_checkpoint_save_repeats_no_metrics_row(tmp_path):
    cfg = fast_cfg(tmp_path)
    reference = rows(train_job(cfg, tmp_path / "ref").run_dir)
    run = tmp_path / "run"
    with pytest.raises(StopRequested):
        train_job(cfg, run, stop_at_step=3)  # epoch 2, step 1: history holds epoch 1's row
    previous = (run / LATEST).read_bytes()
    train_job(cfg, run, resume=True)
    assert len(rows(run)) == 2
    (run / LATEST).write_bytes(previous)  # the final save failed: the previous checkpoint was kept
    train_job(cfg, run, resume=True)
    assert rows(run) == reference  # epoch 2 ran again, and its row is there once


def test_overwrite_starts_a_clean_run_folder(tmp_path):
    cfg = fast_cfg(tmp_path, "train.epochs=1", "output.tensorboard=true")
    run = train_job(cfg, tmp_path / "r").run_dir
    old_events = {p.name for p in (run / "tensorboard").iterdir()}
    (run / "evaluation.json").write_text("{}")
    train_job(cfg, run, overwrite=True)
    assert [r["epoch"] for r in rows(run)] == [0]
    assert not old_events & {p.name for p in (run / "tensorboard").iterdir()}
    assert not (run / "evaluation.json").exists()


# ---- --resume with changed settings -------------------------------------------------------------------
@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_resume_refuses_changed_settings_unless_allowed(tmp_path):
    cfg = fast_cfg(tmp_path)
    run = tmp_path / "r"
    with pytest.raises(StopRequested):
        train_job(cfg, run, stop_at_step=1)
    config_before = (run / "config.yaml").read_bytes()
    changed = fast_cfg(
        tmp_path, "train.batch_size=8", "optim.lr=1e-3", "plasticity.mode=ssdp", "train.log_every=3"
    )
    with pytest.raises(ConfigError) as info:
        train_job(changed, run, resume=True)
    assert str(info.value) == (
        f"{run / LATEST}: --resume with settings that differ from the checkpoint's: plasticity.mode da_ssdp -> "
        "ssdp, optim.lr 0.002 -> 0.001, train.batch_size 16 -> 8; resume with the checkpoint's settings, "
        "or allow them with --allow-changes plasticity.mode optim.lr train.batch_size"
    )
    assert (run / "config.yaml").read_bytes() == config_before
    with pytest.raises(ConfigError, match="train.batch_size 16 -> 8; "):
        train_job(changed, run, resume=True, allow_changes=["plasticity.mode", "optim.lr"])
    same_but_logging = fast_cfg(tmp_path, "train.log_every=3", "data.num_workers=0")
    result = train_job(same_but_logging, run, resume=True)  # what resumes the same computation may differ
    assert result.state.epoch == 2


def test_resume_with_allowed_changes_via_cli(tmp_path, capsys):
    base = ["train", "-c", str(SMOKE), "--set", f"output.root={tmp_path}"]
    for item in FAST:
        base += ["--set", item]
    assert main([*base, "--stop-at-step", "1"]) == 130
    assert main([*base, "--set", "train.epochs=1", "--resume"]) == 2
    assert "train.epochs 2 -> 1" in capsys.readouterr().err
    assert main([*base, "--set", "train.epochs=1", "--resume", "--allow-changes", "train.epochs"]) == 0
    assert "resume: train.epochs changed from 2 to 1 (allowed)" in capsys.readouterr().out


def test_wrong_size_checkpoint_on_resume_names_the_file(tmp_path):
    cfg = fast_cfg(tmp_path)
    run = tmp_path / "r"
    with pytest.raises(StopRequested):
        train_job(cfg, run, stop_at_step=1)
    wider = fast_cfg(tmp_path, "model.planes=[48]")
    with pytest.raises(CheckpointError) as info:
        train_job(wider, run, resume=True, allow_changes=["model.planes"])
    assert str(info.value).startswith(f"{run / LATEST}: does not fit this model: ")


def test_nan_before_any_checkpoint_says_so_plainly(tmp_path):
    trainer = Trainer(fast_cfg(tmp_path, "plasticity.mode=off"), tmp_path / "nan")
    with torch.no_grad():
        trainer.model.classifier.weight.fill_(float("nan"))
    with pytest.raises(TrainingError) as info:
        trainer.fit()
    assert str(info.value) == (
        "loss is nan at step 1 (epoch 1, batch 1); training stopped (no checkpoint was written yet)"
    )


# ---- a full disk --------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmpfs):
    return tmpfs("16m")


def test_full_disk_while_writing_a_checkpoint_is_one_line_and_keeps_the_previous(small_disk, capsys):
    base = ["train", "-c", str(SMOKE), "--set", f"output.root={small_disk}", "model.planes=[96]"]  # > 1 MiB
    for item in FAST:
        base += ["--set", item]
    assert main([*base, "--set", "train.epochs=1"]) == 0
    run = small_disk / "smoke_images"
    latest = (run / LATEST).read_bytes()
    st = os.statvfs(small_disk)
    ballast = small_disk / "ballast"
    room = MIN_FREE + 16384  # passes the early "no space left" check of --out; too little for a checkpoint
    assert len(latest) > room + 65536
    ballast.write_bytes(b"\0" * (st.f_bavail * st.f_frsize - room))  # room for config and metrics only
    capsys.readouterr()
    assert main([*base, "--resume", "--allow-changes", "train.epochs"]) == 2
    text = capsys.readouterr().err
    err = [line for line in text.splitlines() if line.startswith("eventsnn")]  # not the progress bar
    assert "Traceback" not in text and len(err) == 1, text[-2000:]
    assert err[0].startswith(f"eventsnn train: error: {run}/checkpoint_"), err
    assert ": disk full while writing the checkpoint (" in err[0]
    assert err[0].endswith(
        f"free in {run}); the previous one is kept: free some space and continue with --resume"
    )
    assert (run / LATEST).read_bytes() == latest and not list(run.glob(".*.tmp"))
    ballast.unlink()
    assert main([*base, "--resume", "--allow-changes", "train.epochs"]) == 0
    assert [r["epoch"] for r in rows(run)] == [0, 1]


# ---- one writer per run folder; --overwrite checks every input first (issue 24) ----------------------
def test_a_second_training_into_a_held_run_folder_is_one_line(tmp_path, capsys):
    import subprocess
    import sys

    run = tmp_path / "smoke_images"
    holder = subprocess.Popen(  # a real second process holds the folder's OS lock
        [sys.executable, "-c", "import sys, time\nfrom eventsnn.engine.runfolder import run_folder_lock\n"
         f"with run_folder_lock({str(run)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        argv = ["train", "-c", str(SMOKE), "--overwrite", "--set", f"output.root={tmp_path}"]
        assert main(argv) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"eventsnn train: error: {run}: another run (pid {holder.pid}) is writing this run folder; wait "
            "for it to finish, or choose another folder (--set output.name=<new name>)"
        ]
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(StopRequested):  # the kernel released the dead holder's lock
        train_job(fast_cfg(tmp_path), run, stop_at_step=1)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.dataset=folder", "{root}/typo"),
        ("model.pretrained={root}/typo.pt", "model.pretrained={root}/typo.pt: checkpoint not found"),
    ],
)
def test_overwrite_with_a_bad_input_keeps_the_previous_run(tmp_path, capsys, override, message):
    run = tmp_path / "smoke_images"
    with pytest.raises(StopRequested):
        train_job(fast_cfg(tmp_path), run, stop_at_step=1)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert LATEST in before and "config.yaml" in before
    sets = [f"output.root={tmp_path}", f"data.root={tmp_path}/typo", override.format(root=tmp_path)]
    argv = ["train", "-c", str(SMOKE), "--overwrite"] + [a for s in sets for a in ("--set", s)]
    assert main(argv) == 2
    err = capsys.readouterr().err  # (the first training's progress bar, then the error)
    assert "Traceback" not in err and message.format(root=tmp_path) in err.strip().splitlines()[-1], err
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert after == before


def test_full_disk_before_the_first_checkpoint_advises_running_again(tmpfs):
    disk = tmpfs("1m")
    st = os.statvfs(disk)
    (disk / "ballast").write_bytes(b"\0" * (st.f_bavail * st.f_frsize))
    run = disk / "r"
    with pytest.raises(TrainingError) as info:
        train_job(fast_cfg(disk), run)
    message = str(info.value)
    assert message.startswith(f"{run / 'config.yaml'}: disk full while writing the config (")
    assert message.endswith("nothing was written: free some space and run it again")  # no --resume yet
