"""Paired-difference statistics against scipy.stats and hand-computed values."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from eventsnn.analysis.stats import bootstrap_interval, mean_std, paired_summary, t_interval


def test_t_interval_hand_value():
    # d = [1, 2, 3]: mean 2, sd 1, t_{2, 0.975} = 4.3027 (printed t table)
    lo, hi = t_interval([1.0, 2.0, 3.0])
    half = 4.3027 / math.sqrt(3)
    assert lo == pytest.approx(2 - half, abs=1e-4) and hi == pytest.approx(2 + half, abs=1e-4)


def test_t_interval_equals_scipy_paired_t_test():
    rng = np.random.default_rng(3)
    a = rng.normal(90, 1, 5)
    b = a + rng.normal(0.5, 0.7, 5)
    for level in (0.9, 0.95, 0.99):
        ci = sps.ttest_rel(b, a).confidence_interval(level)
        assert t_interval(b - a, level) == pytest.approx((ci.low, ci.high), abs=1e-10)


def test_bootstrap_two_values_is_exact():
    # resample means of [0, 10] are 0, 5, 10 with probabilities 1/4, 1/2, 1/4
    assert bootstrap_interval([0.0, 10.0], n_resamples=4000) == (0.0, 10.0)
    assert bootstrap_interval([0.0, 10.0], 0.4, n_resamples=4000) == (5.0, 5.0)


def test_bootstrap_matches_exact_enumeration_and_scipy():
    d = np.array([-1.0, 0.5, 2.0, 4.0])
    means = np.array([np.mean(c) for c in itertools.product(d, repeat=len(d))])  # all 4^4 resamples
    exact = np.quantile(means, [0.025, 0.975])
    lo, hi = bootstrap_interval(d, n_resamples=200_000, seed=1)
    assert (lo, hi) == pytest.approx(tuple(exact), abs=0.13)  # resample means lie on a 0.125 grid
    ref = sps.bootstrap((d,), np.mean, method="percentile", n_resamples=20_000, rng=0).confidence_interval
    assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=0.13)


def test_bootstrap_is_seeded_and_constant_diffs_give_a_point():
    d = [0.3, -0.2, 1.1]
    assert bootstrap_interval(d, seed=5) == bootstrap_interval(d, seed=5)
    assert bootstrap_interval([0.7, 0.7, 0.7]) == pytest.approx((0.7, 0.7))


def test_one_seed_has_no_interval():
    assert all(math.isnan(v) for v in t_interval([1.0]) + bootstrap_interval([1.0]))
    assert mean_std([2.0])[0] == 2.0 and math.isnan(mean_std([2.0])[1])


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError):
        t_interval([1.0, 2.0], level=1.0)
    with pytest.raises(ValueError):
        bootstrap_interval([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_interval([1.0, 2.0], n_resamples=0)


def test_paired_summary_pairs_common_seeds_in_order():
    a = {0: 90.0, 1: 91.0, 2: 89.0, 7: 50.0}
    b = {2: 90.5, 0: 90.0, 1: 92.0}
    s = paired_summary("top1", "off", "da_ssdp", a, b)
    assert s.seeds == (0, 1, 2)
    assert s.diffs == pytest.approx((0.0, 1.0, 1.5))
    assert s.baseline_mean == pytest.approx(90.0) and s.baseline_std == pytest.approx(1.0)
    assert s.diff_mean == pytest.approx(2.5 / 3)
    assert s.t_ci == pytest.approx(t_interval([0.0, 1.0, 1.5]))
