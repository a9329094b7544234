"""`eventsnn config list | show | copy`: the shipped configs and resolved configs.

* `config list`: the names of the shipped configs (usable as `-c NAME` by every job);
* `config show [FILE|NAME|CHECKPOINT] [--set ...] [a.b=c ...]`: the resolved config as YAML
  (a checkpoint's stored config when given a checkpoint);
* `config copy NAME DEST`: a shipped config (and the configs its `base:` chain reads) into
  `DEST`, to start one's own.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from eventsnn.commands._common import add_override_arguments, collect_overrides
from eventsnn.config import dump_yaml, load_config
from eventsnn.config.packaged import list_packaged_configs, packaged_config_dir, resolve_config_path
from eventsnn.errors import ArgumentError

COMMAND = "config"
HELP = "the shipped configs (list, copy) and resolved configs (show, also from a checkpoint)"

_CHECKPOINT_MAGIC = (b"PK\x03\x04", b"\x80")  # torch.save: a zip archive, or a legacy pickle


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("list", help="the shipped configs, by name (use as -c NAME)")
    show = sub.add_parser("show", help="print the resolved config as YAML")
    show.add_argument(
        "file",
        nargs="?",
        default=None,
        help="config file, shipped config name or checkpoint (omit: the defaults)",
    )
    add_override_arguments(show)
    copy = sub.add_parser("copy", help="copy a shipped config (with its base files) into a folder")
    copy.add_argument("name", help="shipped config name (see `eventsnn config list`)")
    copy.add_argument("dest", help="destination folder (created when missing)")


def is_checkpoint_file(path: str | Path) -> bool:
    """Whether `path` is a file written by `torch.save` (zip or legacy pickle), not YAML text."""
    p = Path(path)
    if not p.is_file():
        return False
    with open(p, "rb") as fh:
        head = fh.read(4)
    return any(head.startswith(magic) for magic in _CHECKPOINT_MAGIC)


def _show(args: argparse.Namespace) -> int:
    overrides = collect_overrides(args)
    if args.file is not None and "=" in args.file and not Path(args.file).exists():
        args.file, overrides = None, [args.file, *overrides]  # `config show a.b=c`: no file
    if args.file is not None and is_checkpoint_file(args.file):
        from eventsnn.checkpoint import Checkpoint

        cfg = Checkpoint.load(args.file).config(overrides)
    else:
        cfg = load_config(args.file, overrides)
    print(dump_yaml(cfg), end="")
    return 0


def _list() -> int:
    names = list_packaged_configs()
    print(f"shipped configs in {packaged_config_dir()} (use as -c NAME):")
    for name in names:
        print(f"  {name}")
    return 0


def _base_chain(path: Path) -> list[Path]:
    """`path` and every file its `base:` keys read, in order."""
    import yaml

    chain = [path]
    while True:
        raw = yaml.safe_load(chain[-1].read_text(encoding="utf-8")) or {}
        base = raw.get("base") if isinstance(raw, dict) else None
        if not isinstance(base, str):
            return chain
        nxt = (chain[-1].parent / base).resolve()
        if nxt in chain or not nxt.is_file():
            return chain
        chain.append(nxt)


def _copy(args: argparse.Namespace) -> int:
    source = resolve_config_path(args.name)
    root = packaged_config_dir().resolve()
    if not source.resolve().is_relative_to(root):
        raise ArgumentError(f"{args.name}: not a shipped config (`eventsnn config list` shows them)")
    dest = Path(args.dest)
    copied = []
    for path in _base_chain(source.resolve()):
        target = dest / path.relative_to(root)
        if target.exists():
            raise ArgumentError(f"{target}: already exists; choose another destination")
        copied.append((path, target))
    for path, target in copied:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        print(f"wrote {target}")
    print(f"train with: eventsnn train -c {copied[0][1]}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        return _list()
    if args.action == "copy":
        return _copy(args)
    return _show(args)
