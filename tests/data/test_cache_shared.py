"""The cache is shared state (issue 11): concurrent runs, killed parents, full disks, damaged files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from eventsnn.config import load_config
from eventsnn.data import build_event_datasets, plan_cache, preprocess
from eventsnn.data.cache import FINAL, MANIFEST, PARTIAL, TODO
from eventsnn.data.cache_files import cache_lock, read_row
from eventsnn.errors import DataError
from tests.factories import REPO
from tests.tiny_data import write_tiny_folder

N_PER_CLASS = 12  # 2 classes: 24 recordings


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_tiny_folder(tmp_path_factory.mktemp("src") / "rec", per_class=N_PER_CLASS, size=24)


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory) -> dict:
    """Everything one uninterrupted single run writes."""
    stats = preprocess(_cfg(source, tmp_path_factory.mktemp("ref")), progress=False, verbose=False)
    return {**_contents(stats.folder), "_final_bytes": (stats.folder / FINAL).stat().st_size}


def _cfg(root, cache, *sets):
    return load_config(None, [*_sets(root, cache), *sets])


def _sets(root, cache) -> list[str]:
    return [
        "data.dataset=folder",
        f"data.root={root}",
        f"data.cache_dir={cache}",
        "framing.n_frames=6",
        "data.preprocess_workers=1",
    ]


def _contents(folder: Path) -> dict:
    with h5py.File(folder / FINAL, "r") as f:
        out = {name: f[name][:] for name in ("labels", "status", "n_events", "crc", "width", "sha256")}
        out["frames"] = np.stack([read_row(f, i) for i in range(len(out["status"]))])
    out["manifest"] = json.loads((folder / MANIFEST).read_text())
    out["files"] = sorted(p.name for p in folder.iterdir())
    return out


def _assert_same(a: dict, b: dict) -> None:
    keys = [k for k in a if not k.startswith("_")]
    assert sorted(keys) == sorted(k for k in b if not k.startswith("_"))
    for key in keys:
        if isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


def _cli(root, cache, *extra) -> list[str]:
    config = Path(root).parent / "empty.yaml"
    config.write_text("{}\n")
    argv = [sys.executable, "-m", "eventsnn", "preprocess", "-c", str(config)]
    for item in _sets(root, cache):
        argv += ["--set", item]
    return argv + list(extra)


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _wait_for(predicate, timeout: float = 120.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# ---- one writer per folder --------------------------------------------------------------------------
def test_no_wait_names_the_lock_holder(source, tmp_path):
    cfg = _cfg(source, tmp_path / "cache")
    folder = plan_cache(cfg).folder
    with cache_lock(folder):
        out = subprocess.run(
            [*_cli(source, tmp_path / "cache"), "--no-wait"], capture_output=True, text=True, env=_env()
        )
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines() == [
        f"eventsnn preprocess: error: {folder}: another preprocess run (pid {os.getpid()}) is writing "
        "this cache; wait for it to finish, or run again without --no-wait to wait"
    ]
    assert not (folder / PARTIAL).exists()


def test_two_concurrent_runs_end_like_one_run(source, tmp_path, reference):
    """Both runs start while the folder is locked; then they race for it."""
    cache = tmp_path / "cache"
    folder = plan_cache(_cfg(source, cache)).folder
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with cache_lock(folder):
        procs = [
            subprocess.Popen(_cli(source, cache), stdout=open(log, "w"), stderr=subprocess.STDOUT, env=_env())
            for log in logs
        ]
        _wait_for(
            lambda: all("waiting for it to finish" in log.read_text() for log in logs),
            what="both runs to wait for the lock",
        )
    assert [p.wait(timeout=300) for p in procs] == [0, 0], [log.read_text() for log in logs]
    texts = [log.read_text() for log in logs]
    assert sum("nothing to do" in t for t in texts) == 1  # the second found the first's cache
    _assert_same(_contents(folder), reference)


# ---- a killed parent ----------------------------------------------------------------------------------
KILL_SCRIPT = """
import multiprocessing, sys, time
from pathlib import Path
from eventsnn.config import load_config
import eventsnn.data.cache as cache

import eventsnn.data.cache_writer as writer
writer.FLUSH_EVERY = 4
ready = Path(sys.argv[1])

def hook(i, seen=[]):
    seen.append(i)
    if len(seen) == 10:  # rows 0..7 are committed; the pool keeps framing the rest
        pids = [p.pid for p in multiprocessing.active_children()]
        ready.write_text(" ".join(map(str, pids)))
        time.sleep(600)

cfg = load_config(None, sys.argv[2:])
cache.preprocess(cfg, workers=2, on_item=hook, progress=False, verbose=False)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_parent_ends_its_workers_and_keeps_progress(source, tmp_path, reference):
    cache = tmp_path / "cache"
    script, ready = tmp_path / "kill.py", tmp_path / "ready"
    script.write_text(textwrap.dedent(KILL_SCRIPT))
    proc = subprocess.Popen([sys.executable, str(script), str(ready), *_sets(source, cache)], env=_env())
    try:
        _wait_for(lambda: ready.exists() and ready.read_text().strip(), what="the preprocess run")
        workers = [int(p) for p in ready.read_text().split()]
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _wait_for(lambda: not any(_alive(p) for p in workers), timeout=20, what="the workers to end")
    finally:
        if proc.poll() is None:
            proc.kill()
    cfg = _cfg(source, cache)
    stats = preprocess(cfg, progress=False, verbose=False)  # the lock is free again at once
    assert stats.complete and stats.processed <= 2 * N_PER_CLASS - 8  # rows 0..7 were kept
    _assert_same(_contents(stats.folder), reference)


# ---- damaged files ----------------------------------------------------------------------------------
def _partial_of_three(source, cache):
    cfg = _cfg(source, cache)
    stats = preprocess(cfg, max_items=3, progress=False, verbose=False)
    assert not stats.complete
    return cfg, stats.folder / PARTIAL


def test_unreadable_partial_is_discarded_with_a_message(source, tmp_path, reference, capsys):
    cfg, partial = _partial_of_three(source, tmp_path / "cache")
    partial.write_bytes(partial.read_bytes()[: partial.stat().st_size // 3])
    capsys.readouterr()
    stats = preprocess(cfg, progress=False)
    out = capsys.readouterr().out
    assert f"preprocess: discarding {partial}: unreadable (" in out and "; starting over" in out
    assert stats.complete and stats.processed == 2 * N_PER_CLASS
    _assert_same(_contents(stats.folder), reference)


def test_partial_row_with_damaged_bytes_is_framed_again(source, tmp_path, reference, capsys):
    cfg, partial = _partial_of_three(source, tmp_path / "cache")
    with h5py.File(partial, "r") as f:
        info = f["frames_u8"].id.get_chunk_info_by_coord((1, 0, 0, 0, 0))
    raw = bytearray(partial.read_bytes())
    middle = info.byte_offset + info.size // 2
    raw[middle : middle + 8] = bytes(255 - b for b in raw[middle : middle + 8])
    partial.write_bytes(bytes(raw))
    capsys.readouterr()
    stats = preprocess(cfg, progress=False)
    assert (
        f"preprocess: 1 rows of {partial} failed their check; framing them again" in capsys.readouterr().out
    )
    assert stats.complete and stats.processed == 2 * N_PER_CLASS - 2
    _assert_same(_contents(stats.folder), reference)


def test_truncated_complete_cache_is_one_clear_error(source, tmp_path):
    cfg = _cfg(source, tmp_path / "cache")
    folder = preprocess(cfg, progress=False, verbose=False).folder
    final = folder / FINAL
    final.write_bytes(final.read_bytes()[: final.stat().st_size // 2])
    again = f"delete {folder} and run `eventsnn preprocess` again"
    for job in (build_event_datasets, lambda c: preprocess(c, progress=False, verbose=False)):
        with pytest.raises(DataError) as info:
            job(cfg)
        assert str(info.value).startswith(f"{final}: the cache file is unreadable (")
        assert str(info.value).endswith(f"); {again}")


def test_an_unwritten_row_is_never_served(source, tmp_path):
    cfg = _cfg(source, tmp_path / "cache")
    folder = preprocess(cfg, progress=False, verbose=False).folder
    with h5py.File(folder / FINAL, "a") as f:  # what two unlocked runs used to leave: a row never written
        f["status"][5] = TODO
    with pytest.raises(DataError) as info:
        build_event_datasets(cfg)
    assert str(info.value) == (
        f"{folder / FINAL}: 1 rows were never written (first: row 5); "
        f"delete {folder} and run `eventsnn preprocess` again"
    )


# ---- a full disk --------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmpfs):
    return tmpfs("6m")


def _fill(mnt: Path, leave: int) -> Path:
    ballast = mnt / "ballast"
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    ballast.write_bytes(b"\0" * max(0, free - leave))
    return ballast


DISABLE_PRECHECK = """
import sys
from eventsnn.config import load_config
import eventsnn.data.cache as cache
import eventsnn.data.cache_writer as writer
from eventsnn.errors import DataError

writer.free_bytes = lambda folder: 1 << 50  # no early stop: the h5 writes themselves hit ENOSPC
writer.FLUSH_EVERY = 2  # commit often, so that some rows are kept
try:
    cache.preprocess(load_config(None, sys.argv[1:]), progress=False, verbose=False)
except DataError as exc:
    print(exc)
    sys.exit(2)
"""


@pytest.mark.parametrize("path", ["early stop", "ENOSPC from HDF5"])
def test_full_disk_is_one_line_and_the_next_run_recovers(source, small_disk, tmp_path, reference, path):
    from eventsnn.data.cache_files import RESERVE_BYTES

    cache = small_disk / "cache"
    folder = plan_cache(_cfg(source, cache)).folder
    reserve = RESERVE_BYTES + 2 * (6 * 2 * 24 * 24 * 4)  # 4 MiB + two uncompressed rows
    half = reference["_final_bytes"] // 2  # about half of the cache fits
    # the early stop keeps 2 rows free; HDF5 must have written its metadata (a third of this small
    # compressed cache) and a few rows before its write fails
    room = half + (2 * 6 * 2 * 24 * 24 * 4 if path == "early stop" else half // 2)
    ballast = _fill(small_disk, reserve + room)
    if path == "early stop":
        out = subprocess.run(_cli(source, cache), capture_output=True, text=True, env=_env())
        lines = [x for x in out.stderr.strip().splitlines() if "%|" not in x]  # not the progress bar
        assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
        line = lines[0]
    else:
        script = tmp_path / "enospc.py"
        script.write_text(textwrap.dedent(DISABLE_PRECHECK))
        out = subprocess.run(
            [sys.executable, str(script), *_sets(source, cache)], capture_output=True, text=True, env=_env()
        )
        assert out.returncode == 2, (out.returncode, out.stderr[-2000:])  # never a segfault (rc -11)
        line = "eventsnn preprocess: error: " + out.stdout.strip()
    assert line.startswith(f"eventsnn preprocess: error: {folder}: disk full (")
    kept = int(line.split(" recordings are kept")[0].rsplit("; ", 1)[1].split("/")[0])
    assert f"/{2 * N_PER_CLASS} recordings are kept in {PARTIAL}: free some space and run again" in line
    assert 0 < kept < 2 * N_PER_CLASS
    assert (folder / PARTIAL).exists() and not (folder / ".space-reserve").exists()
    ballast.unlink()
    stats = preprocess(_cfg(source, cache), progress=False, verbose=False)
    assert stats.complete
    _assert_same(_contents(stats.folder), reference)


def test_no_byte_free_is_one_line_before_anything_is_written(source, small_disk, reference):
    """0 bytes free: even the lock's holder file cannot be written (it was a traceback); the run
    says so in one line, writes no cache, and a run after freeing space builds the same cache."""
    cache = small_disk / "cache"
    folder = plan_cache(_cfg(source, cache)).folder
    ballast = _fill(small_disk, 0)
    assert os.statvfs(small_disk).f_bavail == 0
    out = subprocess.run(_cli(source, cache), capture_output=True, text=True, env=_env())
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.stderr.strip().splitlines() == [
        f"eventsnn preprocess: error: {folder}: disk full (0 B free; the cache needs at least "
        + out.stderr.split("needs at least ")[1].split(" more")[0]
        + " more to start): free some space and run again"
    ]
    assert not (folder / PARTIAL).exists() and not (folder / FINAL).exists()
    ballast.unlink()
    stats = preprocess(_cfg(source, cache), progress=False, verbose=False)
    assert stats.complete
    _assert_same(_contents(stats.folder), reference)
