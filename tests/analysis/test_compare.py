"""`eventsnn compare`: real training of seeds x modes, resumable collection, paired summaries."""

from __future__ import annotations

import json

import matplotlib.image
import pytest

from eventsnn.analysis.compare import compare_job, config_differences, markdown_table, verdict
from eventsnn.analysis.stats import paired_summary
from eventsnn.config import load_config
from eventsnn.engine.checkpoint import LATEST
from eventsnn.errors import ConfigError
from tests.analysis import SMOKE, TINY


def test_config_differences_ignores_output_and_new_keys():
    saved = {"train": {"seed": 0, "epochs": 8}, "output": {"name": "a"}, "old": {"x": 1}}
    wanted = {"train": {"seed": 0, "epochs": 4}, "output": {"name": "b"}, "new": {"y": 2}}
    assert config_differences(saved, wanted) == ["train.epochs: 8 -> 4"]


def test_one_seed_verdict_says_no_difference_can_be_established():
    s = paired_summary("top1", "off", "da_ssdp", {0: 90.3}, {0: 89.2})
    assert "one seed cannot establish a difference" in verdict(s)
    assert "| top1 | off | 90.30 +- n/a | da_ssdp | 89.20 +- n/a | -1.10 |" in markdown_table([s])


@pytest.mark.slow  # a full training run (pytest -m "not slow" leaves it out)
def test_compare_trains_every_run_once_and_summarizes_paired_seeds(tmp_path):
    out = tmp_path / "cmp"
    logs: list[str] = []
    result = compare_job(SMOKE, TINY, seeds=[0, 1], modes=["off", "da_ssdp"], out_dir=out, log=logs.append)
    labels = ["off_seed0", "da_ssdp_seed0", "off_seed1", "da_ssdp_seed1"]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(labels)
    for label in labels:  # every run is the engine's: its evaluation.json is what compare recorded
        evaluation = json.loads((out / label / "evaluation.json").read_text())
        record = json.loads((out / label / "compare_metrics.json").read_text())
        assert record["metrics"]["top1"] == evaluation["top1"]
        cfg = load_config(out / label / "config.yaml")
        assert (cfg.plasticity.mode, cfg.train.seed) == (label.rsplit("_seed", 1)[0], int(label[-1]))
    doc = json.loads((out / "compare.json").read_text())
    top1 = {(r["mode"], r["seed"]): r["metrics"]["top1"] for r in doc["runs"]}
    row = next(s for s in doc["summary"] if s["metric"] == "top1")
    assert row["diffs"] == pytest.approx([top1["da_ssdp", s] - top1["off", s] for s in (0, 1)])
    assert any(s["metric"] == "energy_mj" for s in doc["summary"])
    assert "| top1 | off |" in (out / "compare.md").read_text()
    assert matplotlib.image.imread(out / "compare.png").shape[:2] == (480, 1100)

    # run again: nothing is retrained (checkpoints untouched), the same numbers come back
    stamps = {label: (out / label / LATEST).stat().st_mtime_ns for label in labels}
    (out / "off_seed1" / "compare_metrics.json").unlink()  # this one is re-evaluated, not retrained
    logs.clear()
    again = compare_job(SMOKE, TINY, seeds=[0, 1], modes=["off", "da_ssdp"], out_dir=out, log=logs.append)
    assert {label: (out / label / LATEST).stat().st_mtime_ns for label in labels} == stamps
    assert sum("not retrained" in line for line in logs) == 4
    assert [r["metrics"]["top1"] for r in again["records"]] == [
        r["metrics"]["top1"] for r in result["records"]
    ]

    # --robustness on the same runs: still not retrained; top-1 under each sweep point is a metric
    sweep = "robustness.sweeps=[{name: spike_deletion, level: spike, severities: [0, 0.5]}]"
    extra = [sweep, "robustness.seeds=[0]", "robustness.max_samples=40"]
    swept = compare_job(SMOKE, [*TINY, *extra], seeds=[0, 1], out_dir=out, robustness=True, log=logs.append)
    assert {label: (out / label / LATEST).stat().st_mtime_ns for label in labels} == stamps
    for record in swept["records"]:
        label = f"{record['mode']}_seed{record['seed']}"
        points = json.loads((out / label / "robustness" / "robustness.json").read_text())["points"]
        assert record["metrics"]["robust/spike_deletion@0.5"] == points[-1]["top1"]
    assert "robust/spike_deletion@0.5" in (out / "compare.md").read_text()

    # the same folder with another training setup is refused before anything runs
    with pytest.raises(ConfigError, match="train.max_steps_per_epoch: 3 -> 4"):
        compare_job(SMOKE, [*TINY, "train.max_steps_per_epoch=4"], seeds=[0], out_dir=out, log=logs.append)


def test_cli_bad_arguments_exit_2(tmp_path, capsys):
    from eventsnn.cli import main

    for args, needle in (
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--modes", "off"], "at least two different modes"),
        (["--modes", "off,bogus"], "bogus"),
    ):
        code = main(["compare", "-c", str(SMOKE), "--out", str(tmp_path), *args])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
