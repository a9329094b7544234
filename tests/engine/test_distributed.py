"""DDP on CPU: two gloo processes under torchrun train with DA-SSDP and stay identical."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.factories import REPO

WORKER = Path(__file__).with_name("ddp_train_worker.py")
SMOKE = REPO / "configs" / "smoke" / "images.yaml"


def test_two_gloo_ranks_keep_identical_weights_with_da_ssdp(tmp_path):
    overrides = [
        "train.epochs=2",
        "train.max_steps_per_epoch=3",
        "train.batch_size=16",
        "plasticity.mode=da_ssdp",
        "plasticity.warmup=2",
        "plasticity.warmup_unit=steps",
        "plasticity.a_plus=0.01",
        "output.tensorboard=false",
        "distributed.backend=gloo",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(WORKER),
            str(SMOKE),
            str(tmp_path),
            *overrides,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert len(r0["params"]) > 10
    for key, value in r0["params"].items():
        assert torch.equal(value, r1["params"][key]), key
    for key, value in r0["plasticity"].items():
        assert torch.equal(value, r1["plasticity"][key]), key
    assert float(r0["plasticity"]["classifier.phase"]) == 1  # past warm-up: dW was applied
    # only rank 0 wrote the run directory
    assert (tmp_path / "run" / "checkpoint_latest.pt").is_file()
