"""Comparisons that cannot compare nothing: a warm-up covering the run is refused before any work,
identical modes are flagged, best-epoch accuracy sits beside the final one, and no verdict calls a
difference established from fewer than 3 seeds or from differences without variance."""

from __future__ import annotations

import json

import pytest

from eventsnn.analysis.compare import best_top1
from eventsnn.analysis.compare_report import identical_modes, verdict, write_outputs
from eventsnn.analysis.stats import paired_summary
from eventsnn.cli import main
from eventsnn.config import load_config
from eventsnn.errors import ConfigError
from eventsnn.plasticity.warmup import plastic_steps, refuse_full_warmup
from tests.analysis import SMOKE


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "-c", str(SMOKE), "--set", "train.epochs=1"],
        ["finetune", "-c", str(SMOKE), "--checkpoint", "missing.pt", "--set", "train.epochs=1"],
        ["compare", "-c", str(SMOKE), "--seeds", "1", "--set", "train.epochs=1"],
    ],
)
def test_full_warmup_is_refused_in_one_line_before_any_work(argv, tmp_path, capsys):
    code = main(
        [*argv, "--set", f"output.root={tmp_path}"] + (["--out", str(tmp_path)] if "compare" in argv else [])
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "plasticity.warmup=1 epochs >= train.epochs=1" in err and "allow_full_warmup" in err
    assert not any(tmp_path.iterdir())  # nothing trained, nothing written


def test_warmup_in_steps_counts_the_run_and_the_switch_allows_it():
    steps = ["plasticity.warmup_unit=steps", "train.epochs=2", "train.max_steps_per_epoch=3"]
    cfg = load_config(SMOKE, [*steps, "plasticity.warmup=6"])
    assert plastic_steps(cfg) == 0
    with pytest.raises(ConfigError, match="warmup=6 steps >= the run's 6 steps"):
        refuse_full_warmup(cfg)
    refuse_full_warmup(load_config(SMOKE, [*steps, "plasticity.warmup=5"]))  # one plastic step: fine
    refuse_full_warmup(
        load_config(SMOKE, [*steps, "plasticity.warmup=6", "plasticity.allow_full_warmup=true"])
    )
    refuse_full_warmup(load_config(SMOKE, [*steps, "plasticity.warmup=6", "plasticity.mode=off"]))
    # without max_steps_per_epoch the size of the data set decides (the Trainer passes it)
    cfg = load_config(SMOKE, ["plasticity.warmup_unit=steps", "train.epochs=2", "plasticity.warmup=50"])
    refuse_full_warmup(cfg)  # cannot be decided from the config alone
    with pytest.raises(ConfigError, match="warmup=50 steps >= the run's 50 steps"):
        refuse_full_warmup(cfg, steps_per_epoch=25)


def _summary(diffs, base=80.0):
    a = {s: base + s for s in range(len(diffs))}
    return paired_summary("top1", "off", "da_ssdp", a, {s: a[s] + d for s, d in enumerate(diffs)})


def test_verdicts_need_three_seeds_and_variance():
    zero_var = verdict(_summary([0.5, 0.5, 0.5]))
    assert "not established" in zero_var and "same difference" in zero_var
    two = verdict(_summary([1.0, 1.2]))
    assert "not established" in two and "at least 3" in two
    assert "is higher than off" in verdict(_summary([1.0, 1.2, 1.1]))  # t CI [0.85, 1.35]
    assert "no difference established" in verdict(_summary([1.0, -1.2, 0.3]))


def test_best_epoch_from_history_and_identical_modes_flagged(tmp_path):
    from types import SimpleNamespace

    def run(history):  # the part of a `Checkpoint` that best_top1 reads
        return SimpleNamespace(training=SimpleNamespace(history=history))

    assert best_top1(run([{"test_top1": 70.0}, {"test_top1": 75.5}, {"test_top1": 74.0}])) == 75.5
    assert best_top1(run([])) is None
    assert best_top1(SimpleNamespace(training=None)) is None
    same = {"top1": 80.0, "top1_best": 81.0}
    records = [
        {"mode": m, "seed": s, "metrics": dict(same, top1=80.0 + s)}
        for s in range(3)
        for m in ("off", "da_ssdp")
    ]
    records += [
        {"mode": "ssdp", "seed": s, "metrics": {"top1": 79.0 + s, "top1_best": 81.0}} for s in range(3)
    ]
    modes = ["off", "da_ssdp", "ssdp"]
    assert identical_modes(records, modes) == ["da_ssdp"]
    write_outputs(tmp_path, records, modes, level=0.95, n_resamples=100, config="x.yaml")
    doc = json.loads((tmp_path / "compare.json").read_text())
    assert doc["identical_to_baseline"] == ["da_ssdp"]
    assert {s["metric"] for s in doc["summary"]} == {"top1", "top1_best"}
    md = (tmp_path / "compare.md").read_text()
    assert "WARNING: da_ssdp and off gave identical metrics on every seed" in md
    assert "WARNING: ssdp" not in md
    assert "| top1_best | off |" in md and "best test top-1 over the evaluated epochs" in md
    assert "established" not in md.replace("not established", "")
