"""`eventsnn finetune -c FILE --checkpoint PATH`: start from a pretrained checkpoint, new classifier."""

from __future__ import annotations

import argparse

from eventsnn.commands import train
from eventsnn.commands._common import add_config_arguments

COMMAND = "finetune"
HELP = "fine-tune from an ImageNet checkpoint (original SpikingResformer format or eventsnn)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="pretrained weights (local file)")
    train.add_run_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return train.run(args, init_checkpoint=args.checkpoint)
