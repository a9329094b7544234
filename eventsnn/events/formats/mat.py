"""MATLAB `.mat` (v5) event files as ASL-DVS ships them: variables ts, x, y, pol (column vectors),
read with scipy.io. The file does not state its sensor (ASL-DVS: 240 x 180); a data set's
orientation (spikingjelly: x' = 239 - x, y' = 179 - y) is applied by its data set module.
"""

from __future__ import annotations

from pathlib import Path

from eventsnn.events.formats._base import EventFile, Format, ReadOptions, bad, to_checked_events

MAGIC = b"MATLAB 5.0 MAT-file"
NAMES = {"t": ("ts", "t", "timestamp"), "x": ("x",), "y": ("y",), "p": ("pol", "p", "polarity")}


def _read(path: Path, options: ReadOptions) -> EventFile:
    import scipy.io

    try:
        m = scipy.io.loadmat(str(path))
    except Exception as exc:
        raise bad(path, f"corrupt or truncated .mat ({str(exc).strip() or type(exc).__name__})") from None
    cols = {}
    for field, names in NAMES.items():
        found = next((n for n in names if n in m), None)
        if found is None:
            keys = sorted(k for k in m if not k.startswith("__"))
            raise bad(path, f"no {'/'.join(names)} variable (has {', '.join(keys)})")
        cols[field] = m[found].reshape(-1)
    ev = to_checked_events(path, cols["t"], cols["x"], cols["y"], cols["p"], time_scale=options.time_scale)
    return EventFile(ev, None, "mat")


FORMAT = Format("mat", "MATLAB v5 .mat (ts, x, y, pol; ASL-DVS)", (".mat",), _read, MAGIC)
