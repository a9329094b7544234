"""The robustness job: config from YAML, every check before any work, the CLI's error line."""

from __future__ import annotations

import pytest
import torch

from eventsnn.cli import main
from eventsnn.config import load_config, to_dict
from eventsnn.errors import CheckpointError, ConfigError
from eventsnn.models import build_model
from eventsnn.robustness import validate_sweeps
from eventsnn.robustness.job import robustness_job

YAML = """
model: {name: spikingresformer_cifar}
robustness:
  seeds: [0, 1]
  sweeps:
    - {name: time_jitter, severities: [0, 1000]}
    - {name: spike_deletion, level: spike, severities: [0, 0.5]}
"""


@pytest.fixture
def cfg_file(tmp_path):
    path = tmp_path / "rob.yaml"
    path.write_text(YAML)
    return path


def test_reference_config_and_yaml_format_validate(repo_root, cfg_file):
    cfg = load_config(repo_root / "configs/robustness/cifar10dvs.yaml")
    names = [p.name for p in validate_sweeps(cfg.robustness.sweeps)]
    assert len(names) == 8 and cfg.robustness.seeds == (0, 1, 2)
    cfg = load_config(cfg_file)
    assert [(s.name, s.level, s.severities) for s in cfg.robustness.sweeps] == [
        ("time_jitter", "event", (0.0, 1000.0)),
        ("spike_deletion", "spike", (0.0, 0.5)),
    ]


class NoWork(Exception):
    pass


def test_checks_come_before_any_work(cfg_file, tmp_path, monkeypatch):
    """Missing / wrong-model checkpoints and bad sweeps fail before the data is touched."""
    from eventsnn.engine import builders

    def build_datasets(cfg):
        raise NoWork("data was built")

    monkeypatch.setattr(builders, "build_datasets", build_datasets)
    cfg = load_config(cfg_file)
    good = tmp_path / "good.pth"
    other = tmp_path / "other.pth"
    torch.save({"model_name": "spikingresformer_cifar", "model": {}}, good)
    torch.save({"model_name": "spikingresformer_ti", "model": {}}, other)
    with pytest.raises(CheckpointError, match=r"missing\.pth: checkpoint not found"):
        robustness_job(cfg, [str(good), str(tmp_path / "missing.pth")], tmp_path / "out")
    with pytest.raises(CheckpointError, match="checkpoint of model 'spikingresformer_ti'"):
        robustness_job(cfg, [str(good), str(other)], tmp_path / "out")
    bad = load_config(cfg_file, ["robustness.sweeps=[{name: hot_pixel, severities: [0.1]}]"])
    with pytest.raises(ConfigError, match="did you mean 'hot_pixels'"):
        robustness_job(bad, [str(good)], tmp_path / "out")
    with pytest.raises(NoWork):  # all checks pass: only now the data is built
        robustness_job(cfg, [str(good)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_prints_one_clear_line(cfg_file, tmp_path, capsys):
    rc = main(["robustness", "-c", str(cfg_file), "--checkpoint", str(tmp_path / "nope.pth")])
    assert rc == 2
    assert "nope.pth: checkpoint not found" in capsys.readouterr().err


def _job_inputs(tmp_path):
    from types import SimpleNamespace

    from eventsnn.robustness import PerturbedDataset

    from .test_sweep import TinySNN, source, trained

    src = source()
    data = SimpleNamespace(test=PerturbedDataset(src, range(12), None, 0.0, 0), num_classes=2)
    args = []
    for label, seed in (("baseline", 0), ("da_ssdp", 1)):
        path = tmp_path / f"{label}.pth"
        torch.save({"model": trained(seed).state_dict()}, path)  # records no model name: not checked
        args.append(f"{label}={path}")

    def load_model(path):
        model = TinySNN(7)
        model.load_state_dict(torch.load(path, weights_only=True)["model"])
        return model

    return src, data, args, load_model


@pytest.mark.parametrize("engine_evaluate", [False, True])
def test_job_end_to_end_writes_reports_and_analysis(cfg_file, tmp_path, engine_evaluate):
    """The whole job on a tiny spiking model and tiny event data (the engine's evaluation when it runs)."""
    import json

    from .test_sweep import CountingEvaluate

    cfg = load_config(cfg_file, ["train.device=cpu"])
    src, data, args, load_model = _job_inputs(tmp_path)
    out = tmp_path / "out"
    res = robustness_job(
        cfg,
        args,
        out,
        source=src,
        data=data,
        load_model=load_model,
        evaluate=None if engine_evaluate else CountingEvaluate(),
        analysis_channels=8,
    )
    assert len(res["points"]) == 2 * 4 * 2  # checkpoints x points x seeds
    names = {p.name for p in out.iterdir()}
    assert {
        "robustness_points.csv",
        "robustness_summary.csv",
        "robustness.json",
        "robustness.md",
        "robustness_time_jitter.png",
        "robustness_spike_deletion.png",
        "analysis_raster.png",
        "analysis_counts.png",
        "analysis_cofiring.png",
        "analysis.json",
        "robustness_config.yaml",
    } <= names
    doc = json.loads((out / "robustness.json").read_text())
    assert doc["meta"]["checkpoints"]["baseline"].endswith("baseline.pth")
    assert [s["name"] for s in doc["meta"]["sweeps"]] == ["time_jitter", "spike_deletion"]
    clean = [p["top1"] for p in doc["points"] if p["severity"] == 0]
    assert clean and all(v == 100.0 for v in clean)


def test_spike_sweeps_fall_back_to_the_framed_test_set(cfg_file, tmp_path, monkeypatch):
    from types import SimpleNamespace

    from eventsnn.errors import DataError
    from eventsnn.robustness import FramedSource, job

    def no_raw(cfg, data):
        raise DataError("no raw recordings here")

    monkeypatch.setattr(job, "event_source", no_raw)
    data = SimpleNamespace(kind="events", test=[(torch.zeros(4, 2, 8, 8), 0)])
    spike = "robustness.sweeps=[{name: spike_jitter, level: spike, severities: [1]}]"
    spike_only = load_config(cfg_file, [spike])
    src = job.default_source(spike_only, data)
    assert isinstance(src, FramedSource) and src.dataset is data.test
    with pytest.raises(DataError, match="no raw recordings"):  # event-level sweeps need the raw data
        job.default_source(load_config(cfg_file), data)
    with pytest.raises(ConfigError, match="framing.resize: null"):
        job.default_source(load_config(cfg_file, [spike, "framing.resize=[4, 4]"]), data)


def test_real_pipeline_clean_point_equals_the_cached_evaluation(tmp_path):
    """Demo recordings -> real data layer, SpikingResformer and engine: the severity-0 point framed on
    the fly equals the engine's evaluation on the clean frame cache, which is left untouched; a test
    recording the cache skipped (corrupt, `on_error: skip`) is left out of the sweep too."""
    import json

    from eventsnn.data import ensure_demo_data
    from eventsnn.engine import builders
    from eventsnn.engine.evaluate import evaluate_model

    root = ensure_demo_data(tmp_path / "digits", limit=20, size=32, workers=1, verbose=False)
    corrupt = sorted((root / "3").glob("*.aedat4"))[-1]  # 2 per class, train_fraction 0.5: a test item
    corrupt.write_bytes(corrupt.read_bytes()[:200])
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(
        f"data: {{dataset: digits_dvs, root: {root}, cache_dir: {tmp_path / 'cache'}, train_fraction: 0.5,"
        " on_error: skip}\n"
        "framing: {n_frames: 4, resize: [16, 16]}\n"
        "model: {name: spikingresformer_cifar, layers: [[DSSA, GWFFN]], planes: [16], num_heads: [2],"
        " patch_sizes: [4], group_size: 8}\n"
        "train: {device: cpu}\n"
        "robustness: {seeds: [0], batch_size: 8, sweeps: [{name: time_jitter, severities: [0, 5000]},"
        " {name: spike_insertion, level: spike, severities: [0.05]}]}\n"
    )
    cfg = load_config(cfg_path)
    data = builders.build_datasets(cfg)
    assert len(data.test) == 9 and corrupt not in data.test.paths
    cache_files = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*")}
    torch.manual_seed(0)
    model = build_model(cfg.model, data.num_classes, data.input_shape).eval()
    ckpt = tmp_path / "base.pth"
    torch.save({"model_name": cfg.model.name, "model": model.state_dict(), "config": to_dict(cfg)}, ckpt)
    out = tmp_path / "out"
    robustness_job(cfg, [f"base={ckpt}"], out, data=data, analysis=False)
    loader = torch.utils.data.DataLoader(data.test, batch_size=8)
    ref = evaluate_model(model, loader, torch.device("cpu"), data.num_classes)
    points = json.loads((out / "robustness.json").read_text())["points"]
    assert len(points) == 3 and points[0]["n"] == ref.n == len(data.test) == 9
    assert points[0]["top1"] == ref.top1 and points[0]["loss"] == pytest.approx(ref.loss, rel=1e-5)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache").rglob("*")} == cache_files
    # the CLI without -c: the config stored in the checkpoint gives the same sweep
    assert (
        main(["robustness", "--checkpoint", f"base={ckpt}", "--out", str(tmp_path / "cli"), "--no-analysis"])
        == 0
    )
    via_cli = json.loads((tmp_path / "cli" / "robustness.json").read_text())["points"]
    assert [{k: v for k, v in q.items() if k != "seconds"} for q in via_cli] == [
        {k: v for k, v in q.items() if k != "seconds"} for q in points
    ]
