"""Rank worker for test_ddp.py: DA-SSDP on half of each batch under a gloo group, saves its weights.

Usage: python ddp_worker.py RANK WORLD INIT_FILE OUT_DIR [SPATIAL]   (WORLD 1: the whole batch, no group)
"""

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from eventsnn.config import PlasticityConfig
from eventsnn.plasticity import build_plasticity
from tests.plasticity.nets import TinyNet, make_batches


def main() -> None:
    rank, world, init, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    spatial = sys.argv[5] if len(sys.argv) > 5 else "any"
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = TinyNet().double()
    net = model
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world)
        net = torch.nn.parallel.DistributedDataParallel(model)
    cfg = PlasticityConfig(
        mode="da_ssdp",
        layers=("proj", "head"),
        warmup=2,
        warmup_unit="steps",
        a_plus=0.02,
        a_minus=0.01,
        loss_granularity="per_sample",
        spatial=spatial,
    )
    plasticity = build_plasticity(net, cfg, compute_dtype=torch.float64)
    history = []
    for x, y in make_batches(4, B=8, dtype=torch.float64):
        if world > 1:
            x, y = x.chunk(world, dim=1)[rank], y.chunk(world)[rank]
        with torch.no_grad(), plasticity.record():
            out = net(x)
        per_sample = F.cross_entropy(out.mean(0), y, reduction="none")
        plasticity.apply(loss=per_sample.mean(), per_sample_loss=per_sample, epoch=0)
        history.append({k: v.clone() for k, v in model.state_dict().items()})
    torch.save(
        {"history": history, "plasticity": plasticity.state_dict()}, out_dir / f"rank{rank}_of{world}.pt"
    )
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
