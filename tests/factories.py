"""Shared test pieces: the repository root and the one small-run config factory.

    from tests.factories import REPO, small_run_config
    cfg = small_run_config(tmp_path, "plasticity.mode=off")          # smoke images, 2 x 4 steps
    cfg = small_run_config(tmp_path, config="events")                 # smoke events

The fixtures `repo_root` and `small_run` (tests/conftest.py) hand out the same.
"""

from __future__ import annotations

from pathlib import Path

from eventsnn.config import RunConfig, load_config

REPO = Path(__file__).resolve().parents[1]
SMOKE = {
    "images": REPO / "configs" / "smoke" / "images.yaml",
    "events": REPO / "configs" / "smoke" / "events.yaml",
}
# two epochs of four steps, DA-SSDP fitted after a three-step warm-up
SMALL_RUN = (
    "train.epochs=2",
    "train.max_steps_per_epoch=4",
    "train.batch_size=32",
    "plasticity.warmup=3",
    "plasticity.warmup_unit=steps",
)


def small_run_config(tmp_path: Path, *extra: str, config: str = "images") -> RunConfig:
    """The smoke config `config` cut to a small run writing under `tmp_path`; `extra` overrides
    (applied last, so they win over `SMALL_RUN`)."""
    return load_config(SMOKE[config], [*SMALL_RUN, f"output.root={tmp_path}", *extra])
