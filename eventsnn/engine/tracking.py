"""Run logging on rank 0: a start banner, TensorBoard (scalars, hparams, the resolved config as
text), `metrics.jsonl` rows with the same rows as `metrics.csv`, and a progress bar."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventsnn.data.device import WaitMeter, input_bound_line
from eventsnn.engine.runfolder import disk_full_is_one_line
from eventsnn.utils.io import atomic_write_text


class PlainProgress:
    """Progress as whole lines (no carriage returns): one every 10% of `total` or 60 s."""

    def __init__(self, total: int, desc: str, *, every_s: float = 60.0) -> None:
        self.total, self.desc, self.every_s = max(int(total), 1), desc, every_s
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.step = max(self.total // 10, 1)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.n % self.step == 0 or self.n == self.total or now - self.last >= self.every_s:
            self.last = now
            rate = self.n / max(now - self.start, 1e-9)
            print(f"{self.desc}: {self.n}/{self.total} ({rate:.2f} step/s){self.postfix}", flush=True)

    def set_postfix(self, **kw: Any) -> None:
        self.postfix = "".join(f", {k}={v}" for k, v in kw.items())

    def write(self, line: str) -> None:
        print(line, flush=True)

    def close(self) -> None: ...


class _NullBar:
    def update(self, _n: int = 1) -> None: ...
    def set_postfix(self, **_kw: Any) -> None: ...
    def close(self) -> None: ...


def start_banner(
    *,
    job: str,
    sizes: Mapping[str, int],
    device: str,
    precision: str,
    world_size: int,
    out: str | Path,
    extra: Mapping[str, Any] | None = None,
) -> str:
    """The one block a job prints when it starts (as timm's train script does).

    >>> print(start_banner(job="train", sizes={"train": 1617, "test": 180}, device="cpu",
    ...                    precision="fp32", world_size=1, out="runs/demo"))
    train: 1617 train / 180 test samples | device cpu | precision fp32 | world size 1
      output folder: runs/demo
    """
    parts = [" / ".join(f"{n} {name}" for name, n in sizes.items()) + " samples"]
    parts += [f"device {device}", f"precision {precision}", f"world size {world_size}"]
    parts += [f"{key} {value}" for key, value in (extra or {}).items()]
    return f"{job}: " + " | ".join(parts) + f"\n  output folder: {out}"


def loaded_weights_line(source: str | Path, model: Any, dropped: list[str], num_classes: int) -> str:
    """The one line that says which weights were loaded and whether the classifier was replaced
    (`dropped`: the checkpoint's classifier keys that did not fit, see `Checkpoint.load_weights`)."""
    n = len(model.state_dict()) - len(dropped)
    line = f"loaded weights: {source} ({n} tensors)"
    if dropped:
        line += f"; classifier replaced by a new {num_classes}-class one ({', '.join(dropped)} not loaded)"
    return line


def hparams_of(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict flattened to `section.key` -> a TensorBoard hparams value
    (int, float, str or bool; lists and None as text).

    >>> hparams_of({"optim": {"lr": 0.002}, "model": {"planes": [32, 64], "pretrained": None}})
    {'optim.lr': 0.002, 'model.planes': '[32, 64]', 'model.pretrained': 'None'}
    """
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(hparams_of(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


def rows_as_csv(rows: list[dict[str, Any]]) -> str:
    """`metrics.jsonl` rows as CSV text; the columns are every key in order of first use (a
    key missing from a row is an empty cell)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


class MetricsLog:
    """Writes only when `enabled` (rank 0); every method is a no-op elsewhere."""

    def __init__(self, run_dir: Path, *, enabled: bool, tensorboard: bool) -> None:
        self.run_dir, self.enabled = Path(run_dir), enabled
        self._writer = None
        self._tensorboard = tensorboard and enabled
        self._rows: list[dict[str, Any]] = []

    def _tb(self):
        if self._writer is None and self._tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))
        return self._writer

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        writer = self._tb()
        if writer is None:
            return
        for key, value in values.items():
            writer.add_scalar(f"{prefix}/{key}", float(value), step)

    def config_text(self, yaml_text: str) -> None:
        """The resolved config in TensorBoard's Text tab (`config`)."""
        writer = self._tb()
        if writer is not None:
            writer.add_text("config", "```yaml\n" + yaml_text + "```", 0)

    def hparams(self, config: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """The config's fields and the final metrics in TensorBoard's HParams tab (runs compared
        side by side), written into the run's own TensorBoard folder."""
        writer = self._tb()
        if writer is not None:
            metric_dict = {f"hparam/{k}": float(v) for k, v in metrics.items()}
            writer.add_hparams(hparams_of(config), metric_dict, run_name=".")

    def reset_rows(self, rows: list[dict[str, Any]]) -> None:
        """Make `metrics.jsonl` (and `metrics.csv`) hold exactly `rows` (a run's history as its
        checkpoint has it)."""
        if not self.enabled:
            return
        self._rows = list(rows)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "metrics.jsonl"
        with disk_full_is_one_line(path, "metrics"):
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
        self._write_csv()

    def _write_csv(self) -> None:
        path = self.run_dir / "metrics.csv"
        with disk_full_is_one_line(path, "metrics"):
            atomic_write_text(path, rows_as_csv(self._rows))

    def epoch_row(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "metrics.jsonl"
        with disk_full_is_one_line(path, "metrics"), open(path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        self._rows.append(row)
        self._write_csv()
        print(
            f"epoch {row['epoch'] + 1}: test top1 {row['test_top1']:.2f}%  top5 {row['test_top5']:.2f}%  "
            f"loss {row['test_loss']:.4f}  lr {row['lr']:.2e}",
            flush=True,
        )

    def progress(self, total: int, desc: str):
        """A tqdm bar on a terminal; plain lines (`PlainProgress`) when stderr is a file or a pipe
        (SLURM logs); nothing on ranks other than 0."""
        if not self.enabled:
            return _NullBar()
        if not sys.stderr.isatty():
            return PlainProgress(total, desc)
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None


def report_data_wait(
    log: MetricsLog,
    meter: WaitMeter,
    device: Any,
    step: int,
    bar: Any,
    speak: bool,
    num_workers: int,
    on_device: bool,
) -> None:
    """Close a step on `meter`; once its window is full, the share of time spent waiting for data
    (`data/wait_share`, ms waiting and computing per step in TensorBoard) and, when `speak`, one
    line on `bar` when data limits the run (share > 25%, `eventsnn.data.device.input_bound_line`)."""
    share = meter.step_done(device)
    if share is None:
        return
    rows = {
        "wait_share": share,
        "wait_ms": meter.wait_s / meter.steps * 1e3,
        "compute_ms": meter.compute_s / meter.steps * 1e3,
    }
    log.scalars("data", rows, step)
    if share > 0.25 and speak:
        line = input_bound_line(share, meter, num_workers, on_device)
        (bar.write if hasattr(bar, "write") else print)(line)
