"""SpikingResformer: every variant, original parameter counts and keys, original outputs,
checkpoint loading (original format, transfer, wrong model), operation counting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch

from eventsnn.checkpoint import Checkpoint
from eventsnn.errors import CheckpointError, ConfigError
from eventsnn.models import (
    SpikingResformer,
    create_model,
    default_plasticity_layers,
    list_models,
    mean_logits,
)

DATA = Path(__file__).with_name("data")
ORIGINAL = json.loads((DATA / "original_state_dict_keys.json").read_text())
TINY = dict(planes=[16, 32, 32], num_heads=[1, 2, 2], group_size=16, img_size=16, T=2, num_classes=5)


def test_registry_lists_every_published_variant():
    assert list_models() == sorted(ORIGINAL)
    for name in ORIGINAL:
        assert timm.is_model(name)


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_full_size_parameter_counts_and_state_dict_equal_original(name):
    expected = ORIGINAL[name]
    with torch.device("meta"):
        model = create_model(name, num_classes=expected["num_classes"])
    assert sum(p.numel() for p in model.parameters()) == expected["parameters"]
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert list(got) == list(expected["state_dict"])  # same keys, same order
    assert got == expected["state_dict"]


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_every_variant_small_forward_backward_reset(name):
    torch.manual_seed(0)
    model = create_model(name, **TINY)
    images = torch.rand(2, 3, 16, 16)
    out = model(images)
    assert out.shape == (2, 2, 5) and torch.isfinite(out).all()
    mean_logits(out).square().sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
    model.eval()
    with torch.no_grad():
        a, b = model(images), model(images)  # neuron state is reset at every forward
    assert torch.equal(a, b)
    frames = torch.rand(2, 2, 3, 16, 16)  # [B, T, C, H, W]
    assert model(frames).shape == (2, 2, 5)


def test_outputs_equal_the_original_implementation():
    """Golden tensors recorded from the original SpikingResformer code (spikingjelly 2,
    backend argument removed) on a tiny model: same weights -> the same outputs. Bit-identical
    on the machine that recorded them; other CPUs' BLAS kernels round differently (~1e-8)."""
    golden = torch.load(DATA / "original_golden_tiny.pt", weights_only=True)
    model = SpikingResformer(**golden["kwargs"])
    model.load_state_dict(golden["init_state"], strict=True)
    model.train()
    same = dict(rtol=0.0, atol=1e-6)  # logits ~0.1: one flipped spike moves them by far more
    torch.testing.assert_close(model(golden["input"]), golden["train_out"], **same)
    model.eval()
    torch.testing.assert_close(model(golden["input"]), golden["eval_out"], **same)
    for key, value in golden["after_state"].items():  # incl. the DSSA firing-rate buffers
        torch.testing.assert_close(model.state_dict()[key], value, **same, msg=key)


def test_default_plasticity_layers_are_last_wproj_and_classifier():
    model = create_model("spikingresformer_cifar", **TINY)
    assert default_plasticity_layers(model) == ["layers.2.5.Wproj", "classifier"]


def test_original_format_checkpoint_round_trip(tmp_path):
    model = create_model("spikingresformer_cifar", **TINY)
    path = tmp_path / "orig.pth"
    torch.save({"model": model.state_dict(), "optimizer": {}, "epoch": 3}, path)
    other = create_model("spikingresformer_cifar", **TINY)
    Checkpoint.load(path).load_weights(other)
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value)


def test_transfer_keeps_backbone_and_replaces_classifier(tmp_path):
    source = create_model("spikingresformer_cifar", **{**TINY, "num_classes": 1000})
    path = tmp_path / "imagenet.pth"
    torch.save({"model": source.state_dict()}, path)
    target = create_model("spikingresformer_cifar", **TINY)
    fresh_classifier = target.classifier.weight.clone()
    dropped = Checkpoint.load(path).load_weights(target, transfer=True)
    assert dropped == ["classifier.weight"]
    assert torch.equal(target.classifier.weight, fresh_classifier)
    for key, value in source.state_dict().items():
        if not key.startswith("classifier"):
            assert torch.equal(target.state_dict()[key], value), key


def test_wrong_model_checkpoint_gives_short_counted_message(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": create_model("spikingresformer_dvsg", **TINY).state_dict()}, path)
    target = create_model("spikingresformer_ti", **TINY)
    with pytest.raises(CheckpointError) as info:
        Checkpoint.load(path).load_weights(target)
    message = str(info.value)
    assert message.startswith(f"{path}: does not fit this model: 38 unexpected (")
    assert "1 wrong-shaped (prologue.0.weight (16, 3, 3, 3) vs (16, 3, 7, 7))" in message
    assert "(+35)" in message and len(message) < 600 and "\n" not in message
    with pytest.raises(CheckpointError, match=r"38 missing \(.*activation_in\.w"):  # PLIF parameters
        dvsg = create_model("spikingresformer_dvsg", **TINY)
        Checkpoint.from_dict({"model": target.state_dict()}).load_weights(dvsg)
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        Checkpoint.load(tmp_path / "nope.pth").load_weights(target)
    with pytest.raises(CheckpointError, match="a folder, not a checkpoint file"):
        Checkpoint.load(tmp_path).load_weights(target)


def test_unknown_model_name_and_argument():
    with pytest.raises(ConfigError, match="did you mean spikingresformer_ti"):
        create_model("spikingresformer_tt")
    with pytest.raises(ConfigError, match="unknown argument"):
        create_model("spikingresformer_ti", depth=3)


@pytest.mark.parametrize("name", sorted(ORIGINAL))
def test_timm_create_model_builds_the_registered_variant(name):
    """timm's own factory on our names gives the same network as ours (same seed, same weights);
    pretrained weights are never downloaded."""
    torch.manual_seed(0)
    via_timm = timm.create_model(name, **TINY)
    torch.manual_seed(0)
    ours = create_model(name, **TINY)
    assert type(via_timm) is SpikingResformer
    a, b = via_timm.state_dict(), ours.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ConfigError, match="never downloaded"):
        timm.create_model(name, pretrained=True, **TINY)
