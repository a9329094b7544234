"""Engine tests; the shared tiny model and smoke config of the precision and CUDA-path tests."""

from pathlib import Path

from eventsnn.config import RunConfig
from tests.factories import REPO, small_run_config

SMOKE = REPO / "configs" / "smoke" / "images.yaml"
# a SpikingResformer small enough for CPU tests of the precision and CUDA paths
TINY = dict(
    layers=[["DSSA", "GWFFN"]],
    planes=[32],
    num_heads=[2],
    patch_sizes=[4],
    group_size=16,
    in_channels=1,
    img_size=16,
    T=2,
    num_classes=10,
)


def tiny_run_config(tmp_path: Path, *extra: str) -> RunConfig:
    """The smoke images config cut to one epoch of 4 steps of 16 (no precise BN, no TensorBoard),
    DA-SSDP fitted after one warm-up step; `extra` overrides on top."""
    return small_run_config(
        tmp_path,
        "train.epochs=1",
        "train.batch_size=16",
        "train.precise_bn_batches=0",
        "plasticity.warmup=1",
        "output.tensorboard=false",
        *extra,
    )
