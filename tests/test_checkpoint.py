"""`eventsnn.Checkpoint`: the one reader of checkpoint files, the one "checkpoint of model X" check,
the config a run stores, and the one road from a checkpoint to a model."""

from __future__ import annotations

import argparse
import ast
import collections
import dataclasses
from pathlib import Path

import pytest
import torch

import eventsnn.checkpoint as checkpoint_module
from eventsnn.checkpoint import (
    Checkpoint,
    DataDescription,
    TrainingState,
    key_map,
    normalize_keys,
    read_file,
)
from eventsnn.config import load_config, to_dict
from eventsnn.errors import CheckpointError, ConfigError, DataError
from eventsnn.models import build_model


def test_missing_file_is_a_data_error_naming_the_path(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(DataError, match=rf"^{path}: checkpoint not found$"):
        read_file(path)


def test_pickled_objects_are_refused_without_torch_advice(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": collections.OrderedDict(), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(CheckpointError) as info:
        read_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not a trusted eventsnn/SpikingResformer checkpoint")
    assert "weights_only" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not a zip file at all", "not a checkpoint: a text file (it starts with 'not a zip file at all')"),
        (None, "not a trusted eventsnn/SpikingResformer checkpoint (a list, not a dict)"),
        (b"\x80\x02}q\x00.", "not a trusted eventsnn/SpikingResformer checkpoint (unreadable"),
    ],
)
def test_corrupt_or_foreign_files_are_one_line(tmp_path, content, reason):
    path = tmp_path / "bad.pth"
    if content is None:
        torch.save([1, 2], path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        read_file(path)
    assert str(info.value).startswith(f"{path}: {reason}") and "\n" not in str(info.value)


def test_read_returns_the_stored_dict(tmp_path):
    state = {"model": {"w": torch.arange(3.0)}, "model_name": "m", "epoch": 4}
    torch.save(state, tmp_path / "c.pth")
    got = read_file(tmp_path / "c.pth")
    assert got["epoch"] == 4 and got["model_name"] == "m" and torch.equal(got["model"]["w"], torch.arange(3.0))


def test_model_check():
    Checkpoint({}, model_name="a").check_model("a")
    Checkpoint.from_dict({"model": {}}).check_model("a")  # original checkpoints record no model name
    with pytest.raises(CheckpointError, match=r"^f\.pt: checkpoint of model 'b', the config asks for 'a'$"):
        Checkpoint({}, model_name="b", where="f.pt").check_model("a")


def test_config_is_the_stored_config_with_overrides(tmp_path, repo_root):
    cfg = load_config(repo_root / "configs/smoke/images.yaml", ["train.epochs=7", "model.T=3"])
    path = tmp_path / "c.pth"
    torch.save({"model": {}, "config": to_dict(cfg)}, path)
    assert Checkpoint.load(path).config() == cfg
    again = Checkpoint.load(path).config(["train.epochs=2"])
    assert again == dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=2))
    assert Checkpoint.from_dict({"model": {}, "config": to_dict(cfg)}).config() == cfg
    with pytest.raises(ConfigError, match=r"stored config.*train\.epochz: unknown key"):
        Checkpoint.load(path).config(["train.epochz=2"])
    torch.save({"model": {}}, tmp_path / "original.pth")
    with pytest.raises(CheckpointError, match="holds no run config.*-c FILE"):
        Checkpoint.load(tmp_path / "original.pth").config()


# ---- one road: Checkpoint.load(path).model() -----------------------------------------------------
PACKAGE = Path(__file__).resolve().parents[1] / "eventsnn"
# keys only a checkpoint has (`config`, `data`, `model`, `epoch`, `format` also name other records' fields)
CHECKPOINT_ONLY_KEYS = {
    "model_name",
    "optimizer",
    "scheduler",
    "scaler",
    "plasticity",
    "rng",
    "step_in_epoch",
    "best_top1",
    "epoch_loss_sum",
    "scaler_skips",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE.parent).as_posix(), ast.parse(path.read_text())


def test_no_module_but_checkpoint_reads_checkpoint_files_or_keys():
    """The grep of issue 19: `torch.load`, the file reader and the checkpoint-only keys appear in
    eventsnn/checkpoint.py and nowhere else in the package."""
    found = []
    for name, tree in _modules():
        if name == "eventsnn/checkpoint.py":
            continue
        for node in ast.walk(tree):
            key = None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                key = node.slice.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("get", "pop")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                key = node.args[0].value
            if key in CHECKPOINT_ONLY_KEYS:
                found.append(f"{name}:{node.lineno} reads {key!r}")
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                found.append(f"{name}:{node.lineno} calls torch.load")
            if isinstance(node, ast.ImportFrom) and node.module == "eventsnn.checkpoint":
                if any(a.name in ("read_file", "normalize_keys") for a in node.names):
                    found.append(f"{name}:{node.lineno} imports the raw reader")
    assert not found, found


def test_inference_imports_nothing_from_the_engine():
    imports = []
    for name, tree in _modules():
        if not name.startswith("eventsnn/inference/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eventsnn.engine"):
                imports.append(f"{name}:{node.lineno} {node.module}")
            if isinstance(node, ast.Import) and any(a.name.startswith("eventsnn.engine") for a in node.names):
                imports.append(f"{name}:{node.lineno}")
    assert not imports, imports


TINY = ["model.planes=[16]", "model.num_heads=[1]"]
DATA = DataDescription("events", ("a", "b", "c"), (2, 2, 16, 16), (16, 16, 2))


def _trained(repo_root):
    cfg = load_config(repo_root / "configs/smoke/events.yaml", TINY)
    torch.manual_seed(0)
    model = build_model(cfg.model, DATA.num_classes, DATA.input_shape)
    with torch.no_grad():  # weights away from their initial values
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    return cfg, model.eval()


def test_model_is_the_saved_model(tmp_path, repo_root):
    """A run's checkpoint written to disk and read back builds a model with identical outputs,
    from the checkpoint alone (no data set, no config file)."""
    cfg, model = _trained(repo_root)
    path = tmp_path / "run.pt"
    torch.save(Checkpoint.of_run(model, cfg, DATA).to_dict(), path)
    ckpt = Checkpoint.load(path)
    assert ckpt.data == DATA and ckpt.model_name == cfg.model.name and ckpt.training is None
    rebuilt = ckpt.model(device="cpu")
    assert not rebuilt.training
    x = torch.rand(3, *DATA.input_shape)  # [B, T, C, H, W]
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    for key, value in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[key], value), key


def test_original_file_needs_config_and_data(tmp_path, repo_root):
    """A bare state_dict (original SpikingResformer format) saved from DDP (`module.` keys) loads
    once the model section and the data are given."""
    cfg, model = _trained(repo_root)
    path = tmp_path / "original.pth"
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, path)
    ckpt = Checkpoint.load(path)
    with pytest.raises(CheckpointError, match="holds no run config"):
        ckpt.model()
    with pytest.raises(CheckpointError, match="does not describe its data"):
        ckpt.model(model_cfg=cfg.model)
    rebuilt = ckpt.model(model_cfg=cfg.model, data=DATA)
    assert all(torch.equal(rebuilt.state_dict()[k], v) for k, v in model.state_dict().items())


def test_training_checkpoint_round_trip_and_resume_refusal(tmp_path, repo_root):
    cfg, model = _trained(repo_root)
    state = TrainingState(
        optimizer={"state": {}, "param_groups": []},
        scheduler=None,
        scaler=None,
        plasticity={"mode": torch.tensor(2)},
        rng={"torch": torch.get_rng_state()},
        epoch=3,
        step_in_epoch=1,
        global_step=31,
        best_top1=55.5,
        history=[{"epoch": 0, "test_top1": 50.0}],
        epoch_loss_sum=1.25,
        scaler_skips=2,
    )
    path = tmp_path / "latest.pt"
    torch.save(Checkpoint.of_run(model, cfg, DATA, state).to_dict(), path)
    back = Checkpoint.load(path)
    assert back.require_training().global_step == 31 and back.training.scaler_skips == 2
    assert back.training.history == state.history and back.config() == cfg
    torch.save({"model": model.state_dict()}, tmp_path / "weights.pth")
    with pytest.raises(CheckpointError, match=r"weights\.pth: not an eventsnn training checkpoint"):
        Checkpoint.load(tmp_path / "weights.pth").require_training()


def test_checkpoints_of_version_0_1_load(tmp_path, repo_root):
    """0.1 training checkpoints: no `data`, `epoch_loss_sum`, `scaler_skips`; `train.amp` in the
    stored config. They resume (zeros for the missing sums) and build a model with the data given."""
    cfg, model = _trained(repo_root)
    stored = to_dict(cfg)
    del stored["train"]["precision"]
    stored["train"]["amp"] = False
    raw = {
        "format": "eventsnn-train-v1",
        "model": model.state_dict(),
        "model_name": cfg.model.name,
        "optimizer": {},
        "scheduler": None,
        "scaler": None,
        "plasticity": {},
        "rng": {},
        "epoch": 2,
        "step_in_epoch": 0,
        "global_step": 20,
        "best_top1": 40.0,
        "history": [],
        "config": stored,
    }
    torch.save(raw, tmp_path / "v01.pt")
    ckpt = Checkpoint.load(tmp_path / "v01.pt")
    assert ckpt.training.epoch_loss_sum == 0.0 and ckpt.training.scaler_skips == 0
    assert ckpt.data is None and ckpt.config().train.precision == "fp32"
    rebuilt = ckpt.model(data=DATA)
    assert all(torch.equal(rebuilt.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_key_map_is_one_registered_function(monkeypatch):
    """Foreign layouts are one `@key_map` step (e.g. released DA-SSDP files)."""
    monkeypatch.setattr(checkpoint_module, "KEY_MAPS", list(checkpoint_module.KEY_MAPS))

    @key_map
    def renamed(raw):
        if "net" in raw:
            return {"model": raw["net"], "model_name": "renamed"}
        return raw

    ckpt = Checkpoint.from_dict({"net": {"w": torch.ones(2)}})
    assert ckpt.model_name == "renamed" and torch.equal(ckpt.weights["w"], torch.ones(2))
    assert normalize_keys({"model": {}}) == {"model": {}}
