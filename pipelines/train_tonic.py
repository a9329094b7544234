"""Train on a tonic data set already on disk with eventsnn's trainer (checkpoints, resume, DDP,
TensorBoard, evaluate and robustness all work on the run).  python pipelines/train_tonic.py SAVE_TO RUNS"""

import sys
from pathlib import Path

from eventsnn.config import load_config
from eventsnn.data.sets.tonic_dataset import tonic_class
from eventsnn.engine.train import Trainer

save_to, runs = sys.argv[1], Path(sys.argv[2])
NMNIST = tonic_class("NMNIST")  # tonic.datasets.NMNIST that never downloads
train, test = NMNIST(save_to=save_to, train=True), NMNIST(save_to=save_to, train=False)
config = Path(__file__).resolve().parents[1] / "configs" / "smoke" / "events.yaml"
cfg = load_config(config, [f"output.root={runs}", *sys.argv[3:]])  # frames: cfg.framing
trainer = Trainer(cfg, runs / "nmnist", train_dataset=train, test_dataset=test,
                  class_names=[str(d) for d in range(10)], sensor_size=NMNIST.sensor_size)  # fmt: skip
result = trainer.fit()
print(f"top-1 {result.final_eval.top1:.2f}% after {result.state.epoch} epochs, run in {result.run_dir}")
