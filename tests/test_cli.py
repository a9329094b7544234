"""The console script: help, version, config show, env, and one-line errors with exit 2."""

from __future__ import annotations

import subprocess
import sys

import yaml

import eventsnn
from eventsnn.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eventsnn", *args], capture_output=True, text=True, timeout=300
    )


def test_version_and_help():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"eventsnn {eventsnn.__version__}"
    out = run_cli("--help")
    assert out.returncode == 0
    for command in ("config", "env"):
        assert command in out.stdout


def test_config_show_prints_resolved_yaml(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  epochs: 3\n")
    assert main(["config", "show", str(path), "--set", "train.batch_size=5"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["train"]["epochs"] == 3 and shown["train"]["batch_size"] == 5


def test_bad_config_is_one_line_exit_2(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("plasticity:\n  a_plsu: 1\n")
    out = run_cli("config", "show", str(path))
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"eventsnn config: error: {path}: plasticity.a_plsu: unknown key; did you mean plasticity.a_plus?"
    ]
    assert "Traceback" not in out.stderr


def test_debug_shows_traceback(tmp_path):
    out = run_cli("--debug", "config", "show", str(tmp_path / "missing.yaml"))
    assert out.returncode != 0 and "Traceback" in out.stderr and "ConfigError" in out.stderr


def test_env_lists_versions_and_devices(capsys):
    assert main(["env"]) == 0
    out = capsys.readouterr().out
    for key in ("torch", "numba", "spikingjelly", "tonic", "devices", "cuda available"):
        assert key in out


def _leaf_commands(parser, prefix="eventsnn"):
    """(command line prefix, parser) of every leaf subcommand."""
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaf_commands(child, f"{prefix} {name}")


def test_cli_reference_lists_every_command_and_option(repo_root):
    """The CLI reference's command table (docs/cli.md) names every subcommand and exactly its
    visible options."""
    import argparse
    import re

    from eventsnn.cli import build_parser

    rows = {}
    for line in (repo_root / "docs" / "cli.md").read_text().splitlines():
        found = re.match(r"\| `(eventsnn [a-z -]+)` \| (.*) \|$", line)
        if found:
            rows[found.group(1)] = found.group(2)
    commands = dict(_leaf_commands(build_parser()))
    assert set(rows) == set(commands) - {"eventsnn"}
    for command, parser in commands.items():
        if command == "eventsnn":
            continue
        flags = {
            s
            for a in parser._actions
            if a.option_strings and a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)
            for s in a.option_strings
            if s.startswith("--")
        }
        listed = set(re.findall(r"(--[a-z][a-z-]*)", rows[command]))
        assert listed == flags, (command, sorted(listed ^ flags))


def test_same_option_same_meaning(tmp_path):
    """--limit exists for demo and demo-data; --workers is 'N processes, 0: all cores' everywhere."""
    from eventsnn.cli import build_parser

    commands = dict(_leaf_commands(build_parser()))
    for name in ("eventsnn demo", "eventsnn demo-data"):
        limit = next(a for a in commands[name]._actions if "--limit" in a.option_strings)
        assert limit.type("3") == 3 and limit.metavar == "N"
    helps = {
        name: next(a.help for a in p._actions if "--workers" in a.option_strings)
        for name, p in commands.items()
        if any("--workers" in a.option_strings for a in p._actions)
    }
    assert set(helps) == {"eventsnn demo-data", "eventsnn preprocess", "eventsnn predict"}
    assert all("(0: all cores, 1: in this process" in h for h in helps.values())
    out = run_cli("demo-data", "--root", str(tmp_path / "d"), "--limit", "0")
    assert out.returncode == 2 and "--limit: must be >= 1, got 0" in out.stderr
    for figure, option in (("synchrony", "--batch-size"), ("synchrony", "--max-batches"), ("layers", "--max-samples")):
        out = run_cli("analyze", figure, "--checkpoint", str(tmp_path / "none.pt"), option, "0")
        assert out.returncode == 2 and f"{option}: must be >= 1, got 0" in out.stderr


def test_threads_applies_to_every_job_before_it_runs(tmp_path, capsys):
    """`--threads N` is a run option of every job that runs a model (train, evaluate, ...): torch's
    CPU threads are set before the job starts (here one that then stops on a missing checkpoint)."""
    import torch

    from eventsnn.cli import main

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert main(["evaluate", "--checkpoint", str(tmp_path / "none.pt"), "--threads", "1"]) == 2
        assert torch.get_num_threads() == 1
        assert "none.pt" in capsys.readouterr().err
        torch.set_num_threads(2)  # stream's default is 1 (one window at a time)
        assert main(["stream", "--checkpoint", str(tmp_path / "none.pt"), "--input", "x.aedat4"]) == 2
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
