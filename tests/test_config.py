"""Strict YAML config loading: unknown keys, wrong types, overrides, every shipped config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from eventsnn.config import RunConfig, dump_yaml, load_config, save_resolved, to_dict
from eventsnn.errors import ConfigError
from tests.factories import REPO


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_match_dataclass_defaults():
    assert load_config(None) == RunConfig()


def test_unknown_key_names_file_path_and_suggestion(tmp_path):
    path = write(tmp_path, "plasticity:\n  a_plsu: 0.1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: plasticity.a_plsu: unknown key; did you mean plasticity.a_plus?"


def test_unknown_section_suggests_section(tmp_path):
    path = write(tmp_path, "plastcity:\n  mode: ssdp\n")
    with pytest.raises(ConfigError, match=r"plastcity: unknown key; did you mean plasticity\?"):
        load_config(path)


def test_wrong_type_names_key_and_expected_type(tmp_path):
    path = write(tmp_path, "train:\n  epochs: ten\n")
    with pytest.raises(ConfigError, match=r"train\.epochs: expected int, got str 'ten'"):
        load_config(path)


def test_bool_is_not_an_int(tmp_path):
    path = write(tmp_path, "train:\n  epochs: true\n")
    with pytest.raises(ConfigError, match="train.epochs: expected int"):
        load_config(path)


def test_literal_lists_allowed_values(tmp_path):
    path = write(tmp_path, "plasticity:\n  mode: dassdp\n")
    with pytest.raises(ConfigError, match="plasticity.mode: expected one of 'off', 'ssdp', 'da_ssdp'"):
        load_config(path)


def test_float_accepts_int_and_pyyaml_exponent_strings(tmp_path):
    path = write(tmp_path, "plasticity:\n  a_plus: 1e-4\n  sigma: 2\n")
    cfg = load_config(path)
    assert cfg.plasticity.a_plus == 1e-4 and isinstance(cfg.plasticity.sigma, float)


def test_tuple_fields_become_tuples_and_are_checked(tmp_path):
    cfg = load_config(write(tmp_path, "framing:\n  resize: [64, 64]\n"))
    assert cfg.framing.resize == (64, 64)
    hash(cfg)  # frozen and hashable: usable as a cache key
    with pytest.raises(ConfigError, match=r"framing\.resize: expected .*list of 2"):
        load_config(write(tmp_path, "framing:\n  resize: [64, 64, 3]\n", "d.yaml"))


def test_nested_list_of_sections(tmp_path):
    text = "robustness:\n  sweeps:\n    - name: time_jitter\n      severities: [0, 100]\n      levle: event\n"
    with pytest.raises(
        ConfigError, match=r"robustness\.sweeps\[0\]\.levle: unknown key; did you mean robustness.sweeps\[0\].level\?"
    ):
        load_config(write(tmp_path, text))


def test_set_overrides_any_field(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\n")
    cfg = load_config(path, ["train.epochs=7", "plasticity.mode=da_ssdp", "framing.resize=[32,32]"])
    assert cfg.train.epochs == 7
    assert cfg.plasticity.mode == "da_ssdp"
    assert cfg.framing.resize == (32, 32)


def test_unquoted_off_means_the_mode_not_a_boolean(tmp_path):
    assert load_config(None, ["plasticity.mode=off"]).plasticity.mode == "off"
    assert load_config(write(tmp_path, "plasticity:\n  mode: off\n")).plasticity.mode == "off"
    with pytest.raises(ConfigError, match="plasticity.mode: expected one of"):
        load_config(None, ["plasticity.mode=yes"])


def test_set_override_typo_is_rejected():
    with pytest.raises(ConfigError, match=r"train\.epoch: unknown key; did you mean train.epochs\?"):
        load_config(None, ["train.epoch=3"])


def test_set_override_without_equals_is_rejected():
    with pytest.raises(ConfigError, match=r"expected section\.key=value"):
        load_config(None, ["train.epochs"])


def test_missing_file_and_syntax_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"YAML syntax error \(line 3, column 1\)"):
        load_config(write(tmp_path, "train:\n  epochs: [1, 2\n"))


def test_base_inheritance_deep_merges(tmp_path):
    write(tmp_path, "train:\n  epochs: 3\n  batch_size: 8\n", "base.yaml")
    child = write(tmp_path, "base: base.yaml\ntrain:\n  epochs: 5\n", "child.yaml")
    cfg = load_config(child)
    assert (cfg.train.epochs, cfg.train.batch_size) == (5, 8)


def test_resolved_yaml_round_trips(tmp_path):
    cfg = load_config(None, ["train.epochs=4", "framing.resize=[48,48]"])
    path = save_resolved(cfg, tmp_path / "run")
    assert load_config(path) == cfg
    assert yaml.safe_load(dump_yaml(cfg)) == to_dict(cfg)


SHIPPED_CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED_CONFIGS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_config_is_valid_throughout(path, tmp_path):
    """Each shipped config: every value check (at load), a round trip through YAML, its model
    built from the registry (on the meta device, no memory), its sweeps validated, its data set
    known."""
    from eventsnn.engine.builders import EVENT_DATASETS
    from eventsnn.models import build_model, list_models
    from eventsnn.robustness import validate_sweeps

    cfg = load_config(path)
    assert isinstance(cfg, RunConfig)
    assert load_config(save_resolved(cfg, tmp_path)) == cfg
    assert cfg.model.name in list_models()
    with torch.device("meta"):
        model = build_model(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
    assert len(validate_sweeps(cfg.robustness.sweeps)) == len(cfg.robustness.sweeps)
    assert cfg.data.dataset in (*EVENT_DATASETS, "digits", "cifar10", "cifar100", "imagenet")


# ---- ranges, duplicate keys, encodings (issue 11) -------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("train:\n  batch_size: 0\n", "train.batch_size: must be >= 1, got 0"),
        ("train:\n  batch_size: -4\n", "train.batch_size: must be >= 1, got -4"),
        ("train:\n  epochs: 0\n", "train.epochs: must be >= 1, got 0"),
        ("framing:\n  n_frames: 0\n", "framing.n_frames: must be >= 1, got 0"),
        ("framing:\n  resize: [32, 0]\n", "framing.resize[1]: must be >= 1, got 0"),
        ("data:\n  limit_per_class: 0\n", "data.limit_per_class: must be >= 1, got 0"),
        ("data:\n  sensor_size: [128]\n", "data.sensor_size: expected 2 or 3 values, got 1: [128]"),
        (
            "data:\n  sensor_size: [128, 128, 2, 1]\n",
            "data.sensor_size: expected 2 or 3 values, got 4: [128, 128, 2, 1]",
        ),
        ("data:\n  sensor_size: [128, 0]\n", "data.sensor_size[1]: must be >= 1, got 0"),
        ("model:\n  T: 0\n", "model.T: must be >= 1, got 0"),
        ("optim:\n  lr: .nan\n", "optim.lr: must be a finite number, got nan"),
        ("optim:\n  lr: 0\n", "optim.lr: must be > 0, got 0.0"),
        ("optim:\n  lr: -1e-3\n", "optim.lr: must be > 0, got -0.001"),
        ("data:\n  train_fraction: 1.0\n", "data.train_fraction: must be in (0, 1), got 1.0"),
        ("data:\n  train_fraction: 0\n", "data.train_fraction: must be in (0, 1), got 0.0"),
        ("train:\n  label_smoothing: 1.0\n", "train.label_smoothing: must be in [0, 1), got 1.0"),
        ("plasticity:\n  sigma: .inf\n", "plasticity.sigma: must be a finite number, got inf"),
        ("plasticity:\n  gate_min: 3.0\n", "plasticity.gate_min (3) must not exceed plasticity.gate_max (2)"),
    ],
)
def test_out_of_range_values_are_refused_at_load_time(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {message}"


def test_range_checks_apply_to_set_overrides_and_keep_valid_values():
    with pytest.raises(ConfigError, match=r"--set\): train\.batch_size: must be >= 1, got 0"):
        load_config(None, ["train.batch_size=0"])
    cfg = load_config(None, ["train.batch_size=1", "data.train_fraction=0.5", "data.sensor_size=[34,34]"])
    assert (cfg.train.batch_size, cfg.data.train_fraction, cfg.data.sensor_size) == (1, 0.5, (34, 34))


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\n  batch_size: 8\n  epochs: 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert (
        str(info.value)
        == f"{path}: YAML syntax error (line 4, column 3): duplicate key 'epochs' (first at line 2)"
    )


def test_duplicate_section_is_an_error(tmp_path):
    path = write(tmp_path, "train:\n  epochs: 3\ntrain:\n  batch_size: 8\n")
    with pytest.raises(ConfigError, match="duplicate key 'train'"):
        load_config(path)


def test_non_utf8_file_is_one_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("output:\n  name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: not UTF-8 text (byte 0xe9 on line 2); save the file as UTF-8"


@pytest.mark.parametrize(
    ("train", "expected"),
    [({"amp": True}, "auto"), ({"amp": False}, "fp32"), ({"amp": True, "precision": "bf16"}, "bf16")],
)
def test_configs_of_version_0_1_read_amp_as_precision(train, expected):
    """0.1 checkpoints store `train.amp` (fp16 autocast on CUDA only); it maps to a precision."""
    from eventsnn.config.loader import config_from_mapping

    cfg = config_from_mapping({"train": dict(train)})
    assert cfg.train.precision == expected
    assert not hasattr(cfg.train, "amp")
