"""`eventsnn analyze attention | synchrony | layers -c FILE --checkpoint ...`: the paper's figures."""

from __future__ import annotations

import argparse

from eventsnn.commands._common import add_checkpoint_job_arguments, checkpoint_job_setup, positive_int

COMMAND = "analyze"
HELP = (
    "figures from checkpoints: DSSA attention + feature gain (Fig. 3), batch synchrony (Fig. 5), inner layers"
)


def _common(parser: argparse.ArgumentParser) -> None:
    add_checkpoint_job_arguments(parser, what="a checkpoint (baseline first)", subfolder="analysis")


def _items(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated test indices, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="figure", metavar="FIGURE", required=True)
    p = sub.add_parser("attention", help="Fig. 3: last-stage DSSA attention maps and per-patch feature gain")
    _common(p)
    p.add_argument(
        "--items",
        type=_items,
        default=None,
        metavar="I,J,..",
        help="test indices (default: three items of different classes)",
    )
    p = sub.add_parser("synchrony", help="Fig. 5: batch synchrony per mini-batch (neuron and channel pairs)")
    _common(p)
    p.add_argument("--layer", metavar="NAME", help="spiking layer (default: the last)")
    p.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="mini-batch size (default 32)"
    )
    p.add_argument(
        "--max-batches", type=positive_int, default=None, metavar="N", help="first N test mini-batches"
    )
    p = sub.add_parser("layers", help="spike-level perturbations inside the network, layer by layer")
    _common(p)
    p.add_argument("--layers", metavar="A,B,..", help="spiking layers (default: every one)")
    p.add_argument(
        "--max-samples", type=positive_int, default=None, metavar="N", help="N evenly spaced test items"
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.analysis import jobs

    cfg, out = checkpoint_job_setup(args, "analysis")
    if args.figure == "attention":
        paths = jobs.attention_job(cfg, args.checkpoints, out, args.items)
    elif args.figure == "synchrony":
        paths = jobs.synchrony_job(cfg, args.checkpoints, out, layer=args.layer, batch_size=args.batch_size,
                                   max_batches=args.max_batches)  # fmt: skip
    else:
        layers = [v.strip() for v in args.layers.split(",")] if args.layers else None
        paths = jobs.layers_job(cfg, args.checkpoints, out, layers=layers, max_samples=args.max_samples)
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}")
    return 0
