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
        f"eventsnn config: error: {path}: plasticity.a_plsu: unknown key; did you mean a_plus?"
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
