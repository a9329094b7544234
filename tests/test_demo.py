"""The main job end to end on a small slice of the demo data (the full run is `make demo`)."""

from __future__ import annotations

import json
import subprocess
import sys

import matplotlib.image
import pytest

from tests.factories import REPO


@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_demo_runs_every_stage_and_writes_the_report(tmp_path):
    root = tmp_path / "digits_dvs"
    sweeps = (
        "robustness.sweeps=[{name: time_jitter, level: event, severities: [0, 50000]},"
        " {name: spike_deletion, level: spike, severities: [0, 0.5]}]"
    )
    overrides = [
        f"data.root={root}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "train.epochs=2",
        "train.batch_size=8",
        "train.max_steps_per_epoch=3",
        "plasticity.warmup=1",
        "robustness.seeds=[0, 1]",
        sweeps,
    ]
    args = [sys.executable, "-m", "eventsnn", "demo", "--out", str(tmp_path / "demo"), "--limit", "60"]
    for item in overrides:
        args += ["--set", item]
    out = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    for stage in range(1, 7):
        assert f"[demo {stage}/6]" in out.stdout
    demo = tmp_path / "demo"
    report = (demo / "report.md").read_text()
    assert "| baseline |" in report and "| da_ssdp |" in report
    assert "one seed cannot establish a difference" in report
    assert "| time_jitter | event | 50000 |" in report and "| spike_deletion | spike | 0.5 |" in report
    summary = json.loads((demo / "summary.json").read_text())
    assert set(summary["evaluations"]) == {"baseline", "da_ssdp"}
    for name in ("baseline", "da_ssdp"):
        assert summary["evaluations"][name]["n"] == 10  # 60 digits: 6 per class, 5 train + 1 test each
    points = json.loads((demo / "robustness" / "robustness.json").read_text())["points"]
    assert len(points) == 2 * 2 * 2 * 2  # checkpoints x perturbations x severities x seeds
    for png in (demo / "robustness").glob("robustness_*.png"):
        assert matplotlib.image.imread(png).shape[:2] == (480, 640)
    # the DA-SSDP run fitted its gate at the end of warm-up (spec/da_ssdp.md step 6):
    # k = -corr(S, L) in [-1, 1], sd_S > 0, not the "nothing recorded" default (0, 0, 1),
    # and the report shows the values the checkpoint holds
    gate = summary["gate"]
    assert set(gate) == {"k", "mu_S", "sd_S"}
    assert -1.0 - 1e-6 <= gate["k"] <= 1.0 + 1e-6 and gate["sd_S"] > 0
    assert (gate["mu_S"], gate["sd_S"]) != (0.0, 1.0)
    import torch

    state = torch.load(demo / "da_ssdp" / "checkpoint_latest.pt", weights_only=True)["plasticity"]
    for key, value in gate.items():
        assert float(state[f"classifier.{key}"]) == value
    assert f"k = {gate['k']:.4g}" in report
