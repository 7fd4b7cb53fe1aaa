"""replicate.stats on small literal vectors, checked against scipy called here independently or by hand."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.stats as sps

from replicate import stats

R = 999  # bootstrap resamples in tests

# 20 fixed, roughly normal achieved accuracies (mean 0.9, sd ~0.01), as a literal so the tests are data-stable
RUNS = np.array([0.9035, 0.8899, 0.9072, 0.9011, 0.8958, 0.9103, 0.8987, 0.9026, 0.8931, 0.9004,
                 0.8975, 0.9049, 0.8914, 0.9061, 0.8993, 0.9019, 0.8946, 0.9088, 0.8968, 0.9000])


# ------------------------------------------------------------------------------------------------ summarize

def test_summarize_matches_numpy_and_scipy():
    x = np.array([0.81, 0.79, 0.84, 0.80, 0.83, 0.78, 0.86])
    s = stats.summarize(x, n_resamples=R, random_state=3, minimum_bca_n=2)
    assert s.n == 7
    assert s.mean == pytest.approx(np.mean(x))
    assert s.std == pytest.approx(np.std(x, ddof=1))
    assert s.sem == pytest.approx(sps.sem(x))
    assert s.median == pytest.approx(0.81)
    assert (s.q1, s.q3) == pytest.approx((0.795, 0.835))  # linear interpolation, by hand
    assert s.iqr == pytest.approx(0.04)
    assert (s.min, s.max) == (0.78, 0.86)
    assert s.ci_t == pytest.approx(sps.t.interval(0.95, 6, loc=np.mean(x), scale=sps.sem(x)))
    expected = sps.bootstrap((x,), np.mean, n_resamples=R, method="BCa", rng=np.random.default_rng(3))
    assert s.ci_bca == pytest.approx(tuple(expected.confidence_interval))
    assert s.confidence == 0.95
    assert all(isinstance(v, float) for v in (s.mean, s.std, *s.ci_t, *s.ci_bca))


def test_summarize_accepts_a_generator_and_other_confidence():
    x = [1.0, 2.0, 4.0, 7.0, 11.0]
    s = stats.summarize(x, confidence=0.9, n_resamples=R, random_state=np.random.default_rng(5), minimum_bca_n=2)
    expected = sps.bootstrap((np.array(x),), np.mean, n_resamples=R, method="BCa", confidence_level=0.9,
                             rng=np.random.default_rng(5))
    assert s.ci_bca == pytest.approx(tuple(expected.confidence_interval))
    assert s.ci_t == pytest.approx(sps.t.interval(0.9, 4, loc=5.0, scale=sps.sem(x)))


def test_summarize_edge_cases():
    empty = stats.summarize([])
    assert empty.n == 0 and math.isnan(empty.mean) and all(math.isnan(v) for v in empty.ci_bca)
    one = stats.summarize([0.9])
    assert one.n == 1 and one.mean == 0.9 and one.median == 0.9
    assert math.isnan(one.std) and math.isnan(one.sem)
    assert all(math.isnan(v) for v in (*one.ci_t, *one.ci_bca))
    flat = stats.summarize([0.5] * 4, n_resamples=R, minimum_bca_n=2)  # zero spread: BCa undefined, point is both ends
    assert flat.std == 0.0 and flat.ci_t == (0.5, 0.5) and flat.ci_bca == (0.5, 0.5)
    no_boot = stats.summarize([1.0, 2.0, 3.0], n_resamples=0)
    assert all(math.isnan(v) for v in no_boot.ci_bca) and not math.isnan(no_boot.ci_t[0])
    with pytest.raises(ValueError, match="non-finite"):
        stats.summarize([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError):
        stats.summarize([[1.0, 2.0]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        flat.mean = 1.0  # type: ignore[misc]


def test_bca_only_from_thirty_repeats_and_intervals_stay_in_range():
    few = stats.summarize([0.8, 0.9, 0.95], n_resamples=R)
    assert all(math.isnan(v) for v in few.ci_bca)  # BCa at n=3 covers ~70%: not shown
    assert math.isnan(stats.summarize(RUNS, n_resamples=R).ci_bca[0])  # n=20: covers ~92%, not shown
    assert not math.isnan(stats.summarize(np.concatenate([RUNS, RUNS[:10] + 0.001]), n_resamples=R).ci_bca[0])
    # a t interval of a recall near 1 (or a loss near 0) leaves the metric's range unless clipped
    recall = stats.summarize([0.2, 0.99, 1.0], n_resamples=0, bounds=(0.0, 1.0))
    raw = sps.t.interval(0.95, 2, loc=np.mean([0.2, 0.99, 1.0]), scale=sps.sem([0.2, 0.99, 1.0]))
    assert raw[0] < 0 and raw[1] > 1
    assert recall.ci_t == (0.0, 1.0)
    loss = stats.summarize([0.001, 0.002, 0.2], n_resamples=0, bounds=(0.0, math.inf))
    assert loss.ci_t[0] == 0.0 and loss.ci_t[1] > 0.2


def test_huge_values_give_nan_intervals_not_errors():
    s = stats.summarize([1e200, -1e200, 3e200], n_resamples=R)
    assert s.n == 3 and math.isnan(s.ci_t[0]) and math.isnan(s.ci_bca[0])


# ------------------------------------------------------------------------------------------ single numbers

def test_percentile_of():
    x = [1.0, 2.0, 3.0, 4.0]
    assert stats.percentile_of(2.5, x) == 50.0
    assert stats.percentile_of(2.0, x) == 37.5  # 1 below + half of 1 tie, out of 4
    assert stats.percentile_of(0.0, x) == 0.0 and stats.percentile_of(9.0, x) == 100.0
    assert stats.percentile_of(0.9, RUNS) == pytest.approx(sps.percentileofscore(RUNS, 0.9, kind="mean"))
    assert math.isnan(stats.percentile_of(1.0, []))


def test_expected_max_of_k_by_hand():
    x = [3.0, 1.0, 4.0, 2.0]
    e, sd = stats.expected_max_of_k(x, 2)
    assert e == pytest.approx(50 / 16)  # 1*1/16 + 2*3/16 + 3*5/16 + 4*7/16
    second = (1 * 1 + 4 * 3 + 9 * 5 + 16 * 7) / 16
    assert sd == pytest.approx(math.sqrt(second - (50 / 16) ** 2))
    assert stats.expected_max_of_k(x, 1) == pytest.approx((2.5, np.std(x)))  # k=1: the mean, population std
    low_e, low_sd = stats.expected_max_of_k(x, 2, higher_is_better=False)  # best = minimum
    assert low_e == pytest.approx(1 * 7 / 16 + 2 * 5 / 16 + 3 * 3 / 16 + 4 * 1 / 16) == pytest.approx(1.875)
    assert low_sd == pytest.approx(sd)
    assert stats.expected_max_of_k(x, 50)[0] == pytest.approx(4.0, abs=1e-5)
    assert stats.expected_max_of_k([2.0, 2.0], 3) == (2.0, 0.0)
    with pytest.raises(ValueError):
        stats.expected_max_of_k(x, 0)


def test_binomial_se_and_half_width():
    assert stats.binomial_se(0.9, 100) == pytest.approx(0.03)
    assert stats.binomial_se(1.0, 10) == 0.0
    with pytest.raises(ValueError):
        stats.binomial_se(1.2, 10)
    ci = stats.summarize(RUNS, n_resamples=0).ci_t
    assert stats.interval_half_width(RUNS) == pytest.approx((ci[1] - ci[0]) / 2)
    assert math.isnan(stats.interval_half_width([1.0]))


def test_std_interval_by_hand():
    # s^2 = 2.5, (n-1) s^2 = 10; chi2 quantiles with 4 df at 0.975 and 0.025: 11.1433 and 0.48442 (tables)
    assert stats.std_interval([1, 2, 3, 4, 5], 0.95) == pytest.approx((math.sqrt(10 / 11.1433), math.sqrt(10 / 0.48442)), rel=1e-4)
    assert stats.std_interval([0.9, 0.9, 0.9], 0.9) == (0.0, 0.0)
    assert all(math.isnan(bound) for bound in stats.std_interval([1.0], 0.9))
    with pytest.raises(ValueError):
        stats.std_interval([1.0, float("nan")], 0.9)


def test_repeats_needed():
    std = 0.01
    tolerances = [0.02, 0.01, 0.005, 0.003, 0.002, 0.001]
    needed = [stats.repeats_needed(std, t) for t in tolerances]
    assert needed == sorted(needed) and needed[-1] > needed[0]  # tighter tolerance, more repeats
    for tol, n in zip(tolerances, needed):
        half = lambda m: std * sps.t.ppf(0.975, m - 1) / math.sqrt(m)  # noqa: E731
        assert half(n) <= tol
        assert n == 2 or half(n - 1) > tol  # smallest such n
    assert stats.repeats_needed(0.0, 0.01) == 2
    assert stats.repeats_needed(0.01, 1.0) == 2
    with pytest.raises(ValueError):
        stats.repeats_needed(0.01, 0.0)
    assert stats.repeats_needed(1e30, 0.01) is None  # learning_rate=1000: no overflow, no practical n


def test_holm_by_hand():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([0.02]) == pytest.approx([0.02])
    assert stats.holm([]).shape == (0,)
    # a NaN p (a test undefined for a zero-spread pair) stays NaN and is not counted among the tests
    adjusted = stats.holm([0.01, float("nan"), 0.04])
    assert adjusted[0] == pytest.approx(0.02) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.04)
    with pytest.raises(ValueError):
        stats.holm([0.1, 1.5])


def test_compare_groups_against_scipy_and_by_hand():
    a, b = [1.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0]
    g = stats.compare_groups(a, b)
    assert g["welch_p"] == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert g["mannwhitney_p"] == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert g["ks_p"] == pytest.approx(sps.ks_2samp(a, b).pvalue)
    d = (2.0 - 3.5) / math.sqrt((2.0 + 5.0) / 5)
    assert g["cohens_d"] == pytest.approx(d)
    assert g["hedges_g"] == pytest.approx(d * math.gamma(2.5) / (math.sqrt(2.5) * math.gamma(2.0)))
    assert g["cliffs_delta"] == pytest.approx((1 - 9) / 12)  # 1 pair a>b, 9 pairs a<b, 2 ties
    assert (g["median_a"], g["median_b"], g["mean_a"], g["mean_b"]) == (2.0, 3.5, 2.0, 3.5)
    assert stats.compare_groups(b, a)["cliffs_delta"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        stats.compare_groups([], b)
