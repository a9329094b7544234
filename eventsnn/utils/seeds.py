"""Seeds derived from several integers (run seed, epoch, item index, rank), one home for data
loading and training alike."""

from __future__ import annotations


def mix_seed(*parts: int) -> int:
    """Combine integers into one 63-bit seed (SplitMix64-style hashing)."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h ^= (p + 0x9E3779B97F4A7C15 + ((h << 6) & 0xFFFFFFFFFFFFFFFF) + (h >> 2)) & 0xFFFFFFFFFFFFFFFF
        h = (h * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF
