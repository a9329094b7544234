"""The jobs behind `eventsnn analyze attention | synchrony | layers` (checkpoints -> figures).

Every job checks all checkpoints (exist, of the configured model) before loading data, builds
each model with `Checkpoint.model` and evaluates with the engine's `evaluate_model` on the test split.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader, Subset

from eventsnn.analysis.figures import default_items, fig3, fig5
from eventsnn.config import RunConfig
from eventsnn.devices import resolve_device
from eventsnn.engine import builders
from eventsnn.engine.evaluate import evaluate_model
from eventsnn.errors import ConfigError
from eventsnn.models.neurons import spiking_layers
from eventsnn.robustness.activity import find_layer
from eventsnn.robustness.checkpoints import checkpoint_labels, load_all, read_checkpoints
from eventsnn.robustness.inner import plot_layer_sweep, run_layer_sweep
from eventsnn.robustness.report import to_csv
from eventsnn.robustness.sweep import subset_indices, summarize
from eventsnn.utils.io import atomic_write_text


def load_models(cfg: RunConfig, checkpoint_args: Sequence[str]) -> tuple[Any, dict[str, Any], Any]:
    """(DataBundle, label -> model in eval mode on the device, device), every checkpoint checked first."""
    checkpoints = checkpoint_labels(checkpoint_args)
    read = read_checkpoints(checkpoints, cfg.model.name)
    data = builders.build_datasets(cfg)
    device = resolve_device(cfg.train.device)
    describe = data.describe()
    models = load_all(checkpoints, lambda path: read[path].model(device, model_cfg=cfg.model, data=describe))
    return data, models, device


def ordered_test_loader(cfg: RunConfig, data: Any, batch_size: int, max_samples: int | None = None):
    """The test split in order (`max_samples` evenly spaced items, as the robustness sweeps)."""
    idx = subset_indices(len(data.test), max_samples).tolist()
    return DataLoader(
        Subset(data.test, idx), batch_size=batch_size, shuffle=False, num_workers=cfg.data.num_workers
    )


def test_targets(dataset: Any) -> list[int]:
    """The class of every item of a test split (its `labels` / `targets`, else item by item)."""
    for attr in ("labels", "targets"):
        values = getattr(dataset, attr, None)
        if values is not None and len(values) == len(dataset):
            return [int(v) for v in values]
    return [int(dataset[i][1]) for i in range(len(dataset))]


def attention_job(
    cfg: RunConfig, checkpoint_args: Sequence[str], out_dir: Path, items: Sequence[int] | None = None
) -> dict:
    """Fig. 3 for test items `items` (None: three items of different classes, `default_items`):
    attention maps of both checkpoints on one colour scale, feature gain of the second."""
    if len(checkpoint_args) != 2:
        raise ConfigError("analyze attention: give exactly two --checkpoint (baseline first, then DA-SSDP)")
    data, models, device = load_models(cfg, checkpoint_args)
    if items is None:
        items = default_items(test_targets(data.test))
    bad = [i for i in items if not 0 <= i < len(data.test)]
    if bad or not items:
        raise ConfigError(
            f"analyze attention: --items must be test indices in [0, {len(data.test)}), got {list(items)}"
        )
    return fig3(models, [data.test[i] for i in items], list(items), Path(out_dir), device=device)


def synchrony_job(
    cfg: RunConfig,
    checkpoint_args: Sequence[str],
    out_dir: Path,
    *,
    layer: str | None = None,
    batch_size: int = 32,
    max_batches: int | None = None,
) -> dict:
    """Fig. 5: per-mini-batch synchrony (neuron pairs, channel pairs) of every checkpoint."""
    data, models, device = load_models(cfg, checkpoint_args)
    return fig5(
        models,
        lambda: ordered_test_loader(cfg, data, batch_size),
        Path(out_dir),
        layer=layer,
        device=device,
        max_batches=max_batches,
    )


def layers_job(
    cfg: RunConfig,
    checkpoint_args: Sequence[str],
    out_dir: Path,
    *,
    layers: Sequence[str] | None = None,
    sweeps: Sequence[Any] | None = None,
    seeds: Sequence[int] | None = None,
    max_samples: int | None = None,
) -> dict:
    """Spike-level sweeps applied inside the network at every chosen spiking layer (default: all);
    `sweeps` default to the config's spike-level `robustness.sweeps`."""
    rc = cfg.robustness
    sweeps = list(sweeps if sweeps is not None else [s for s in rc.sweeps if s.level == "spike"])
    if not sweeps:
        raise ConfigError("analyze layers: no spike-level sweeps (robustness.sweeps with level: spike)")
    data, models, device = load_models(cfg, checkpoint_args)
    first = next(iter(models.values()))
    layers = [find_layer(first, name) for name in layers] if layers else spiking_layers(first)
    points = run_layer_sweep(
        models,
        layers,
        sweeps,
        lambda: ordered_test_loader(
            cfg, data, rc.batch_size, max_samples if max_samples is not None else rc.max_samples
        ),
        lambda model, loader: evaluate_model(model, loader, device, data.num_classes),
        seeds=list(seeds if seeds is not None else rc.seeds),
        device=device,
        progress=print,
    )
    rows = summarize(points)
    out = Path(out_dir)
    doc = {
        "layers": list(layers),
        "dataset": cfg.data.dataset,
        "model": cfg.model.name,
        "points": points,
        "summary": rows,
    }
    paths = {
        "json": atomic_write_text(out / "layers.json", json.dumps(doc, indent=2) + "\n"),
        "csv": atomic_write_text(out / "layers_summary.csv", to_csv(rows, list(rows[0]))),
        "png": plot_layer_sweep(
            rows,
            layers,
            out / "layers.png",
            chance=100.0 / data.num_classes,
            samples=next((int(p["n"]) for p in points if "n" in p), None),
        ),
    }
    return paths
