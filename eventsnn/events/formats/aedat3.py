"""AEDAT 3.1 (`#!AER-DAT3.1`, DVS128 Gesture's original files): `#` header lines ending with
`#!END-HEADER`, then packets. Each packet: a 28-byte little-endian header (int16 event type,
int16 source, int32 event size, int32 ts offset, int32 ts overflow, int32 capacity, int32 number,
int32 valid) and capacity x size bytes of events. Polarity events (type 1, 8 bytes): uint32 data
(bit 0 valid, bit 1 p, bits 16..2 y, bits 31..17 x), int32 t; t += ts_overflow << 31. Other
packet types are skipped, invalid events dropped. Spec: inivation docs, "AEDAT 3.1".
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from eventsnn.events.formats._base import EVENT_DTYPE, EventFile, Format, ReadOptions, bad

MAGIC = b"#!AER-DAT3"
PACKET_HEADER = np.dtype(
    [("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"), ("ts_overflow", "<i4"),
     ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")]
)  # fmt: skip
POLARITY = 1


def _header(path: Path) -> tuple[int, str]:
    text = []
    with open(path, "rb") as f:
        while True:
            line = f.readline()
            if not line.startswith(b"#"):
                raise bad(path, f"byte {f.tell() - len(line)}: the header has no '#!END-HEADER' line")
            text.append(line.decode("latin-1"))
            if line.startswith(b"#!END-HEADER"):
                return f.tell(), "".join(text)


def _sensor(text: str):
    return (128, 128, 2) if re.search(r"DVS128", text) else None


def _read(path: Path, options: ReadOptions) -> EventFile:
    start, text = _header(path)
    buf = np.fromfile(path, dtype=np.uint8, offset=start)
    parts = []
    at = 0
    while at < len(buf):
        if at + 28 > len(buf):
            raise bad(
                path,
                f"truncated at byte {start + len(buf)}: packet header at byte {start + at} needs 28 bytes",
            )
        h = buf[at : at + 28].view(PACKET_HEADER)[0]
        size, cap = int(h["size"]), int(h["capacity"])
        if size <= 0 or cap < 0:
            raise bad(path, f"byte {start + at}: packet header with event size {size}, capacity {cap}")
        end = at + 28 + size * cap
        if end > len(buf):
            raise bad(
                path,
                f"truncated at byte {start + len(buf)}: packet at byte {start + at} needs {end - at} bytes",
            )
        if h["type"] == POLARITY:
            if size != 8:
                raise bad(path, f"byte {start + at}: polarity packet with {size}-byte events (expected 8)")
            words = buf[at + 28 : end].view("<u4")
            data, ts = words[0::2], words[1::2]
            keep = (data & 1) == 1
            data, ts = data[keep], ts[keep]
            ev = np.empty(len(data), EVENT_DTYPE)
            ev["t"] = ts.astype(np.int64) | (np.int64(int(h["ts_overflow"])) << 31)
            ev["x"] = (data >> 17) & 0x7FFF
            ev["y"] = (data >> 2) & 0x7FFF
            ev["p"] = (data >> 1) & 1
            parts.append(ev)
        at = end
    ev = np.concatenate(parts) if parts else np.empty(0, EVENT_DTYPE)
    return EventFile(ev, _sensor(text), "aedat3")


FORMAT = Format(
    "aedat3",
    "AEDAT 3.1 (.aedat, polarity packets)",
    (".aedat",),
    lambda head, path: head.startswith(MAGIC),
    _read,
    header=lambda path: _sensor(_header(path)[1]),
)
