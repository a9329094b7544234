"""The orchestrator of a run's plasticity: `build_plasticity(model, cfg)` -> record() / apply() /
state_dict(). It picks the rule once by name (`eventsnn.plasticity.rules`), puts one stateful
`DASSDPRule` on each chosen layer, records their activity with hooks and applies the updates;
the config schema has validated every parameter before (no checks are repeated here).

    plasticity = build_plasticity(model, cfg.plasticity, steps_per_epoch=len(train_loader))
    with plasticity.record():          # hooks exist only inside, record training-mode modules
        out = model(x)                 # [T, B, classes]
    loss.backward(); optimizer.step()
    logs = plasticity.apply(loss=loss.detach(), per_sample_loss=per_sample, epoch=epoch)
    row.update(plasticity.epoch_summary())   # once per epoch: diagnostics means for metrics.jsonl

`apply()` does the warm-up bookkeeping or `W += dW` under no_grad (never scaled by the
learning rate). With `mode: off` nothing is hooked and every call is a no-op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

from eventsnn.config import PlasticityConfig
from eventsnn.errors import CheckpointError, TrainingError
from eventsnn.plasticity.diagnostics import DIAGNOSTIC_KEYS, EpochSummary, layer_diagnostics
from eventsnn.plasticity.hooks import (
    ActivityRecorder,
    default_layer_names,
    plastic_weight,
    resolve_layers,
    unwrap_model,
)
from eventsnn.plasticity.rule import DASSDPRule, RuleStep
from eventsnn.plasticity.rules import RULES, get_rule
from eventsnn.utils.distributed import all_reduce_sum, world_size

_DIAG = "diagnostics"  # state key of the half-finished epoch's diagnostics


class NoPlasticity:
    """`mode: off`: no hooks, no state, no work."""

    mode = "off"
    layers: tuple[str, ...] = ()

    @contextlib.contextmanager
    def record(self) -> Iterator[None]:
        yield None

    def apply(self, loss=None, per_sample_loss=None, epoch: int | None = None) -> dict[str, float]:
        return {}

    def epoch_summary(self) -> dict[str, float]:
        return {}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Plasticity turned off: any saved rule state is ignored."""


class Plasticity:
    """DA-SSDP / SSDP on named Linear / 1x1 conv / DSSA layers: one `DASSDPRule` per layer."""

    def __init__(
        self,
        modules: dict[str, nn.Module],
        cfg: PlasticityConfig,
        *,
        steps_per_epoch: int | None = None,
        compute_dtype: torch.dtype = torch.float32,
    ):
        self.rule = get_rule(cfg.mode)  # the one place the mode's name is read
        self.mode = self.rule.name
        self.modules = modules
        self.layers = tuple(modules)
        self.params = cfg
        self.weights = {name: plastic_weight(m) for name, m in modules.items()}
        self.rules: dict[str, DASSDPRule] = {
            name: DASSDPRule(
                name,
                cfg,
                mode=self.rule,
                steps_per_epoch=steps_per_epoch,
                compute_dtype=compute_dtype,
                device=self.weights[name].device,
            )
            for name in modules
        }
        self.recorder = ActivityRecorder(modules, reference=cfg.reference, spatial=cfg.spatial)
        self.summary = EpochSummary(self.layers)

    def record(self) -> contextlib.AbstractContextManager:
        """Context in which the forward hooks record the layers' activity (training mode only)."""
        return self.recorder.record()

    @torch.no_grad()
    def apply(self, loss=None, per_sample_loss=None, epoch: int | None = None) -> dict[str, float]:
        """After optimizer.step(): warm-up bookkeeping or W += dW; returns scalars for TensorBoard.

        Keys per layer `<name>/...`: phase (0 warm-up, 1 update), S_mean, S_std, k, mu_S, sd_S,
        warmup_n, and the diagnostics (`eventsnn.plasticity.diagnostics`: active_pre, active_post,
        latency_pre, latency_post, g_coactive); in the update phase also gate_mean, gate_min,
        gate_max, dw_abs_mean, dw_abs_max, uniform_share. S and the gate are this rank's batch;
        the diagnostics are averaged over ranks; dW, k, mu_S, sd_S are all-reduced (equal on all ranks).
        """
        record = self.recorder.take()
        missing = [n for n in self.layers if n not in record.layers]
        if missing:
            what = (
                "no recorded batch" if not record.layers else f"no recorded activity for layer {missing[0]!r}"
            )
            raise TrainingError(
                f"plasticity.apply() called with {what}: run the training forward pass inside "
                "`with plasticity.record():` with the model in train() mode"
            )
        names, values = [], []
        for name, rule in self.rules.items():
            out = rule.step(record.layers[name], loss=loss, per_sample_loss=per_sample_loss, epoch=epoch)
            if out.delta_w is not None:
                weight = self.weights[name]
                weight.add_(out.delta_w.view_as(weight).to(weight.dtype))
            activity = record.layers[name]
            diag = layer_diagnostics(
                activity.pre, activity.post, sigma=self.params.sigma, delta_w=out.delta_w
            )
            for key, value in [*self._log_items(rule, out), *diag.items()]:
                names.append(f"{name}/{key}")
                values.append(value.detach().to(torch.float64).reshape(()))
        if not values:
            return {}
        stacked = torch.stack([v.to(values[0].device) for v in values])
        if world_size() > 1:  # diagnostics: the mean over ranks, so every rank holds the same summary
            is_diag = torch.tensor(
                [n.rsplit("/", 1)[1] in DIAGNOSTIC_KEYS for n in names], device=stacked.device
            )
            mean = all_reduce_sum(torch.where(is_diag, stacked, torch.zeros_like(stacked))) / world_size()
            stacked = torch.where(is_diag, mean, stacked)
        flat = stacked.tolist()  # one device sync
        logs = dict(zip(names, flat, strict=True))
        for name in self.layers:
            self.summary.add(name, {k: logs[f"{name}/{k}"] for k in DIAGNOSTIC_KEYS if f"{name}/{k}" in logs})
        return logs

    def epoch_summary(self) -> dict[str, float]:
        """Epoch means of the diagnostics since the last call, `plasticity/<layer>/<key>` (for
        metrics.jsonl); warns once per layer when its flags saturated for the whole epoch."""
        return self.summary.close()

    @staticmethod
    def _log_items(rule: DASSDPRule, out: RuleStep) -> list[tuple[str, torch.Tensor]]:
        S = out.synchrony
        items = [
            ("phase", rule.phase),
            ("S_mean", S.mean()),
            ("S_std", S.std(unbiased=False)),
            ("k", rule.k),
            ("mu_S", rule.mu_S),
            ("sd_S", rule.sd_S),
            ("warmup_n", rule.n),
        ]
        if out.delta_w is not None:
            gate = out.gate if out.gate is not None else torch.ones_like(S)
            dw = out.delta_w.abs()
            items += [
                ("gate_mean", gate.mean()),
                ("gate_min", gate.min()),
                ("gate_max", gate.max()),
                ("dw_abs_mean", dw.mean()),
                ("dw_abs_max", dw.max()),
            ]
        return items

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat `{"mode": code, "<layer>.<buffer>": tensor}` like a module's: phase, counters,
        warm-up sums, k, mu_S, sd_S of every rule (mode code: 1 ssdp, 2 da_ssdp), and
        `<layer>.diagnostics` (the running epoch means, so a resumed epoch reports the same)."""
        out: dict[str, torch.Tensor] = {"mode": torch.tensor(self.rule.code)}
        for name, rule in self.rules.items():
            for key, value in rule.state_dict().items():
                out[f"{name}.{key}"] = value
        for name, value in self.summary.state().items():
            out[f"{name}.{_DIAG}"] = value
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore every rule exactly; CheckpointError if the mode or the layers differ."""
        code = int(state["mode"]) if "mode" in state else None
        if code != self.rule.code:
            saved = next((n for n, r in RULES.items() if r.code == code), "off")
            raise CheckpointError(
                f"plasticity state was saved with mode {saved!r}, the config asks for {self.mode!r}"
            )
        expected = {f"{n}.{k}" for n, r in self.rules.items() for k in r.state_dict()} | {"mode"}
        diag = {k: v for k, v in state.items() if k.endswith(f".{_DIAG}")}  # optional (older checkpoints)
        state = {k: v for k, v in state.items() if k not in diag}
        if set(state) != expected:
            extra, lost = sorted(set(state) - expected), sorted(expected - set(state))
            raise CheckpointError(
                f"plasticity state does not match the configured layers {list(self.rules)}: "
                f"unexpected {extra[:4]}, missing {lost[:4]}"
            )
        self.summary.load({k[: -len(_DIAG) - 1]: v for k, v in diag.items()})
        for name, rule in self.rules.items():
            prefix = f"{name}."
            rule.load_state_dict(
                {
                    k[len(prefix) :]: v
                    for k, v in state.items()
                    if k.startswith(prefix) and k[len(prefix) :] in rule.state_dict()
                }
            )


def build_plasticity(
    model: nn.Module,
    cfg: PlasticityConfig,
    *,
    steps_per_epoch: int | None = None,
    compute_dtype: torch.dtype = torch.float32,
) -> Plasticity | NoPlasticity:
    """The plasticity of a run. `model` may be wrapped (DDP, DataParallel, torch.compile).

    `cfg.layers` None: `eventsnn.models.default_plasticity_layers(model, cfg.reference)` (for
    SpikingResformer the classifier and the last DSSA's Wproj, or with `reference: released` the
    first DSSA block of the last stage), else a ConfigError asking for `plasticity.layers`.
    """
    if cfg.mode == "off":
        return NoPlasticity()
    net = unwrap_model(model)
    names = list(cfg.layers) if cfg.layers is not None else default_layer_names(net, cfg.reference)
    return Plasticity(
        resolve_layers(net, names), cfg, steps_per_epoch=steps_per_epoch, compute_dtype=compute_dtype
    )


def fitted_gate(state: Mapping[str, Any], layer: str) -> dict[str, float]:
    """The fitted DA-SSDP gate (k, mu_S, sd_S) of `layer`'s rule in a saved `state_dict()` (empty
    for a rule that has not fitted one, or plasticity off)."""
    return {key: float(state[f"{layer}.{key}"]) for key in ("k", "mu_S", "sd_S") if f"{layer}.{key}" in state}
