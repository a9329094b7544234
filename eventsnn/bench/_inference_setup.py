"""Shared set-up of `eventsnn bench predict` and `eventsnn bench stream`: demo recordings and the
demo model (configs/demo/demo.yaml's SpikingResformer, initialised: speed does not depend on the
weights) saved as a checkpoint in the format training writes, then loaded as `eventsnn predict` does."""

from __future__ import annotations

from pathlib import Path

from eventsnn.checkpoint import Checkpoint, DataDescription
from eventsnn.config import load_config
from eventsnn.inference import load_inference_model
from eventsnn.models import build_model

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo" / "demo.yaml"


def demo_recordings(tmp: Path, n: int) -> list[Path]:
    """The first `n` demo recordings (digits-DVS, 64x64, ~7,500 events over 0.3 s each), sorted."""
    from eventsnn.data.demo import ensure_demo_data

    root = ensure_demo_data(tmp / "digits_dvs", limit=n, verbose=False)
    return sorted(Path(root).rglob("*.aedat4"))


def demo_model(tmp: Path, *, device: str = "cpu", precision: str = "fp32"):
    """The demo model as an `InferenceModel`, through a checkpoint file."""
    import torch

    cfg = load_config(DEMO_CONFIG, [f"data.root={tmp / 'digits_dvs'}"])
    data = DataDescription("events", tuple(str(d) for d in range(10)), (4, 2, 16, 16), (64, 64, 2))
    torch.manual_seed(0)
    model = build_model(cfg.model, data.num_classes, data.input_shape)
    path = tmp / "demo_model.pt"
    torch.save(Checkpoint.of_run(model, cfg, data).to_dict(), path)
    return load_inference_model(path, device=device, precision=precision)
