"""Batched prediction over files: one `Prediction` row per input, CSV / JSON output, accuracy.

A DataLoader (optionally with worker processes) reads and frames the files; the model runs
on batches of the inputs that could be used. Each row holds the path, the top-k class names
with their probabilities (softmax of the time-averaged logits), the number of events and a
status: "ok", or "skipped: <reason>" for a file that could not be used (the others are still
predicted). When a file sits in a folder named like one of the classes, that class is its
`folder_class`, and the accuracy over such files is reported.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from eventsnn.errors import ConfigError
from eventsnn.inference.inputs import InputFiles, InputSpec
from eventsnn.inference.model import InferenceModel
from eventsnn.utils.io import atomic_write_text

OUTPUT_SUFFIXES = (".csv", ".json")


@dataclass
class Prediction:
    """One input's result; `classes`/`probs` are the top-k, best first (empty when skipped)."""

    path: str
    status: str  # "ok" or "skipped: <reason>"
    n_events: int | None = None
    classes: list[str] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)
    folder_class: str | None = None  # the parent folder's name when it is a class name

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class PredictTimes:
    """Seconds spent: decoding and framing (summed over workers), model, and the whole run."""

    decode_s: float = 0.0
    frame_s: float = 0.0
    model_s: float = 0.0
    wall_s: float = 0.0


def top_k(probs: torch.Tensor, k: int, class_names: Sequence[str]) -> list[tuple[list[str], list[float]]]:
    """`[B, K]` probabilities -> per row the k best (names, probabilities), best first (ties: lower index)."""
    k = min(int(k), probs.shape[-1])
    values, indices = torch.topk(probs.float(), k, dim=-1)  # [B, k]
    return [
        ([class_names[i] for i in idx], [float(v) for v in val])
        for idx, val in zip(indices.tolist(), values.tolist(), strict=True)
    ]


def folder_class(path: Path, class_names: Sequence[str]) -> str | None:
    """The name of `path`'s parent folder when it is one of `class_names`."""
    name = path.parent.name
    return name if name in class_names else None


def predict_files(
    model: InferenceModel,
    paths: Sequence[Path],
    *,
    k: int = 5,
    batch_size: int = 32,
    workers: int = 0,
    progress: bool = True,
    times: PredictTimes | None = None,
) -> list[Prediction]:
    """Predict every file of `paths` (in order); unusable files become skipped rows."""
    from tqdm import tqdm

    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    times = times if times is not None else PredictTimes()
    start = time.perf_counter()
    rows: list[Prediction | None] = [None] * len(paths)
    loader = torch.utils.data.DataLoader(
        InputFiles(paths, InputSpec.of(model)),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=list,
        shuffle=False,
    )
    names = model.class_names
    with tqdm(total=len(paths), unit="file", disable=not progress, mininterval=0.5) as bar:
        for batch in loader:
            good = []
            for i, x, n_events, error, decode_s, frame_s in batch:
                times.decode_s += decode_s
                times.frame_s += frame_s
                where = folder_class(paths[i], names)
                if error is not None:
                    rows[i] = Prediction(str(paths[i]), f"skipped: {error}", folder_class=where)
                    bar.write(f"predict: skipped {paths[i]}: {error}")
                else:
                    rows[i] = Prediction(str(paths[i]), "ok", n_events, folder_class=where)
                    good.append((i, x))
            if good:
                t0 = time.perf_counter()
                probs = model.probabilities(torch.stack([x for _, x in good]))  # [B, K]
                times.model_s += time.perf_counter() - t0
                for (i, _), (classes, p) in zip(good, top_k(probs, k, names), strict=True):
                    rows[i].classes, rows[i].probs = classes, p
            bar.update(len(batch))
    times.wall_s += time.perf_counter() - start
    return [r for r in rows if r is not None]


def folder_accuracy(rows: Sequence[Prediction]) -> dict | None:
    """Top-1 accuracy over the predicted files that sit in class folders; None when there are none."""
    scored = [r for r in rows if r.ok and r.folder_class is not None]
    if not scored:
        return None
    correct = sum(r.classes[0] == r.folder_class for r in scored)
    return {"correct": correct, "n": len(scored), "top1": 100.0 * correct / len(scored)}


def predictions_csv(rows: Sequence[Prediction], k: int) -> str:
    """CSV text: path, status, n_events, class_1, prob_1 ... class_k, prob_k, folder_class."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["path", "status", "n_events"]
    for j in range(1, k + 1):
        header += [f"class_{j}", f"prob_{j}"]
    writer.writerow([*header, "folder_class"])
    for r in rows:
        cells = [r.path, r.status, "" if r.n_events is None else r.n_events]
        for j in range(k):
            if j < len(r.classes):
                cells += [r.classes[j], f"{r.probs[j]:.6f}"]
            else:
                cells += ["", ""]
        writer.writerow([*cells, r.folder_class or ""])
    return buf.getvalue()


def write_predictions(
    path: str | os.PathLike[str], rows: Sequence[Prediction], *, k: int, meta: dict | None = None
) -> Path:
    """Write rows as CSV (`.csv`) or JSON (`.json`: meta, accuracy, rows), atomically."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return atomic_write_text(path, predictions_csv(rows, k))
    if path.suffix.lower() == ".json":
        doc = {**(meta or {}), "accuracy": folder_accuracy(rows), "rows": [asdict(r) for r in rows]}
        return atomic_write_text(path, json.dumps(doc, indent=1) + "\n")
    raise ConfigError(f"--out {path}: the file must end in {' or '.join(OUTPUT_SUFFIXES)}")


def format_row(r: Prediction) -> str:
    """One printed line: path, best class and probability (or the skip reason)."""
    if not r.ok:
        return f"{r.path}  {r.status}"
    best = ", ".join(f"{c} {p:.3f}" for c, p in zip(r.classes[:3], r.probs[:3], strict=True))
    events = f"  ({r.n_events} events)" if r.n_events is not None else ""
    return f"{r.path}  {best}{events}"
