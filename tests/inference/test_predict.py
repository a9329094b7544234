"""`eventsnn predict`: cache parity, other sensors, bad inputs among good ones, CSV / JSON, the CLI."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch

from eventsnn.cli import main
from eventsnn.errors import DataError
from eventsnn.events import to_frames
from eventsnn.events.io import read_events
from eventsnn.inference import (
    InputSpec,
    expand_inputs,
    load_inference_model,
    predict_files,
    prepare_input,
    recording_sensor,
    top_k,
)

REAL_AEDAT = "sample.aedat4"  # 320 x 240, from a real sensor


def test_top_k_by_hand():
    probs = torch.tensor([[0.125, 0.5, 0.375], [0.75, 0.0625, 0.1875]])
    assert top_k(probs, 2, ("a", "b", "c")) == [(["b", "c"], [0.5, 0.375]), (["a", "c"], [0.75, 0.1875])]
    assert top_k(probs, 9, ("a", "b", "c"))[0][0] == ["b", "c", "a"]  # k is capped at K


def test_predict_alone_equals_the_cached_logits(tiny_run):
    """Every recording predicted alone gets the frames it has in the cache, and the same probabilities."""
    from eventsnn.data import build_event_datasets
    from eventsnn.models import mean_logits

    model = load_inference_model(tiny_run.checkpoint, device="cpu")
    assert model.class_names == tuple(str(d) for d in range(10))
    assert model.input_shape == (4, 2, 16, 16) and model.sensor_size == (64, 64, 2)
    train, test, _ = build_event_datasets(tiny_run.cfg)
    paths = expand_inputs([tiny_run.root], "events")
    assert len(paths) == 20 and paths == sorted(paths)
    rows = predict_files(model, paths, k=10, batch_size=7, progress=False)
    by_path = {r.path: r for r in rows}
    spec = InputSpec.of(model)
    cached_all, rows_all = [], []
    for ds in (train, test):
        for j in range(len(ds)):
            cached, label = ds[j]
            path = paths[int(ds.indices[j])]
            assert path.parent.name == str(label)
            alone, n_events, _, _ = prepare_input(path, spec)
            assert torch.equal(alone, cached)
            assert n_events == len(read_events(path))
            cached_all.append(cached)
            rows_all.append(by_path[str(path)])
    with torch.no_grad():
        ref = torch.softmax(mean_logits(model.model(torch.stack(cached_all))), -1)  # [20, K]
    got = torch.tensor([[r.probs[r.classes.index(str(c))] for c in range(10)] for r in rows_all])
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)
    checked = len(rows_all)
    assert checked == 20


def test_other_sensor_resized_or_named(tiny_run, real_data):
    """A 320x240 recording is framed on its own sensor and resized; without resize: one clear line."""
    from dataclasses import replace

    from eventsnn.events.postprocess import frames_to_input

    model = load_inference_model(tiny_run.checkpoint, device="cpu")
    path = real_data / REAL_AEDAT
    x, n, _, _ = prepare_input(path, InputSpec.of(model))
    ev = read_events(path)
    counts = to_frames(ev, (320, 240, 2), n_frames=4, split_by="count", backend="numpy")
    ref = frames_to_input(counts.astype(np.float32), resize=(16, 16))
    assert n == len(ev) == 111954
    torch.testing.assert_close(x, torch.from_numpy(ref))
    no_resize = replace(model.cfg.framing, resize=None)
    with pytest.raises(
        DataError, match=r"sample\.aedat4: recorded on a 320x240 sensor, the model expects 64x64"
    ):
        recording_sensor(path, (64, 64, 2), no_resize)
    spec = InputSpec("events", (64, 64, 2), replace(model.cfg, framing=no_resize))
    rows = predict_files(replace(model, cfg=spec.cfg), [path], progress=False)  # skipped before the model
    assert rows[0].status.startswith("skipped: recorded on a 320x240 sensor")


def _bad_folder(tiny_run, tmp_path):
    folder = tmp_path / "mixed"
    for d in ("3", "7"):
        shutil.copytree(tiny_run.root / d, folder / d)
    good = folder / "3" / "3_0000.aedat4"
    data = good.read_bytes()
    (folder / "3" / "3_0000_truncated.aedat4").write_bytes(data[: len(data) // 2])
    (folder / "7" / "7_junk.aedat4").write_text("not an aedat file\n")
    (folder / "7" / "7_empty.bin").write_bytes(b"")
    (folder / "7" / "notes.txt").write_text("ignored: not a recording\n")
    return folder


def test_cli_corrupt_recordings_are_skipped_and_others_predicted(tiny_run, tmp_path, capsys):
    folder = _bad_folder(tiny_run, tmp_path)
    out = tmp_path / "pred.csv"
    rc = main(
        ["predict", "--checkpoint", str(tiny_run.checkpoint), str(folder), "--out", str(out), "--quiet"]
    )
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["path"] for r in rows] == sorted(
        str(p) for p in folder.rglob("*") if p.suffix in (".aedat4", ".bin")
    )
    status = {r["path"].split("/")[-1]: r["status"] for r in rows}
    assert status["3_0000_truncated.aedat4"].startswith("skipped: corrupt or truncated .aedat4")
    assert status["7_junk.aedat4"].startswith("skipped: corrupt or truncated .aedat4")
    assert status["7_empty.bin"] == "skipped: empty recording (no events)"
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 4 and all(int(r["n_events"]) > 0 and r["class_1"] for r in ok)
    probs = [[float(r[f"prob_{j}"]) for j in range(1, 6)] for r in ok]
    assert all(p == sorted(p, reverse=True) and 0 < sum(p) <= 1 + 1e-5 for p in probs)
    hits = sum(r["class_1"] == r["folder_class"] for r in ok)
    printed = capsys.readouterr().out
    assert f"accuracy {100 * hits / 4:.2f}% ({hits}/4 inputs in class folders)" in printed
    assert "4 of 7 inputs predicted, 3 skipped" in printed


def test_cli_json_output_and_bad_arguments(tiny_run, tmp_path, capsys):
    rec = tiny_run.root / "5" / "5_0001.aedat4"
    out = tmp_path / "pred.json"
    args = ["predict", "--checkpoint", str(tiny_run.checkpoint), str(rec), "--quiet", "--top-k", "3"]
    assert main([*args, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["classes"] == [str(d) for d in range(10)] and doc["model"] == "spikingresformer_cifar"
    (row,) = doc["rows"]
    assert row["status"] == "ok" and len(row["classes"]) == 3 and row["folder_class"] == "5"
    assert doc["accuracy"] == {
        "correct": int(row["classes"][0] == "5"),
        "n": 1,
        "top1": 100.0 * (row["classes"][0] == "5"),
    }
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "pred.txt")]) == 2
    assert "must end in .csv or .json" in capsys.readouterr().err
    assert not (tmp_path / "pred.txt").exists()
    args_missing = [
        "predict",
        "--checkpoint",
        str(tiny_run.checkpoint),
        str(rec),
        str(tmp_path / "missing.aedat4"),
    ]
    assert main(args_missing) == 2
    assert capsys.readouterr().err.strip().endswith("missing.aedat4: input not found")
    assert main([*args, "--set", "model.T=2"]) == 2
    assert "the model comes from the checkpoint" in capsys.readouterr().err


def test_checkpoint_without_config_needs_c(tiny_run, tmp_path, capsys):
    """An original SpikingResformer file (a bare state_dict) needs -c; with it, the same predictions."""
    from eventsnn.config import dump_yaml

    state = torch.load(tiny_run.checkpoint, weights_only=True)["model"]
    bare = tmp_path / "original.pth"
    torch.save(state, bare)
    rec = tiny_run.root / "2" / "2_0000.aedat4"
    assert main(["predict", "--checkpoint", str(bare), str(rec)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "pass the training config with -c FILE" in err
    cfg_file = tmp_path / "train.yaml"
    cfg_file.write_text(dump_yaml(tiny_run.cfg))
    out_csv = tmp_path / "p.csv"
    assert main(["predict", "-c", str(cfg_file), "--checkpoint", str(bare), str(rec), "--out", str(out_csv)]) == 0
    assert "-c FILE" not in capsys.readouterr().err  # given -c, predict never asks for it
    assert out_csv.read_text().count("\n") == 2  # header + the one recording
    a = load_inference_model(bare, config=str(cfg_file), device="cpu")
    b = load_inference_model(tiny_run.checkpoint, device="cpu")
    assert a.class_names == b.class_names and a.input_shape == b.input_shape
    ra = predict_files(a, [rec], k=10, progress=False)[0]
    rb = predict_files(b, [rec], k=10, progress=False)[0]
    assert ra.classes == rb.classes and ra.probs == pytest.approx(rb.probs, abs=1e-6)


def test_bf16_precision_close_to_fp32(tiny_run):
    """--precision resolves as train.precision (default: the checkpoint's); bf16 stays close to fp32."""
    from eventsnn.engine.precision import resolve_precision

    stored = load_inference_model(tiny_run.checkpoint, device="cpu")
    assert stored.precision == resolve_precision(tiny_run.cfg.train.precision, "cpu")
    as_set = load_inference_model(tiny_run.checkpoint, device="cpu", overrides=["train.precision=bf16"])
    assert as_set.precision == "bf16"
    paths = expand_inputs([tiny_run.root / "1"], "events")
    fp32 = predict_files(load_inference_model(tiny_run.checkpoint, device="cpu"), paths, k=10, progress=False)
    bf16 = predict_files(
        load_inference_model(tiny_run.checkpoint, device="cpu", precision="bf16"), paths, k=10, progress=False
    )
    for a, b in zip(fp32, bf16, strict=True):
        pa = dict(zip(a.classes, a.probs, strict=True))
        pb = dict(zip(b.classes, b.probs, strict=True))
        assert max(abs(pa[c] - pb[c]) for c in pa) < 0.02


def test_reading_workers_and_nmnist_bin(tiny_run, real_data):
    """A worker process gives the same rows; an N-MNIST .bin (34x34) is resized like the 320x240 file."""
    model = load_inference_model(tiny_run.checkpoint, device="cpu")
    paths = [*expand_inputs([tiny_run.root / "0"], "events"), real_data / "sample_nmnist.bin"]
    alone = predict_files(model, paths, k=10, batch_size=2, progress=False)
    pooled = predict_files(model, paths, k=10, batch_size=2, workers=1, progress=False)
    assert [(r.path, r.status, r.n_events, r.classes) for r in alone] == [
        (r.path, r.status, r.n_events, r.classes) for r in pooled
    ]
    assert alone[-1].ok and alone[-1].n_events == 4325
    for a, b in zip(alone, pooled, strict=True):
        assert a.probs == pytest.approx(b.probs, abs=1e-6)


@pytest.mark.gpu
def test_cuda_predictions_match_cpu(tiny_run):
    paths = expand_inputs([tiny_run.root / "1"], "events")
    cpu = predict_files(load_inference_model(tiny_run.checkpoint, device="cpu"), paths, k=10, progress=False)
    gpu_model = load_inference_model(tiny_run.checkpoint, device="cuda")
    assert gpu_model.device.type == "cuda"
    gpu = predict_files(gpu_model, paths, k=10, progress=False)
    for a, b in zip(cpu, gpu, strict=True):
        pa, pb = dict(zip(a.classes, a.probs, strict=True)), dict(zip(b.classes, b.probs, strict=True))
        assert max(abs(pa[c] - pb[c]) for c in pa) < 1e-4
