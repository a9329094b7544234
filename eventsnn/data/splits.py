"""Train/test splits of labelled items: one per-class split (and its seeded variant) for every
data set, event recordings and static images alike.

Rounding: class c with n_c items trains on its first floor(n_c * train_fraction) items and tests
on the rest -- spikingjelly's `split_to_train_test_set` (`int(len * ratio)`), which the reference
SpikingResformer pipeline uses for CIFAR10-DVS (900 / 100 per class). On the 1,797 scikit-learn
digits at 0.9: 1,612 train, 185 test (round-half-even would give 1,618 / 179).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_EPS = 1e-9  # 0.29 * 100 = 28.999999999999996 must still train on 29


def n_train(n: int, train_fraction: float) -> int:
    """Training items of a class of `n`: floor(n * train_fraction) (see the module docstring)."""
    return int(n * train_fraction + _EPS)


def per_class_split(labels: Sequence[int], train_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test), each sorted: per class (in list order) the first
    `n_train(n_c, train_fraction)` items train, the rest test."""
    labels = np.asarray(labels)
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = n_train(len(idx), train_fraction)
        train.append(idx[:k])
        test.append(idx[k:])
    return _cat(train), _cat(test)


def random_split(labels: Sequence[int], train_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Like `per_class_split` (same sizes), but each class is shuffled with `seed` first (indices sorted)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = n_train(len(idx), train_fraction)
        train.append(idx[:k])
        test.append(idx[k:])
    return _cat(train), _cat(test)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
