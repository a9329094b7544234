"""Severity sweep on a tiny spiking model and tiny event data: outputs, rows, seeding, validation."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from torch import nn

from eventsnn.config.schema import PerturbationSweep
from eventsnn.errors import CheckpointError, ConfigError
from eventsnn.events import FramePostprocess, to_frames
from eventsnn.robustness import (
    EventSource,
    PerturbedDataset,
    checkpoint_labels,
    get_perturbation,
    load_all,
    run_sweep,
    validate_sweeps,
    write_reports,
)

SENSOR = (16, 16, 2)
T = 4
DTYPE = np.dtype([("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("p", "?")])


class TinySNN(nn.Module):
    """[B, T, C, H, W] -> Linear -> LIF (multi-step) -> Linear -> logits [T, B, K]."""

    def __init__(self, seed: int, num_classes: int = 2) -> None:
        super().__init__()
        from spikingjelly.activation_based import neuron

        torch.manual_seed(seed)
        self.fc1 = nn.Linear(2 * 16 * 16, 12)
        self.lif = neuron.LIFNode(tau=2.0, step_mode="m")
        self.fc2 = nn.Linear(12, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from spikingjelly.activation_based import functional

        functional.reset_net(self)
        x = x.transpose(0, 1).flatten(2)  # [T,B,F]
        return self.fc2(self.lif(self.fc1(x) * 0.5))  # [T,B,K]


def make_recording(label: int, seed: int) -> np.ndarray:
    """Class 0: events in the left half; class 1: right half. t starts far from 0."""
    g = np.random.default_rng(seed)
    n = 300
    ev = np.zeros(n, dtype=DTYPE)
    ev["t"] = np.sort(g.integers(5_000_000, 5_100_000, n))
    ev["x"] = g.integers(0, 8, n) + 8 * label
    ev["y"] = g.integers(0, 16, n)
    ev["p"] = g.random(n) < 0.5
    return ev


def source(n: int = 12) -> EventSource:
    recs = [(make_recording(i % 2, i), i % 2) for i in range(n)]
    return EventSource(
        recordings=recs,
        sensor_size=SENSOR,
        frame=lambda ev: to_frames(ev, SENSOR, n_frames=T),
        postprocess=FramePostprocess(dtype="float32"),
    )


def trained(seed: int, steps: int = 30) -> TinySNN:
    """TinySNN fitted on the clean tiny data (so that the clean accuracy is meaningful)."""
    src = source()
    x = torch.stack([torch.as_tensor(src.postprocess(src.frame(ev))) for ev, _ in src.recordings])
    y = torch.tensor([label for _, label in src.recordings])
    model = TinySNN(seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x).mean(0), y).backward()
        opt.step()
    return model.eval()


class CountingEvaluate:
    """top-1 / loss of time-averaged logits; counts calls and samples."""

    def __init__(self) -> None:
        self.calls = 0

    @torch.no_grad()
    def __call__(self, model, loader):
        self.calls += 1
        hits, n, loss = 0, 0, 0.0
        class_hits, class_n = np.zeros(2), np.zeros(2)
        for x, y in loader:
            logits = model(x).mean(0)  # [B,K]
            hit = (logits.argmax(1) == y).numpy()
            hits += int(hit.sum())
            np.add.at(class_hits, y.numpy(), hit)
            np.add.at(class_n, y.numpy(), 1)
            loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            n += len(y)
        per_class = (100 * class_hits / np.maximum(class_n, 1)).tolist()
        return {"top1": 100.0 * hits / n, "loss": loss / n, "n": n, "per_class": per_class}


SWEEPS = (
    PerturbationSweep("time_jitter", (0.0, 20_000.0), "event"),
    PerturbationSweep("uniform_noise", (0.0, 0.5, 2.0), "event"),
    PerturbationSweep("spike_deletion", (0.0, 0.7), "spike"),
)


def test_sweep_writes_every_output_with_the_right_rows(tmp_path):
    import matplotlib.image as mpimg

    models = {"baseline": trained(0), "da_ssdp": trained(1)}
    evaluate = CountingEvaluate()
    seeds = (0, 1)
    result = run_sweep(models, source(), SWEEPS, evaluate, seeds=seeds, batch_size=5)
    n_points = sum(len(s.severities) for s in SWEEPS)
    assert len(result.points) == len(models) * n_points * len(seeds)
    # severity 0 is the identity for every perturbation: evaluated once per checkpoint, then shared
    n_nonzero = sum(sum(1 for v in s.severities if v != 0) for s in SWEEPS)
    assert evaluate.calls == len(models) * (1 + n_nonzero * len(seeds))
    assert all(p["n"] == 12 for p in result.points)
    assert all(p["top1"] == 100.0 for p in result.points if p["severity"] == 0)  # the models learned the task

    paths = write_reports(result.points, tmp_path, meta={"seeds": list(seeds)})
    with open(paths["points_csv"]) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(result.points)
    assert {"checkpoint", "perturbation", "level", "severity", "seed", "top1"} <= set(rows[0])
    assert "per_class" not in rows[0]  # lists stay in the JSON
    keys = {(r["checkpoint"], r["perturbation"], float(r["severity"]), int(r["seed"])) for r in rows}
    assert len(keys) == len(rows)  # each (checkpoint, perturbation, severity, seed) exactly once
    doc = json.loads(paths["json"].read_text())
    assert len(doc["points"]) == len(rows) and len(doc["summary"]) == len(models) * n_points
    assert all(len(p["per_class"]) == 2 for p in doc["points"])
    for s in doc["summary"]:
        mine = [
            p["top1"]
            for p in doc["points"]
            if (p["checkpoint"], p["perturbation"], p["severity"])
            == (s["checkpoint"], s["perturbation"], s["severity"])
        ]
        assert s["n_seeds"] == 2 and s["top1_mean"] == pytest.approx(np.mean(mine))
        assert s["top1_std"] == pytest.approx(np.std(mine))
    with open(paths["summary_csv"]) as f:
        assert len(list(csv.DictReader(f))) == len(doc["summary"])
    md = paths["markdown"].read_text()
    assert "| perturbation | level | severity | baseline | da_ssdp |" in md
    assert md.count("\n| uniform_noise |") == 3 and "robustness_spike_deletion.png" in md
    for s in SWEEPS:
        png = tmp_path / f"robustness_{s.name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert mpimg.imread(png).shape[:2] == (480, 640)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes left no temp files


def test_points_are_seeded_and_independent_of_batching():
    models = {"m": TinySNN(0).eval()}
    sweeps = (
        PerturbationSweep("spatial_jitter", (1.5,), "event"),
        PerturbationSweep("spike_jitter", (1.0,), "spike"),
    )
    a = run_sweep(models, source(), sweeps, CountingEvaluate(), seeds=(3,), batch_size=4).points
    b = run_sweep(models, source(), sweeps, CountingEvaluate(), seeds=(3,), batch_size=7).points
    assert [p["top1"] for p in a] == [p["top1"] for p in b]
    ds = [PerturbedDataset(source(), range(12), get_perturbation("uniform_noise"), 1.0, s) for s in (0, 0, 1)]
    assert torch.equal(ds[0][5][0], ds[1][5][0]) and not torch.equal(ds[0][5][0], ds[2][5][0])


def test_severity_zero_is_clean_and_effects_are_monotone():
    src = source(4)
    clean = torch.stack([torch.as_tensor(src.postprocess(src.frame(ev))) for ev, _ in src.recordings])

    def inputs(name, severity):
        ds = PerturbedDataset(src, range(4), get_perturbation(name), severity, seed=0)
        return torch.stack([ds[i][0] for i in range(len(ds))])

    for name in ("time_jitter", "drop_event", "spike_jitter", "spike_insertion", "spike_deletion"):
        assert torch.equal(inputs(name, 0.0), clean)
    totals = [float(inputs("uniform_noise", s).sum()) for s in (0, 0.2, 1.0)]
    assert totals[0] < totals[1] < totals[2]
    totals = [float(inputs("spike_deletion", s).sum()) for s in (0, 0.2, 0.8)]
    assert totals[0] > totals[1] > totals[2]
    moved = [float((inputs("spike_jitter", s) - clean).abs().sum()) for s in (0, 0.5, 2.0)]
    assert moved[0] == 0 < moved[1] < moved[2]
    assert float(inputs("spike_jitter", 2.0).sum()) == float(clean.sum())  # jitter conserves counts


def test_max_samples_takes_evenly_spaced_recordings():
    ev = CountingEvaluate()
    pts = run_sweep({"m": TinySNN(0)}, source(12), SWEEPS[:1], ev, seeds=(0,), max_samples=4).points
    assert all(p["n"] == 4 for p in pts)


def test_unknown_or_mismatched_perturbation_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'time_jitter'"):
        validate_sweeps([PerturbationSweep("time_jiter", (0.0, 1.0))])
    with pytest.raises(ConfigError, match="spike-level perturbation; set level: spike"):
        validate_sweeps([PerturbationSweep("spike_deletion", (0.5,), "event")])
    with pytest.raises(ConfigError, match="<= 1"):
        validate_sweeps([PerturbationSweep("drop_event", (2.0,))])
    with pytest.raises(ConfigError, match="unknown perturbation"):  # before any evaluation
        run_sweep({"m": TinySNN(0)}, source(2), [PerturbationSweep("noise", (1.0,))], CountingEvaluate())


def test_checkpoints_are_all_validated_before_any_work(tmp_path):
    def save(path, name):
        torch.save({"model_name": name, "state_dict": TinySNN(0).state_dict()}, path)

    save(tmp_path / "a.pth", "tiny")
    save(tmp_path / "other.pth", "resnet")
    loaded = []

    def load(path):
        ckpt = torch.load(path, weights_only=False)
        if ckpt["model_name"] != "tiny":
            raise CheckpointError(
                f"{path}: checkpoint of model {ckpt['model_name']!r}, the config asks for 'tiny'"
            )
        loaded.append(path)
        m = TinySNN(1)
        m.load_state_dict(ckpt["state_dict"])
        return m

    args = [str(tmp_path / "a.pth"), f"da={tmp_path / 'missing.pth'}"]
    with pytest.raises(CheckpointError, match=r"missing\.pth: checkpoint not found"):
        load_all(checkpoint_labels(args), load)
    assert loaded == []  # the missing file is found before anything is loaded
    with pytest.raises(CheckpointError, match="model 'resnet'"):
        load_all(checkpoint_labels([str(tmp_path / "a.pth"), str(tmp_path / "other.pth")]), load)
    models = load_all(checkpoint_labels([f"base={tmp_path / 'a.pth'}", str(tmp_path / "a.pth")]), load)
    assert list(models) == ["base", "a"] and not models["a"].training


def test_checkpoint_labels():
    got = checkpoint_labels(
        [
            "runs/baseline/checkpoint_best.pth",
            "runs/dassdp/checkpoint_best.pth",
            "x=y.pth",
            "runs/baseline/checkpoint_best.pth",
        ]
    )
    assert [lab for lab, _ in got] == ["baseline", "dassdp", "x", "baseline#2"]


def test_framed_source_gives_the_same_spike_level_points():
    """Spike-level sweeps on the framed test set equal those on raw recordings framed on the fly."""
    from eventsnn.robustness import FramedSource

    src = source()
    framed = FramedSource(PerturbedDataset(src, range(12), None, 0.0, 0), counts=True)
    models = {"m": trained(0)}
    sweeps = (
        PerturbationSweep("spike_jitter", (0.0, 1.0), "spike"),
        PerturbationSweep("spike_insertion", (0.05,), "spike"),
    )
    a = run_sweep(models, src, sweeps, CountingEvaluate(), seeds=(0, 1)).points
    b = run_sweep(models, framed, sweeps, CountingEvaluate(), seeds=(0, 1)).points
    assert [(p["top1"], p["loss"]) for p in a] == [(p["top1"], p["loss"]) for p in b]
    ds_a = PerturbedDataset(src, range(12), get_perturbation("spike_deletion"), 0.5, 3)
    ds_b = PerturbedDataset(framed, range(12), get_perturbation("spike_deletion"), 0.5, 3)
    assert torch.equal(ds_a[4][0], ds_b[4][0]) and not torch.equal(ds_a[4][0], framed.dataset[4][0])
    with pytest.raises(ConfigError, match="need raw recordings"):
        run_sweep(models, framed, SWEEPS, CountingEvaluate())


def test_registry_names_are_function_names_with_one_calling_convention():
    """Each perturbation has one name (its function's), and every one is called
    fn(data, severity, *, generator=..., **context); severity 0 is the identity for all."""
    import inspect

    import numpy as np

    from eventsnn import spikes
    from eventsnn.events import transforms
    from eventsnn.robustness import PERTURBATIONS

    event = ["time_jitter", "spatial_jitter", "uniform_noise", "drop_event", "hot_pixels"]
    assert sorted(PERTURBATIONS) == sorted([*event, "spike_jitter", "spike_deletion", "spike_insertion"])
    for name, p in PERTURBATIONS.items():
        module = transforms if p.level == "event" else spikes
        assert p.fn is getattr(module, name) and p.fn.__name__ == name
        params = inspect.signature(p.fn).parameters
        first, second = list(params.values())[:2]
        assert first.kind is second.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        assert all(params[k].kind is inspect.Parameter.KEYWORD_ONLY for k in ("generator", "seed"))
    events = np.zeros(4, dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    events["t"], events["x"], events["p"] = [0, 5, 9, 12], [0, 1, 2, 3], [0, 1, 0, 1]
    frames = torch.tensor([[[[1.0, 0.0]], [[2.0, 1.0]]]] * 3)  # [T=3, P=2, H=1, W=2] counts
    for name, p in PERTURBATIONS.items():
        if p.level == "event":
            out = p.fn(events, 0.0, sensor_size=(4, 1, 2), generator=np.random.default_rng(0))
            assert np.array_equal(out, events), name
        else:
            out = p.fn(frames, 0.0, counts=True, generator=torch.Generator().manual_seed(0))
            assert torch.equal(out, frames), name
