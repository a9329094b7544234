"""Spike tensors `[T, B, C, *spatial]`: statistics, encoders and spike-level perturbations.

Statistics have a Numba CPU path and a torch path behind one function each (see `stats`).
"""

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
    "SpikeInputError",
    "SpikeStats",
    "activity_flags",
    "batch_synchrony",
    "cofiring_score",
    "firing_rate",
    "first_spike_time",
    "latency_kernel",
    "latency_kernel_matrix",
    "spike_counts",
    "spike_statistics",
]
