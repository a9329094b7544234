"""2 "nodes" x 1 process on 127.0.0.1 (gloo, c10d rendezvous), end to end through the CLI: each node
has its own copy of the raw data and its own cache folder (no shared file system); each node's
local rank 0 preprocesses; one run folder, written by rank 0 only; the other rank logs to a file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.factories import REPO, free_port
from tests.tiny_data import write_tiny_folder

SMOKE = REPO / "configs" / "smoke" / "events.yaml"


@pytest.mark.slow
def test_two_nodes_each_with_its_own_cache_train_one_run(tmp_path):
    raw = write_tiny_folder(tmp_path / "raw", per_class=8, size=24)
    port = free_port()
    procs = []
    for node in (0, 1):
        root = tmp_path / f"node{node}"
        shutil.copytree(raw, root / "data", copy_function=shutil.copyfile)  # file times not kept
        argv = [
            sys.executable, "-m", "torch.distributed.run",
            "--nnodes", "2", "--nproc-per-node", "1",
            "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "eventsnn-test",
            "-m", "eventsnn", "train", "-c", str(SMOKE),
        ]  # fmt: skip
        sets = [
            "data.dataset=folder",
            f"data.root={root / 'data'}",
            f"data.cache_dir={root / 'cache'}",
            "framing.n_frames=4",
            "train.epochs=1",
            "train.max_steps_per_epoch=2",
            "train.batch_size=2",
            "train.precise_bn_batches=0",
            "plasticity.warmup=1",
            "plasticity.warmup_unit=steps",
            "output.tensorboard=false",
            f"output.root={root / 'runs'}",
            "distributed.backend=gloo",
        ]
        for item in sets:
            argv += ["--set", item]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        log = open(tmp_path / f"node{node}.log", "w")
        procs.append(
            (subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, env=env), log)
        )
    codes = []
    for p, log in procs:
        try:
            codes.append(p.wait(timeout=600))
        finally:
            if p.poll() is None:
                p.kill()
            log.close()
    logs = [(tmp_path / f"node{n}.log").read_text() for n in (0, 1)]
    assert codes == [0, 0], logs
    for n in (0, 1):  # each node framed its own copy into its own cache
        assert len(list((tmp_path / f"node{n}" / "cache" / "folder").glob("*/COMPLETE"))) == 1
    runs = [list((tmp_path / f"node{n}" / "runs").glob("*/metrics.jsonl")) for n in (0, 1)]
    rank0 = 0 if runs[0] else 1  # the rendezvous decides which node holds rank 0
    assert len(runs[rank0]) == 1 and not (tmp_path / f"node{1 - rank0}" / "runs").exists()
    rows = [json.loads(line) for line in runs[rank0][0].read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0]
    other = tmp_path / f"node{1 - rank0}" / "cache" / "logs" / "rank1.log"
    assert "preprocess: cache complete" in other.read_text()  # rank 1 logged to its file, not the console
    assert "preprocess: cache complete" not in logs[1 - rank0]
    assert "other processes wait at a barrier" in logs[rank0]


def test_progress_is_plain_lines_when_output_is_not_a_terminal(capsys, tmp_path):
    from eventsnn.engine.tracking import MetricsLog, PlainProgress

    bar = MetricsLog(tmp_path, enabled=True, tensorboard=False).progress(20, "epoch 1/3")
    assert isinstance(bar, PlainProgress)  # pytest's stderr is not a terminal
    for _ in range(20):
        bar.update(1)
        bar.set_postfix(loss="0.5")
    bar.close()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "\r" not in out and len(lines) == 10  # every 10%
    assert lines[0].startswith("epoch 1/3: 2/20 (") and lines[-1].endswith("step/s), loss=0.5")
    assert (
        MetricsLog(tmp_path, enabled=False, tensorboard=False).progress(5, "x").__class__.__name__
        == "_NullBar"
    )
