"""Cache v2 integrity (issue 24's cache items): content hashes, --verify, checksums on read,
killed workers, damaged manifests, files where folders belong, caches of the old format."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from eventsnn.config import load_config
from eventsnn.data import build_event_datasets, plan_cache, preprocess
from eventsnn.data.cache import COMPLETE, FINAL, MANIFEST, PARTIAL
from eventsnn.errors import ConfigError, DataError
from eventsnn.events.io import read_recording, to_event_array, write_aedat4
from tests.factories import REPO
from tests.tiny_data import write_tiny_folder

SIZE = 24


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return write_tiny_folder(tmp_path_factory.mktemp("src") / "rec", per_class=6, size=SIZE)


def _sets(root, cache) -> list[str]:
    return [
        "data.dataset=folder",
        f"data.root={root}",
        f"data.cache_dir={cache}",
        "framing.n_frames=5",
        "data.preprocess_workers=1",
    ]


def _cfg(root, cache, *sets):
    return load_config(None, [*_sets(root, cache), *sets])


def _served(cfg) -> np.ndarray:
    tr, te, _ = build_event_datasets(cfg)
    out = np.stack([tr[i][0].numpy() for i in range(len(tr))] + [te[i][0].numpy() for i in range(len(te))])
    tr.close(), te.close()
    return out


def _copy_without_times(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, copy_function=shutil.copyfile)  # as `cp -r` without -p: new mtimes
    return dst


def _same_size_variant(path: Path) -> bytes:
    """The recording at `path` with one event's polarity flipped, written to the same byte size."""
    ev = read_recording(path)
    size = path.stat().st_size
    tmp = path.with_suffix(".variant.aedat4")
    for k in range(len(ev)):
        p = ev["p"].copy()
        p[k] = 1 - p[k]
        write_aedat4(tmp, to_event_array(ev["t"], ev["x"], ev["y"], p), (SIZE, SIZE, 2))
        if tmp.stat().st_size == size:
            data = tmp.read_bytes()
            tmp.unlink()
            return data
    raise AssertionError("no same-size variant found")


def test_copied_raw_data_keeps_its_cache_and_a_changed_file_is_framed_again(source, tmp_path, capsys):
    cache = tmp_path / "cache"
    first = preprocess(_cfg(source, cache), progress=False)
    before = _served(_cfg(source, cache))
    copy = _copy_without_times(source, tmp_path / "copy")
    capsys.readouterr()
    again = preprocess(_cfg(copy, cache), progress=False)  # every mtime differs: hashed, not framed
    out = capsys.readouterr().out
    assert again.nothing_to_do and again.folder == first.folder and again.processed == 0
    assert "12 recordings have new file times but the same content; cache kept" in out
    np.testing.assert_array_equal(_served(_cfg(copy, cache)), before)
    assert preprocess(_cfg(copy, cache), progress=False, verbose=False).nothing_to_do  # times noted
    # a changed recording (new content, new time): only its row is framed again
    target = copy / "c1" / "r02.aedat4"
    ev = read_recording(target)
    write_aedat4(target, to_event_array(ev["t"], ev["x"], ev["y"], 1 - ev["p"]), (SIZE, SIZE, 2))
    capsys.readouterr()
    stats = preprocess(_cfg(copy, cache), progress=False)
    assert "1 recordings changed since they were framed; framing them again" in capsys.readouterr().out
    assert stats.complete and stats.processed == 1 and stats.reframed == 1
    after = _served(_cfg(copy, cache))
    tr, _te, _ = build_event_datasets(_cfg(copy, cache))
    row = list(tr.paths).index(target)
    tr.close()
    np.testing.assert_array_equal(after[row], before[row][:, ::-1])  # polarities swapped
    others = [i for i in range(len(before)) if i != row]
    np.testing.assert_array_equal(after[others], before[others])


def test_verify_catches_a_same_size_change_with_its_time_put_back(source, tmp_path, capsys):
    root = _copy_without_times(source, tmp_path / "rec")
    cache = tmp_path / "cache"
    cfg = _cfg(root, cache)
    preprocess(cfg, progress=False, verbose=False)
    before = _served(cfg)
    target = root / "c0" / "r03.aedat4"
    st = target.stat()
    target.write_bytes(_same_size_variant(target))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # `touch -r`: the old time put back
    assert preprocess(cfg, progress=False, verbose=False).nothing_to_do  # documented: only --verify sees it
    capsys.readouterr()
    stats = preprocess(cfg, progress=False, verify=True)
    out = capsys.readouterr().out
    assert "preprocess --verify: c0/r03.aedat4 changed since it was framed; framing it again" in out
    assert stats.complete and stats.processed == 1
    after = _served(cfg)
    assert not np.array_equal(after, before)
    capsys.readouterr()
    assert preprocess(cfg, progress=False, verify=True).nothing_to_do
    assert "every recording and row verified" in capsys.readouterr().out


def _flip_row_bytes(folder: Path, row: int) -> None:
    final = folder / FINAL
    with h5py.File(final, "r") as f:
        info = f["frames_u8"].id.get_chunk_info_by_coord((row, 0, 0, 0, 0))
    raw = bytearray(final.read_bytes())
    raw[info.byte_offset + info.size // 2] ^= 0x04  # one bit
    final.write_bytes(bytes(raw))


def test_a_damaged_row_is_one_line_when_read_and_verify_frames_it_again(source, tmp_path, capsys):
    cfg = _cfg(source, tmp_path / "cache")
    folder = preprocess(cfg, progress=False, verbose=False).folder
    before = _served(cfg)
    tr, _te, _ = build_event_datasets(cfg)
    row = int(tr.indices[2])
    _flip_row_bytes(folder, row)
    with pytest.raises(DataError) as info:
        tr[2]
    assert str(info.value).splitlines() == [str(info.value)]
    assert str(info.value).startswith(f"{folder / FINAL}: row {row} is damaged (")
    assert str(info.value).endswith("run `eventsnn preprocess --verify` with this config to frame it again")
    tr.close()
    capsys.readouterr()
    stats = preprocess(cfg, progress=False, verify=True)
    assert f"preprocess --verify: row {row} (" in capsys.readouterr().out
    assert stats.processed == 1
    np.testing.assert_array_equal(_served(cfg), before)


KILL_WORKER = """
import os, signal, sys
import eventsnn.data.cache_workers as workers
from eventsnn.cli import main

PARENT = os.getpid()
frame_one = workers.frame_one

def killer(i):
    if i == 5 and os.getpid() != PARENT:
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
    return frame_one(i)

workers.frame_one = killer
sys.exit(main(sys.argv[1:]))
"""


def test_a_killed_worker_ends_the_run_with_one_line_and_a_resumable_cache(source, tmp_path):
    cache = tmp_path / "cache"
    script, config = tmp_path / "kill.py", tmp_path / "empty.yaml"
    script.write_text(textwrap.dedent(KILL_WORKER))
    config.write_text("{}\n")
    argv = [sys.executable, str(script), "preprocess", "-c", str(config), "--workers", "2"]
    for item in _sets(source, cache):
        argv += ["--set", item]
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)  # never a hang
    lines = [x for x in out.stderr.strip().splitlines() if "%|" not in x]
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    folder = plan_cache(_cfg(source, cache)).folder
    assert lines[0].startswith("eventsnn preprocess: error: a worker died while framing ")
    assert "(killed: out of memory?)" in lines[0]
    assert lines[0].endswith(
        f"are kept in {folder / PARTIAL}: run again to resume (fewer --workers use less memory)"
    )
    assert (folder / PARTIAL).exists() and not (folder / COMPLETE).exists()
    stats = preprocess(_cfg(source, cache), progress=False, verbose=False)
    assert stats.complete
    ref = preprocess(_cfg(source, tmp_path / "ref"), progress=False, verbose=False)
    assert ref.processed == 12
    np.testing.assert_array_equal(_served(_cfg(source, cache)), _served(_cfg(source, tmp_path / "ref")))


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_complete_without_a_readable_manifest_is_not_complete(source, tmp_path, damage):
    cfg = _cfg(source, tmp_path / "cache")
    folder = preprocess(cfg, progress=False, verbose=False).folder
    if damage == "missing":
        (folder / MANIFEST).unlink()
    else:
        (folder / MANIFEST).write_text('{"key": "trunc')
    assert (folder / COMPLETE).exists() and not plan_cache(cfg).complete
    stats = preprocess(cfg, progress=False, verbose=False)
    assert stats.complete and not stats.nothing_to_do
    assert json.loads((folder / MANIFEST).read_text())["key"] == plan_cache(cfg).key


def test_a_file_where_a_cache_folder_belongs_is_one_line(source, tmp_path):
    cache = tmp_path / "cache"
    (cache).mkdir()
    (cache / "folder").write_text("not a folder\n")
    with pytest.raises(ConfigError) as info:
        plan_cache(_cfg(source, cache))
    assert str(info.value) == (
        f"{cache / 'folder'} is a file where the cache needs a folder (data.cache_dir={cache}); move it away"
    )


def test_a_cache_of_the_old_format_is_refused_in_one_line(source, tmp_path):
    cfg = _cfg(source, tmp_path / "cache")
    folder = preprocess(cfg, progress=False, verbose=False).folder
    with h5py.File(folder / FINAL, "a") as f:  # what eventsnn 0.1 wrote: no format attribute
        del f.attrs["format"]
    with pytest.raises(DataError) as info:
        build_event_datasets(cfg)
    assert str(info.value) == (
        f"{folder / FINAL}: a cache of an older format (version 1, this eventsnn reads 2); "
        f"delete {folder} and run `eventsnn preprocess` again"
    )


def test_cache_none_frames_on_the_fly_what_the_cache_serves(source, tmp_path):
    sets = ("framing.resize=[12,12]", "framing.polarity_sum_channel=true")
    cached = _served(_cfg(source, tmp_path / "cache", *sets))
    tr, te, info = build_event_datasets(_cfg(source, tmp_path / "none", "data.cache=none", *sets))
    assert not (tmp_path / "none").exists()  # nothing written
    assert info.input_shape == (5, 3, 12, 12)
    fly = np.stack([tr[i][0].numpy() for i in range(len(tr))] + [te[i][0].numpy() for i in range(len(te))])
    np.testing.assert_array_equal(fly, cached)
    tr.counts = True
    x, _ = tr[0]
    assert x.dtype == torch.int32 and x.shape == (5, 2, SIZE, SIZE)


def test_two_shard_runs_on_two_copies_serve_what_one_run_serves(source, tmp_path, capsys):
    one = _served(_cfg(source, tmp_path / "one"))
    copies = [_copy_without_times(source, tmp_path / f"machine{k}") for k in (0, 1)]  # new file times
    caches = [tmp_path / f"cache{k}" for k in (0, 1)]
    for k in (0, 1):  # each machine frames its shard of its own copy
        stats = preprocess(_cfg(copies[k], caches[k]), shard=(k, 2), progress=False, verbose=False)
        assert stats.complete and stats.processed == 6 and stats.folder.name == f"shard-{k}-of-2"
    cfg = _cfg(copies[0], caches[0])
    with pytest.raises(DataError) as info:  # shard 1 still on the other machine
        build_event_datasets(cfg)
    folder = plan_cache(cfg).folder
    assert str(info.value) == (
        f"{folder}: the cache is split in 2 shards and 1 are missing or incomplete: 1; "
        "run `eventsnn preprocess --shard I/2` for each (I = 1)"
    )
    shutil.copytree(caches[1] / "folder" / folder.name / "shard-1-of-2", folder / "shard-1-of-2")
    capsys.readouterr()
    np.testing.assert_array_equal(_served(cfg), one)  # read in place, no merge, nothing re-framed
    assert "new file times but the same content" in capsys.readouterr().out
    assert not (folder / FINAL).exists()


def test_shard_from_the_command_line_or_the_launcher():
    from eventsnn.data.cache_plan import parse_shard

    assert parse_shard("1/4", {}) == (1, 4) and parse_shard(None, {}) is None
    assert parse_shard(None, {"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"}) == (2, 3)
    assert parse_shard(None, {"RANK": "1", "WORLD_SIZE": "2"}) == (1, 2)
    assert parse_shard(None, {"RANK": "0", "WORLD_SIZE": "1"}) is None
    for bad in ("4/4", "a/b", "1"):
        with pytest.raises(ConfigError, match="--shard: expected I/N"):
            parse_shard(bad, {})
