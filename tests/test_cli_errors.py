"""Bad input on the command line: one line on stderr, exit code 2, nothing half-written (issue 11)."""

from __future__ import annotations

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
