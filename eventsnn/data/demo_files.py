"""Which files under a demo-data folder `eventsnn demo-data` wrote (and so may replace).

`demo-data` never deletes a file it did not write. Before it writes anything it lists every file
it is about to write in a marker file, `DEMO_FILES.txt` (one path per line, relative to the root);
a later run (`--force`, other parameters, a partial folder) deletes only the files listed there,
and writes beside any other file. A folder holding files but no marker was not made by
`demo-data` and is refused, with one line naming what is there. Folders written by eventsnn 0.1
(before the marker) are recognised by their `MANIFEST.json`: the recordings it counts are theirs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from eventsnn.errors import ArgumentError
from eventsnn.utils.io import atomic_write_text

MARKER = "DEMO_FILES.txt"
MANIFEST = "MANIFEST.json"
_HEADER = "# files written by `eventsnn demo-data`; --force replaces only these (one per line)\n"


def _entries(root: Path) -> list[str]:
    """Top-level names under `root` (folders end in '/'), sorted."""
    return sorted(e.name + ("/" if e.is_dir() else "") for e in os.scandir(root))


def _all_files(root: Path) -> set[str]:
    """Every non-folder entry under `root` (symlinks not followed), as root-relative POSIX paths."""
    found: set[str] = set()
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root)
        found.update((rel / name).as_posix() for name in files)
        found.update((rel / d).as_posix() for d in dirs if (Path(folder) / d).is_symlink())
    return found


def _legacy_owned(root: Path) -> set[str] | None:
    """The files an eventsnn 0.1 `demo-data` run wrote, from its MANIFEST.json; None if not one."""
    try:
        manifest = json.loads((root / MANIFEST).read_text())
        per_class = [int(n) for n in manifest["per_class"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if manifest.get("source") != "sklearn.datasets.load_digits":
        return None
    return {f"{c}/{c}_{k:04d}.aedat4" for c, n in enumerate(per_class) for k in range(n)} | {MANIFEST}


def read_marker(root: Path) -> set[str]:
    """The paths listed in `root/DEMO_FILES.txt` (the marker and the manifest included)."""
    lines = (root / MARKER).read_text().splitlines()
    return {line for line in lines if line and not line.startswith("#")} | {MARKER, MANIFEST}


def owned_files(root: Path) -> set[str]:
    """The root-relative paths `demo-data` wrote under `root`; refuses a folder it did not make.

    Raises:
        ArgumentError: `root` is a file, or a non-empty folder without the marker (nor a manifest
            of an earlier demo-data), naming what is there.
    """
    if root.is_file():
        raise ArgumentError(f"{root} is a file, not a folder; give a new or empty folder for the demo data")
    if not root.is_dir() or not any(root.iterdir()):
        return set()
    if (root / MARKER).is_file():
        return read_marker(root)
    legacy = _legacy_owned(root)
    if legacy is not None:
        return legacy
    entries = _entries(root)
    shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    raise ArgumentError(
        f"{root} is not empty and was not written by demo-data (it holds {shown}); nothing was "
        "changed: give a new or empty folder for the demo data"
    )


def prepare_folder(root: Path, planned: Iterable[str]) -> list[str]:
    """Make `root` ready for writing `planned` (root-relative paths): delete only files this tool
    wrote before, record `planned` in the marker first; return the other files, which are kept.

    Raises:
        ArgumentError: the folder is not demo-data's (see `owned_files`), or a file demo-data did
            not write sits where a planned file goes; nothing is deleted then.
    """
    owned = owned_files(root)
    planned = set(planned)
    foreign = _all_files(root) - owned if root.is_dir() else set()
    clash = sorted(foreign & planned)
    if clash:
        raise ArgumentError(
            f"{root / clash[0]} was not written by demo-data and is where a demo recording goes"
            f"{f' ({len(clash)} such files)' if len(clash) > 1 else ''}; nothing was changed: move it "
            "or give another folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    # the marker lists old and new files until the new set is complete: a crash in between
    # leaves every file demo-data wrote still listed, and nothing else
    write_marker(root, (owned | planned) - {MARKER, MANIFEST})
    for rel in sorted(owned - {MARKER}):
        path = root / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
    return sorted(foreign)


def write_marker(root: Path, files: Iterable[str]) -> None:
    """Write `root/DEMO_FILES.txt` listing `files` (root-relative), atomically."""
    atomic_write_text(root / MARKER, _HEADER + "".join(f"{rel}\n" for rel in sorted(files)))
