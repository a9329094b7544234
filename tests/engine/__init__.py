"""Engine tests; the shared tiny model and smoke config of the precision and CUDA-path tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
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
