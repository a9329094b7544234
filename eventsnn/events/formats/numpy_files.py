"""NumPy `.npy` / `.npz` event files.

Read by field name, never by guessing a column order:
  * a structured array with fields t/x/y/p (tonic's dtype; aliases ts/timestamp, pol/polarity/on);
  * an `.npz` with arrays t, x, y, p (spikingjelly's `events_np`), or a structured array under
    `event_data` (N-ImageNet), `events` or a single member;
  * an unnamed `[N, 4]` array only with `ReadOptions.columns` (e.g. x, y, p, t for tonic's DVS128
    Gesture `.npy`, whose t is in ms: `time_scale=1000`).
Every value is range-checked before it is narrowed (`to_checked_events`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from eventsnn.events.formats._base import EventFile, Format, ReadOptions, bad, to_checked_events

ALIASES = {"t": ("t", "ts", "timestamp"), "x": ("x",), "y": ("y",), "p": ("p", "pol", "polarity", "on")}
NPZ_KEYS = ("event_data", "events", "arr_0")


def _named(path, names, get, options: ReadOptions) -> np.ndarray | None:
    cols = {}
    for field, aliases in ALIASES.items():
        found = next((a for a in aliases if a in names), None)
        if found is None:
            return None
        cols[field] = np.asarray(get(found)).reshape(-1)
    return to_checked_events(path, cols["t"], cols["x"], cols["y"], cols["p"], time_scale=options.time_scale)


def _from_array(path, a: np.ndarray, options: ReadOptions) -> np.ndarray:
    if a.dtype.names:
        ev = _named(path, a.dtype.names, lambda k: a[k], options)
        if ev is None:
            raise bad(path, f"structured array has fields {a.dtype.names}; expected t, x, y, p")
        return ev
    if a.ndim != 2 or a.shape[1] != 4:
        raise bad(path, f"expected a structured event array or an [N, 4] array, got shape {a.shape}")
    cols = options.columns
    if cols is None:
        raise bad(
            path,
            "an unnamed [N, 4] array: the column order is not stated in the file; give it "
            "(data.columns, e.g. x,y,p,t; or inspect --columns)",
        )
    if sorted(cols) != ["p", "t", "x", "y"]:
        raise bad(path, f"columns {cols}: give each of t, x, y, p once")
    c = {name: a[:, i] for i, name in enumerate(cols)}
    return to_checked_events(path, c["t"], c["x"], c["y"], c["p"], time_scale=options.time_scale)


def _read(path: Path, options: ReadOptions) -> EventFile:
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise bad(
            path, f"corrupt or truncated NumPy file ({str(exc).strip() or type(exc).__name__})"
        ) from None
    if isinstance(loaded, np.ndarray):
        return EventFile(_from_array(path, loaded, options), None, "npy")
    with loaded as z:
        try:
            ev = _named(path, z.files, lambda k: z[k], options)
            if ev is None:
                key = next((k for k in NPZ_KEYS if k in z.files), z.files[0] if len(z.files) == 1 else None)
                if key is None:
                    raise bad(path, f".npz has arrays {z.files}; expected t, x, y, p or one of {NPZ_KEYS}")
                ev = _from_array(path, z[key], options)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise bad(path, f"corrupt or truncated .npz ({exc})") from None
    return EventFile(ev, None, "npz")


FORMAT_NPY = Format("npy", "NumPy .npy (named fields, or [N,4] with columns)", (".npy",), _read, b"\x93NUMPY")


def _sniff_npz(head: bytes, path: Path) -> bool:
    return head.startswith(b"PK\x03\x04") and path.suffix.lower() == ".npz"


FORMAT_NPZ = Format("npz", "NumPy .npz (t/x/y/p arrays, event_data)", (".npz",), _read, sniff=_sniff_npz)
