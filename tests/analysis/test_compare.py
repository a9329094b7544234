"""`eventsnn compare`: real training of seeds x modes, resumable collection, paired summaries."""

from __future__ import annotations

import json

import matplotlib.image
import pytest
from torch import nn

from eventsnn.analysis.compare import RunSpec, compare_job, run_state
from eventsnn.analysis.compare_report import markdown_table, verdict
from eventsnn.analysis.stats import paired_summary
from eventsnn.checkpoint import Checkpoint, DataDescription, TrainingState
from eventsnn.config import load_config, to_dict, with_absolute_paths
from eventsnn.engine.checkpoint import LATEST, save_checkpoint
from eventsnn.engine.runfolder import config_changes, refuse_changes
from eventsnn.errors import ConfigError
from tests.analysis import SMOKE, TINY


def test_same_run_ignores_where_things_are_and_nothing_else():
    stored = to_dict(load_config(SMOKE, ["data.cache_dir=/old/cache", "output.name=a", "train.epochs=8"]))
    moved = ["data.cache_dir=/new/cache", "output.name=b", "train.epochs=8", "robustness.seeds=[3]"]
    assert config_changes(stored, load_config(SMOKE, moved)) == []
    shorter = load_config(SMOKE, ["data.cache_dir=/new/cache", "train.epochs=4", "optim.lr=0.5"])
    assert set(config_changes(stored, shorter)) == {("train.epochs", 8, 4), ("optim.lr", 2e-3, 0.5)}
    older = {**stored, "gone": {"x": 1}}  # a section today's schema lacks: compared key by key
    assert config_changes(older, shorter) == config_changes(stored, shorter)


def _run_folder(tmp_path, *overrides: str) -> RunSpec:
    """A run folder holding a real training checkpoint (one of two epochs done) of the smoke
    config with `overrides`, stored with absolute paths as train_job stores it."""
    cfg = with_absolute_paths(load_config(SMOKE, [f"output.root={tmp_path}", "train.epochs=2", *overrides]))
    training = TrainingState({}, None, None, {}, {}, epoch=1, step_in_epoch=0, global_step=4, best_top1=10.0)
    data = DataDescription("images", ("a", "b"), (3, 8, 8))
    run_dir = tmp_path / "off_seed0"
    save_checkpoint(run_dir / LATEST, Checkpoint.of_run(nn.Linear(2, 2), cfg, data, training))
    return RunSpec("off", 0, cfg, run_dir)


def test_compare_and_resume_agree_a_moved_cache_folder_is_the_same_run(tmp_path):
    stored = _run_folder(tmp_path, "data.cache_dir=/old/cache")
    moved = RunSpec("off", 0, load_config(SMOKE, [f"output.root={tmp_path}", "train.epochs=2",
                                                   "data.cache_dir=/new/cache"]), stored.run_dir)  # fmt: skip
    state, ckpt = run_state(moved)
    assert state == "partial" and ckpt.training.global_step == 4
    where = stored.run_dir / LATEST
    assert refuse_changes("resume", ckpt.config_dict, with_absolute_paths(moved.cfg), [], where=where) == []
    other = RunSpec("off", 0, load_config(SMOKE, [f"output.root={tmp_path}", "train.epochs=2", "optim.lr=0.5"]),
                    stored.run_dir)  # fmt: skip
    with pytest.raises(ConfigError, match=r"holds a run trained with another config \(optim.lr .* -> 0.5\)"):
        run_state(other)
    with pytest.raises(ConfigError, match=r"--resume with settings that differ .*: optim.lr .* -> 0.5;"):
        refuse_changes("resume", ckpt.config_dict, with_absolute_paths(other.cfg), [], where=where)


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
    with pytest.raises(ConfigError, match="train.max_steps_per_epoch 3 -> 4"):
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
