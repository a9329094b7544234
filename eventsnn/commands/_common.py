"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from eventsnn.config import RunConfig, load_config


def add_config_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """`-c/--config FILE|NAME` and the overrides of `add_override_arguments`."""
    helptext = (
        "YAML config file or shipped config name (`eventsnn config list`)"
        if required
        else "YAML config file or shipped config name (default: the config stored in the checkpoint)"
    )
    parser.add_argument("-c", "--config", required=required, metavar="FILE", help=helptext)
    add_override_arguments(parser)


def add_override_arguments(parser: argparse.ArgumentParser) -> None:
    """Repeated `--set section.key=value`; a bare `section.key=value` argument means the same
    (Hydra style, collected by `eventsnn.cli.main` into `args.extra_overrides`)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override one config field (repeatable), e.g. --set train.epochs=2 or just train.epochs=2",
    )


def add_run_options(parser: argparse.ArgumentParser, *, out_help: str | None = None) -> None:
    """`--device`, `--precision` and (with `out_help`) `--out`: the same meaning on every job that
    runs a model. `--device`/`--precision` set `train.device`/`train.precision`."""
    if out_help is not None:
        parser.add_argument("--out", metavar="DIR", help=out_help)
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        help="auto, cpu, cuda or cuda:N (sets train.device; default: the config's, normally auto)",
    )
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16", "fp16", "auto"),
        help="autocast precision (sets train.precision; default: the config's)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="torch CPU threads (default: torch's, one per core; stream: 1). On a machine busy with "
        "other work, fewer threads than cores can be many times faster",
    )


def apply_threads(threads: int | None) -> None:
    """`--threads N`: torch's intra-op CPU threads for this process (None: leave torch's default)."""
    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))


def collect_overrides(args: argparse.Namespace) -> list[str]:
    """Every config override of the command line, in the order they apply: `--set` items,
    bare `a.b=c` items, then `--device` and `--precision`."""
    items = [*getattr(args, "overrides", []), *getattr(args, "extra_overrides", [])]
    if getattr(args, "device", None):
        items.append(f"train.device={args.device}")
    if getattr(args, "precision", None):
        items.append(f"train.precision={args.precision}")
    return items


def add_workers_argument(parser: argparse.ArgumentParser, *, default: int | None, what: str) -> None:
    """`--workers N`, the same meaning in every command: N processes doing `what` (0: all cores,
    1: in this process)."""
    shown = "the config's data.preprocess_workers" if default is None else str(default)
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        default=default,
        metavar="N",
        help=f"processes {what} (0: all cores, 1: in this process; default {shown})",
    )


def worker_processes(n: int) -> int:
    """The number of processes `--workers n` means (0: all cores)."""
    import os

    return n or os.cpu_count() or 1


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


def stopped(args: argparse.Namespace, stop: Exception, how_to_continue: str) -> int:
    """A run stopped on request after writing its checkpoint (`StopRequested`): one line that says
    how to continue, and exit code 130."""
    print(f"eventsnn {args.command}: {stop}; {how_to_continue}")
    return 130


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Load the config named on the command line with its overrides (`collect_overrides`)."""
    return load_config(args.config, collect_overrides(args))


def config_for_checkpoint(args: argparse.Namespace, checkpoint: str) -> RunConfig:
    """`-c FILE` when given, else the resolved config stored in `checkpoint`; `--set` applies to either."""
    if args.config:
        return config_from_args(args)
    from eventsnn.checkpoint import Checkpoint

    return Checkpoint.load(checkpoint).config(collect_overrides(args))


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """`--checkpoint`, optional `-c/--set` (non-model parts), `--device`, `--precision` (predict, stream)."""
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="training checkpoint (.pt)")
    add_config_arguments(parser, required=False)
    add_run_options(parser)


def inference_model_from_args(args: argparse.Namespace):
    """The `InferenceModel` of `add_inference_arguments`' options."""
    from eventsnn.inference import load_inference_model

    return load_inference_model(
        args.checkpoint,
        config=args.config,
        overrides=[*args.overrides, *getattr(args, "extra_overrides", [])],
        device=args.device or "auto",
        precision=args.precision,
    )


def add_checkpoint_job_arguments(
    parser: argparse.ArgumentParser, *, what: str, subfolder: str, several: bool = True
) -> None:
    """Optional `-c/--set`, `--device/--precision`, `--checkpoint` and `--out DIR` of the jobs on
    trained checkpoints; `checkpoint_job_setup` reads them. `several`: a repeated `--checkpoint
    [LABEL=]PATH` (robustness, analyze), else one `--checkpoint PATH` (evaluate)."""
    add_config_arguments(parser, required=False)
    add_run_options(parser)
    if several:
        parser.add_argument(
            "--checkpoint",
            dest="checkpoints",
            action="append",
            required=True,
            metavar="[LABEL=]PATH",
            help=f"{what} (repeatable; label defaults to the file stem or its run folder); "
            "without -c the first checkpoint's stored config is used",
        )
    else:
        parser.add_argument("--checkpoint", required=True, metavar="PATH", help=what)
    first = "the first checkpoint's" if several else "the checkpoint's"
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"output folder (default: <run directory of -c, else {first} folder>"
        + (f"/{subfolder})" if subfolder else ")"),
    )
    add_allow_changes_argument(parser)


def add_allow_changes_argument(parser: argparse.ArgumentParser) -> None:
    """`--allow-changes KEY ...` of the jobs on trained checkpoints (evaluate, analyze, robustness)."""
    parser.add_argument(
        "--allow-changes",
        nargs="+",
        default=[],
        metavar="KEY",
        help="framing / model settings (section.key) that may differ from the checkpoint's (a warning "
        "with both values is printed); others are refused",
    )


def check_checkpoint_settings(args: argparse.Namespace, cfg: RunConfig, checkpoints) -> None:
    """Refuse (one line) framing / model settings of `cfg` that differ from those each checkpoint
    was trained with, unless `--allow-changes` names them; then print one warning per change."""
    from eventsnn.checkpoint import Checkpoint
    from eventsnn.engine.runfolder import refuse_changes

    for path in checkpoints:
        stored = Checkpoint.load(path).config_dict
        for key, old, new in refuse_changes("input", stored, cfg, args.allow_changes, where=path):
            print(
                f"{args.command}: warning: {key} is {new} here, {old} in training ({path}); "
                "the numbers measure another setup than the one trained"
            )


def checkpoint_job_setup(args: argparse.Namespace, subfolder: str, paths: list[Path] | None = None):
    """(config, output folder) of a job on checkpoints (`paths`, default: the `--checkpoint`s):
    the config of `-c` or of the first checkpoint, checked against each checkpoint's settings;
    `--out`, else `<run directory of -c, or the first checkpoint's folder>/<subfolder>`."""
    from eventsnn.engine.jobs import run_dir_for
    from eventsnn.robustness.checkpoints import parse_checkpoint_arg

    if paths is None:
        paths = [parse_checkpoint_arg(arg)[1] for arg in args.checkpoints]
    first = paths[0]
    cfg = config_for_checkpoint(args, str(first))
    check_checkpoint_settings(args, cfg, [p for p in paths if p.is_file()])  # missing: the job says
    from eventsnn.commands._outputs import require_writable_dir

    out = (
        Path(args.out)
        if args.out
        else (run_dir_for(cfg, args.config) if args.config else first.parent) / subfolder
    )
    return cfg, require_writable_dir(out, "--out" if args.out else "the output folder")
