"""evaluate / analyze / robustness refuse framing or model settings other than the checkpoint's,
as predict does, unless `--allow-changes` names them (then a warning with both values; issue 24)."""

from __future__ import annotations

import pytest

from eventsnn.checkpoint import Checkpoint
from eventsnn.cli import main
from eventsnn.engine.runfolder import input_changes


def _sets(tiny_run, *extra: str) -> list[str]:
    items = [f"data.cache_dir={tiny_run.tmp / 'cache'}", f"data.root={tiny_run.root}", *extra]
    return [a for item in items for a in ("--set", item)]


def test_input_changes_lists_framing_and_model_only(tiny_run):
    stored = Checkpoint.load(tiny_run.checkpoint).config_dict
    same = Checkpoint.load(tiny_run.checkpoint).config()
    assert input_changes(stored, same) == []
    other = Checkpoint.load(tiny_run.checkpoint).config(
        ["framing.n_frames=6", "framing.resize=[32,32]", "framing.backend=numpy", "train.epochs=7",
         "data.cache_dir=elsewhere", "model.T=8"],
    )  # fmt: skip
    assert input_changes(stored, other) == [
        ("framing.n_frames", 4, 6),
        ("framing.resize", [16, 16], [32, 32]),
        ("model.T", None, 8),
    ]


@pytest.mark.parametrize(
    ("command", "override", "shown"),
    [
        (["evaluate"], "framing.n_frames=6", "framing.n_frames 4 -> 6"),
        (["evaluate"], "framing.resize=[32,32]", "framing.resize [16, 16] -> [32, 32]"),
        (["robustness"], "framing.resize=[32,32]", "framing.resize [16, 16] -> [32, 32]"),
        (["analyze", "synchrony"], "framing.n_frames=6", "framing.n_frames 4 -> 6"),
    ],
)
def test_other_framing_than_the_checkpoints_is_one_line(tiny_run, tmp_path, capsys, command, override, shown):
    key = override.split("=")[0]
    out = tmp_path / "out"
    argv = [*command, "--checkpoint", str(tiny_run.checkpoint), "--out", str(out), *_sets(tiny_run, override)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"eventsnn {command[0]}: error: {tiny_run.checkpoint}: the model was trained with other settings "
        f"than these: {shown}; drop the override (the checkpoint's settings are the default), or run "
        f"anyway with --allow-changes {key}"
    ]
    assert not out.exists()


def test_allowed_change_runs_with_a_warning_naming_both_values(tiny_run, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["evaluate", "--checkpoint", str(tiny_run.checkpoint), "--out", str(out),
            *_sets(tiny_run, "framing.n_frames=6"), "--allow-changes", "framing.n_frames"]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert (
        f"evaluate: warning: framing.n_frames is 6 here, 4 in training ({tiny_run.checkpoint}); "
        "the numbers measure another setup than the one trained"
    ) in stdout
    assert (out / "evaluation.json").is_file()
