"""Tests of `eventsnn.analysis`: the smoke images config shrunk to a few steps (shared below)."""

from tests.factories import REPO

SMOKE = REPO / "configs" / "smoke" / "images.yaml"
TINY = [  # overrides: a few training steps, one evaluation, no TensorBoard
    "train.epochs=1",
    "train.max_steps_per_epoch=3",
    "train.batch_size=16",
    "train.eval_batch_size=200",
    "train.precise_bn_batches=2",
    "plasticity.warmup=1",
    "plasticity.warmup_unit=steps",
    "output.tensorboard=false",
]
