"""Bad input on the command line: one line on stderr, exit code 2, nothing half-written (issue 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsnn.cli import main


def _base(root, cache) -> list[str]:
    config = root.parent / "c.yaml"
    config.write_text(
        f"data:\n  dataset: folder\n  root: {root}\n  cache_dir: {cache}\n  preprocess_workers: 1\n"
        "framing:\n  n_frames: 2\n"
    )
    return ["-c", str(config)]


def _one_line_error(capsys, argv) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("framing.n_frames=0", "framing.n_frames: must be >= 1, got 0"),
        ("framing.resize=[0,8]", "framing.resize[0]: must be >= 1, got 0"),
        ("data.limit_per_class=0", "data.limit_per_class: must be >= 1, got 0"),
        ("data.sensor_size=[16]", "data.sensor_size: expected 2 or 3 values, got 1: [16]"),
    ],
)
def test_bad_value_is_one_line_and_leaves_no_cache(tiny_folder, tmp_path, capsys, override, message):
    cache = tmp_path / "cache"
    line = _one_line_error(capsys, ["preprocess", *_base(tiny_folder, cache), "--set", override])
    assert line == f"eventsnn preprocess: error: {tiny_folder.parent / 'c.yaml'} (with --set): {message}"
    assert not cache.exists()


def test_cache_dir_that_is_a_file(tiny_folder, tmp_path, capsys):
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    line = _one_line_error(capsys, ["preprocess", *_base(tiny_folder, blocker / "sub")])
    assert (
        line
        == f"eventsnn preprocess: error: data.cache_dir={blocker / 'sub'}: {blocker} is a file, not a folder"
    )
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("flag", [["--max-items", "-3"], ["--max-items", "0"], ["--workers", "-1"]])
def test_preprocess_counts_must_be_in_range(tiny_folder, tmp_path, capsys, flag):
    with pytest.raises(SystemExit) as info:
        main(["preprocess", *_base(tiny_folder, tmp_path / "cache"), *flag])
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"argument {flag[0]}: must be >= " in err
    assert not (tmp_path / "cache").exists()


SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke" / "images.yaml"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.batch_size=0", "train.batch_size: must be >= 1, got 0"),
        ("train.epochs=0", "train.epochs: must be >= 1, got 0"),
        ("model.T=0", "model.T: must be >= 1, got 0"),
        ("optim.lr=nan", "optim.lr: must be a finite number, got 'nan'"),
        ("optim.lr=-0.1", "optim.lr: must be > 0, got -0.1"),
        ("data.train_fraction=1.5", "data.train_fraction: must be in (0, 1), got 1.5"),
    ],
)
def test_train_with_a_bad_value_is_one_line_and_writes_nothing(tmp_path, capsys, override, message):
    argv = ["train", "-c", str(SMOKE), "--set", f"output.root={tmp_path / 'runs'}", "--set", override]
    line = _one_line_error(capsys, argv)
    assert line == f"eventsnn train: error: {SMOKE} (with --set): {message}"
    assert not (tmp_path / "runs").exists()


def test_allow_changes_names_config_keys(tmp_path, capsys):
    from eventsnn.config import load_config
    from eventsnn.engine.runfolder import refuse_changes
    from eventsnn.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        refuse_changes("resume", {}, load_config(SMOKE), ["train.epoch"], where=tmp_path)
    assert str(info.value) == "--allow-changes train.epoch: not a config key (section.key, e.g. train.epochs)"
    with pytest.raises(ConfigError, match="--allow-changes framing.nframes: not a config key"):
        refuse_changes("input", {}, load_config(SMOKE), ["framing.nframes"], where=tmp_path)  # evaluate's
