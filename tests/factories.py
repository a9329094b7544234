"""Shared test pieces: the repository root, the one small-run config factory, and a real dv
network sender on the loopback address.

    from tests.factories import REPO, small_run_config
    cfg = small_run_config(tmp_path, "plasticity.mode=off")          # smoke images, 2 x 4 steps
    cfg = small_run_config(tmp_path, config="events")                 # smoke events
    with dv_sender(recording) as port: ...                            # tcp://127.0.0.1:port

The fixtures `repo_root` and `small_run` (tests/conftest.py) hand out the same.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import socket
from collections.abc import Iterator
from pathlib import Path

from eventsnn.config import RunConfig, load_config
from eventsnn.inference.replay import serve_and_exit

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


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dv_sender(recording: str | Path, **serve: object) -> Iterator[int]:
    """A forked process serving `recording` with dv-processing's NetworkWriter on a free port of
    127.0.0.1 (`serve_and_exit`, keywords `serve` such as `loops`, `realtime`); yields the port
    once the writer listens, and joins (or kills) the process on the way out."""
    port = free_port()
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=serve_and_exit, args=(str(recording), port, ready), kwargs=serve, daemon=True)
    proc.start()
    try:
        assert ready.wait(30)
        yield port
    finally:
        proc.join(timeout=20)
        if proc.is_alive():
            proc.kill()
