"""`eventsnn predict` on image files for an image-trained model (the embedded digits)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from eventsnn.cli import main

REPO_SMOKE = "configs/smoke/images.yaml"


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, repo_root):
    """A real Trainer checkpoint of the smoke image model (initialised) and 20 test digits as PNGs."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from eventsnn.config import load_config
    from eventsnn.data.splits import per_class_split
    from eventsnn.engine.train import Trainer

    tmp = tmp_path_factory.mktemp("digits_run")
    overrides = [f"output.root={tmp}", "output.name=img", "output.tensorboard=false", "train.device=cpu"]
    cfg = load_config(repo_root / REPO_SMOKE, overrides)
    trainer = Trainer(cfg, tmp / "img")
    trainer.save()
    digits = load_digits()
    _, test = per_class_split(np.asarray(digits.target), cfg.data.train_fraction)
    files = []
    for k, i in enumerate(test[:20]):
        path = tmp / "png" / str(digits.target[i]) / f"digit_{k:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(digits.images[i] / 16 * 255).astype(np.uint8), mode="L").save(path)
        files.append(path)
    return tmp / "img" / "checkpoint_latest.pt", files, cfg


def test_images_are_the_training_inputs(digits_run):
    """A PNG of a test digit becomes the data set's own test item (up to the 8-bit rounding)."""
    from eventsnn.data.images import DigitsImages
    from eventsnn.inference import InputSpec, load_inference_model, predict_files, prepare_input

    checkpoint, files, cfg = digits_run
    model = load_inference_model(checkpoint, device="cpu")
    assert model.kind == "images" and model.input_shape == (1, 16, 16)
    test = DigitsImages(False, size=16, train_fraction=cfg.data.train_fraction)
    xs = []
    for k, path in enumerate(files):
        x, n_events, _, _ = prepare_input(path, InputSpec.of(model))
        ref, label = test[k]
        assert n_events is None and str(label) == path.parent.name
        assert x.shape == ref.shape and float((x - ref).abs().max()) <= 0.5 / 255 + 1e-6
        xs.append(x)
    rows = predict_files(model, files, k=10, progress=False)
    with torch.no_grad():
        from eventsnn.models import mean_logits

        ref = torch.softmax(mean_logits(model.model(torch.stack(xs))), -1)
    for r, p in zip(rows, ref, strict=True):
        got = torch.tensor([r.probs[r.classes.index(str(c))] for c in range(10)])
        torch.testing.assert_close(got, p, rtol=0, atol=1e-5)


def test_cli_images_with_a_recording_among_them(digits_run, tmp_path, capsys):
    checkpoint, files, _ = digits_run
    folder = files[0].parents[1]
    stray = folder / "3" / "stray.aedat4"
    stray.write_bytes(b"")
    try:
        out = tmp_path / "p.csv"
        assert (
            main(["predict", "--checkpoint", str(checkpoint), str(folder), str(stray), "--out", str(out)])
            == 0
        )
    finally:
        stray.unlink()
    rows = list(csv.DictReader(out.open()))
    assert (
        len(rows) == 21 and rows[-1]["status"] == "skipped: .aedat4 is not an input of an image-trained model"
    )
    hits = sum(r["class_1"] == r["folder_class"] for r in rows[:20])
    assert f"accuracy {100 * hits / 20:.2f}% ({hits}/20 inputs in class folders)" in capsys.readouterr().out
