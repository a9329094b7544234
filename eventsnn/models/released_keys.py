"""Released DA-SSDP checkpoints (NeuroSyd/DA-SSDP, `SSDP-V5/model`) in eventsnn's layout.

The released `SpikingResformer` owns two `AdaptiveSSDPModule` children, `ssdp` (the classifier's
rule) and `ssdp_dssa` (the DSSA block's), and registers each rule's `A_plus`, `A_baseline` and
`sigma` as scalar `nn.Parameter`s, so its state dict holds `ssdp.A_plus`, `ssdp_dssa.sigma`, ...
next to the weights. They are hyper-parameters, never trained (no gradient reaches them); in
eventsnn they are config floats (`plasticity.a_plus`, `a_minus`, `sigma`). Everything else
(`DSSAWithSSDP` is a `DSSA` with the same parameters) already has eventsnn's names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RULE_MODULES = {"ssdp": "classifier", "ssdp_dssa": "dssa"}
RULE_PARAMS = {"A_plus": "a_plus", "A_baseline": "a_minus", "sigma": "sigma"}


def split_released_rule(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """(the state dict without the rule's entries, `{"classifier" | "dssa": {a_plus, a_minus,
    sigma}}`) of a released DA-SSDP state dict; a state dict without them comes back unchanged."""
    weights: dict[str, Any] = {}
    rules: dict[str, dict[str, float]] = {}
    for key, value in state.items():
        head, _, leaf = str(key).partition(".")
        if head in RULE_MODULES and leaf in RULE_PARAMS:
            rules.setdefault(RULE_MODULES[head], {})[RULE_PARAMS[leaf]] = float(value)
        else:
            weights[key] = value
    return weights, rules
