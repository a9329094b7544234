"""A tiny event model checkpoint (real Trainer, 20 demo recordings) and its h5 cache."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from tests.factories import REPO

SMOKE = REPO / "configs" / "smoke" / "events.yaml"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """Demo recordings (2 per class), their h5 cache and a freshly initialised training checkpoint
    (written by the real `Trainer`, so it has the real format: weights, config, data description)."""
    from eventsnn.config import load_config
    from eventsnn.data.demo import ensure_demo_data
    from eventsnn.engine.train import Trainer

    tmp = tmp_path_factory.mktemp("tiny_run")
    root = ensure_demo_data(tmp / "digits_dvs", limit=20, verbose=False)
    overrides = [
        f"data.root={root}",
        f"data.cache_dir={tmp / 'cache'}",
        f"output.root={tmp / 'runs'}",
        "output.name=tiny",
        "output.tensorboard=false",
        "train.batch_size=8",
        "train.device=cpu",
        "plasticity.mode=off",
    ]
    cfg = load_config(SMOKE, overrides)
    trainer = Trainer(cfg, tmp / "runs" / "tiny")
    with torch.no_grad():  # non-trivial BN statistics, so that eval mode matters
        trainer.model.train()
        trainer.model(next(iter(trainer.train_loader))[0])
    trainer.save()
    return SimpleNamespace(
        root=Path(root),
        cfg=cfg,
        overrides=overrides,
        checkpoint=tmp / "runs" / "tiny" / "checkpoint_latest.pt",
        tmp=tmp,
    )
