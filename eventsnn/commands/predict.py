"""`eventsnn predict --checkpoint CK INPUT... [--out FILE]`: classify recordings or images."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.commands._common import (
    add_inference_arguments,
    add_workers_argument,
    inference_model_from_args,
    positive_int,
    worker_processes,
)
from eventsnn.commands._outputs import require_writable_file

COMMAND = "predict"
HELP = "classify recordings (.aedat4, .bin, folders) or images with a trained checkpoint"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_inference_arguments(parser)
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="files or folders (searched recursively)")
    parser.add_argument("--out", metavar="FILE", help="write the rows as .csv or .json")
    parser.add_argument(
        "--top-k", type=positive_int, default=5, metavar="K", help="classes per row (default 5)"
    )
    parser.add_argument(
        "--batch-size", type=positive_int, default=32, metavar="N", help="inputs per model call"
    )
    add_workers_argument(parser, default=1, what="reading inputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no per-file lines")


def run(args: argparse.Namespace) -> int:
    from eventsnn.errors import ConfigError, DataError
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
    if args.out:
        require_writable_file(args.out, "--out")
    model = inference_model_from_args(args)
    paths = expand_inputs(args.inputs, model.kind)
    rows = predict_files(
        model,
        paths,
        k=args.top_k,
        batch_size=args.batch_size,
        workers=_loader_workers(args.workers),
        progress=not args.quiet,
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
    if rows and n_ok == 0:
        raise DataError(
            f"every one of the {len(rows)} inputs was skipped (see the lines above); nothing predicted"
        )
    return 0


def _loader_workers(n: int) -> int:
    """`--workers n` (0: all cores, 1: in this process) -> DataLoader `num_workers` (0: in-process)."""
    return 0 if n == 1 else worker_processes(n)
