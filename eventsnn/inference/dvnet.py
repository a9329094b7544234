"""A bounded client of dv-processing's network event stream (AEDAT 4 over TCP), in plain Python.

What a `dv.io.NetworkWriter` (or a DV camera server) sends to each client, little-endian:

    header   int32 n, then n bytes: a flatbuffer `IOHeader` (identifier "IOHE") whose `infoNode`
             string is XML describing the streams: id, typeIdentifier ("EVTS" for events),
             compression, sizeX, sizeY
    packets  int32 stream id, int32 n, then n bytes: a size-prefixed flatbuffer; for events
             (identifier "EVTS") a table whose field 0 is a vector of 16-byte structs
             {int64 t (us); int16 x; int16 y; uint8 polarity; 3 padding bytes}

Why not `dv.io.NetworkReader`: it blocks inside C++ while holding Python's GIL (a peer that
accepts and stalls freezes the whole process until it closes), and it sizes its buffers from
whatever 4 bytes a peer sends (random bytes grew memory to several GB). Here every read has a
deadline (`timeout`, connect and handshake included), the first 12 bytes decide whether the peer
speaks this protocol, a header is at most `HEADER_MAX` bytes and a packet at most `PACKET_MAX`.
Compressed streams (LZ4, ZSTD) are refused with one line: set the sender's compression to NONE.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np

from eventsnn.errors import DataError
from eventsnn.events.io import EVENT_DTYPE

HEADER_MAX = 1 << 20  # bytes of the stream header (a few hundred in practice)
PACKET_MAX = 16 << 20  # bytes of one packet: 1M events
WIRE_EVENT = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1"), ("_pad", "V3")])
_POLL_S = 0.1  # how often a blocked read looks at the stop flag


class StreamEnded(Exception):
    """The peer closed the connection, stalled for `timeout` s, or the reader was stopped."""


def _u32(buf: bytes, at: int) -> int:
    if at < 0 or at + 4 > len(buf):
        raise DataError("flatbuffer offset outside the packet")
    return struct.unpack_from("<I", buf, at)[0]


def _field(buf: bytes, table: int, index: int) -> int | None:
    """Absolute position of field `index` of the flatbuffer table at `table`, None if absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    if vtable < 0 or vtable + 4 > len(buf):
        raise DataError("flatbuffer vtable outside the packet")
    size = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * index
    if slot + 2 > size or vtable + slot + 2 > len(buf):
        return None
    off = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + off if off else None


def parse_header(buf: bytes) -> dict[int, dict[str, str]]:
    """`IOHeader` flatbuffer -> {stream id: its XML attributes (typeIdentifier, compression, sizeX...)}."""
    if len(buf) < 8 or buf[4:8] != b"IOHE":
        raise DataError("not a dv-processing stream header (no 'IOHE' identifier)")
    try:
        root = _u32(buf, 0)
        at = _field(buf, root, 2)  # infoNode: string
        if at is None:
            raise DataError("the stream header has no stream description")
        start = at + _u32(buf, at)
        xml = bytes(buf[start + 4 : start + 4 + _u32(buf, start)]).decode("utf-8")
        tree = ET.fromstring(xml)
    except (struct.error, UnicodeDecodeError, ET.ParseError) as exc:
        raise DataError(f"unreadable stream header ({exc})") from None
    streams: dict[int, dict[str, str]] = {}
    for node in tree.iter("node"):
        parts = (node.get("path") or "").strip("/").split("/")
        if len(parts) == 2 and parts[0] == "outInfo" and parts[1].isdigit():
            streams[int(parts[1])] = {a.get("key", ""): (a.text or "") for a in node.iter("attr")}
    return streams


def parse_events(payload: bytes) -> np.ndarray:
    """One size-prefixed `EVTS` packet -> events (`EVENT_DTYPE`)."""
    if len(payload) < 12 or payload[8:12] != b"EVTS":
        raise DataError("an event packet without the 'EVTS' identifier")
    buf = memoryview(payload)[4:]
    try:
        root = _u32(buf, 0)
        at = _field(buf, root, 0)
        if at is None:
            return np.empty(0, dtype=EVENT_DTYPE)
        vec = at + _u32(buf, at)
        n = _u32(buf, vec)
    except struct.error as exc:
        raise DataError(f"unreadable event packet ({exc})") from None
    if vec + 4 + n * WIRE_EVENT.itemsize > len(buf):
        raise DataError(f"an event packet claims {n} events, more than its {len(buf)} bytes hold")
    wire = np.frombuffer(buf, dtype=WIRE_EVENT, count=n, offset=vec + 4)
    ev = np.empty(n, dtype=EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = wire["t"], wire["x"], wire["y"], wire["p"] != 0
    return ev


class DvNetworkClient:
    """Connect to `host:port`, read and check the header; then `next_events()` per packet.

    Raises (constructor):
        DataError: no connection within `timeout` s, no header within `timeout` s, a peer that
            does not speak the protocol (decided on its first 12 bytes), no event stream, or a
            compressed one.
    """

    def __init__(self, host: str, port: int, *, timeout: float, address: str = "") -> None:
        self.address = address or f"tcp://{host}:{port}"
        self.timeout = float(timeout)
        self.stop_flag = threading.Event()
        self.last_data = time.perf_counter()
        try:
            self.sock = socket.create_connection((host, port), timeout=self.timeout)
        except TimeoutError:
            raise DataError(f"{self.address}: cannot connect (no answer within {self.timeout:g} s)") from None
        except OSError as exc:
            raise DataError(f"{self.address}: cannot connect ({exc.strerror or exc})") from None
        self.sock.settimeout(min(_POLL_S, self.timeout))
        try:
            self.stream_id, self.sensor_size = self._handshake()
        except BaseException:
            self.close()
            raise

    def _handshake(self) -> tuple[int, tuple[int, int, int]]:
        try:
            first = self._read(12, "the stream header")
        except StreamEnded as end:
            raise DataError(f"{self.address}: {self._no_header(end)}") from None
        n = struct.unpack_from("<i", first)[0]
        if not 12 <= n <= HEADER_MAX or first[8:12] != b"IOHE":
            raise DataError(
                f"{self.address}: the peer does not speak dv-processing's network protocol (its first 12 "
                f"bytes are {first.hex()}; expected a header size and 'IOHE'); nothing more was read"
            )
        try:
            streams = parse_header(first[4:] + self._read(n - 8, "the stream header"))
        except StreamEnded as end:
            raise DataError(f"{self.address}: {self._no_header(end)}") from None
        except DataError as exc:
            raise DataError(f"{self.address}: {exc}") from None
        ids = [i for i, info in sorted(streams.items()) if info.get("typeIdentifier") == "EVTS"]
        if not ids:
            raise DataError(f"{self.address}: the stream carries no events")
        info = streams[ids[0]]
        if info.get("compression", "NONE") != "NONE":
            raise DataError(
                f"{self.address}: the event stream is compressed ({info['compression']}); set the "
                "sender's compression to NONE"
            )
        try:
            size = (int(info["sizeX"]), int(info["sizeY"]), 2)
        except (KeyError, ValueError):
            raise DataError(f"{self.address}: the event stream does not state its resolution") from None
        return ids[0], size

    def _no_header(self, end: StreamEnded) -> str:
        if str(end).startswith("no data for"):
            return f"no complete stream header within {self.timeout:g} s (the peer accepted and stalled)"
        return f"{end} before a complete stream header"

    def _read(self, n: int, what: str) -> bytes:
        """Exactly `n` bytes; `StreamEnded` when the peer closes, stops sending for `timeout` s, or
        `stop_flag` is set."""
        out = bytearray()
        quiet_since = time.perf_counter()
        while len(out) < n:
            if self.stop_flag.is_set():
                raise StreamEnded("stopped")
            try:
                chunk = self.sock.recv(min(n - len(out), 1 << 20))
            except TimeoutError:
                if time.perf_counter() - quiet_since > self.timeout:
                    raise StreamEnded(f"no data for {self.timeout:g} s while reading {what}") from None
                continue
            except OSError as exc:
                raise StreamEnded(f"connection lost ({exc.strerror or exc})") from None
            if not chunk:
                raise StreamEnded("the sender closed the stream")
            out += chunk
            quiet_since = self.last_data = time.perf_counter()
        return bytes(out)

    def next_events(self) -> np.ndarray:
        """The events of the next event packet (other streams' packets are skipped).

        Raises:
            StreamEnded: see `_read`.
            DataError: a packet larger than `PACKET_MAX` or not an event packet.
        """
        while True:
            stream_id, n = struct.unpack("<ii", self._read(8, "a packet header"))
            if not 0 <= n <= PACKET_MAX:
                raise DataError(
                    f"{self.address}: a packet of {n} bytes (at most {PACKET_MAX} accepted): not a "
                    "dv-processing event stream"
                )
            payload = self._read(n, "a packet")
            if stream_id == self.stream_id:
                try:
                    return parse_events(payload)
                except DataError as exc:
                    raise DataError(f"{self.address}: {exc}") from None

    def close(self) -> None:
        self.stop_flag.set()
        try:
            self.sock.close()
        except OSError:
            pass
