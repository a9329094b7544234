"""Robustness evaluation: severity sweeps under event- and spike-level perturbations (`sweep`: at
the input; `inner`: inside the network), reports, plots, and the activity of spiking layers
(`activity`: recording, spike raster, per-neuron counts, batch co-firing).

    models = load_all(checkpoint_labels(args), load)            # every checkpoint checked first
    result = run_sweep(models, source, cfg.robustness.sweeps, evaluate, seeds=..., ...)
    write_reports(result.points, out_dir)                        # CSV / JSON / Markdown / PNG
"""

from eventsnn.robustness.checkpoints import checkpoint_labels, load_all, parse_checkpoint_arg
from eventsnn.robustness.registry import (
    PERTURBATIONS,
    Perturbation,
    get_perturbation,
    list_perturbations,
    validate_sweeps,
)
from eventsnn.robustness.report import markdown_table, write_reports
from eventsnn.robustness.sweep import (
    EventSource,
    FramedSource,
    PerturbedDataset,
    SweepResult,
    run_sweep,
    summarize,
)

__all__ = [
    "PERTURBATIONS",
    "EventSource",
    "FramedSource",
    "Perturbation",
    "PerturbedDataset",
    "SweepResult",
    "checkpoint_labels",
    "get_perturbation",
    "list_perturbations",
    "load_all",
    "markdown_table",
    "parse_checkpoint_arg",
    "run_sweep",
    "summarize",
    "validate_sweeps",
    "write_reports",
]
