"""`eventsnn predict --checkpoint CK INPUT... [--out FILE]`: classify recordings or images."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import add_config_arguments

COMMAND = "predict"
HELP = "classify recordings (.aedat4, .bin, folders) or images with a trained checkpoint"


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """--checkpoint, optional -c/--set (non-model parts), --device, --precision (shared with stream)."""
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="training checkpoint (.pt)")
    add_config_arguments(parser, required=False)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "bf16", "fp16"),
        help="autocast precision (default fp32)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_inference_arguments(parser)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders (searched recursively)")
    parser.add_argument("--out", metavar="FILE", help="write the rows as .csv or .json")
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="classes per row (default 5)")
    parser.add_argument("--batch-size", type=int, default=32, metavar="N", help="inputs per model call")
    parser.add_argument(
        "--workers", type=int, default=0, metavar="N", help="reading processes (0: in-process)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no per-file lines")


def load_model_from_args(args: argparse.Namespace):
    from eventsnn.inference import load_inference_model

    return load_inference_model(
        args.checkpoint,
        config=args.config,
        overrides=args.overrides,
        device=args.device,
        precision=args.precision,
    )


def run(args: argparse.Namespace) -> int:
    from eventsnn.errors import ConfigError
    from eventsnn.inference import (
        OUTPUT_SUFFIXES,
        expand_inputs,
        folder_accuracy,
        format_row,
        predict_files,
        write_predictions,
    )

    if args.out and Path(args.out).suffix.lower() not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--out {args.out}: the file must end in {' or '.join(OUTPUT_SUFFIXES)}")
    if args.top_k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {args.top_k}")
    if args.workers < 0:
        raise ConfigError(f"--workers must be 0 or more, got {args.workers}")
    model = load_model_from_args(args)
    paths = expand_inputs(args.inputs, model.kind)
    rows = predict_files(
        model, paths, k=args.top_k, batch_size=args.batch_size, workers=args.workers, progress=not args.quiet
    )
    if not args.out and not args.quiet:
        for row in rows:
            print(format_row(row))
    n_ok = sum(r.ok for r in rows)
    print(f"predict: {n_ok} of {len(rows)} inputs predicted, {len(rows) - n_ok} skipped")
    acc = folder_accuracy(rows)
    if acc is not None:
        print(f"predict: accuracy {acc['top1']:.2f}% ({acc['correct']}/{acc['n']} inputs in class folders)")
    if args.out:
        meta = {
            "checkpoint": str(args.checkpoint),
            "model": model.cfg.model.name,
            "classes": list(model.class_names),
        }
        print(f"wrote {write_predictions(args.out, rows, k=args.top_k, meta=meta)}")
    return 0
