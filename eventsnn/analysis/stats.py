"""Small statistics for multi-seed comparisons: mean +- std and paired-difference intervals.

For one metric, runs of mode A (the baseline) and mode B share seeds s = 1..n; the paired
difference is d_s = B_s - A_s (the seed fixes initialisation and sample order, so the pairing
removes their shared variance). With d_bar = mean(d), sd = sample std (ddof 1):

    t interval          d_bar -+ t_{n-1, (1+level)/2} * sd / sqrt(n)           (n >= 2)
    bootstrap interval  the (1-level)/2 and (1+level)/2 quantiles (linear interpolation)
                        of the means of `n_resamples` resamples of d drawn with replacement
                        (percentile bootstrap, seeded; n >= 2)

With one seed neither interval exists (NaN): one seed cannot establish a difference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

NAN = float("nan")


def _values(values: Sequence[float], name: str = "values") -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite numbers, got {v.tolist()}")
    return v


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample std with ddof 1); std is NaN for one value, both NaN for none."""
    v = _values(values)
    if v.size == 0:
        return NAN, NAN
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else NAN


def t_interval(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean of `diffs`: d_bar -+ t_{n-1,(1+level)/2} sd / sqrt(n)."""
    _check_level(level)
    d = _values(diffs, "diffs")
    if d.size < 2:
        return NAN, NAN
    from scipy.stats import t

    half = float(t.ppf((1 + level) / 2, d.size - 1)) * float(d.std(ddof=1)) / math.sqrt(d.size)
    return float(d.mean()) - half, float(d.mean()) + half


def bootstrap_interval(
    diffs: Sequence[float], level: float = 0.95, *, n_resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of `diffs` (seeded; NaN for fewer than 2 values)."""
    _check_level(level)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    d = _values(diffs, "diffs")
    if d.size < 2:
        return NAN, NAN
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n_resamples, d.size))].mean(axis=1)  # [n_resamples]
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class PairedSummary:
    """One metric, baseline A vs mode B over the seeds both have."""

    metric: str
    baseline: str
    mode: str
    seeds: tuple[int, ...]
    baseline_mean: float
    baseline_std: float
    mode_mean: float
    mode_std: float
    diffs: tuple[float, ...]  # B_s - A_s, in `seeds` order
    diff_mean: float
    diff_std: float
    t_ci: tuple[float, float]
    bootstrap_ci: tuple[float, float]
    level: float

    def to_dict(self) -> dict:
        return asdict(self)


def paired_summary(
    metric: str,
    baseline: str,
    mode: str,
    a: Mapping[int, float],
    b: Mapping[int, float],
    *,
    level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> PairedSummary:
    """Mean +- std of each mode and the paired differences b[s] - a[s] over the seeds in both."""
    seeds = tuple(sorted(set(a) & set(b)))
    va = [float(a[s]) for s in seeds]
    vb = [float(b[s]) for s in seeds]
    diffs = [y - x for x, y in zip(va, vb)]
    ma, sa = mean_std(va)
    mb, sb = mean_std(vb)
    md, sd = mean_std(diffs)
    return PairedSummary(
        metric,
        baseline,
        mode,
        seeds,
        ma,
        sa,
        mb,
        sb,
        tuple(diffs),
        md,
        sd,
        t_interval(diffs, level),
        bootstrap_interval(diffs, level, n_resamples=n_resamples, seed=seed),
        level,
    )
