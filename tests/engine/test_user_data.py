"""Bring your own data: the 20-line tonic example runs the built-in trainer end to end; a plain
list of frames trains too; the checkpoint describes the user's data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from eventsnn.engine.checkpoint import LATEST
from eventsnn.engine.train import Trainer
from eventsnn.errors import ArgumentError
from tests.factories import REPO

from . import tiny_run_config


def _nbin(path: Path, rng, n=120):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.sort(rng.integers(0, 100_000, n))
    rec = np.empty((n, 5), np.uint8)
    rec[:, 0], rec[:, 1] = rng.integers(0, 34, n), rng.integers(0, 34, n)
    rec[:, 2] = (rng.integers(0, 2, n) << 7) | ((t >> 16) & 0x7F)
    rec[:, 3], rec[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.write_bytes(rec.tobytes())


def test_tonic_example_trains_with_the_builtin_trainer(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("Train", 2), ("Test", 1)):  # tonic's NMNIST layout, 10 digits
        for d in range(10):
            for i in range(n):
                _nbin(tmp_path / "data" / "NMNIST" / split / str(d) / f"{i:05d}.bin", rng)
    overrides = ["train.epochs=1", "train.batch_size=4", "train.max_steps_per_epoch=2",
                 "train.precise_bn_batches=0", "output.tensorboard=false",
                 "plasticity.warmup=1", "plasticity.warmup_unit=steps"]  # fmt: skip  (warm-up shorter than the run)
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "train_tonic.py"), str(tmp_path / "data"), str(tmp_path / "runs"),
         *overrides],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "top-1" in proc.stdout
    assert len((REPO / "pipelines" / "train_tonic.py").read_text().splitlines()) <= 20
    ckpt = torch.load(tmp_path / "runs" / "nmnist" / LATEST, weights_only=True)
    assert ckpt["data"]["class_names"] == [str(d) for d in range(10)]
    assert ckpt["data"]["sensor_size"] == [34, 34, 2] and ckpt["data"]["input_shape"] == [4, 2, 16, 16]


def test_frames_dataset_trains_and_mismatched_arguments_are_refused(tmp_path):
    cfg = tiny_run_config(tmp_path, "train.max_steps_per_epoch=2", "train.batch_size=4")
    g = torch.Generator().manual_seed(0)
    frames = [(torch.rand(2, 1, 16, 16, generator=g), i % 3) for i in range(12)]
    trainer = Trainer(cfg, tmp_path / "run", train_dataset=frames[:8], test_dataset=frames[8:])
    assert trainer.data.class_names == ("0", "1", "2") and trainer.data.input_shape == (2, 1, 16, 16)
    result = trainer.fit()
    assert result.final_eval is not None and (tmp_path / "run" / LATEST).is_file()
    with pytest.raises(ArgumentError, match="give both train_dataset and test_dataset"):
        Trainer(cfg, tmp_path / "run2", train_dataset=frames)
