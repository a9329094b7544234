"""DDP: two gloo processes apply identical dW, equal to one process over the concatenated batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


@pytest.mark.parametrize("spatial", ["any", "positions"])
def test_two_gloo_ranks_match_single_process(tmp_path, spatial):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    init = tmp_path / "init"
    cmds = [[sys.executable, str(WORKER), str(r), "2", str(init), str(tmp_path), spatial] for r in (0, 1)]
    cmds.append([sys.executable, str(WORKER), "0", "1", str(init), str(tmp_path), spatial])
    procs = [subprocess.Popen(c, env=env, stderr=subprocess.PIPE, text=True) for c in cmds]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-3000:]
    r0, r1, single = (
        torch.load(tmp_path / n, weights_only=True) for n in ("rank0_of2.pt", "rank1_of2.pt", "rank0_of1.pt")
    )
    init_w = single["history"][0]
    for step, (a, b, c) in enumerate(zip(r0["history"], r1["history"], single["history"], strict=True)):
        for key in a:
            assert torch.equal(a[key], b[key]), (step, key)  # every rank applies the same dW
            assert torch.allclose(a[key], c[key], rtol=0, atol=1e-12), (step, key)
    for key in ("head.weight", "proj.weight"):
        assert not torch.equal(single["history"][-1][key], init_w[key])  # dW was applied
    for key in r0["plasticity"]:  # the diagnostics too: averaged over ranks
        assert torch.equal(r0["plasticity"][key], r1["plasticity"][key]), key  # same fitted gate
        if not key.endswith(".diagnostics"):  # the diagnostics of a half batch differ from the whole's
            assert torch.allclose(
                r0["plasticity"][key].double(), single["plasticity"][key].double(), atol=1e-12
            ), key
    assert float(r0["plasticity"]["head.n"]) == 16 and int(r0["plasticity"]["head.phase"]) == 1
