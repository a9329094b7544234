"""Every reference setup has a `_released` variant beside its paper variant: the released DA-SSDP
rule, warm-up, precision and transfer classifier handling, and nothing else changed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from eventsnn.checkpoint import read_file
from eventsnn.config import load_config, to_dict
from eventsnn.engine.runfolder import config_differences
from eventsnn.engine.train import Trainer
from eventsnn.plasticity.warmup import refuse_full_warmup

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PAPER = sorted(
    p for d in ("direct", "transfer", "imagenet") for p in (CONFIGS / d).glob("*.yaml") if "_released" not in p.stem
)
SMOKE = CONFIGS / "smoke" / "images.yaml"


@pytest.mark.parametrize("paper", PAPER, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_released_variant_differs_from_the_paper_variant_only_where_the_release_does(paper):
    released_path = paper.with_name(f"{paper.stem}_released.yaml")
    assert released_path.is_file(), f"no released variant beside {paper}"
    cfg, rel = load_config(paper), load_config(released_path)
    diffs = {key for key, _, _ in config_differences(to_dict(cfg), rel)}
    allowed = {
        "plasticity.reference",  # the released activity definitions
        "plasticity.warmup",  # AdaptiveSSDPModule(warmup_epochs=100)
        "plasticity.allow_full_warmup",
        "train.precision",  # amp: True -> fp16 autocast + GradScaler
        "train.seed",  # DA-SSDP's cifar100 config: 310
        "model.transfer_classifier",
    }
    assert diffs <= allowed, diffs - allowed
    p = rel.plasticity
    assert (p.mode, p.reference, p.spatial, p.warmup, p.warmup_unit) == ("da_ssdp", "released", "any", 100, "epochs")
    assert rel.train.precision == "fp16"
    assert (rel.model.transfer_classifier == "reinit") == (paper.parent.name == "transfer")
    # the released warm-up covers the whole run exactly where epochs <= 100, and says so
    assert p.allow_full_warmup == (rel.train.epochs <= 100)
    refuse_full_warmup(rel)  # loads and is accepted as it stands
    if rel.train.epochs <= 100:
        assert "never changes a weight" in released_path.read_text()


def _donor(tmp_path, trainer_cfg):
    """A checkpoint of the same model, every weight moved away from a fresh initialisation."""
    trainer = Trainer(trainer_cfg, tmp_path / "donor")
    with torch.no_grad():
        for prm in trainer.model.parameters():
            prm.add_(1.0)
    path = tmp_path / "donor.pt"
    torch.save({"model": trainer.model.state_dict()}, path)
    return path, {k: v.clone() for k, v in trainer.model.state_dict().items()}


def test_transfer_reinitialises_the_classifier_as_the_release_does(tmp_path):
    base = [f"output.root={tmp_path}", "plasticity.mode=off", "output.tensorboard=false"]
    donor_path, donor = _donor(tmp_path, load_config(SMOKE, base))
    fresh = Trainer(load_config(SMOKE, base), tmp_path / "fresh").model.state_dict()  # same seed
    keep = Trainer(load_config(SMOKE, base), tmp_path / "keep", init_checkpoint=str(donor_path))
    reinit = Trainer(
        load_config(SMOKE, [*base, "model.transfer_classifier=reinit"]),
        tmp_path / "reinit",
        init_checkpoint=str(donor_path),
    )
    for key, value in keep.model.state_dict().items():
        assert torch.equal(value, donor[key]), key  # same shape: the checkpoint's classifier is kept
    for key, value in reinit.model.state_dict().items():
        want = fresh[key] if key.startswith("classifier.") else donor[key]
        assert torch.equal(value, want), key
    assert any(k.startswith("classifier.") for k in donor)
    assert read_file(donor_path)["model"].keys() == donor.keys()
