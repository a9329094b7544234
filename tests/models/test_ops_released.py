"""`evaluate` reports beside the exact per-sample SOPs what the released `test()` prints (its
averaging) and MACs with BatchNorm as thop, the release's counter, counts them."""

from __future__ import annotations

import pytest
import thop
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from eventsnn.engine.evaluate import evaluate_model
from eventsnn.models import create_model
from eventsnn.models.ops import OpsCounter, count_operations, released_sops
from tests.engine import TINY


def test_released_sops_is_the_mean_per_pass_record_over_the_nominal_batch_size():
    torch.manual_seed(0)
    model = create_model("spikingresformer_cifar", **{**TINY, "num_classes": 10}).eval()
    x = torch.rand(10, 2, 1, 16, 16) * 3  # [N, T, C, H, W] frames
    y = torch.arange(10) % 10
    loader = DataLoader(TensorDataset(x, y), batch_size=4)  # batches of 4, 4, 2
    result = evaluate_model(model, loader, torch.device("cpu"), 10, operations=True)
    ops = result.operations
    # slow reference: every batch counted on its own, then thop's random pass on torch.rand(1, C, H, W)
    per_batch = [count_operations(model, x[i : i + 4]) for i in (0, 4, 8)]
    sums = [r.totals["sops"] * r.samples for r in per_batch]
    rand = torch.rand((1, 1, 16, 16), generator=torch.Generator().manual_seed(0))
    extra = count_operations(model, rand).totals["sops"]
    assert ops["totals"]["sops"] == pytest.approx(sum(sums) / 10, rel=1e-9)  # exact per-sample mean
    rel = ops["released_convention"]
    assert rel["released_sops_extra"] == pytest.approx(extra, rel=1e-9)
    assert rel["sops"] == pytest.approx((sum(sums) + extra) / 4 / 4, rel=1e-9)  # 3 batches + 1, / 4
    assert (rel["batches"], rel["batch_size"]) == (3, 4)
    assert released_sops(30.0, 2, 6.0, 4) == pytest.approx(3.0)


class ConvBN(nn.Module):
    def __init__(self, affine: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(3, affine=affine)

    def forward(self, x):
        return self.bn(self.conv(x))


@pytest.mark.parametrize("affine", [True, False])
def test_macs_with_batchnorm_equal_thops_count(affine):
    model = ConvBN(affine).eval()
    x = torch.rand(2, 2, 5, 5)
    counter = OpsCounter(model)
    with torch.no_grad(), counter.attached():
        model(x)
    totals = counter.report().to_dict()["totals"]
    macs, _ = thop.profile(ConvBN(affine).eval(), inputs=(x,), verbose=False)
    per_sample = macs / x.shape[0]  # thop counts the whole batch; eventsnn per sample and step
    assert totals["macs_per_step_with_bn"] == pytest.approx(per_sample)
    assert totals["macs_per_step"] == 25 * 3 * 18  # conv only: 25 positions x 3 channels x fan-in 18
    assert totals["macs_per_step_with_bn"] - totals["macs_per_step"] == 75 * (4 if affine else 2)
