"""HDF5 event files (h5py).

Layouts read (first match wins):
  * DSEC: `events/{x,y,t,p}` (t in us relative to the scalar `t_offset`, which is added;
    `ms_to_idx` is an index the reader does not need);
  * `events/{xs,ys,ts,ps}` (events_contrast_maximization / E2VID; ts in seconds);
  * `x, y, t, p` at the root;
  * a compound dataset with named fields t/x/y/p: `events`, or Prophesee's `CD/events`.
Prophesee's own `.hdf5` files compress `CD/events` with the ECF codec (HDF5 filter 36559), which
h5py cannot decode without Prophesee's plugin: such a file is refused in one line saying so.
The sensor is read from attributes `width`/`height` or `sensor_resolution` ([H, W]) when present.
"""

from __future__ import annotations

from pathlib import Path

from eventsnn.events.formats._base import EventFile, Format, ReadOptions, bad, to_checked_events

MAGIC = b"\x89HDF\r\n\x1a\n"
ECF_FILTER = 36559
ECF_HINT = (
    "Prophesee's ECF-compressed HDF5 (filter 36559) needs Prophesee's ECF HDF5 plugin (OpenEB's "
    "hdf5_ecf, found through HDF5_PLUGIN_PATH); or convert the recording to EVT3 .raw / .dat"
)


def _sensor(f) -> tuple[int, int, int] | None:
    for obj in (f, f.get("events"), f.get("CD")):
        if obj is None:
            continue
        a = obj.attrs
        if "width" in a and "height" in a:
            return (int(a["width"]), int(a["height"]), 2)
        if "sensor_resolution" in a:
            h, w = (int(v) for v in a["sensor_resolution"][:2])
            return (w, h, 2)
    return None


def _columns(f, path):
    """(t, x, y, p, time_scale, t_offset) of the first layout found, or raise."""
    g = f.get("events")
    if isinstance(g, _group_type()) and all(k in g for k in "xytp"):
        off = int(f["t_offset"][()]) if "t_offset" in f else 0
        return g["t"], g["x"], g["y"], g["p"], 1.0, off
    if isinstance(g, _group_type()) and all(k in g for k in ("xs", "ys", "ts", "ps")):
        return g["ts"], g["xs"], g["ys"], g["ps"], 1e6, 0
    if all(k in f for k in "xytp"):
        return f["t"], f["x"], f["y"], f["p"], 1.0, 0
    for name in ("events", "CD/events"):
        d = f.get(name)
        if d is not None and not isinstance(d, _group_type()) and d.dtype.names:
            if ECF_FILTER in _filters(d):
                raise bad(path, f"{name}: {ECF_HINT}")
            return d, None, None, None, 1.0, 0
    raise bad(path, "HDF5 layout not recognised: expected events/{x,y,t,p} (DSEC), events/{xs,ys,ts,ps}, "
                    "x/y/t/p at the root, or a compound 'events' / 'CD/events' dataset")  # fmt: skip


def _group_type():
    import h5py

    return h5py.Group


def _filters(d) -> set[int]:
    try:
        plist = d.id.get_create_plist()
        return {plist.get_filter(i)[0] for i in range(plist.get_nfilters())}
    except Exception:
        return set()


def _read(path: Path, options: ReadOptions) -> EventFile:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            t, x, y, p, scale, offset = _columns(f, path)
            try:
                if x is None:
                    a = t[()]
                    names = a.dtype.names
                    tk = next(k for k in ("t", "ts", "timestamp") if k in names)
                    pk = next(k for k in ("p", "pol", "polarity", "on") if k in names)
                    t, x, y, p = a[tk], a["x"], a["y"], a[pk]
                else:
                    t, x, y, p = t[()], x[()], y[()], p[()]
            except OSError as exc:
                if "filter" in str(exc).lower():
                    raise bad(path, ECF_HINT) from None
                raise
            sensor = _sensor(f)
    except (OSError, KeyError, StopIteration) as exc:
        raise bad(path, f"corrupt or unreadable HDF5 ({str(exc).strip() or type(exc).__name__})") from None
    ev = to_checked_events(path, t, x, y, p, time_scale=scale * options.time_scale)
    if offset:
        ev["t"] += offset
    return EventFile(ev, sensor, "hdf5")


def _header(path: Path):
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return _sensor(f)
    except OSError:
        return None


FORMAT = Format("hdf5", "HDF5 (DSEC events/{x,y,t,p}, compound events)", (".h5", ".hdf5"), _read, MAGIC,
                header=_header)  # fmt: skip
