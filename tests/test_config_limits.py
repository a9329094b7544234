"""Config files and `--set` values under limits (issue 24): size, nesting, alias expansion refused
in one line, fast; `train: 5` worded without a stray dot; `--set` keeps ` #` and `&`."""

from __future__ import annotations

import tracemalloc

import pytest

from eventsnn.cli import main
from eventsnn.config import load_config
from eventsnn.config.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, expanded_nodes
from eventsnn.errors import ConfigError

LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
)  # 9 levels of 9 aliases: 9^9 = 387 million strings once expanded, 420 bytes on disk


def _refused(path, message: str) -> None:
    # refused before anything is expanded or read whole: a few MiB of Python allocations at most
    # (expanding the laughs takes gigabytes; reading the 50 MB file 50 MB), independent of load
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as info:
            load_config(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
    assert str(info.value) == message


def test_billion_laughs_is_refused_without_expanding(tmp_path, capsys):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS + "\ntrain: {epochs: 1}\n")
    assert len(LAUGHS) < 500
    _refused(
        path,
        f"{path}: expands to more than {MAX_NODES} values through YAML aliases (*name); a config has a few hundred",
    )
    assert main(["train", "-c", str(path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"eventsnn train: error: {path}: expands to more than {MAX_NODES} values through YAML aliases "
        "(*name); a config has a few hundred"
    ]


def test_expanded_nodes_counts_by_hand():
    import yaml

    root = yaml.compose("a: &x [1, 2]\nb: *x\nc: [*x, *x]\n")
    # mapping 1 + keys a, b, c 3 + [1, 2] three times as b, and 3 nodes each (list + 2) under a, b,
    # and c's list 1 + 2 x 3
    assert expanded_nodes(root) == 1 + 3 + 3 + 3 + (1 + 3 + 3)


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("train: " + "[" * 100_000 + "]" * 100_000 + "\n")
    _refused(path, f"{path}: nested more than {MAX_DEPTH} levels deep (line 1); a config has a few")


def test_a_large_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("train:\n  epochs: 1\n# " + "x" * (50 << 20) + "\n")  # 50 MiB
    size = path.stat().st_size
    _refused(
        path,
        f"{path}: {size / 2**20:.1f} MiB; a config file is at most {MAX_FILE_BYTES >> 20} MiB (is this a config?)",
    )


def test_a_few_aliases_still_work(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("framing: {resize: &size [16, 16]}\ndata: {sensor_size: *size}\n")
    cfg = load_config(path)
    assert cfg.framing.resize == (16, 16) and cfg.data.sensor_size == (16, 16)


def test_a_section_that_is_not_a_mapping_names_the_section(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: 5\n")
    _refused(path, f"{path}: train: expected a mapping, got int")


@pytest.mark.parametrize("value", ["run #2", "a&b", "&anchor", "*star", "#1"])
def test_set_keeps_comment_signs_and_anchors_as_written(value):
    assert load_config(None, [f"output.name={value}"]).output.name == value


def test_set_still_reads_yaml_values():
    cfg = load_config(None, ["framing.resize=[32, 32]", "train.epochs=3", "model.T=null"])
    assert (cfg.framing.resize, cfg.train.epochs, cfg.model.T) == ((32, 32), 3, None)


def test_a_huge_set_value_is_one_line():
    with pytest.raises(ConfigError, match=r"the value has 100000 characters \(at most 65536\)"):
        load_config(None, ["output.name=" + "x" * 100_000])
