"""Packaging (issue 23): the wheel holds the configs and runs outside the repository; the core
imports without the optional extras; one version number."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

import eventsnn
from tests.factories import REPO


def run_python(*args: str, cwd: Path, pythonpath: Path | None = None, timeout: int = 300):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the source tree (the repository's own folder stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "configs", src / "configs")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "eventsnn", src / "eventsnn", symlinks=True, ignore=ignore)
    assert (src / "eventsnn" / "configs").is_symlink()
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = out.glob("eventsnn-*.whl")
    return path


def test_the_wheel_holds_every_config_and_the_version(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"eventsnn/configs/{p.relative_to(REPO / 'configs').as_posix()}" for p in REPO.glob("configs/**/*.yaml")}
    assert shipped and shipped <= names
    (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    info = email.message_from_bytes(zipfile.ZipFile(wheel).read(meta))
    assert info["Version"] == eventsnn.__version__ == "0.2.0"
    requires = info.get_all("Requires-Dist")
    torch_req = next(r for r in requires if r.startswith("torch") and not r.startswith("torchvision"))
    assert "==" not in torch_req and "<" in torch_req and ">=" in torch_req  # a tested range, not a pin
    assert any(r.startswith("dv-processing") and "extra == \"dv\"" in r for r in requires)
    assert not any(r.startswith("dv-processing") and "extra" not in r for r in requires)


def test_installed_copy_lists_configs_and_trains_by_name_outside_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run_python("-c", "import eventsnn; print(eventsnn.__file__)", cwd=work, pythonpath=site)
    assert where.stdout.strip() == str(site / "eventsnn" / "__init__.py")  # the wheel's copy, not the repo's
    listed = run_python("-m", "eventsnn", "config", "list", cwd=work, pythonpath=site)
    assert listed.returncode == 0 and "  smoke/images\n" in listed.stdout and "  demo/demo\n" in listed.stdout
    trained = run_python(
        "-m", "eventsnn", "train", "-c", "smoke/images", "--out", "run",
        "train.epochs=1", "train.max_steps_per_epoch=1", "train.precise_bn_batches=0",
        "plasticity.mode=off", "output.tensorboard=false",
        cwd=work, pythonpath=site,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert (work / "run" / "checkpoint_latest.pt").is_file()
    # the run folder's config has absolute paths: `config show` of its checkpoint from anywhere
    shown = run_python("-m", "eventsnn", "config", "show", str(work / "run" / "checkpoint_latest.pt"), cwd=tmp_path)
    assert shown.returncode == 0 and f"root: {work / 'runs'}" in shown.stdout


BLOCK_DV = textwrap.dedent(
    """
    import importlib, pkgutil, sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {"dv_processing"}:
                raise ImportError(f"blocked {name}")
    sys.meta_path.insert(0, Block())
    import eventsnn
    for info in pkgutil.walk_packages(eventsnn.__path__, "eventsnn."):
        importlib.import_module(info.name)
    import numpy as np
    from eventsnn.errors import MissingExtraError
    from eventsnn.events.io import write_aedat4
    ev = np.zeros(1, dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1")])
    try:
        write_aedat4("x.aedat4", ev, (4, 4, 2))
    except MissingExtraError as exc:
        print(exc)
    """
)


def test_the_core_imports_without_the_optional_extras(tmp_path):
    out = run_python("-c", BLOCK_DV, cwd=tmp_path, pythonpath=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "writing .aedat4 files needs dv-processing, which is not installed: pip install 'eventsnn[dv]'"
    assert not (tmp_path / "x.aedat4").exists()


def test_one_version_number():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert f"## {eventsnn.__version__}" in (REPO / "CHANGELOG.md").read_text()
