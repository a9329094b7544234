"""The documentation (issue 23): the own-loop page's code runs, docstring examples run as
doctests, every page is in the site's toctree, and nothing points outside the repository."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
import subprocess
from pathlib import Path

import pytest

import eventsnn
from tests.factories import REPO

DOCS = REPO / "docs"


def python_blocks(page: Path) -> list[str]:
    """The ```python code blocks of a Markdown page."""
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.S | re.M)


def test_the_own_loop_page_runs_and_the_rule_acts(capsys):
    (loop,) = [b for b in python_blocks(DOCS / "own-loop.md") if "build_plasticity" in b]
    namespace: dict = {}
    exec(compile(loop, "docs/own-loop.md", "exec"), namespace)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"step {i}" for i in range(4)]
    rule, model = namespace["rule"], namespace["model"]
    state = rule.state_dict()
    assert float(state["classifier.sd_S"]) > 0  # the gate was fitted after the 2 warm-up steps
    before = model.classifier.weight.detach().clone()
    x, y = namespace["frames"][:16], namespace["labels"][:16]
    with rule.record():
        out = model(x)
    per_sample = namespace["cross_entropy"](out.mean(0), y, reduction="none")
    rule.apply(loss=per_sample.mean().detach(), per_sample_loss=per_sample.detach(), epoch=0)
    assert not namespace["torch"].equal(model.classifier.weight, before)  # past warm-up: W += dW


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(eventsnn.__path__, "eventsnn."):
        spec = importlib.util.find_spec(info.name)
        if spec is not None and spec.origin and ">>> " in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return sorted(names)


EXAMPLES = _modules_with_examples()


def test_the_key_public_functions_have_examples():
    documented = {
        "eventsnn.events.frame",  # to_frames
        "eventsnn.spikes.encode",  # rate_encode
        "eventsnn.spikes.stats",  # first_spike_time, batch_synchrony
        "eventsnn.plasticity.functional",  # da_ssdp_delta_w
        "eventsnn.models.registry",  # create_model
    }
    assert documented <= set(EXAMPLES), sorted(documented - set(EXAMPLES))


@pytest.mark.parametrize("name", EXAMPLES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} of {result.attempted} failed"


def test_every_page_is_in_the_site():
    index = (DOCS / "index.md").read_text()
    listed = set(re.findall(r"^([a-z][a-z0-9-]*)$", index, flags=re.M))
    pages = {p.stem for p in DOCS.glob("*.md")} - {"index"}
    assert pages <= listed, sorted(pages - listed)


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [REPO / line for line in out.stdout.splitlines()]


OUTSIDE = re.compile(r"\.\./shared|shared/spec|shared/DESIGN")


def test_nothing_points_outside_the_repository():
    """Links and docstrings stay inside the repository (tests may read ../shared/data/real)."""
    found = []
    for path in tracked_files():
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("tests/") or not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{rel}:{i}" for i, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert not found, found
