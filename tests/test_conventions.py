"""CLI and logging conventions (issue 23): shipped configs by name, `a.b=c` overrides, did-you-mean
across sections, --out/--device/--precision on every model job, the start banner, the loaded-weights
line, --resume of a finished run, TensorBoard hparams + config text, the CSV log, absolute paths."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
from pathlib import Path

import pytest
import torch
import yaml

from eventsnn.checkpoint import Checkpoint
from eventsnn.cli import build_parser, main
from eventsnn.config import load_config, with_absolute_paths
from eventsnn.config.packaged import list_packaged_configs, packaged_config_dir, resolve_config_path
from eventsnn.engine import builders
from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.jobs import train_job
from eventsnn.engine.train import Trainer
from eventsnn.errors import ConfigError
from eventsnn.models import build_model
from tests.factories import REPO

SMOKE = REPO / "configs" / "smoke" / "images.yaml"
TINY = [
    "train.epochs=1",
    "train.max_steps_per_epoch=1",
    "train.batch_size=16",
    "train.precise_bn_batches=0",
    "plasticity.mode=off",
]


def tiny_cfg(tmp_path: Path, *extra: str):
    return load_config(SMOKE, [*TINY, f"output.root={tmp_path}", *extra])


# ---- shipped configs ---------------------------------------------------------------------------------
def test_every_file_in_configs_is_a_shipped_config_by_name():
    on_disk = sorted(
        p.relative_to(REPO / "configs").with_suffix("").as_posix() for p in REPO.glob("configs/**/*.yaml")
    )
    assert list_packaged_configs() == on_disk
    assert packaged_config_dir().resolve() == (REPO / "configs").resolve()  # one source, not a copy
    assert resolve_config_path("smoke/events").resolve() == (REPO / "configs/smoke/events.yaml").resolve()
    assert resolve_config_path("demo").resolve() == (REPO / "configs/demo/demo.yaml").resolve()
    with pytest.raises(ConfigError, match="names several shipped configs: smoke/events, smoke/images"):
        resolve_config_path("smoke")
    with pytest.raises(ConfigError, match="config file not found"):
        resolve_config_path("no/such/config")


def test_a_config_name_works_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    assert load_config("smoke/events") == load_config(REPO / "configs/smoke/events.yaml")
    assert load_config("configs/demo/demo.yaml") == load_config(REPO / "configs/demo/demo.yaml")
    assert main(["config", "list"]) == 0
    assert "  smoke/events\n" in capsys.readouterr().out
    assert main(["config", "copy", "demo", "mine"]) == 0
    assert (tmp_path / "mine/demo/demo.yaml").is_file() and (tmp_path / "mine/data/digits_dvs.yaml").is_file()
    assert load_config("mine/demo/demo.yaml") == load_config("demo")  # its base: chain came along
    assert main(["config", "copy", "demo", "mine"]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err


# ---- overrides -----------------------------------------------------------------------------------------
def test_bare_overrides_mean_the_same_as_set(capsys):
    assert main(["config", "show", "smoke/events", "train.epochs=5", "--set", "optim.lr=0.5"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["train"]["epochs"] == 5 and shown["optim"]["lr"] == 0.5
    assert main(["config", "show", "train.epochs=7"]) == 0  # no file: the defaults
    assert yaml.safe_load(capsys.readouterr().out)["train"]["epochs"] == 7
    with pytest.raises(SystemExit):
        main(["env", "train.epochs=5"])  # a command without config overrides refuses them


@pytest.mark.parametrize(
    ("override", "hint"),
    [
        ("train.lr=0.1", "train.lr: unknown key; did you mean optim.lr?"),
        ("data.n_frames=3", "data.n_frames: unknown key; did you mean framing.n_frames?"),
        ("train.epoch=3", "train.epoch: unknown key; did you mean train.epochs?"),
    ],
)
def test_unknown_key_suggests_across_sections(override, hint):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert str(info.value).endswith(hint)


# ---- options -------------------------------------------------------------------------------------------
def _leaf(parser: argparse.ArgumentParser, *names: str) -> argparse.ArgumentParser:
    for name in names:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


MODEL_JOBS = [
    ("train",),
    ("finetune",),
    ("evaluate",),
    ("robustness",),
    ("analyze", "attention"),
    ("analyze", "synchrony"),
    ("analyze", "layers"),
    ("predict",),
    ("stream",),
    ("compare",),
]


def test_out_device_precision_mean_the_same_on_every_model_job():
    helps: dict[str, set[str]] = {"--device": set(), "--precision": set()}
    for names in MODEL_JOBS:
        actions = {s: a for a in _leaf(build_parser(), *names)._actions for s in a.option_strings}
        assert "--out" in actions, names
        for option in helps:
            helps[option].add(actions[option].help)
        assert actions["--precision"].choices == ("fp32", "bf16", "fp16", "auto")
    assert all(len(h) == 1 for h in helps.values()), helps


def test_device_and_precision_set_the_config(tmp_path):
    from eventsnn.commands._common import config_from_args

    args = build_parser().parse_args(["train", "-c", str(SMOKE), "--device", "cpu", "--precision", "bf16"])
    cfg = config_from_args(args)
    assert (cfg.train.device, cfg.train.precision) == ("cpu", "bf16")


# ---- runs: banner, loaded weights, resume of a finished run, logs, paths ------------------------------
def test_finished_run_resume_says_complete_and_logs_are_complete(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tiny_cfg(Path("."), "output.tensorboard=true", "data.root=rel/../rel")
    run = tmp_path / "r"
    train_job(cfg, run)
    out = capsys.readouterr().out
    assert "train: " in out and "world size 1" in out and f"output folder: {run}" in out
    train_job(cfg, run, resume=True)
    assert f"{run}: the run is complete (1 of 1 epochs" in capsys.readouterr().out

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    with open(run / "metrics.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == len(rows) == 1
    assert {k: float(v) for k, v in table[0].items()} == pytest.approx(
        {k: float(v) for k, v in rows[0].items()}
    )

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags: dict[str, set[str]] = {"tensors": set(), "scalars": set(), "hparams": set()}
    for events in (run / "tensorboard").rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events))
        acc.Reload()
        for kind in ("tensors", "scalars"):
            tags[kind].update(acc.Tags().get(kind, []))
        with contextlib.suppress(KeyError):  # KeyError: no hparams in this file
            tags["hparams"].update(acc.PluginTagToContent("hparams"))
    assert "config/text_summary" in tags["tensors"]  # the resolved config as text
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= tags["hparams"]  # the HParams tab
    assert "hparam/test_top1" in tags["scalars"]

    stored = Checkpoint.load(run / LATEST).config_dict
    assert (
        stored["data"]["root"] == str(tmp_path / "rel/../rel")
        and Path(stored["output"]["root"]).is_absolute()
    )
    assert with_absolute_paths(cfg, tmp_path).data.root == stored["data"]["root"]


def test_finetune_says_which_weights_and_that_the_classifier_is_new(tmp_path, capsys):
    cfg = tiny_cfg(tmp_path)
    torch.manual_seed(0)
    data = builders.build_datasets(cfg)
    donor = build_model(cfg.model, data.num_classes, data.input_shape).state_dict()
    donor["classifier.weight"] = torch.randn(7, donor["classifier.weight"].shape[1])
    path = tmp_path / "pretrained.pth"
    torch.save({"model": donor}, path)
    Trainer(cfg, tmp_path / "ft", init_checkpoint=str(path))
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line == (
        f"loaded weights: {path} ({len(donor) - 1} tensors); classifier replaced by a new 10-class one "
        "(classifier.weight not loaded)"
    )


def test_base_may_name_a_shipped_config(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("base: smoke/events\ndata: {dataset: folder, root: /data/mine}\n")
    cfg = load_config(mine)
    shipped = load_config("smoke/events")
    assert cfg.data.root == "/data/mine" and cfg.data.dataset == "folder"
    assert (cfg.model, cfg.framing, cfg.train) == (shipped.model, shipped.framing, shipped.train)
    mine.write_text("base: no/such/config\n")
    with pytest.raises(ConfigError, match="no/such/config: config file not found"):
        load_config(mine)
