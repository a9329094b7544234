"""Spike-level perturbations inside the network: robustness of representations, layer by layer.

A forward hook on spiking layer L replaces its multi-step output S `[T, B, C, ...]` (binary
spikes) by perturb(S; severity, g) before the next layer reads it, with a spike-level
perturbation of `eventsnn.robustness.registry` (jitter, deletion, insertion; counts=False,
time_dim 0) and one `torch.Generator` g per sweep point, seeded from (seed, perturbation,
layer) and consumed batch after batch (deterministic for a fixed order and batch size):

    point(m, L, k, s, r) = evaluate(model_m with perturb_k(.; s, g(r, k, L)) after layer L)

Severity 0 installs no hook: the clean accuracy. For image data sets (direct encoding), the
first spiking layer's output is the encoded spike train, so sweeping it is the spike-level
sweep of the input.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from eventsnn.errors import ConfigError
from eventsnn.models.neurons import spiking_layers
from eventsnn.robustness.plots import new_figure, save_png
from eventsnn.robustness.registry import Perturbation, get_perturbation
from eventsnn.robustness.sweep import sweep_points


def layer_generator(seed: int, name: str, layer: str, device: Any = "cpu") -> torch.Generator:
    """The generator of one sweep point: seeded from (seed, perturbation name, layer name)."""
    key = (int(seed) * 1_000_003 + zlib.crc32(name.encode()) * 65_537 + zlib.crc32(layer.encode())) % 2**63
    return torch.Generator(device=device).manual_seed(key)


def spike_perturbation(name: str) -> Perturbation:
    """A registered spike-level perturbation (ConfigError for unknown or event-level names)."""
    return get_perturbation(name, "spike", where="inner-layer sweep")


@contextlib.contextmanager
def perturbed_layer(
    model: nn.Module,
    layer: str,
    perturbation: Perturbation,
    severity: float,
    generator: torch.Generator,
) -> Iterator[list[int]]:
    """While active, `layer`'s output is replaced by `perturbation.fn(out, severity, generator=generator,
    counts=False)`; yields a list that counts the perturbed calls (severity 0: no hook)."""
    modules = dict(model.named_modules())
    if layer not in modules:
        raise ConfigError(f"inner-layer sweep: the model has no layer {layer!r}")
    calls: list[int] = []
    if severity == 0:
        yield calls
        return

    def hook(_module, _args, out):
        calls.append(1)
        return perturbation.fn(out, severity, counts=False, generator=generator)

    handle = modules[layer].register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


def run_layer_sweep(
    models: Mapping[str, nn.Module],
    layers: Sequence[str] | None,
    sweeps: Sequence[Any],
    make_loader: Callable[[], Any],
    evaluate: Callable[[nn.Module, Any], Mapping[str, Any]],
    *,
    seeds: Sequence[int] = (0,),
    device: Any = "cpu",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every model x layer x spike-level sweep x severity x seed; one dict per point
    (`robustness.sweep.sweep_points`' points, with "layer"; level "spike").

    Args:
        layers: spiking layer names (e.g. `models.neurons.spiking_layers(model)`); None: each
            model's first spiking layer, whose output is an image model's direct-encoded spike
            train (the spike-level sweep of its input).
        sweeps: objects with `name` and `severities` (spike-level perturbation names).
        make_loader: returns a fresh test loader (same order every time).
        evaluate: `(model, loader) -> {"top1": ...}` (e.g. the engine's `evaluate_model`).
    """
    perts = [spike_perturbation(s.name) for s in sweeps]
    chosen = {label: _layers_of(label, model, layers) for label, model in models.items()}

    def evaluate_point(model, keys, pert, severity, seed):
        gen = layer_generator(seed, pert.name, keys["layer"], device)
        with perturbed_layer(model, keys["layer"], pert, severity, gen):
            return evaluate(model, make_loader())

    points: list[dict[str, Any]] = []
    for label, model in models.items():
        cases = [({"layer": lay}, p, s.severities) for lay in chosen[label] for s, p in zip(sweeps, perts)]
        points += sweep_points({label: model}, cases, evaluate_point, seeds=seeds, progress=progress)
    return points


def _layers_of(label: str, model: nn.Module, layers: Sequence[str] | None) -> list[str]:
    """`layers`, each checked to be a module of `model`; None: its first spiking layer."""
    if layers is None:
        first = spiking_layers(model)[:1]
        if not first:
            raise ConfigError(f"robustness: {label} has no spiking layer to perturb")
        return first
    names = dict(model.named_modules())
    missing = [layer for layer in layers if layer not in names]
    if missing:
        raise ConfigError(f"inner-layer sweep: {label} has no layer {missing[0]!r}")
    return list(layers)


def plot_layer_sweep(
    rows: Sequence[Mapping[str, Any]],
    layers: Sequence[str],
    path: Any,
    *,
    chance: float | None = None,
    samples: int | None = None,
) -> Any:
    """One panel per perturbation: top-1 at its largest severity vs layer depth, a line per
    checkpoint (error bars: std over perturbation seeds), the clean accuracy dashed, chance dotted,
    `samples` test samples in the title."""
    names = list(dict.fromkeys(r["perturbation"] for r in rows))
    labels = list(dict.fromkeys(r["checkpoint"] for r in rows))
    fig = new_figure((5.0 * len(names), 4.8))
    depth = {layer: i for i, layer in enumerate(layers)}
    for k, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), k + 1)
        worst = max(r["severity"] for r in rows if r["perturbation"] == name)
        for j, lab in enumerate(labels):
            sel = [
                r for r in rows if (r["perturbation"], r["checkpoint"], r["severity"]) == (name, lab, worst)
            ]
            sel.sort(key=lambda r: depth[r["layer"]])
            xs = [depth[r["layer"]] for r in sel]
            ax.errorbar(
                xs,
                [r["top1_mean"] for r in sel],
                yerr=[r["top1_std"] for r in sel],
                marker="o",
                capsize=3,
                color=f"C{j}",
                label=lab,
            )
            clean = [r["top1_mean"] for r in rows if (r["checkpoint"], r["severity"]) == (lab, 0.0)]
            if clean:
                ax.axhline(clean[0], color=f"C{j}", ls="--", lw=1)
        ax.set_xticks(range(len(layers)), list(layers), rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("spiking layer (depth order)")
        ax.set_ylabel("test top-1 (%)")
        ax.set_ylim(0, 100)  # one range for every panel
        if chance is not None:
            ax.axhline(chance, color="0.4", ls=":", lw=1.2, label=f"chance ({chance:.3g}%)")
        n_seeds = max((int(r.get("n_seeds", 1)) for r in rows), default=1)
        ax.set_title(
            f"{name} = {worst:g} inside the network"
            + (f", n = {samples} test samples" if samples is not None else "")
            + f"\n(bars: +-1 std over {n_seeds} perturbation seeds; dashed: clean)",
            fontsize=8,
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_png(fig, path)
