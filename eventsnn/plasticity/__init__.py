"""DA-SSDP plasticity (Tian et al., TMLR 2025; docs/dassdp.md): pure maths, the rule, hooks.

`activity` says what a recorded tensor means (reference paper | released, spatial any |
positions), `functional` holds the maths, `step` one step of a rule as a pure function
(activity, state, params -> (what it did, new state)), `rule` the per-layer state, `hooks` the recording,
`diagnostics` the degeneracy measures, `rules` the table of rules by name, `orchestrator` the
engine-facing `build_plasticity`.
"""

from eventsnn.plasticity.activity import Units, unit_activity
from eventsnn.plasticity.diagnostics import layer_diagnostics
from eventsnn.plasticity.functional import (
    PlasticityInputError,
    da_ssdp_delta_w,
    fit_gate_from_sums,
    gate_from_fit,
    warmup_sums,
)
from eventsnn.plasticity.hooks import ActivityRecorder, LayerActivity, PlasticityRecord
from eventsnn.plasticity.orchestrator import NoPlasticity, Plasticity, build_plasticity
from eventsnn.plasticity.rule import DASSDPRule, RuleStep
from eventsnn.plasticity.rules import RULES, Rule, get_rule, register_rule
from eventsnn.plasticity.step import RuleState, rule_step

__all__ = [
    "RULES",
    "ActivityRecorder",
    "DASSDPRule",
    "LayerActivity",
    "NoPlasticity",
    "Plasticity",
    "PlasticityInputError",
    "PlasticityRecord",
    "Rule",
    "RuleState",
    "RuleStep",
    "Units",
    "build_plasticity",
    "da_ssdp_delta_w",
    "fit_gate_from_sums",
    "gate_from_fit",
    "get_rule",
    "layer_diagnostics",
    "register_rule",
    "rule_step",
    "unit_activity",
    "warmup_sums",
]
