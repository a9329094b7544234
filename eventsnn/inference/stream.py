"""Live classification: event packets from a source -> sliding windows -> one decision per window.

Sources (each a thread that puts `(events, arrival)` packets on a queue, then an end reason):

- `FileSource`: an `.aedat4` (or other recording) replayed in packets of `packet_us`, at the
  recorded speed (`realtime`, paced by the timestamps) or as fast as possible.
- `NetworkSource`: a dv-processing network stream `tcp://host:port` (the sender is a
  `dv.io.NetworkWriter` or a DV camera server), read by `eventsnn.inference.dvnet` under
  `timeout` (connect, handshake, every read) with bounded buffers. A closed stream ends the
  run; a stream that sends no events for `timeout` seconds ends it too, with that reason; a
  peer that does not speak the protocol is refused after its first 12 bytes.

Each window is framed with `frames_from_config` (the framing config's n_frames over the
window, then its post-processing, exactly as recordings are framed for training) and
classified; windows that are waiting when the model is free run as one batch. A decision's
latency is the wall time from the arrival of the window's last event to the decision. A stream
that ends (or restarts) before its first window is complete still gets one decision, on all its
events (`SlidingWindows.flush`: `partial` is true).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from eventsnn.errors import DataError
from eventsnn.events.io import EVENT_DTYPE, declared_sensor_size, read_events
from eventsnn.events.postprocess import frames_from_config
from eventsnn.inference.dvnet import DvNetworkClient, StreamEnded
from eventsnn.inference.inputs import sensor_for
from eventsnn.inference.model import InferenceModel
from eventsnn.inference.predict import top_k
from eventsnn.inference.windows import RESTART_US, SlidingWindows, TimeOrder, Window, WindowSpec

_END = object()
QUEUE_PACKETS = 256  # packets waiting for the model (the sender is held back beyond that)


@dataclass
class Decision:
    """One window's decision; times in microseconds of the stream, latency in milliseconds."""

    window: int
    start_us: int
    end_us: int
    n_events: int
    classes: list[str]
    probs: list[float]
    latency_ms: float
    partial: bool = False  # the stream was shorter than one window: all its events

    def to_dict(self) -> dict:
        return {
            "window": self.window,
            "start_us": self.start_us,
            "end_us": self.end_us,
            "n_events": self.n_events,
            "class": self.classes[0],
            "prob": self.probs[0],
            "top": [[c, p] for c, p in zip(self.classes, self.probs, strict=True)],
            "latency_ms": self.latency_ms,
            "partial": self.partial,
        }


class Source:
    """A packet producer on its own thread: `packets()` yields `(events, arrival)` until the end."""

    sensor_size: tuple[int, int, int] | None = None
    end_reason: str = ""

    def __init__(self) -> None:
        self.notes: list[str] = []  # one-line reports for the user (printed by `run_stream`)
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUE_PACKETS)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._guarded, daemon=True)

    def start(self) -> Source:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)

    def _guarded(self) -> None:
        try:
            self.end_reason = self.produce(self._emit) or "end of stream"
        except Exception as exc:  # reported by the consumer as one line
            self.end_reason = f"error: {exc}"
        self._put(_END)

    def _put(self, item) -> None:
        """Queue `item`, waiting while the queue is full (bounded memory) unless stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _emit(self, events: np.ndarray) -> None:
        self._put((events, time.perf_counter()))

    def produce(self, emit: Callable[[np.ndarray], None]) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def packets(self) -> Iterator[list[tuple[np.ndarray, float]]]:
        """Yield lists of the packets available (at least one; blocks for the first) until the end."""
        while True:
            first = self._queue.get()
            if first is _END:
                return
            got = [first]
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _END:
                    yield got
                    return
                got.append(item)
            yield got


class FileSource(Source):
    """A recording file replayed in packets of `packet_us` (see the module docstring)."""

    def __init__(self, path: str | Path, *, realtime: bool = False, packet_us: int = 1000) -> None:
        super().__init__()

        self.path = Path(path)
        self.events = read_events(self.path)
        if len(self.events) == 0:
            raise DataError(f"{self.path}: empty recording (no events)")
        declared = declared_sensor_size(self.path)
        ev = self.events
        self.sensor_size = declared or (int(ev["x"].max()) + 1, int(ev["y"].max()) + 1, 2)
        self.realtime = realtime
        self.packet_us = int(packet_us)
        steps = np.diff(ev["t"])
        back = int((steps < 0).sum())
        if back and not (steps <= -RESTART_US).any():  # disorder, no restart: replay in time order
            self.events = ev[np.argsort(ev["t"], kind="stable")]
            self.notes.append(
                f"{self.path}: {back} timestamps go backwards (by at most {-int(steps.min()) / 1e3:.3f} ms); "
                "the recording is replayed in time order (stable sort)"
            )

    def __str__(self) -> str:
        return str(self.path)

    def produce(self, emit) -> str:
        """Packets: runs of events in the same `packet_us` slot since the first event (memory
        O(events), whatever the time span)."""
        t = self.events["t"]
        t0 = int(t[0])
        slot = (t - t0) // self.packet_us
        cuts = np.flatnonzero(np.diff(slot)) + 1
        start_wall = time.perf_counter()
        newest = 0
        for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(t)], strict=True):
            if self._stop.is_set():
                return "stopped"
            newest = max(newest, int(slot[lo]))
            if self.realtime:  # a packet leaves when its time slot has passed
                delay = start_wall + (newest + 1) * self.packet_us / 1e6 - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            emit(self.events[lo:hi])
        return f"end of {self.path.name}"


def parse_address(source: str) -> tuple[str, int]:
    """`tcp://host:port` -> (host, port); DataError on anything else."""
    rest = source[len("tcp://") :] if source.startswith("tcp://") else None
    host, sep, port = (rest or "").rpartition(":")
    if rest is None or not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DataError(f"{source}: expected tcp://host:port")
    return host, int(port)


class NetworkSource(Source):
    """A dv-processing network event stream, read by `dvnet.DvNetworkClient` (see the module
    docstring): connecting, the handshake and every read end within `timeout` s."""

    def __init__(self, address: str, *, timeout: float = 5.0) -> None:
        super().__init__()
        self.address = address
        host, port = parse_address(address)
        self.client = DvNetworkClient(host, port, timeout=timeout, address=address)
        self.sensor_size = self.client.sensor_size
        self.timeout = float(timeout)

    def __str__(self) -> str:
        return self.address

    def stop(self) -> None:
        self.client.stop_flag.set()
        super().stop()
        self.client.close()  # disconnect (a dv NetworkWriter waits for its clients to leave)

    def produce(self, emit) -> str:
        last = time.perf_counter()
        while True:
            try:
                ev = self.client.next_events()
            except StreamEnded as end:
                reason = str(end)
                if reason.startswith("no data for"):
                    return f"{self.address}: no events for {self.timeout:g} s (stream stalled)"
                return "stopped" if reason == "stopped" else f"{self.address}: {reason}"
            if len(ev):
                emit(ev)
                last = time.perf_counter()
            elif time.perf_counter() - last > self.timeout:  # packets, but empty ones
                return f"{self.address}: no events for {self.timeout:g} s (stream stalled)"


def open_source(spec: str, *, realtime: bool = False, timeout: float = 5.0) -> Source:
    """`tcp://host:port` -> `NetworkSource`; a file path -> `FileSource`."""
    if spec.startswith("tcp://"):
        return NetworkSource(spec, timeout=timeout)
    path = Path(spec)
    if not path.is_file():
        raise DataError(f"{spec}: no such recording (give a file or tcp://host:port)")
    return FileSource(path, realtime=realtime)


def classify_windows(model: InferenceModel, windows: list[Window], sensor_size, k: int) -> list[Decision]:
    """Frame each window (the framing config's n_frames) and classify them in one batch."""
    framing = model.cfg.framing
    x = torch.stack(
        [torch.as_tensor(np.asarray(frames_from_config(w.events, sensor_size, framing))) for w in windows]
    ).to(torch.float32)  # [B, T, C, H, W]
    probs = model.probabilities(x)
    done = time.perf_counter()
    return [
        Decision(w.index, w.start_us, w.end_us, len(w.events), c, p, 1e3 * (done - w.last_arrival), w.partial)
        for w, (c, p) in zip(windows, top_k(probs, k, model.class_names), strict=True)
    ]


def batch_sizes(n: int, max_batch: int) -> list[int]:
    """`n` windows as batches of powers of two <= `max_batch`, largest first (13, 16 -> 8, 4, 1).

    The model's first call on a new batch shape is slow (hundreds of ms on a CPU: kernels are
    set up per shape), so the stream only ever uses these few shapes, all warmed up in advance.
    """
    top = 1 << (max(1, int(max_batch)).bit_length() - 1)
    out = []
    while n > 0:
        size = min(top, 1 << (n.bit_length() - 1))
        out.append(size)
        n -= size
    return out


def warm_up(model: InferenceModel, sensor_size=None, max_batch: int = 16) -> None:
    """Compile the framing kernel for stream events and run the model on every batch size
    `batch_sizes` can give.

    Call it before connecting to a live source: a sender starts as soon as a client connects,
    and what it sends meanwhile would otherwise queue up behind the first, slow, calls.
    """
    top = 1 << (max(1, int(max_batch)).bit_length() - 1)
    batches = [1 << i for i in range(top.bit_length())]

    sensor_size = sensor_size or model.sensor_size
    n = 4 * (model.cfg.framing.n_frames or 1)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["t"] = np.arange(n)
    for b in batches:
        windows = [Window(-1, ev, 0, n, time.perf_counter()) for _ in range(b)]
        classify_windows(model, windows, sensor_size, 1)


def run_stream(
    model: InferenceModel,
    source: Source,
    spec: WindowSpec,
    *,
    k: int = 3,
    max_batch: int = 16,
    duration: float | None = None,
    on_decision: Callable[[Decision], None] | None = None,
    warm: bool = True,
    keep: bool = True,
    on_note: Callable[[str], None] | None = None,
) -> tuple[list[Decision], dict]:
    """Classify the windows of `source` until it ends (or `duration` s); (decisions, summary).

    Timestamps that do not increase follow `windows.TimeOrder` (sorted within a packet, late
    events dropped, a jump back by a window length, at most `RESTART_US`, restarts the
    windows); its one-line reports and the source's go to `on_note` (default: stderr) when
    they first happen.

    `warm=False`: the caller ran `warm_up(model)` already (before connecting a live source).
    `keep=False`: decisions go only to `on_decision` (memory does not grow with the stream's length).
    """
    import sys

    say = on_note or (lambda line: print(line, file=sys.stderr, flush=True))

    sensor = model.sensor_size  # data.sensor_size set: the training canvas, as preprocess and predict
    if model.cfg.data.sensor_size is None:
        sensor = sensor_for(source.sensor_size, model.sensor_size, model.cfg.framing, source)
    if warm:
        warm_up(model, sensor, max_batch)
    windower = SlidingWindows(spec)
    order = TimeOrder(min(RESTART_US, spec.window) if spec.by == "time" else RESTART_US)
    offset = 0  # window indices continue across a restart
    decisions: list[Decision] = []
    latencies: list[float] = []
    n_events = 0
    t_first = None
    for line in source.notes:
        say(line)

    def decide(pending: list[Window]) -> None:
        i = 0
        for size in batch_sizes(len(pending), max_batch):
            chunk, i = pending[i : i + size], i + size
            for d in classify_windows(model, chunk, sensor, k):
                latencies.append(d.latency_ms)
                if keep:
                    decisions.append(d)
                if on_decision is not None:
                    on_decision(d)

    def flushed() -> list[Window]:  # a stream shorter than one window: one window of it all
        w = windower.flush()
        if w is not None:
            w.index += offset
        return [] if w is None else [w]

    source.start()
    reason = ""
    try:
        for packets in source.packets():
            now = time.perf_counter()
            t_first = t_first or now
            pending: list[Window] = []
            for events, arrival in packets:
                n_events += len(events)
                for restart, part in order.apply(events):
                    if restart:
                        pending += flushed()
                        offset += windower.k
                        windower = SlidingWindows(spec)
                    for w in windower.push(part, arrival):
                        w.index += offset
                        pending.append(w)
            while order.notes:
                say(order.notes.pop(0))
            decide(pending)
            if duration is not None and time.perf_counter() - t_first > duration:
                reason = f"--duration {duration:g} s reached"
                break
        else:
            if not source.end_reason.startswith("error: "):
                decide(flushed())
    finally:
        source.stop()
    reason = reason or source.end_reason
    if reason.startswith("error: "):
        text = reason[len("error: ") :]
        raise DataError(text if text.startswith(str(source)) else f"{source}: {text}")
    lat = np.array(latencies)
    wall = time.perf_counter() - t_first if t_first else 0.0
    summary = {
        "end": reason,
        "windows": len(latencies),
        "events": n_events,
        "wall_s": wall,
        "event_rate": n_events / wall if wall > 0 else 0.0,
        "latency_ms_median": float(np.median(lat)) if len(lat) else None,
        "latency_ms_p99": float(np.percentile(lat, 99)) if len(lat) else None,
        **order.summary(),
    }
    return decisions, summary
