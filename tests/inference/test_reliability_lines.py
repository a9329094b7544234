"""Issue 24's remaining tracebacks and silent cases, each now one line (exit 2) or a clear refusal:
--out checked before the work, a text file as a checkpoint, every input skipped, NaN weights,
a damaged data description, [T, B, ...] input order, model.T for event data, frames too small for
the model, weights that do not fit before the cache is built, symlinked input folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from eventsnn.cli import main
from eventsnn.errors import ArgumentError, ConfigError
from eventsnn.models import create_model
from eventsnn.models.registry import model_overrides
from tests.factories import REPO

SMOKE_EVENTS = REPO / "configs" / "smoke" / "events.yaml"


def _err(capsys) -> str:
    text = capsys.readouterr().err
    lines = [line for line in text.strip().splitlines() if line.startswith("eventsnn")]
    assert "Traceback" not in text and len(lines) == 1, text[-2000:]
    return lines[0]


def _recording(tiny_run) -> str:
    return str(next(tiny_run.root.glob("4/*.aedat4")))


def test_predict_out_under_a_file_is_refused_before_the_work(tiny_run, tmp_path, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    argv = ["predict", "--checkpoint", str(tiny_run.checkpoint), _recording(tiny_run)]
    assert main([*argv, "--out", str(blocker / "rows.csv")]) == 2
    assert (
        _err(capsys)
        == f"eventsnn predict: error: --out {blocker / 'rows.csv'}: {blocker} is a file, not a folder"
    )


def test_out_on_a_full_disk_is_refused_before_the_work(tiny_run, tmpfs, capsys):
    disk = tmpfs("1m")
    st = os.statvfs(disk)
    (disk / "ballast").write_bytes(b"\0" * (st.f_bavail * st.f_frsize))
    argv = [
        "predict",
        "--checkpoint",
        str(tiny_run.checkpoint),
        _recording(tiny_run),
        "--out",
        f"{disk}/r.csv",
    ]
    assert main(argv) == 2
    assert _err(capsys) == f"eventsnn predict: error: --out {disk}/r.csv: no space left in {disk} (0 B free)"
    argv = ["evaluate", "--checkpoint", str(tiny_run.checkpoint), "--out", str(disk / "ev")]
    assert main(argv) == 2
    assert (
        _err(capsys) == f"eventsnn evaluate: error: --out {disk / 'ev'}: no space left in {disk} (0 B free)"
    )
    assert not (disk / "ev").exists()


def test_evaluate_out_that_is_a_file_is_one_line(tiny_run, tmp_path, capsys):
    out = tmp_path / "evaluation.json"
    out.write_text("{}")
    assert main(["evaluate", "--checkpoint", str(tiny_run.checkpoint), "--out", str(out)]) == 2
    assert _err(capsys) == f"eventsnn evaluate: error: --out {out}: is a file, not a folder"


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"epochs: 3\nlr: 0.1\n", "a text file (it starts with 'epochs: 3')"),
        (b"", "the file is empty"),
        (b"\x89HDF\r\n\x1a\n" + bytes(100), "an HDF5 file"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_says_what_it_is(tiny_run, tmp_path, capsys, content, what):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    assert main(["predict", "--checkpoint", str(path), _recording(tiny_run)]) == 2
    assert _err(capsys) == f"eventsnn predict: error: {path}: not a checkpoint: {what}"


def test_predict_exits_2_when_every_input_was_skipped(tiny_run, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("a.aedat4", "b.aedat4"):
        (bad / name).write_text("not a recording")
    assert main(["predict", "--checkpoint", str(tiny_run.checkpoint), str(bad), "--quiet"]) == 2
    assert _err(capsys) == (
        "eventsnn predict: error: every one of the 2 inputs was skipped (see the lines above); nothing predicted"
    )


def test_predict_follows_a_symlinked_folder(tiny_run, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "four").symlink_to(tiny_run.root / "4", target_is_directory=True)
    (inputs / "loop").symlink_to(inputs, target_is_directory=True)  # a link loop ends
    assert main(["predict", "--checkpoint", str(tiny_run.checkpoint), str(inputs), "--quiet"]) == 0
    n = len(list((tiny_run.root / "4").glob("*.aedat4")))
    assert f"predict: {n} of {n} inputs predicted, 0 skipped" in capsys.readouterr().out


def _edited(tiny_run, tmp_path, edit) -> Path:
    ckpt = torch.load(tiny_run.checkpoint, weights_only=True)
    edit(ckpt)
    path = tmp_path / "edited.pt"
    torch.save(ckpt, path)
    return path


def test_nan_weights_are_refused_in_one_line(tiny_run, tmp_path, capsys):
    def poison(ckpt):
        key = next(k for k, v in ckpt["model"].items() if v.is_floating_point())
        ckpt["model"][key].view(-1)[0] = float("nan")

    path = _edited(tiny_run, tmp_path, poison)
    assert main(["predict", "--checkpoint", str(path), _recording(tiny_run)]) == 2
    line = _err(capsys)
    assert line.startswith(f"eventsnn predict: error: {path}: the weights hold NaN or infinite values (")
    assert line.endswith("use an earlier one (e.g. checkpoint_best.pt)")


def test_a_damaged_data_description_is_one_line(tiny_run, tmp_path, capsys):
    path = _edited(tiny_run, tmp_path, lambda c: c["data"].pop("kind"))
    assert main(["predict", "--checkpoint", str(path), _recording(tiny_run)]) == 2
    assert _err(capsys) == (
        f"eventsnn predict: error: {path}: its data description is damaged (kind None, expected 'events' "
        "or 'images'); was it edited?"
    )


def test_time_major_input_is_refused_batch_major_accepted():
    model = create_model(
        "spikingresformer_cifar", layers=[["DSSA", "GWFFN"]], planes=[16], num_heads=[1], patch_sizes=[4],
        group_size=16, in_channels=2, img_size=16, T=4, num_classes=3,
    ).eval()  # fmt: skip
    x = torch.rand(2, 4, 2, 16, 16)  # [B=2, T=4, C, H, W]
    with torch.no_grad():
        assert model(x).shape == (4, 2, 3)  # [T, B, K]
        with pytest.raises(ArgumentError, match=r"this looks like spikingjelly's \[T, B, C, H, W\] order"):
            model(x.transpose(0, 1))


def test_model_T_other_than_the_frames_is_refused(tiny_run):
    from dataclasses import replace

    cfg = tiny_run.cfg
    cfg = replace(cfg, model=replace(cfg.model, T=8))
    with pytest.raises(ConfigError) as info:
        model_overrides(cfg.model, 10, (4, 2, 16, 16))
    assert str(info.value) == (
        "model.T=8, but event frames have T = 4 (framing.n_frames): for event data T is the number of "
        "frames; set framing.n_frames=8 and leave model.T unset"
    )


def _train_argv(tiny_run, tmp_path, *sets: str) -> list[str]:
    items = [f"data.root={tiny_run.root}", f"data.cache_dir={tmp_path / 'cache'}", f"output.root={tmp_path / 'runs'}",
             "output.name=r", *sets]  # fmt: skip
    return [a for item in items for a in ("--set", item)]


def test_frames_too_small_for_the_model_stop_before_the_cache(tiny_run, tmp_path, capsys):
    argv = ["train", "-c", str(SMOKE_EVENTS), *_train_argv(tiny_run, tmp_path, "framing.resize=[3,3]")]
    assert main(argv) == 2
    line = _err(capsys)
    assert line.startswith(
        "eventsnn train: error: frames [T, C, H, W]=[4, 2, 3, 3] are too small for model spikingresformer_cifar ("
    )
    assert line.endswith("); use a larger framing.resize (or none)")
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()


def test_finetune_weights_that_do_not_fit_stop_before_the_cache(tiny_run, tmp_path, capsys):
    argv = ["finetune", "-c", str(SMOKE_EVENTS), "--checkpoint", str(tiny_run.checkpoint),
            *_train_argv(tiny_run, tmp_path, "model.planes=[48]")]  # fmt: skip
    assert main(argv) == 2
    assert "shape" in _err(capsys)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
