"""Smoke training on event data through the real CLI: demo recordings -> h5 cache -> train."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from eventsnn.data.demo import ensure_demo_data
from tests.factories import REPO

SMOKE = REPO / "configs" / "smoke" / "events.yaml"


@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_smoke_events_builds_the_cache_and_learns(tmp_path):
    root = ensure_demo_data(tmp_path / "digits_dvs", limit=600, verbose=False)  # 60 digits per class
    cache = tmp_path / "cache"
    args = [sys.executable, "-m", "eventsnn", "train", "-c", str(SMOKE)]
    for item in (f"data.root={root}", f"data.cache_dir={cache}", f"output.root={tmp_path / 'runs'}"):
        args += ["--set", item]
    out = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(list(cache.glob("digits_dvs/*/COMPLETE"))) == 1  # the training job built the cache
    run = tmp_path / "runs" / "smoke_events"
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"] < math.log(10)
    assert (
        rows[-1]["test_top1"] > 30.0
    )  # 64 test recordings, 10 classes: chance is 10% (seeds 0-2 give 44-55%)
