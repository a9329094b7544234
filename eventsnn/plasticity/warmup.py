"""Refuse a plasticity run whose warm-up covers the whole run (it would never change a weight).

During warm-up (`plasticity.warmup` epochs or steps) SSDP / DA-SSDP record statistics and leave
every weight alone, so a run with `warmup >= train.epochs` (unit epochs) or
`warmup >= train.epochs * steps_per_epoch` (unit steps) trains exactly the baseline: a
comparison of it with `mode: off` compares nothing. `train`, `finetune` and `compare` refuse it
with one line unless `plasticity.allow_full_warmup: true` says it is meant (e.g. to record the
warm-up statistics only).
"""

from __future__ import annotations

from eventsnn.config import RunConfig
from eventsnn.errors import ConfigError


def plastic_steps(cfg: RunConfig, steps_per_epoch: int | None = None) -> int | None:
    """How many optimizer steps of the run come after the warm-up (None: not known yet, i.e.
    `warmup_unit: steps` without `steps_per_epoch` or `train.max_steps_per_epoch`)."""
    p, epochs = cfg.plasticity, cfg.train.epochs
    if p.warmup_unit == "epochs":
        if steps_per_epoch is None:
            return max(epochs - p.warmup, 0)  # in epochs: only its sign matters to the caller
        return max(epochs - p.warmup, 0) * steps_per_epoch
    steps = steps_per_epoch or cfg.train.max_steps_per_epoch
    if steps is None:
        return None
    if cfg.train.max_steps_per_epoch:
        steps = min(steps, cfg.train.max_steps_per_epoch)
    return max(epochs * steps - p.warmup, 0)


def refuse_full_warmup(cfg: RunConfig, steps_per_epoch: int | None = None, *, what: str = "") -> None:
    """ConfigError (one line) when plasticity is on and its warm-up leaves no step that updates a
    weight, unless `plasticity.allow_full_warmup`; a no-op when that cannot be decided yet.
    `what` prefixes the message (e.g. the run's name in a comparison)."""
    p = cfg.plasticity
    if p.mode == "off" or p.allow_full_warmup:
        return
    left = plastic_steps(cfg, steps_per_epoch)
    if left is None or left > 0:
        return
    if p.warmup_unit == "epochs":
        span = f"plasticity.warmup={p.warmup} epochs >= train.epochs={cfg.train.epochs}"
    else:
        total = cfg.train.epochs * (steps_per_epoch or cfg.train.max_steps_per_epoch or 0)
        span = f"plasticity.warmup={p.warmup} steps >= the run's {total} steps"
    raise ConfigError(
        f"{what + ': ' if what else ''}{span}: the {p.mode} rule would never change a weight "
        "(the run equals mode off); lower plasticity.warmup, raise train.epochs, "
        "or set plasticity.allow_full_warmup=true"
    )
