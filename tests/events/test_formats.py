"""Every reader against an independent reader on files from an independent writer.

Writers: faery (EVT 2.0, EVT 3.0, DAT, Event Stream, AEDAT 4), dv-processing (AEDAT 4), or the
format's published description written out here (AEDAT 2.0, AEDAT 3.1, N-MNIST .bin, HDF5 DSEC).
Readers: expelliarmus (EVT2/EVT3/DAT), faery (ES), tonic (`get_aer_events_from_file`,
`read_mnist_file`, `read_aedat4`), spikingjelly (AEDAT 3.1, CIFAR10-DVS AEDAT 2.0), h5py.
"""

from __future__ import annotations

import struct
import tracemalloc

import numpy as np
import pytest

from eventsnn.errors import DataError
from eventsnn.events.formats import ReadOptions, detect_format, iter_events, read_file
from eventsnn.events.io import Source, read_recording
from eventsnn.events.orientation import apply_orientation

faery = pytest.importorskip("faery")
W, H = 640, 480


def _events(n: int, seed: int = 0, span_us: int = 40_000_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=faery.EVENTS_DTYPE)
    ev["t"] = np.sort(rng.integers(0, span_us, n))
    ev["x"], ev["y"] = rng.integers(0, W, n), rng.integers(0, H, n)
    ev["on"] = rng.integers(0, 2, n).astype(bool)
    return ev


def _faery_file(path, ev, **kw):
    faery.events_stream_from_array(ev, (W, H)).to_file(path, zero_t0=False, **kw)
    return path


def _same(ours, t, x, y, p):
    np.testing.assert_array_equal(ours["t"], np.asarray(t, np.int64))
    np.testing.assert_array_equal(ours["x"], x)
    np.testing.assert_array_equal(ours["y"], y)
    np.testing.assert_array_equal(ours["p"], np.asarray(p, np.uint8))


@pytest.mark.parametrize(("name", "version", "encoding"), [("a.raw", "evt2", "evt2"), ("b.dat", None, "dat")])
def test_evt2_and_dat_equal_expelliarmus_on_faery_files(tmp_path, name, version, encoding):
    from expelliarmus import Wizard

    ev = _events(30_000)
    path = _faery_file(tmp_path / name, ev, **({"version": version} if version else {}))
    got = read_file(path)
    assert got.format == encoding and got.sensor_size == (W, H, 2)
    ref = Wizard(encoding=encoding, fpath=path).read()
    _same(got.events, ref["t"], ref["x"], ref["y"], ref["p"])
    _same(got.events, ev["t"], ev["x"], ev["y"], ev["on"])  # and faery's input


def test_evt3_follows_prophesee_time_rule_where_expelliarmus_adds_4096_per_wrap(tmp_path):
    """Prophesee's EVT 3.0 page: t = last TIME_HIGH << 12 | TIME_LOW (the sensor sends a new
    TIME_HIGH when time low wraps). faery writes that; expelliarmus 1.1.12 also adds 4096 us at
    every time-low wrap, so its t runs ahead by 4096 us x (wraps so far)."""
    from expelliarmus import Wizard

    ev = _events(30_000)  # 40 s: also crosses the 24-bit (16.8 s) time-high loop twice
    path = _faery_file(tmp_path / "c.raw", ev, version="evt3")
    got = read_file(path)
    assert got.format == "evt3"
    _same(got.events, ev["t"], ev["x"], ev["y"], ev["on"])
    ref = Wizard(encoding="evt3", fpath=path).read()
    _same(got.events, got.events["t"], ref["x"], ref["y"], ref["p"])
    ahead = ref["t"].astype(np.int64) - got.events["t"]
    low = got.events["t"] & 0xFFF
    wraps = np.concatenate([[0], np.cumsum(low[1:] < low[:-1])])  # time-low wraps seen so far
    np.testing.assert_array_equal(ahead, 4096 * wraps)
    assert ahead[-1] > 0


def test_event_stream_equals_faery_reader(tmp_path):
    ev = _events(5_000)
    path = _faery_file(tmp_path / "d.es", ev)
    ref = faery.events_stream_from_file(path).to_array()
    got = read_file(path)
    assert got.sensor_size == (W, H, 2)
    _same(got.events, ref["t"], ref["x"], ref["y"], ref["on"])


def test_aedat4_from_faery_equals_tonic(tmp_path):
    import tonic.io

    ev = _events(5_000)
    path = _faery_file(tmp_path / "e.aedat4", ev)
    ref = tonic.io.read_aedat4(str(path))
    got = read_file(path)
    assert got.sensor_size == (W, H, 2)
    _same(got.events, ref["t"], ref["x"], ref["y"], ref["p"])


def _aedat2(path, addr, ts):
    header = b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n# Timestamps tick is 1 us\r\n"
    body = np.empty(2 * len(addr), ">u4")
    body[0::2], body[1::2] = addr, ts
    path.write_bytes(header + body.tobytes())
    return path


def test_aedat2_equals_tonic_and_spikingjelly_cifar10dvs_orientation(tmp_path):
    import tonic.io
    from spikingjelly.datasets.cifar10_dvs import _load_origin_data

    rng = np.random.default_rng(1)
    n = 4000
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    addr = (y << 8) | (x << 1) | p
    ts = np.sort(rng.integers(0, 2**31, n))
    path = _aedat2(tmp_path / "cifar10_cat_0.aedat", addr, ts)
    got = read_file(path)
    assert got.format == "aedat2" and got.sensor_size == (128, 128, 2)
    version, start, _ = tonic.io.read_aedat_header_from_file(str(path))
    raw = tonic.io.get_aer_events_from_file(str(path), version, start)
    a = raw["address"].astype(np.int64)
    _same(got.events, raw["timeStamp"], (a >> 1) & 0x7F, (a >> 8) & 0x7F, a & 1)
    sj = _load_origin_data(str(path))  # the released pipeline's reader
    mapped = apply_orientation(got.events, "spikingjelly_cifar10dvs")
    _same(mapped, sj["t"], sj["x"], sj["y"], sj["p"])
    # the stated relation: jAER's picture turned a quarter turn (transpose, flip_x) is the released one
    jaer = apply_orientation(got.events, "jaer_dvs128")
    np.testing.assert_array_equal(apply_orientation(jaer, "transpose,flip_x=128"), mapped)


def _aedat31(path, packets, source="DVS128"):
    out = [b"#!AER-DAT3.1\r\n", f"#Source 1: {source}\r\n".encode(), b"#!END-HEADER\r\n"]
    for kind, data, ts, overflow in packets:
        body = np.empty(2 * len(data), "<u4")
        body[0::2], body[1::2] = data, ts
        out.append(struct.pack("<hhiiiiii", kind, 1, 8, 4, overflow, len(data), len(data), len(data)))
        out.append(body.tobytes())
    path.write_bytes(b"".join(out))
    return path


def test_aedat31_equals_spikingjelly_and_tonic(tmp_path):
    import tonic.io
    from spikingjelly.datasets.utils import load_aedat_v3

    rng = np.random.default_rng(2)
    packets = []
    t0 = 0
    for _ in range(3):
        n = 500
        x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
        ts = t0 + np.sort(rng.integers(0, 100_000, n))
        t0 = int(ts[-1]) + 1
        packets.append((1, (x << 17) | (y << 2) | (p << 1) | 1, ts, 0))
    packets.insert(1, (0, np.arange(3, dtype=np.int64) << 1 | 1, np.arange(3), 0))  # special events: skipped
    path = _aedat31(tmp_path / "user01_fluorescent.aedat", packets)
    got = read_file(path)
    assert got.format == "aedat3" and got.sensor_size == (128, 128, 2)
    sj = load_aedat_v3(str(path))
    keep = np.ones(len(sj["t"]), bool)
    keep[500:503] = False  # spikingjelly reads only polarity packets too; tonic reads all
    _same(got.events, sj["t"], sj["x"], sj["y"], sj["p"])
    version, start, _ = tonic.io.read_aedat_header_from_file(str(path))
    raw = tonic.io.get_aer_events_from_file(str(path), version, start)
    raw = np.concatenate([raw[:500], raw[503:]])
    a = raw["address"].astype(np.int64)
    _same(got.events, raw["timeStamp"], (a >> 17) & 0x7FFF, (a >> 2) & 0x7FFF, (a >> 1) & 1)
    data = path.read_bytes()
    (tmp_path / "cut.aedat").write_bytes(data[:-5])
    with pytest.raises(DataError, match=rf"cut\.aedat: truncated at byte {len(data) - 5}: packet at byte \d+"):
        read_file(tmp_path / "cut.aedat")


def _nbin(path, x, y, p, t):
    rec = np.empty((len(x), 5), np.uint8)
    rec[:, 0], rec[:, 1] = x, y
    rec[:, 2] = (p << 7) | ((t >> 16) & 0x7F)
    rec[:, 3], rec[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.write_bytes(rec.tobytes())
    return path


def test_nmnist_bin_equals_tonic_with_overflow_marker_and_wide_sensor(tmp_path):
    import tonic.datasets
    import tonic.io

    rng = np.random.default_rng(3)
    n = 3000
    x, y = rng.integers(0, 234, n), rng.integers(0, 174, n)  # N-Caltech101 extent, not 34 x 34
    y[1500] = 240  # an overflow marker
    p, t = rng.integers(0, 2, n), np.sort(rng.integers(0, 2**23, n))
    path = _nbin(tmp_path / "image_0001.bin", x, y, p, t)
    got = read_file(path)
    assert got.format == "nmnist_bin" and got.sensor_size is None and len(got.events) == n - 1
    ref = tonic.io.read_mnist_file(str(path), dtype=tonic.datasets.NMNIST.dtype)
    _same(got.events, ref["t"], ref["x"], ref["y"], ref["p"])


def test_hdf5_dsec_layout_and_root_layout(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(4)
    n = 2000
    x, y = rng.integers(0, 640, n).astype(np.uint16), rng.integers(0, 480, n).astype(np.uint16)
    t, p = np.sort(rng.integers(0, 10**6, n)).astype(np.uint32), rng.integers(0, 2, n).astype(np.uint8)
    with h5py.File(tmp_path / "events.h5", "w") as f:
        for k, v in dict(x=x, y=y, t=t, p=p).items():
            f.create_dataset(f"events/{k}", data=v)
        f.create_dataset("t_offset", data=np.int64(5_000_000))
        f.create_dataset("ms_to_idx", data=np.searchsorted(t, np.arange(0, 1001) * 1000))
    got = read_file(tmp_path / "events.h5")
    _same(got.events, t.astype(np.int64) + 5_000_000, x, y, p)
    with h5py.File(tmp_path / "root.hdf5", "w") as f:
        for k, v in dict(x=x, y=y, t=t, p=p).items():
            f.create_dataset(k, data=v)
        f.attrs["width"], f.attrs["height"] = 640, 480
    got = read_file(tmp_path / "root.hdf5")
    assert got.sensor_size == (640, 480, 2)
    _same(got.events, t, x, y, p)


def test_npz_spikingjelly_and_nimagenet_and_named_npy(tmp_path):
    from spikingjelly.datasets.utils import np_savez

    rng = np.random.default_rng(5)
    n = 1000
    t = np.sort(rng.integers(0, 10**7, n))
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    np_savez(str(tmp_path / "sj.npz"), t=t, x=x, y=y, p=p)
    _same(read_file(tmp_path / "sj.npz").events, t, x, y, p)
    nimg = np.zeros(n, [("x", "<u2"), ("y", "<u2"), ("t", "<f8"), ("p", "i1")])
    nimg["x"], nimg["y"], nimg["t"], nimg["p"] = x, y, t, np.where(p > 0, 1, -1)
    np.savez_compressed(tmp_path / "n_imagenet.npz", event_data=nimg)
    _same(read_file(tmp_path / "n_imagenet.npz").events, t, x, y, p)
    tonic_like = np.zeros(n, [("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
    tonic_like["x"], tonic_like["y"], tonic_like["t"], tonic_like["p"] = x, y, t, p
    np.save(tmp_path / "named.npy", tonic_like)
    _same(read_file(tmp_path / "named.npy").events, t, x, y, p)


def test_unnamed_array_needs_a_column_order_and_is_never_narrowed(tmp_path):
    t = np.arange(100, dtype=np.int64) * 100_000  # up to 9.9e6: would wrap as uint16
    a = np.stack([t, np.full(100, 3), np.ones(100, np.int64), np.ones(100, np.int64)], axis=1)
    np.save(tmp_path / "txyp.npy", a)
    with pytest.raises(DataError, match=r"txyp\.npy: an unnamed \[N, 4\] array: the column order"):
        read_file(tmp_path / "txyp.npy")
    with pytest.raises(DataError, match=r"event 1: x=100000 outside 0\.\.65535"):
        read_file(tmp_path / "txyp.npy", ReadOptions(("x", "y", "p", "t")))
    ev = read_recording(Source(tmp_path / "txyp.npy", ReadOptions(("t", "x", "y", "p"))))
    _same(ev, t, np.full(100, 3), np.ones(100), np.ones(100))


def test_bad_inputs_name_the_file_and_the_offset(tmp_path):
    ev = _events(2_000)
    good = _faery_file(tmp_path / "g.raw", ev, version="evt3")
    data = good.read_bytes()
    (tmp_path / "odd.raw").write_bytes(data[:-1])
    with pytest.raises(DataError, match=rf"odd\.raw: truncated at byte {len(data) - 2}"):
        read_file(tmp_path / "odd.raw")
    (tmp_path / "liar.raw").write_bytes(data.replace(b"width=640", b"width=9000", 1))
    with pytest.raises(DataError, match=r"liar\.raw: header declares sensor 9000x480"):
        read_file(tmp_path / "liar.raw")
    (tmp_path / "junk.es").write_bytes(b"Not an event stream")
    with pytest.raises(DataError, match=r"junk\.es: corrupt or truncated \.es"):
        read_file(tmp_path / "junk.es")
    with pytest.raises(DataError, match=r"g\.raw: event field x=\d+ outside the sensor .* \(event \d+\)"):
        read_recording(good, (320, 480, 2))
    t = ev["t"].astype(np.int64)
    t[100] = 0
    unsorted = tmp_path / "u.npz"
    np.savez(unsorted, t=t, x=ev["x"], y=ev["y"], p=ev["on"])
    with pytest.raises(DataError, match=r"u\.npz: timestamps are not sorted \(event 100: t=0 <"):
        read_recording(unsorted, (W, H, 2))
    header_only = tmp_path / "h.aedat4"  # made the Rust decoder panic (a BaseException) on stderr
    header_only.write_bytes(b"#!AER-DAT4.0\r\n" + b"\x00" * 64)
    with pytest.raises(DataError, match=r"h\.aedat4: corrupt or truncated \.aedat4 \(a header of 0 bytes"):
        read_file(header_only)
    whole = _faery_file(tmp_path / "whole.aedat4", ev).read_bytes()
    length = int.from_bytes(whole[14:18], "little")  # the header's length, after the magic line
    cut = tmp_path / "cut.aedat4"  # cut inside the header: it says more than the file holds
    cut.write_bytes(whole[: 18 + length // 2])
    with pytest.raises(DataError, match=rf"cut\.aedat4: corrupt .* \(a header of {length} bytes in a file of"):
        read_file(cut)
    nb = tmp_path / "t.bin"
    nb.write_bytes(b"\x01" * 12)
    with pytest.raises(DataError, match=r"t\.bin: corrupt or truncated \.bin"):
        read_file(nb)
    assert detect_format(good).name == "evt3"


def test_evt3_chunked_read_has_bounded_memory(tmp_path):
    ev = _events(1_500_000, seed=6, span_us=60_000_000)
    path = _faery_file(tmp_path / "big.raw", ev, version="evt3")
    full_bytes = len(ev) * 13  # the EVENT_DTYPE output of a full read
    small = _faery_file(tmp_path / "small.raw", ev[:1000], version="evt3")
    list(iter_events(small, chunk_events=100))  # load the compiled decoder before measuring
    tracemalloc.start()
    n = 0
    t_last = -1
    for chunk in iter_events(path, chunk_events=100_000):
        assert len(chunk) <= 100_000
        np.testing.assert_array_equal(chunk["t"], ev["t"][n : n + len(chunk)])
        assert chunk["t"][0] >= t_last
        t_last = int(chunk["t"][-1])
        n += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == len(ev)
    assert peak < full_bytes / 2, (peak, full_bytes)  # one 2 MiB chunk of words + two buffers
