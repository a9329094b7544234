"""What Prophesee files (`.raw` EVT 2.0 / 3.0, `.dat`) share: the `%` text header, the word
stream of a `.raw` file, and the `Format` of an EVT kind.

Header lines look like `% evt 3.0`, `% format EVT3;width=1280;height=720`, `% geometry 640x480`,
`% Width 640`, `% Height 480`, and may end with `% end`. The binary data start right after the
last header line (for `.dat`: a 2-byte event type / event size pair comes first).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eventsnn.events.formats._base import EventFile, Format, SensorSize, bad

MAX_HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class PropheseeHeader:
    """Parsed header: `kind` "evt2", "evt21", "evt3" or None (not stated), sensor or None,
    `data_start` the byte offset of the first binary byte."""

    kind: str | None
    sensor_size: SensorSize | None
    data_start: int
    fields: dict[str, str]


def _kind(fields: dict[str, str]) -> str | None:
    fmt = fields.get("format", "").split(";")[0].strip().upper()
    evt = fields.get("evt", "").strip()
    if fmt in ("EVT2", "EVT21", "EVT3") or evt in ("2.0", "2.1", "3.0"):
        return {"EVT2": "evt2", "EVT21": "evt21", "EVT3": "evt3"}.get(
            fmt, {"2.0": "evt2", "2.1": "evt21", "3.0": "evt3"}.get(evt)
        )
    return None


def _sensor(fields: dict[str, str]) -> SensorSize | None:
    fmt = fields.get("format", "")
    kv = dict(part.split("=", 1) for part in fmt.split(";")[1:] if "=" in part)
    w, h = kv.get("width"), kv.get("height")
    if w is None and "geometry" in fields:
        m = re.fullmatch(r"\s*(\d+)\s*x\s*(\d+)\s*", fields["geometry"])
        if m:
            w, h = m.group(1), m.group(2)
    if w is None:
        w, h = fields.get("width"), fields.get("height")
    try:
        return (int(w), int(h), 2) if w is not None and h is not None else None
    except ValueError:
        return None


def read_header(path: Path) -> PropheseeHeader:
    """Parse the `%` lines at the start of `path` (DataError if the header never ends)."""
    fields: dict[str, str] = {}
    with open(path, "rb") as f:
        while True:
            at = f.tell()
            if f.read(1) != b"%":
                f.seek(at)
                break
            line = f.readline()
            if not line.endswith(b"\n"):
                raise bad(path, f"truncated at byte {f.tell()}: the '%' header line has no end")
            if f.tell() > MAX_HEADER_BYTES:
                raise bad(path, f"header longer than {MAX_HEADER_BYTES} bytes (not a Prophesee file?)")
            text = line.decode("latin-1").strip()
            if text.lower() == "end":
                break
            key, _, value = text.partition(" ")
            fields.setdefault(key.lower(), value.strip())
        start = f.tell()
    return PropheseeHeader(_kind(fields), _sensor(fields), start, fields)


def check_sensor_fits(path, header: PropheseeHeader, max_coord: int) -> None:
    """A header sensor wider than the format can address is a lying header."""
    s = header.sensor_size
    if s is not None and (s[0] <= 0 or s[1] <= 0 or s[0] > max_coord or s[1] > max_coord):
        raise bad(path, f"header declares sensor {s[0]}x{s[1]}, outside 1..{max_coord} of this format")


def header_sensor(path: Path) -> SensorSize | None:
    """The sensor the header declares (None: not declared)."""
    return read_header(path).sensor_size


def raw_words(path: Path, dtype: str, chunk_words: int, what: str) -> Iterator[np.ndarray]:
    """The data words (little-endian `dtype`, e.g. "<u4") of a `.raw` file after its header, in
    chunks of at most `chunk_words`; a sensor beyond 2048 (11-bit addresses) or a part word at the
    end is a `DataError` naming `what` (e.g. "EVT 2.0")."""
    header = read_header(path)
    check_sensor_fits(path, header, 2048)
    nbytes = np.dtype(dtype).itemsize
    end = path.stat().st_size
    size = end - header.data_start
    if size % nbytes:
        raise bad(path, f"truncated at byte {end - size % nbytes}: {what} words are {nbytes} bytes")
    left = size // nbytes
    with open(path, "rb") as f:
        f.seek(header.data_start)
        while left > 0:
            words = np.fromfile(f, dtype=dtype, count=min(chunk_words, left))
            left -= len(words)
            yield words


def raw_format(
    kind: str,
    description: str,
    read_all: Callable[[Path], np.ndarray],
    chunks: Callable[[Path, int], Iterator[np.ndarray]],
) -> Format:
    """The `Format` of the EVT `kind` ("evt2", "evt3"): a `.raw` file whose `%` header names that
    kind, decoded whole by `read_all(path)` or in `chunks(path, n)`."""

    def read(path: Path, options) -> EventFile:
        return EventFile(read_all(path), header_sensor(path), kind)

    def sniff(head: bytes, path: Path) -> bool:
        return head.startswith(b"%") and read_header(path).kind == kind

    return Format(kind, description, (".raw",), read, sniff=sniff, header=header_sensor, chunks=chunks)
