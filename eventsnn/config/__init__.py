"""Typed run configuration: frozen dataclasses plus a strict YAML loader."""

from eventsnn.config.loader import (
    dump_yaml,
    from_dict,
    load_config,
    save_resolved,
    to_dict,
    with_absolute_paths,
)
from eventsnn.config.schema import (
    DASSDPParams,
    DataConfig,
    DistributedConfig,
    FramingConfig,
    ModelConfig,
    OptimConfig,
    OutputConfig,
    PerturbationSweep,
    PlasticityConfig,
    RobustnessConfig,
    RunConfig,
    TrainConfig,
)

__all__ = [
    "DASSDPParams",
    "DataConfig",
    "DistributedConfig",
    "FramingConfig",
    "ModelConfig",
    "OptimConfig",
    "OutputConfig",
    "PerturbationSweep",
    "PlasticityConfig",
    "RobustnessConfig",
    "RunConfig",
    "TrainConfig",
    "dump_yaml",
    "from_dict",
    "load_config",
    "save_resolved",
    "to_dict",
    "with_absolute_paths",
]
