"""Run logging on rank 0: TensorBoard scalars, `metrics.jsonl` rows and a progress bar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eventsnn.engine.runfolder import disk_full_is_one_line


class _NullBar:
    def update(self, _n: int = 1) -> None: ...
    def set_postfix(self, **_kw: Any) -> None: ...
    def close(self) -> None: ...


class MetricsLog:
    """Writes only when `enabled` (rank 0); every method is a no-op elsewhere."""

    def __init__(self, run_dir: Path, *, enabled: bool, tensorboard: bool) -> None:
        self.run_dir, self.enabled = Path(run_dir), enabled
        self._writer = None
        self._tensorboard = tensorboard and enabled

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

    def reset_rows(self, rows: list[dict[str, Any]]) -> None:
        """Make `metrics.jsonl` hold exactly `rows` (a run's history as its checkpoint has it)."""
        if not self.enabled:
            return
        from eventsnn.utils.io import atomic_write_text

        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "metrics.jsonl"
        with disk_full_is_one_line(path, "metrics"):
            atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))

    def epoch_row(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / "metrics.jsonl"
        with disk_full_is_one_line(path, "metrics"), open(path, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(
            f"epoch {row['epoch'] + 1}: test top1 {row['test_top1']:.2f}%  top5 {row['test_top5']:.2f}%  "
            f"loss {row['test_loss']:.4f}  lr {row['lr']:.2e}",
            flush=True,
        )

    def progress(self, total: int, desc: str):
        if not self.enabled:
            return _NullBar()
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="step", leave=False, dynamic_ncols=True)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None
