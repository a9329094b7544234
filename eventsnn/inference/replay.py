"""Serve a recording as a live dv-processing network stream (`dv.io.NetworkWriter`).

For trying `eventsnn stream --input tcp://host:port` without a camera, for the tests and the
stream benchmark: the events go out in packets of `packet_events`, each sent when its last
event is due (real time) or at once. Writing starts when the first client connects (a writer
sends nothing to clients that are not there yet).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from eventsnn.errors import DataError
from eventsnn.events.io import declared_sensor_size, read_events
from eventsnn.utils.optional import import_optional

_OPEN: list = []  # writers left open by `linger=False`


def serve_recording(
    path: str | os.PathLike[str],
    port: int,
    *,
    host: str = "127.0.0.1",
    realtime: bool = True,
    packet_events: int = 200,
    stop_after_s: float | None = None,
    ready=None,
    wait_client_s: float = 30.0,
    linger: bool = True,
    loops: int = 1,
) -> int:
    """Send the events of `path` to the clients of a NetworkWriter on host:port; returns events sent.

    Args:
        stop_after_s: send only the first `stop_after_s` seconds of the recording.
        ready: an Event-like object set once the server listens.
        wait_client_s: how long to wait for the first client (DataError after that).
        linger: wait for the clients to leave and close the writer (else return at once and
            leave the writer open: for a process that exits right after).
        loops: send the recording this many times, its timestamps each time as recorded (a
            looping sender: the timestamps go back at every new loop).

    Returns once every client has disconnected (then the writer is closed). A caller that wants
    the stream to end for its clients exits its process instead (`serve_and_exit`).
    """
    dv = import_optional("dv_processing", "replaying a recording as a network stream")

    ev = read_events(path)
    sensor = declared_sensor_size(path) or (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1, 2)
    stream = dv.io.Stream.EventStream(0, "events", f"eventsnn-replay:{Path(path).name}", sensor[:2])
    writer = dv.io.NetworkWriter(host, int(port), stream)
    if ready is not None:
        ready.set()
    deadline = time.monotonic() + wait_client_s
    while writer.getClientCount() == 0:
        if time.monotonic() > deadline:
            raise DataError(f"{host}:{port}: no client connected within {wait_client_s:g} s")
        time.sleep(0.002)
    t0 = int(ev["t"][0])
    span = (int(ev["t"][-1]) - t0) / 1e6
    start = time.perf_counter()
    sent = 0
    for loop, lo in ((i, lo) for i in range(loops) for lo in range(0, len(ev), packet_events)):
        part = ev[lo : lo + packet_events]
        due = loop * span + (int(part["t"][-1]) - t0) / 1e6
        if stop_after_s is not None and due > stop_after_s:
            break
        if realtime and (delay := start + due - time.perf_counter()) > 0:
            time.sleep(delay)
        store = dv.EventStore()
        for t, x, y, p in zip(
            part["t"].tolist(), part["x"].tolist(), part["y"].tolist(), part["p"].tolist(), strict=True
        ):
            store.push_back(t, x, y, bool(p))
        writer.writeEvents(store)
        sent += len(part)
    if not linger:
        _OPEN.append(writer)  # never destroyed here: the caller's process exits
        return sent
    # dv-processing's writer destructor blocks (holding the GIL) while clients are connected:
    # wait here, sleeping, until they have left, so that closing it never freezes the process
    while writer.getClientCount() > 0:
        time.sleep(0.01)
    del writer
    return sent


def serve_and_exit(path: str, port: int, ready=None, **kwargs) -> None:
    """`serve_recording` in a child process that then exits at once (the stream closes)."""
    try:
        serve_recording(path, port, ready=ready, linger=False, **kwargs)
        time.sleep(0.3)  # let the last packets leave
    finally:
        os._exit(0)
