"""Shared set-up of `eventsnn bench predict` and `eventsnn bench stream`: demo recordings and the
demo model (configs/demo/demo.yaml's SpikingResformer, initialised: speed does not depend on the
weights) saved as a checkpoint in the format training writes, then loaded as `eventsnn predict` does."""

from __future__ import annotations

from pathlib import Path

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo" / "demo.yaml"


def demo_recordings(tmp: Path, n: int) -> list[Path]:
    """The first `n` demo recordings (digits-DVS, 64x64, ~7,500 events over 0.3 s each), sorted."""
    from eventsnn.data.demo import ensure_demo_data

    root = ensure_demo_data(tmp / "digits_dvs", limit=n, verbose=False)
    return sorted(Path(root).rglob("*.aedat4"))


def demo_model(tmp: Path, *, device: str = "cpu", precision: str = "fp32"):
    """The demo model as an `InferenceModel`, through a checkpoint file."""
    import torch

    from eventsnn.config import load_config, to_dict
    from eventsnn.engine.builders import DataBundle, build_model
    from eventsnn.inference import load_inference_model

    cfg = load_config(DEMO_CONFIG, [f"data.root={tmp / 'digits_dvs'}"])
    names = tuple(str(d) for d in range(10))
    bundle = DataBundle(None, None, 10, names, (4, 2, 16, 16), "events", (64, 64, 2))  # type: ignore[arg-type]
    torch.manual_seed(0)
    model = build_model(cfg, bundle)
    path = tmp / "demo_model.pt"
    state = {"model": model.state_dict(), "model_name": cfg.model.name, "config": to_dict(cfg)}
    torch.save({**state, "data": bundle.describe()}, path)
    return load_inference_model(path, device=device, precision=precision)
