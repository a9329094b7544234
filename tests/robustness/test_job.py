"""The robustness job: config from YAML, every check before any work, the CLI's error line."""

from __future__ import annotations

import pytest
import torch

from eventsnn.cli import main
from eventsnn.config import load_config
from eventsnn.errors import CheckpointError, ConfigError
from eventsnn.robustness import validate_sweeps
from eventsnn.robustness.job import robustness_job

YAML = """
model: {name: spikingresformer_cifar}
robustness:
  seeds: [0, 1]
  sweeps:
    - {name: time_jitter, severities: [0, 1000]}
    - {name: spike_deletion, level: spike, severities: [0, 0.5]}
"""


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "rob.yaml"
    path.write_text(YAML)
    return path


def test_reference_config_and_yaml_format_validate(repo_root, cfg_file):
    cfg = load_config(repo_root / "configs/robustness/cifar10dvs.yaml")
    names = [p.name for p in validate_sweeps(cfg.robustness.sweeps)]
    assert len(names) == 8 and cfg.robustness.seeds == (0, 1, 2)
    cfg = load_config(cfg_file)
    assert [(s.name, s.level, s.severities) for s in cfg.robustness.sweeps] == [
        ("time_jitter", "event", (0.0, 1000.0)),
        ("spike_deletion", "spike", (0.0, 0.5)),
    ]


class NoWork(Exception):
    pass


def test_checks_come_before_any_work(cfg_file, tmp_path, monkeypatch):
    """Missing / wrong-model checkpoints and bad sweeps fail before the data is touched."""
    from eventsnn.engine import builders

    def build_datasets(cfg):
        raise NoWork("data was built")

    monkeypatch.setattr(builders, "build_datasets", build_datasets)
    cfg = load_config(cfg_file)
    good = tmp_path / "good.pth"
    other = tmp_path / "other.pth"
    torch.save({"model_name": "spikingresformer_cifar", "model": {}}, good)
    torch.save({"model_name": "spikingresformer_ti", "model": {}}, other)
    with pytest.raises(CheckpointError, match=r"missing\.pth: checkpoint not found"):
        robustness_job(cfg, [str(good), str(tmp_path / "missing.pth")], tmp_path / "out")
    with pytest.raises(CheckpointError, match="checkpoint of model 'spikingresformer_ti'"):
        robustness_job(cfg, [str(good), str(other)], tmp_path / "out")
    bad = load_config(cfg_file, ["robustness.sweeps=[{name: hot_pixel, severities: [0.1]}]"])
    with pytest.raises(ConfigError, match="did you mean 'hot_pixels'"):
        robustness_job(bad, [str(good)], tmp_path / "out")
    with pytest.raises(NoWork):  # all checks pass: only now the data is built
        robustness_job(cfg, [str(good)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_prints_one_clear_line(cfg_file, tmp_path, capsys):
    rc = main(["robustness", "-c", str(cfg_file), "--checkpoint", str(tmp_path / "nope.pth")])
    assert rc == 2
    assert "nope.pth: checkpoint not found" in capsys.readouterr().err
