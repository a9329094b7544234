"""Spike tensors `[T, B, C, *spatial]`: statistics, encoders and spike-level perturbations.

Statistics have a Numba CPU path and a torch path behind one function each (see `stats`).
"""

from eventsnn.spikes.encode import (
    DirectEncoder,
    LatencyEncoder,
    RateEncoder,
    direct_encode,
    latency_encode,
    rate_encode,
)
from eventsnn.spikes.perturb import (
    SPIKE_PERTURBATIONS,
    ComposeSpikes,
    SpikeDeletion,
    SpikeInsertion,
    SpikeJitter,
    spike_deletion,
    spike_insertion,
    spike_jitter,
)
from eventsnn.spikes.stats import (
    SpikeInputError,
    SpikeStats,
    activity_flags,
    batch_synchrony,
    cofiring_score,
    firing_rate,
    first_spike_time,
    latency_kernel,
    latency_kernel_matrix,
    spike_counts,
    spike_statistics,
)

__all__ = [
    "SPIKE_PERTURBATIONS",
    "ComposeSpikes",
    "DirectEncoder",
    "LatencyEncoder",
    "RateEncoder",
    "SpikeDeletion",
    "SpikeInputError",
    "SpikeInsertion",
    "SpikeJitter",
    "SpikeStats",
    "activity_flags",
    "batch_synchrony",
    "cofiring_score",
    "direct_encode",
    "firing_rate",
    "first_spike_time",
    "latency_encode",
    "latency_kernel",
    "latency_kernel_matrix",
    "rate_encode",
    "spike_counts",
    "spike_deletion",
    "spike_insertion",
    "spike_jitter",
    "spike_statistics",
]
