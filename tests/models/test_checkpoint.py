"""The one checkpoint reader, the one "checkpoint of model X" check, and the config a run stores."""

from __future__ import annotations

import argparse
import collections
import dataclasses

import pytest
import torch

from eventsnn.config import load_config, to_dict
from eventsnn.errors import CheckpointError, ConfigError, DataError
from eventsnn.models import check_checkpoint_model, config_from_checkpoint, read_checkpoint


def test_missing_file_is_a_data_error_naming_the_path(tmp_path):
    path = tmp_path / "nope.pth"
    with pytest.raises(DataError, match=rf"^{path}: checkpoint not found$"):
        read_checkpoint(path)


def test_pickled_objects_are_refused_without_torch_advice(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"model": collections.OrderedDict(), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
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
        read_checkpoint(path)
    assert str(info.value).startswith(f"{path}: {reason}") and "\n" not in str(info.value)


def test_read_returns_the_stored_dict(tmp_path):
    state = {"model": {"w": torch.arange(3.0)}, "model_name": "m", "epoch": 4}
    torch.save(state, tmp_path / "c.pth")
    got = read_checkpoint(tmp_path / "c.pth")
    assert got["epoch"] == 4 and got["model_name"] == "m" and torch.equal(got["model"]["w"], torch.arange(3.0))


def test_model_check():
    check_checkpoint_model({"model_name": "a"}, "a")
    check_checkpoint_model({"model": {}}, "a")  # original checkpoints record no model name
    with pytest.raises(CheckpointError, match=r"^f\.pt: checkpoint of model 'b', the config asks for 'a'$"):
        check_checkpoint_model({"model_name": "b"}, "a", where="f.pt")


def test_config_from_checkpoint_is_the_stored_config_with_overrides(tmp_path, repo_root):
    cfg = load_config(repo_root / "configs/smoke/images.yaml", ["train.epochs=7", "model.T=3"])
    path = tmp_path / "c.pth"
    torch.save({"model": {}, "config": to_dict(cfg)}, path)
    assert config_from_checkpoint(path) == cfg
    again = config_from_checkpoint(path, ["train.epochs=2"])
    assert again == dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, epochs=2))
    assert config_from_checkpoint({"config": to_dict(cfg)}) == cfg
    with pytest.raises(ConfigError, match=r"stored config.*train\.epochz: unknown key"):
        config_from_checkpoint(path, ["train.epochz=2"])
    torch.save({"model": {}}, tmp_path / "original.pth")
    with pytest.raises(CheckpointError, match="holds no run config.*-c FILE"):
        config_from_checkpoint(tmp_path / "original.pth")
