"""`stream` cannot hang or grow without bound (issue 24): real peers on 127.0.0.1 that accept and
stall, send random bytes, send a real dv-processing header then a monstrous packet, or loop their
recording (timestamps going back); a recording spanning 11.6 days; bad options as one line.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
import tracemalloc

import numpy as np
import pytest

from eventsnn.cli import main
from eventsnn.events.io import EVENT_DTYPE, read_events
from eventsnn.inference.dvnet import PACKET_MAX
from eventsnn.inference.replay import serve_recording
from eventsnn.inference.stream import FileSource
from eventsnn.inference.windows import RESTART_US, SlidingWindows, TimeOrder, WindowSpec
from tests.factories import dv_sender, free_port

RECORDING = ("4", "4_0000.aedat4")


class Peer:
    """A real TCP server on 127.0.0.1 that runs `behave(conn)` for its first client."""

    def __init__(self, behave) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.behave = behave
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        try:
            self.behave(self, conn)
        except OSError:
            pass  # the client went away
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=10)


def _stall(peer, conn) -> None:
    time.sleep(8)


def _garbage(peer, conn) -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):  # up to 200 MiB, if anyone kept reading
        peer.sent += conn.send(rng.bytes(1 << 20))


def _stream(tiny_run, port, *extra) -> list[str]:
    return ["stream", "--checkpoint", str(tiny_run.checkpoint), "--input", f"tcp://127.0.0.1:{port}", *extra]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_peer_that_accepts_and_stalls_is_refused_within_the_timeout(tiny_run, capsys):
    peer = Peer(_stall)
    start = time.perf_counter()
    assert main(_stream(tiny_run, peer.port, "--timeout", "1")) == 2
    assert time.perf_counter() - start < 5  # model loading included; the peer stalls for 8 s
    assert _one_line(capsys) == (
        f"eventsnn stream: error: tcp://127.0.0.1:{peer.port}: no complete stream header within 1 s "
        "(the peer accepted and stalled)"
    )
    peer.close()


def test_a_peer_sending_random_bytes_is_refused_after_12_bytes(tiny_run, capsys):
    peer = Peer(_garbage)
    start = time.perf_counter()
    assert main(_stream(tiny_run, peer.port, "--timeout", "2")) == 2
    assert time.perf_counter() - start < 5
    first = np.random.default_rng(0).bytes(12).hex()
    assert _one_line(capsys) == (
        f"eventsnn stream: error: tcp://127.0.0.1:{peer.port}: the peer does not speak dv-processing's "
        f"network protocol (its first 12 bytes are {first}; expected a header size and 'IOHE'); nothing "
        "more was read"
    )
    peer.close()
    assert peer.sent < 200 << 20  # the connection was dropped, not drained


def _real_header(tiny_run) -> bytes:
    """The header a real dv-processing NetworkWriter sends (its size prefix included)."""
    port = free_port()
    ready = threading.Event()
    path = str(tiny_run.root.joinpath(*RECORDING))
    writer = threading.Thread(
        target=serve_recording, args=(path, port), kwargs={"ready": ready, "realtime": False}, daemon=True
    )
    writer.start()
    assert ready.wait(30)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        n = struct.unpack("<i", c.recv(4, socket.MSG_WAITALL))[0]
        header = struct.pack("<i", n) + c.recv(n, socket.MSG_WAITALL)
        c.recv(8, socket.MSG_WAITALL)  # a packet header: the writer has seen this client
    writer.join(timeout=20)
    return header


def test_a_valid_header_then_a_monstrous_packet_is_refused(tiny_run, capsys):
    header = _real_header(tiny_run)
    assert header[8:12] == b"IOHE"

    def behave(peer, conn) -> None:
        conn.sendall(header + struct.pack("<ii", 0, 2_000_000_000))
        time.sleep(5)

    peer = Peer(behave)
    assert main(_stream(tiny_run, peer.port, "--timeout", "2")) == 2
    assert _one_line(capsys) == (
        f"eventsnn stream: error: tcp://127.0.0.1:{peer.port}: a packet of 2000000000 bytes (at most "
        f"{PACKET_MAX} accepted): not a dv-processing event stream"
    )
    peer.close()


def test_a_looping_sender_restarts_the_windows_with_one_line(tiny_run, tmp_path, capsys):
    """A real dv NetworkWriter sends the recording twice: the second loop's windows are the
    first's again (same events, same probabilities), numbered on."""
    path = tiny_run.root.joinpath(*RECORDING)
    out = tmp_path / "d.jsonl"
    with dv_sender(path, loops=2, realtime=False) as port:
        args = _stream(tiny_run, port, "--window", "100", "--hop", "50", "--timeout", "10", "--top-k", "10")
        assert main([*args, "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    ev = read_events(path)
    t0, t1 = int(ev["t"][0]), int(ev["t"][-1])
    restart = [line for line in err if "timestamps went back" in line]
    assert restart == [
        f"stream: timestamps went back by {(t1 - t0) / 1e6:.3f} s (from {t1} to {t0} us): the sender "
        "started again; the windows start again from there"
    ]
    assert "1 restarts" in err[-1]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    n = (t1 - t0 - 100_000) // 50_000 + 1  # complete windows of one loop
    assert [r["window"] for r in rows] == list(range(2 * n))  # none lost, numbered on
    for a, b in zip(rows[:n], rows[n:], strict=True):
        assert (a["start_us"], a["end_us"], a["n_events"]) == (b["start_us"], b["end_us"], b["n_events"])
        assert dict(a["top"]) == pytest.approx(dict(b["top"]))


def _packets(ev: np.ndarray, size: int) -> list[np.ndarray]:
    return [ev[i : i + size] for i in range(0, len(ev), size)]


def _save_npy(path, ev: np.ndarray) -> None:
    """A structured `.npy` recording (fields t, x, y, p; tonic's layout)."""
    np.save(path, ev)


def _ev(t) -> np.ndarray:
    ev = np.zeros(len(t), EVENT_DTYPE)
    ev["t"] = t
    ev["x"] = np.arange(len(t)) % 7
    return ev


def test_time_order_policy_by_hand():
    order = TimeOrder()
    parts = order.apply(_ev([10, 30, 20, 40]))  # out of order inside a packet: sorted
    assert [p["t"].tolist() for _, p in parts] == [[10, 20, 30, 40]]
    parts = order.apply(_ev([35, 50, 45, 60]))  # 35 and 45 older than 40 / 50 already seen
    assert [(r, p["t"].tolist()) for r, p in parts] == [(False, [45, 50, 60])]
    # 45 is older than 50 *within* the packet: sorted, not late; 35 < 40: late, dropped
    assert (order.reordered, order.dropped) == (2, 1)
    parts = order.apply(_ev([70, 80 - RESTART_US + 100, 90 - RESTART_US]))  # back by ~1 s: not a restart
    assert [(r, p["t"].tolist()) for r, p in parts] == [(False, [70])]
    parts = order.apply(_ev([75, 80, 70 - RESTART_US, 71 - RESTART_US]))  # a restart inside the packet
    assert [(r, p["t"].tolist()) for r, p in parts] == [
        (False, [75, 80]),
        (True, [70 - RESTART_US, 71 - RESTART_US]),
    ]
    # 2 steps back inside packet 3 (sorted first), then 2 of its events older than 60: late
    assert order.summary() == {"reordered": 4, "late_dropped": 3, "restarts": 1}
    assert len(order.notes) == 3  # each kind reported once


def test_an_unsorted_file_is_replayed_in_time_order(tiny_run, tmp_path):
    ev = read_events(tiny_run.root.joinpath(*RECORDING))
    shuffled = ev.copy()
    rng = np.random.default_rng(0)
    for i in range(0, len(ev) - 50, 50):  # shuffle within blocks of 50 events (< 1 s apart)
        shuffled[i : i + 50] = shuffled[i : i + 50][rng.permutation(50)]
    path = tmp_path / "unsorted.npy"
    _save_npy(path, shuffled)
    source = FileSource(path)
    assert len(source.notes) == 1 and "timestamps go backwards" in source.notes[0]
    np.testing.assert_array_equal(source.events["t"], ev["t"])
    got = []
    source._emit = lambda e: got.append(e)  # the packets it would send
    source.produce(source._emit)
    assert np.concatenate(got)["t"].tolist() == ev["t"].tolist()


def test_a_recording_over_11_days_windows_in_bounded_memory_and_time(tmp_path):
    """2,000 events spread over 11.6 days: the packets and windows need memory for the events,
    not for the time span (the old replay allocated 7.45 GiB); windows equal a hand reference."""
    rng = np.random.default_rng(1)
    t = np.sort(rng.integers(0, 1_000_000_000_000, 2000))  # us: 11.6 days
    path = tmp_path / "long.npy"
    _save_npy(path, _ev(t))
    W, S = 100_000, 50_000
    start = time.perf_counter()
    tracemalloc.start()
    source = FileSource(path)
    packets = []
    source.produce(packets.append)
    windower = SlidingWindows(WindowSpec("time", W, S))
    got = [(w.index, len(w.events)) for p in packets for w in windower.push(p, 0.0)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - start < 10
    assert peak < 20 << 20
    # by hand: window k = [t0 + kS, t0 + kS + W) is complete once some event has t >= its end
    t0, last = int(t[0]), int(t[-1])
    want: dict[int, int] = {}
    for ti in t.tolist():
        for k in range(max(0, (ti - t0 - W) // S + 1), (ti - t0) // S + 1):
            if t0 + k * S + W <= last:
                want[k] = want.get(k, 0) + 1
    assert got == sorted(want.items())


@pytest.mark.parametrize(
    ("option", "line"),
    [
        (["--window", "inf"], "--window must be positive, finite milliseconds, got inf"),
        (["--hop", "nan"], "--hop must be positive, finite milliseconds, got nan"),
        (["--timeout", "inf"], "--timeout and --duration must be positive, finite seconds"),
    ],
)
def test_bad_stream_options_are_one_line(tiny_run, capsys, option, line):
    assert main(_stream(tiny_run, 1, *option)) == 2
    assert _one_line(capsys) == f"eventsnn stream: error: {line}"


def test_out_is_checked_before_connecting(tiny_run, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    assert main(_stream(tiny_run, 1, "--out", str(blocker / "d.jsonl"))) == 2
    assert _one_line(capsys) == (
        f"eventsnn stream: error: --out {blocker / 'd.jsonl'}: {blocker} is a file, not a folder"
    )
    if os.access("/proc/sys", os.W_OK):
        pytest.skip("no read-only folder here")
    assert main(_stream(tiny_run, 1, "--out", "/proc/sys/d.jsonl")) == 2
    assert _one_line(capsys) == (
        "eventsnn stream: error: --out /proc/sys/d.jsonl: cannot write in /proc/sys (read-only or no permission)"
    )
