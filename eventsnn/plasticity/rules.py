"""The plasticity rules, chosen once by name (`plasticity.mode`), like timm's model registry.

A rule is what `DASSDPRule` does with a layer's recorded activity after the warm-up (spec
steps 5-8), kept apart as norse keeps its rules: the parameters are one `DASSDPParams`
(frozen, from the config), the state is the rule module's buffers (phase, counters, warm-up
sums, the fitted gate), and the step is the pure functions of `eventsnn.plasticity.functional`.

    ssdp      dW = clamp(mean_r P, -clip, clip): the synchrony-driven update, gate fixed at 1
    da_ssdp   dW = clamp(mean_r G_b P, -clip, clip): the same update gated per sample by
              G_b = clamp(1 + k (S_b - mu_S) / sd_S, gate_min, gate_max), k fitted once from
              the warm-up pairs (S_b, L_b) (Tian et al., TMLR 2025)

Both have the variants `reference: paper | released` (what a recorded tensor's activity means,
`eventsnn.plasticity.activity`) and `spatial: any | positions` (positions reduced, or each one a
pair): parameters of the same rule, validated by the config schema. A new rule is one `Rule`
here, registered with `register_rule`; `mode: off` builds no rule at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsnn.utils.registry import Registry

__all__ = ["RULES", "Rule", "get_rule", "register_rule"]


@dataclass(frozen=True)
class Rule:
    """A registered rule: its name (`plasticity.mode`), the code its state carries in checkpoints
    (so a resumed run refuses another rule's state), and whether it fits the dopamine gate from
    warm-up statistics (`gated`) or applies the ungated update."""

    name: str
    code: int
    gated: bool
    summary: str


RULES: Registry[Rule] = Registry("plasticity rule")


def register_rule(rule: Rule) -> Rule:
    """Add `rule` to `RULES` (a name or state code registered twice is a bug: KeyError)."""
    if any(r.code == rule.code for _, r in RULES.items()):
        raise KeyError(f"plasticity rule code {rule.code} is registered twice")
    return RULES.add(rule.name, rule)


def get_rule(name: str) -> Rule:
    """The rule called `name` (the config schema has already refused unknown names)."""
    return RULES[name]


SSDP = register_rule(Rule("ssdp", 1, gated=False, summary="synchrony-driven update, gate fixed at 1"))
DA_SSDP = register_rule(
    Rule("da_ssdp", 2, gated=True, summary="dopamine-gated update, gate fitted once after warm-up")
)
