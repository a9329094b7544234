"""Run under torchrun by test_distributed.py: train, then save this rank's weights.

Usage: torchrun --standalone --nproc-per-node 2 ddp_train_worker.py CONFIG OUT_DIR [--set ...]
"""

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from eventsnn.config import load_config
from eventsnn.engine.train import Trainer


def main() -> None:
    config, out = sys.argv[1], Path(sys.argv[2])
    overrides = sys.argv[3:]
    cfg = load_config(config, overrides)
    trainer = Trainer(cfg, out / "run")
    trainer.fit()
    rank = dist.get_rank()
    # parameters must be identical; BN running stats legitimately differ after the last
    # forward (DDP broadcasts buffers from rank 0 at the start of each forward)
    params = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    state = {"params": params, "plasticity": trainer.plasticity.state_dict()}
    torch.save(state, out / f"rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
