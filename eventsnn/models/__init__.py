"""SpikingResformer on spikingjelly 2: every variant, original-checkpoint compatible."""

from eventsnn.models.checkpoint import (
    check_checkpoint_model,
    config_from_checkpoint,
    extract_state_dict,
    load_checkpoint,
    read_checkpoint,
)
from eventsnn.models.ops import OpsReport, count_operations
from eventsnn.models.readout import mean_logits, per_sample_loss
from eventsnn.models.registry import (
    VARIANTS,
    create_model,
    list_models,
    register_with_timm,
    variant_arguments,
)
from eventsnn.models.spikingresformer import SpikingResformer, default_plasticity_layers

register_with_timm()

__all__ = [
    "VARIANTS",
    "OpsReport",
    "SpikingResformer",
    "check_checkpoint_model",
    "config_from_checkpoint",
    "count_operations",
    "create_model",
    "default_plasticity_layers",
    "extract_state_dict",
    "list_models",
    "load_checkpoint",
    "mean_logits",
    "per_sample_loss",
    "read_checkpoint",
    "register_with_timm",
    "variant_arguments",
]
