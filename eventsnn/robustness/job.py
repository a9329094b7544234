"""The job behind `eventsnn robustness -c FILE --checkpoint A [--checkpoint B ...]`.

Order (every check before any work): sweeps validated -> checkpoint files exist -> each checkpoint
is of the configured model -> data -> models loaded (strict) -> sweep -> reports -> analysis.
The engine supplies the model loader and the evaluation; the data layer supplies the raw recordings
behind exactly the test items the frame cache serves (`eventsnn.data.raw_recordings(data.test)`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Subset

from eventsnn.config import RunConfig
from eventsnn.config.loader import save_resolved, to_dict
from eventsnn.data import raw_recordings
from eventsnn.devices import resolve_device
from eventsnn.engine import builders
from eventsnn.engine.evaluate import evaluate_model
from eventsnn.errors import ConfigError, DataError
from eventsnn.events.postprocess import framer_from_config, from_config
from eventsnn.robustness.activity import analysis_figures
from eventsnn.robustness.checkpoints import checkpoint_labels, load_all, read_checkpoints
from eventsnn.robustness.inner import run_layer_sweep
from eventsnn.robustness.registry import validate_sweeps
from eventsnn.robustness.report import write_reports
from eventsnn.robustness.sweep import EventSource, FramedSource, run_sweep, subset_indices


def event_source(cfg: RunConfig, data: Any) -> EventSource:
    """The raw recordings behind exactly the test items the frame cache serves (`data.test`; same
    order, recordings the cache skipped left out), framed on the fly with `cfg.framing` by the same
    configured framer and post-processing that made the cache.

    Raises:
        DataError: `data.test` is not a cached event data set (images, or frames without recordings).
    """
    recordings = raw_recordings(data.test)
    sensor = tuple(recordings.sensor_size)
    return EventSource(recordings, sensor, framer_from_config(cfg.framing, sensor), from_config(cfg.framing))


def default_source(cfg: RunConfig, data: Any) -> EventSource | FramedSource:
    """The raw test recordings the cache serves; without them, when every sweep is spike level,
    the framed test set (counts: requires `framing.resize: null`)."""
    try:
        return event_source(cfg, data)
    except DataError as exc:
        if any(s.level == "event" for s in cfg.robustness.sweeps):
            raise
        if getattr(data, "kind", "events") != "events":
            raise DataError(
                f"robustness: spike-level sweeps need event frames; {cfg.data.dataset} is images"
            ) from exc
        if cfg.framing.resize is not None:
            raise ConfigError(
                "robustness: without raw recordings, spike-level sweeps run on the framed test set, which "
                "must hold counts: set framing.resize: null"
            ) from exc
        print(f"robustness: {exc}; spike-level sweeps run on the framed test set")
        return FramedSource(data.test, counts=True)


def robustness_job(
    cfg: RunConfig,
    checkpoint_args: Sequence[str],
    out_dir: str | Path,
    *,
    analysis: bool = True,
    layer: str | None = None,
    analysis_channels: int = 64,
    source: EventSource | None = None,
    data: Any = None,
    load_model: Callable[[Path], Any] | None = None,
    evaluate: Callable[..., Any] | None = None,
) -> dict[str, Any]:
    """Run the configured sweeps for every checkpoint; write reports (and analysis figures).

    The defaults are the engine's: `data` = `builders.build_datasets(cfg)` (a DataBundle: its
    `test` set feeds the analysis, `num_classes` the evaluation), `load_model(path)` = the
    checkpoint's `Checkpoint.model` with `cfg.model` and `data.describe()`, `evaluate(model, loader)` =
    `engine.evaluate.evaluate_model(model, loader, device, data.num_classes)`, `source` =
    `event_source(cfg, data)` (the raw recordings of exactly the test items the cache serves).
    """
    rc = cfg.robustness
    validate_sweeps(rc.sweeps)
    checkpoints = checkpoint_labels(checkpoint_args)
    read = read_checkpoints(checkpoints, cfg.model.name)  # every file checked before any work
    if data is None:
        data = builders.build_datasets(cfg)
    if load_model is None:

        def load_model(path):
            return read[Path(path)].model(model_cfg=cfg.model, data=data.describe())

    models = load_all(checkpoints, load_model)
    images = source is None and getattr(data, "kind", "events") == "images"
    if images:  # spike level only: the encoded spike train inside the network (robustness.inner)
        event_level = [s.name for s in rc.sweeps if s.level == "event"]
        if event_level:
            raise DataError(
                f"robustness: {', '.join(event_level)} need event recordings; {cfg.data.dataset} is images "
                "(spike-level sweeps perturb the encoded spike train of the first spiking layer)"
            )
    elif source is None:
        source = default_source(cfg, data)
    device = resolve_device(cfg.train.device)
    models = {k: m.to(device).eval() for k, m in models.items()}
    out = Path(out_dir)
    save_resolved(cfg, out, "robustness_config.yaml")
    if evaluate is None:

        def evaluate(model, loader):
            return evaluate_model(
                model, loader, device, data.num_classes, precision=cfg.train.precision
            ).to_dict()

    start = time.perf_counter()
    if images:
        points = run_layer_sweep(  # None: each model's first spiking layer, the encoded input spikes
            models,
            None,
            rc.sweeps,
            lambda: DataLoader(
                Subset(data.test, subset_indices(len(data.test), rc.max_samples).tolist()),
                batch_size=rc.batch_size,
                shuffle=False,
                num_workers=cfg.data.num_workers,
            ),
            evaluate,
            seeds=rc.seeds,
            device=device,
            progress=print,
        )
    else:
        points = run_sweep(
            models,
            source,
            rc.sweeps,
            evaluate,
            seeds=rc.seeds,
            batch_size=rc.batch_size,
            max_samples=rc.max_samples,
            num_workers=cfg.data.num_workers,
            progress=print,
        ).points
    meta = {
        "checkpoints": {lab: str(p) for lab, p in checkpoints},
        "model": cfg.model.name,
        "dataset": cfg.data.dataset,
        "seeds": list(rc.seeds),
        "sweeps": to_dict(rc.sweeps),
        "max_samples": rc.max_samples,
        "seconds": time.perf_counter() - start,
    }
    paths: dict[str, Any] = write_reports(points, out, meta=meta)
    if analysis:
        sample = torch.as_tensor(data.test[0][0]).unsqueeze(0)  # [1,T,C,H,W]

        def batches():
            return DataLoader(
                data.test, batch_size=rc.batch_size, shuffle=False, num_workers=cfg.data.num_workers
            )

        paths.update(
            {
                f"analysis_{k}": v
                for k, v in analysis_figures(
                    models,
                    sample,
                    batches,
                    out,
                    layer=layer,
                    channels=analysis_channels,
                    device=device,
                    max_batches=None if rc.max_samples is None else -(-rc.max_samples // rc.batch_size),
                ).items()
            }
        )
    for kind, p in paths.items():
        print(f"wrote {kind}: {p}")
    return {"points": points, "paths": paths}
