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
    ComposeSpikes,
    SpikeDeletion,
    SpikeInsertion,
    TemporalJitter,
    spike_deletion,
    spike_insertion,
    temporal_jitter,
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
    "ComposeSpikes",
    "DirectEncoder",
    "LatencyEncoder",
    "RateEncoder",
    "SpikeDeletion",
    "SpikeInputError",
    "SpikeInsertion",
    "SpikeStats",
    "TemporalJitter",
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
    "spike_statistics",
    "temporal_jitter",
]
