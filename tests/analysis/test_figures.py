"""`eventsnn analyze`: Fig. 3 (attention, feature gain), Fig. 5 (neuron / channel synchrony) and
spike perturbations inside the network, on two real (tiny) trained checkpoints."""

from __future__ import annotations

import itertools
import json

import matplotlib.image
import numpy as np
import pytest
import torch

from eventsnn.analysis.figures import attention_map, feature_gain
from eventsnn.checkpoint import Checkpoint
from eventsnn.cli import main
from eventsnn.config import load_config
from eventsnn.engine import builders
from eventsnn.engine.evaluate import evaluate_model
from eventsnn.engine.jobs import train_job
from eventsnn.models.neurons import spiking_layers
from eventsnn.robustness.activity import record_outputs
from eventsnn.robustness.inner import layer_generator, perturbed_layer, run_layer_sweep, spike_perturbation
from eventsnn.spikes import cofiring_score
from tests.analysis import SMOKE, TINY


def brute_force_pairs(s: np.ndarray) -> np.ndarray:
    """[T, B, U] binary -> [B]: fraction of unit pairs (i < j) spiking in the same bin, mean over bins."""
    s = s > 0
    T, B, U = s.shape
    out = np.zeros(B)
    for b in range(B):
        both = sum(
            s[t, b, i] and s[t, b, j] for t in range(T) for i, j in itertools.combinations(range(U), 2)
        )
        out[b] = both / (T * U * (U - 1) / 2)
    return out


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_neuron_synchrony_equals_brute_force_pair_loop(backend):
    rng = np.random.default_rng(0)
    s = (rng.random((3, 4, 2, 3, 2)) < 0.4).astype(np.float32)  # [T, B, C, H, W]
    got = cofiring_score(torch.from_numpy(s), units="neuron", backend=backend)
    assert got.numpy() == pytest.approx(brute_force_pairs(s.reshape(3, 4, -1)), abs=1e-12)
    channel = (s.reshape(3, 4, 2, -1).max(axis=3) > 0).astype(np.float32)  # spatial any
    assert cofiring_score(torch.from_numpy(s), backend=backend).numpy() == pytest.approx(
        brute_force_pairs(channel), abs=1e-12
    )


def test_attention_map_and_feature_gain_against_loops():
    g = torch.Generator().manual_seed(0)
    attn = (torch.rand(2, 3, 2, 4, 6, generator=g) < 0.5).float()  # [T, B, h, N, H*W], H=2, W=3
    m = attention_map(attn, 2, 3)
    for b, y, x in itertools.product(range(3), range(2), range(3)):
        want = (
            sum(float(attn[t, b, h, n, y * 3 + x]) for t in range(2) for h in range(2) for n in range(4)) / 16
        )
        assert float(m[b, y, x]) == pytest.approx(want)
    pa, pb = torch.randn(2, 3, 5, 2, 3, generator=g), torch.randn(2, 3, 5, 2, 3, generator=g)
    d = feature_gain(pa, pb)
    for b, y, x in itertools.product(range(3), range(2), range(3)):
        want = sum(abs(float(pb[t, b, c, y, x] - pa[t, b, c, y, x])) for t in range(2) for c in range(5)) / 10
        assert float(d[b, y, x]) == pytest.approx(want, rel=1e-6)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("analyze")
    paths = {}
    for mode in ("off", "da_ssdp"):
        cfg = load_config(
            SMOKE, [*TINY, f"plasticity.mode={mode}", f"output.root={root}", f"output.name=run_{mode}"]
        )
        train_job(cfg, root / f"run_{mode}")
        paths[mode] = root / f"run_{mode}" / "checkpoint_latest.pt"
    cfg = load_config(SMOKE, [*TINY, f"output.root={root}"])
    return cfg, paths, root


def test_fig3_attention_and_feature_gain_from_two_checkpoints(trained, capsys):
    cfg, paths, root = trained
    out = root / "fig3"
    args = ["analyze", "attention", "-c", str(SMOKE), "--out", str(out), "--items", "0,7"]
    args += [f"--checkpoint=baseline={paths['off']}", f"--checkpoint=da_ssdp={paths['da_ssdp']}"]
    assert main(args + [f"--set={s}" for s in TINY]) == 0, capsys.readouterr().err
    z = np.load(out / "fig3_attention.npz")
    data = builders.build_datasets(cfg)
    models = {k: Checkpoint.load(p).model(model_cfg=cfg.model, data=data.describe()) for k, p in paths.items()}
    x = torch.stack([torch.as_tensor(data.test[i][0]) for i in (0, 7)])
    proj = {
        k: record_outputs(m, ["layers.0.0.norm_proj"], x)["layers.0.0.norm_proj"] for k, m in models.items()
    }
    assert z["feature_gain"] == pytest.approx(
        (proj["da_ssdp"] - proj["off"]).abs().mean((0, 2)).numpy(), abs=1e-6
    )
    attn = record_outputs(models["off"], ["layers.0.0.activation_attn"], x)["layers.0.0.activation_attn"]
    H = W = int(np.sqrt(attn.shape[-1]))
    assert z["attention_map_baseline"] == pytest.approx(attn.mean((0, 2, 3)).reshape(2, H, W).numpy())
    assert z["attention_baseline"].shape == (2, attn.shape[3], H * W)
    assert z["indices"].tolist() == [0, 7] and z["targets"].tolist() == [data.test[0][1], data.test[7][1]]
    assert float(z["feature_gain"].max()) > 0  # the two checkpoints differ
    assert matplotlib.image.imread(out / "fig3_attention.png").ndim == 3


def test_attention_without_config_uses_the_checkpoint_config(trained, capsys):
    _, paths, _root = trained
    args = [
        "analyze",
        "attention",
        "--items",
        "3",
        f"--checkpoint={paths['off']}",
        f"--checkpoint={paths['da_ssdp']}",
    ]
    assert main(args) == 0, capsys.readouterr().err
    z = np.load(paths["off"].parent / "analysis" / "fig3_attention.npz")
    assert list(z["labels"]) == ["run_off", "run_da_ssdp"] and z["feature_gain"].shape[0] == 1
    assert (
        main(
            [
                "analyze",
                "attention",
                "--items",
                "100000",
                f"--checkpoint={paths['off']}",
                f"--checkpoint={paths['da_ssdp']}",
            ]
        )
        == 2
    )
    assert "--items must be test indices" in capsys.readouterr().err


def test_fig5_synchrony_neuron_and_channel_panels(trained, capsys):
    cfg, paths, root = trained
    out = root / "fig5"
    args = [
        "analyze",
        "synchrony",
        "-c",
        str(SMOKE),
        "--out",
        str(out),
        "--batch-size",
        "25",
        "--max-batches",
        "2",
    ]
    args += [f"--checkpoint=baseline={paths['off']}", f"--checkpoint=da_ssdp={paths['da_ssdp']}"]
    assert main(args + [f"--set={s}" for s in TINY]) == 0, capsys.readouterr().err
    doc = json.loads((out / "fig5_synchrony.json").read_text())
    layer = doc["layer"]
    data = builders.build_datasets(cfg)
    model = Checkpoint.load(paths["off"]).model(model_cfg=cfg.model, data=data.describe())
    assert layer == spiking_layers(model)[-1]
    x = torch.stack([torch.as_tensor(data.test[i][0]) for i in range(25, 50)])  # the second mini-batch
    s = record_outputs(model, [layer], x)[layer]
    assert doc["scores"]["baseline"]["neuron"][1] == pytest.approx(
        float(cofiring_score(s, units="neuron").mean())
    )
    assert doc["scores"]["baseline"]["channel"][1] == pytest.approx(float(cofiring_score(s).mean()))
    assert len(doc["scores"]["da_ssdp"]["neuron"]) == 2
    assert np.load(out / "fig5_synchrony.npz")["neuron_da_ssdp"].shape == (2,)
    assert matplotlib.image.imread(out / "fig5_synchrony.png").shape[:2] == (500, 1100)
    assert "channel pairs" in doc["definitions"]["channel"] and doc["paper_caption"]


def test_hook_perturbs_exactly_the_chosen_layer(trained):
    cfg, paths, _ = trained
    data = builders.build_datasets(cfg)
    model = Checkpoint.load(paths["da_ssdp"]).model(model_cfg=cfg.model, data=data.describe())
    layers = spiking_layers(model)
    target, upstream = layers[2], layers[1]
    x = torch.stack([torch.as_tensor(data.test[i][0]) for i in range(16)])
    clean = record_outputs(model, [upstream, target, "classifier"], x)
    pert = spike_perturbation("spike_deletion")
    with perturbed_layer(model, target, pert, 0.5, layer_generator(3, pert.name, target)) as calls:
        seen = record_outputs(
            model, [upstream, target, "classifier"], x
        )  # hook registered after: sees the result
    by_hand = pert.fn(clean[target], 0.5, counts=False, generator=layer_generator(3, pert.name, target))
    assert len(calls) == 1
    assert torch.equal(seen[target], by_hand) and not torch.equal(by_hand, clean[target])
    assert torch.equal(seen[upstream], clean[upstream])  # nothing before the layer changes
    assert not torch.equal(seen["classifier"], clean["classifier"])  # the change reaches the output
    after = record_outputs(model, [target], x)[target]
    assert torch.equal(after, clean[target])  # the hook is gone


def test_layer_sweep_severity_zero_is_clean_accuracy_on_images(trained):
    cfg, paths, _ = trained
    data = builders.build_datasets(cfg)
    model = Checkpoint.load(paths["off"]).model(model_cfg=cfg.model, data=data.describe())
    first = spiking_layers(model)[0]  # images: the direct-encoded input spike train

    def loader():
        subset = torch.utils.data.Subset(data.test, range(0, len(data.test), 3))
        return torch.utils.data.DataLoader(subset, batch_size=60, shuffle=False)

    def evaluate(m, ld):
        return evaluate_model(m, ld, torch.device("cpu"), data.num_classes)

    class Sweep:
        name, severities = "spike_insertion", (0.0, 0.3)

    points = run_layer_sweep({"off": model}, [first], [Sweep], loader, evaluate, seeds=[0, 1])
    clean = evaluate(model, loader()).top1
    assert [p["severity"] for p in points] == [0.0, 0.0, 0.3, 0.3]
    assert points[0]["top1"] == clean and points[1]["top1"] == clean
    assert points[2]["top1"] != points[3]["top1"] or points[2]["top1"] < clean  # seeds draw differently


def test_analyze_layers_cli_writes_reports(trained, capsys):
    _, paths, root = trained
    out = root / "layers"
    sweeps = "robustness.sweeps=[{name: spike_deletion, level: spike, severities: [0, 0.5]}]"
    args = ["analyze", "layers", "-c", str(SMOKE), "--out", str(out), "--max-samples", "60"]
    args += [
        f"--checkpoint=baseline={paths['off']}",
        "--layers",
        "layers.0.0.activation_in,layers.0.1.down.0",
    ]
    assert main(args + [f"--set={s}" for s in [*TINY, sweeps, "robustness.seeds=[0]"]]) == 0, (
        capsys.readouterr()
    )
    doc = json.loads((out / "layers.json").read_text())
    assert doc["layers"] == ["layers.0.0.activation_in", "layers.0.1.down.0"]
    assert {(p["layer"], p["severity"]) for p in doc["points"]} == {
        (layer, s) for layer in doc["layers"] for s in (0.0, 0.5)
    }
    assert (out / "layers.png").is_file() and (out / "layers_summary.csv").is_file()
    assert (
        main(
            [
                "analyze",
                "layers",
                "-c",
                str(SMOKE),
                "--out",
                str(out),
                f"--checkpoint={paths['off']}",
                "--layers",
                "nope",
                *[f"--set={s}" for s in [*TINY, sweeps]],
            ]
        )
        == 2
    )
    assert "not a spiking layer" in capsys.readouterr().err


def test_robustness_on_images_perturbs_the_encoded_spike_train(trained, capsys):
    cfg, paths, root = trained
    out = root / "robust_images"
    sweeps = "robustness.sweeps=[{name: spike_deletion, level: spike, severities: [0, 0.5]}]"
    sets = [sweeps, "robustness.seeds=[0]", "robustness.max_samples=60", "robustness.batch_size=60"]
    args = ["robustness", f"--checkpoint={paths['off']}", "--out", str(out), "--no-analysis"]
    assert main(args + [f"--set={s}" for s in sets]) == 0, capsys.readouterr().err
    points = json.loads((out / "robustness.json").read_text())["points"]
    data = builders.build_datasets(cfg)
    model = Checkpoint.load(paths["off"]).model(model_cfg=cfg.model, data=data.describe())
    first = spiking_layers(model)[0]
    assert [(p["level"], p["layer"], p["severity"]) for p in points] == [
        ("spike", first, 0.0),
        ("spike", first, 0.5),
    ]
    subset = torch.utils.data.Subset(
        data.test, np.linspace(0, len(data.test) - 1, 60).round().astype(int).tolist()
    )
    clean = evaluate_model(model, torch.utils.data.DataLoader(subset, batch_size=60), torch.device("cpu"), 10)
    assert points[0]["top1"] == clean.top1 and points[0]["n"] == 60
    event = "robustness.sweeps=[{name: time_jitter, level: event, severities: [0, 1000]}]"
    assert main([*args, f"--set={event}"]) == 2
    assert "need event recordings" in capsys.readouterr().err
