"""SpikingResformer on spikingjelly 2: every variant, original-checkpoint compatible."""

from eventsnn.models.ops import OpsReport, count_operations
from eventsnn.models.readout import mean_logits, per_sample_loss
from eventsnn.models.registry import (
    VARIANTS,
    build_model,
    create_model,
    list_models,
    register_with_timm,
    variant_arguments,
)
from eventsnn.models.spikingresformer import SpikingResformer, default_plasticity_layers
from eventsnn.models.weights import load_weights

register_with_timm()

__all__ = [
    "VARIANTS",
    "OpsReport",
    "SpikingResformer",
    "build_model",
    "count_operations",
    "create_model",
    "default_plasticity_layers",
    "list_models",
    "load_weights",
    "mean_logits",
    "per_sample_loss",
    "register_with_timm",
    "variant_arguments",
]
