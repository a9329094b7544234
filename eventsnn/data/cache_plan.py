"""Which cache folder a config's data set and framing use, and whether it is complete and fresh.

`key` = sha256 of what decides the cached counts: the framing fields that change them
(n_frames, split_by, time_window, event_count), the sensor size, the sorted file list with
labels and splits, and `CODE_VERSION`; cut to 16 hex digits. What the loader derives
(`framing.resize`, `polarity_sum_channel`, `dtype`: `eventsnn.data.derive`) is not in the key,
so changing it does not frame again. File times are not in the key either: raw data copied to
another machine (times not kept) keeps its cache. Instead the manifest records each
recording's size, mtime and sha256 (computed while framing); a recording whose mtime differs
from the one last seen is hashed again (`stale_rows`): same content, the new time is noted in
`seen.json`; other content, its row is framed again. A same-size change with the old mtime
put back is caught by `eventsnn preprocess --verify` (every file hashed, every row read).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from eventsnn.data.cache_codec import file_hash
from eventsnn.data.cache_files import COMPLETE, FINAL, MANIFEST
from eventsnn.data.recordings import Recording, dataset_root, list_all_recordings, sensor_size_for
from eventsnn.errors import ConfigError
from eventsnn.utils.io import atomic_write_text

CODE_VERSION = "eventsnn-counts-3"
SEEN = "seen.json"  # {relative path: mtime_ns} of recordings whose content was checked here
_COUNT_FIELDS = ("n_frames", "split_by", "time_window", "event_count")


@dataclass(frozen=True)
class CachePlan:
    """What one preprocess run makes: the recordings, their count shape, the cache folder."""

    dataset: str
    root: Path
    recordings: tuple[Recording, ...]
    class_names: tuple[str, ...]
    sensor_size: tuple[int, int, int]
    framing: dict
    shape: tuple[int, int, int, int]  # counts [T, P, H, W]
    key: str
    folder: Path
    shard: tuple[int, int] | None = None  # (I, N): this plan frames recordings I, I + N, I + 2N, ...
    all_recordings: tuple[Recording, ...] = ()  # the whole data set (splits are made over it)
    rows: tuple[int, ...] = field(default=())  # index of each of `recordings` in `all_recordings`

    @property
    def complete(self) -> bool:
        """COMPLETE, frames.h5 and a readable manifest.json of this key are all there."""
        return (self.folder / COMPLETE).is_file() and (self.folder / FINAL).is_file() and self.manifest_ok

    @property
    def manifest_ok(self) -> bool:
        try:
            m = json.loads((self.folder / MANIFEST).read_text())
            return m.get("key") == self.key and len(m.get("files", ())) == len(self.recordings)
        except (OSError, ValueError, AttributeError):
            return False

    def rel(self, rec: Recording) -> str:
        """The recording's path relative to the data set root (as the manifest names it)."""
        try:
            return str(rec.path.relative_to(self.root))
        except ValueError:
            return str(rec.path)


def framing_params(framing) -> dict:
    """The FramingConfig fields that decide the counts (not the backend: backends agree; not what
    the loader derives: resize, sum channel, dtype)."""
    d = asdict(framing)
    return {k: d[k] for k in _COUNT_FIELDS}


def count_shape(framing, sensor_size: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """`[T, P, H, W]` of one cached row."""
    if framing.n_frames is None or framing.time_window is not None or framing.event_count is not None:
        raise ConfigError(
            "preprocess: the cache needs a fixed number of frames: set framing.n_frames and leave "
            "framing.time_window / framing.event_count null"
        )
    W, H, P = sensor_size
    return (int(framing.n_frames), int(P), int(H), int(W))


def cache_key(dataset: str, sensor_size, framing: dict, files: list[tuple]) -> str:
    """16 hex digits over everything that decides the cached counts (see module docstring)."""
    blob = json.dumps(
        {
            "code": CODE_VERSION,
            "dataset": dataset,
            "sensor": list(sensor_size),
            "framing": framing,
            "files": files,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def file_rows(root: Path, recs) -> list[tuple]:
    """(relative path, label, split[, source tag]) of every recording: the key's file list (the tag:
    what besides the file content changes the events read: window, orientation, reader options)."""
    rows = []
    for r in recs:
        try:
            rel = str(r.path.relative_to(root))
        except ValueError:
            rel = str(r.path)
        tag = r.source.tag() if r.source is not None else ""
        rows.append((rel, int(r.label), r.split, *((tag,) if tag else ())))
    return rows


def cache_root(cache_dir: str | os.PathLike[str]) -> Path:
    """`data.cache_dir` as a path; `ConfigError` when it (or a folder above it) is a file."""
    root = Path(cache_dir).expanduser()
    for p in (root, *root.parents):
        if p.exists():
            if not p.is_dir():
                raise ConfigError(f"data.cache_dir={cache_dir}: {p} is a file, not a folder")
            break
    return root


def _check_folders(root: Path, folder: Path) -> None:
    """One line when a file sits where a cache sub-folder (data set or key folder) belongs."""
    for p in (folder.parent, folder):
        if p.exists() and not p.is_dir():
            raise ConfigError(
                f"{p} is a file where the cache needs a folder (data.cache_dir={root}); move it away"
            )


def plan_cache(cfg) -> CachePlan:
    """List the recordings and work out the cache folder of the configured data set and framing."""
    recs, names = list_all_recordings(cfg)
    sensor = sensor_size_for(cfg)
    framing = framing_params(cfg.framing)
    shape = count_shape(cfg.framing, sensor)
    root = dataset_root(cfg)
    key = cache_key(cfg.data.dataset, sensor, framing, file_rows(root, recs))
    base = cache_root(cfg.data.cache_dir)
    folder = base / cfg.data.dataset / key
    _check_folders(base, folder)
    recs = tuple(recs)
    rows = tuple(range(len(recs)))
    return CachePlan(
        cfg.data.dataset, root, recs, names, sensor, framing, shape, key, folder, None, recs, rows
    )


# ---- shards --------------------------------------------------------------------------------------
_SHARD = re.compile(r"^shard-(\d+)-of-(\d+)$")


def shard_plan(plan: CachePlan, index: int, count: int) -> CachePlan:
    """The plan of shard `index` of `count`: recordings index, index + count, ... (a deterministic
    1/count of the sorted list) in `<key>/shard-<index>-of-<count>/`, locked on its own."""
    rows = tuple(range(index, len(plan.all_recordings), count))
    return replace(
        plan,
        recordings=tuple(plan.all_recordings[i] for i in rows),
        rows=rows,
        shard=(index, count),
        folder=plan.folder / f"shard-{index}-of-{count}",
    )


def shard_count(plan: CachePlan) -> int | None:
    """N of the `shard-I-of-N` folders under the plan's folder (None: no shards there)."""
    counts = set()
    if plan.folder.is_dir():
        for p in plan.folder.iterdir():
            m = _SHARD.match(p.name)
            if m and p.is_dir():
                counts.add(int(m.group(2)))
    if len(counts) > 1:
        raise ConfigError(
            f"{plan.folder}: shards of different counts ({sorted(counts)}) lie here; "
            "keep the folders of one count"
        )
    return counts.pop() if counts else None


def parse_shard(text: str | None, env: dict[str, str]) -> tuple[int, int] | None:
    """`I/N` (0 <= I < N), else SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, else RANK /
    WORLD_SIZE (when WORLD_SIZE > 1), else None (no sharding)."""
    if text is not None:
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not m or not int(m.group(1)) < int(m.group(2)):
            raise ConfigError(f"--shard: expected I/N with 0 <= I < N (e.g. 0/4), got {text!r}")
        return int(m.group(1)), int(m.group(2))
    for idx, count in (("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"), ("RANK", "WORLD_SIZE")):
        if env.get(idx, "").isdigit() and env.get(count, "").isdigit() and int(env[count]) > 1:
            i, n = int(env[idx]), int(env[count])
            if i >= n:
                raise ConfigError(f"{idx}={i} is not below {count}={n}")
            return i, n
    return None


def stale_rows(plan: CachePlan, say) -> list[int]:
    """Rows of a complete cache whose recording changed: mtime differs from the last one seen and
    the content hash differs from the manifest's. Same content: the new mtime is noted."""
    manifest = json.loads((plan.folder / MANIFEST).read_text())
    seen_path = plan.folder / SEEN
    try:
        seen = json.loads(seen_path.read_text())
    except (OSError, ValueError):
        seen = {}
    stale, noted = [], 0
    for i, (rec, entry) in enumerate(zip(plan.recordings, manifest["files"], strict=True)):
        st = rec.path.stat()
        if st.st_mtime_ns == seen.get(entry["path"], entry["mtime_ns"]) and st.st_size == entry["size"]:
            continue
        if st.st_size == entry["size"] and file_hash(rec.path) == entry.get("sha256"):
            seen[entry["path"]] = st.st_mtime_ns
            noted += 1
        else:
            stale.append(i)
    if noted:
        say(f"preprocess: {noted} recordings have new file times but the same content; cache kept")
        try:
            atomic_write_text(seen_path, json.dumps(seen) + "\n")
        except OSError:
            pass  # a read-only cache: checked again next time
    return stale
