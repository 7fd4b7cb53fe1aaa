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
    s = stats.summarize(x, n_resamples=R, random_state=3)
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
    s = stats.summarize(x, confidence=0.9, n_resamples=R, random_state=np.random.default_rng(5))
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
    flat = stats.summarize([0.5, 0.5, 0.5, 0.5], n_resamples=R)  # zero spread: BCa undefined, point is both ends
    assert flat.std == 0.0 and flat.ci_t == (0.5, 0.5) and flat.ci_bca == (0.5, 0.5)
    no_boot = stats.summarize([1.0, 2.0, 3.0], n_resamples=0)
    assert all(math.isnan(v) for v in no_boot.ci_bca) and not math.isnan(no_boot.ci_t[0])
    with pytest.raises(ValueError, match="non-finite"):
        stats.summarize([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError):
        stats.summarize([[1.0, 2.0]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        flat.mean = 1.0  # type: ignore[misc]


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


def test_prob_at_least_as_good():
    p, low, high = stats.prob_at_least_as_good(RUNS, 0.9, n_resamples=R, random_state=1)
    assert p == pytest.approx(np.mean(RUNS >= 0.9))
    good = (RUNS >= 0.9).astype(float)
    expected = sps.bootstrap((good,), np.mean, n_resamples=R, method="BCa", rng=np.random.default_rng(1))
    assert (low, high) == pytest.approx(tuple(expected.confidence_interval))
    p_low, _, _ = stats.prob_at_least_as_good(RUNS, 0.9, higher_is_better=False, n_resamples=R)
    assert p_low == pytest.approx(np.mean(RUNS <= 0.9))
    # every run worse: bootstrap degenerate, exact Clopper-Pearson interval instead
    p, low, high = stats.prob_at_least_as_good(RUNS, 0.95)
    cp = sps.binomtest(0, RUNS.size).proportion_ci(method="exact")
    assert (p, low, high) == pytest.approx((0.0, cp.low, cp.high))
    assert math.isnan(stats.prob_at_least_as_good([0.9], 0.8)[1])


def test_binomial_se_and_half_width():
    assert stats.binomial_se(0.9, 100) == pytest.approx(0.03)
    assert stats.binomial_se(1.0, 10) == 0.0
    with pytest.raises(ValueError):
        stats.binomial_se(1.2, 10)
    ci = stats.summarize(RUNS, n_resamples=0).ci_t
    assert stats.interval_half_width(RUNS) == pytest.approx((ci[1] - ci[0]) / 2)
    assert math.isnan(stats.interval_half_width([1.0]))


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


def test_holm_by_hand():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([0.02]) == pytest.approx([0.02])
    assert stats.holm([]).shape == (0,)
    with pytest.raises(ValueError):
        stats.holm([0.1, float("nan")])


def test_tost():
    x = np.array([0.899, 0.900, 0.901, 0.9005, 0.8995, 0.9002, 0.8998])
    near = stats.tost(x, 0.9, tolerance=0.01)
    assert near["equivalent"] is True and near["p_value"] < 0.05
    assert near["p_lower"] == pytest.approx(sps.ttest_1samp(x, 0.89, alternative="greater").pvalue)
    assert near["p_upper"] == pytest.approx(sps.ttest_1samp(x, 0.91, alternative="less").pvalue)
    assert near["p_value"] == max(near["p_lower"], near["p_upper"])
    assert set(near) == {"p_lower", "p_upper", "p_value", "equivalent", "tolerance", "alpha"}
    far = stats.tost(x, 0.95, tolerance=0.01)
    assert far["equivalent"] is False and far["p_value"] > 0.5
    assert stats.tost([0.9, 0.9, 0.9], 0.9, 0.01)["equivalent"] is True  # zero spread, mean inside
    assert stats.tost([0.9], 0.9, 0.01)["equivalent"] is False


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


# ------------------------------------------------------------------------------------------------- claims

@pytest.mark.parametrize("higher, above, below", [(True, "optimistic", "pessimistic"),
                                                  (False, "pessimistic", "optimistic")])
def test_single_run_bands(higher, above, below):
    run = lambda v: stats.compare_claim("single_run", v, RUNS, higher_is_better=higher, n_resamples=R)  # noqa: E731
    far_above, at_median, far_below = run(0.99), run(float(np.median(RUNS))), run(0.80)
    assert far_above.verdict == above and far_below.verdict == below and at_median.verdict == "consistent"
    assert at_median.percentile == pytest.approx(50.0)
    assert far_above.percentile == 100.0 and far_below.percentile == 0.0
    low, high = np.percentile(RUNS, [2.5, 97.5])
    assert (at_median.details["band_low"], at_median.details["band_high"]) == pytest.approx((low, high))
    assert "central 95%" in at_median.rule and "0.99" in far_above.rule
    assert far_above.statistic == "single_run" and far_above.reported == 0.99


def test_single_run_few_runs_and_no_runs():
    few = stats.compare_claim("single_run", 0.9, [0.89, 0.90, 0.91], n_resamples=R)
    assert few.verdict == "consistent" and "too coarse" in few.rule
    one = stats.compare_claim("single_run", 0.9, [0.9])
    assert one.verdict == "indeterminate"
    with pytest.raises(ValueError):
        stats.compare_claim("single_run", 0.9, [0.9, float("nan")])
    with pytest.raises(ValueError):
        stats.compare_claim("median", 0.9, RUNS)


def test_mean_of_k():
    mean = float(np.mean(RUNS))
    c = stats.compare_claim("mean_of_k", mean, RUNS, k=10, n_resamples=R)
    assert c.verdict == "consistent" and c.details["k"] == 10
    assert c.details["t_p_value"] == pytest.approx(sps.ttest_1samp(RUNS, mean).pvalue)
    # a good single run (90th percentile) is plausible for one run but not as a mean of 10
    best = float(np.percentile(RUNS, 90))
    assert stats.compare_claim("single_run", best, RUNS, n_resamples=R).verdict == "consistent"
    assert stats.compare_claim("mean_of_k", best, RUNS, k=10, n_resamples=R).verdict == "optimistic"
    assert stats.compare_claim("mean_of_k", best, RUNS, k=10, higher_is_better=False,
                               n_resamples=R).verdict == "pessimistic"
    assert stats.compare_claim("mean_of_k", float(RUNS.min()), RUNS, k=10, n_resamples=R).verdict == "pessimistic"


def test_mean_of_unknown_k():
    x = np.linspace(0.0, 1.0, 21)
    run = lambda v: stats.compare_claim("mean_of_k", v, x, k=None, n_resamples=R)  # noqa: E731
    assert run(0.5).verdict == "consistent"
    assert run(1.5).verdict == "optimistic"
    between = run(0.85)  # outside the k=n band, inside the k=1 band: depends on k
    assert between.verdict == "indeterminate" and "unknown" in between.rule
    assert between.details["k"] == "unknown"


@pytest.mark.parametrize("higher", [True, False])
def test_best_of_k(higher):
    x = RUNS if higher else 1.0 - RUNS  # e.g. error rate, lower is better
    expected, spread = stats.expected_max_of_k(x, 5, higher_is_better=higher)
    at_expected = stats.compare_claim("best_of_k", expected, x, k=5, higher_is_better=higher)
    assert at_expected.verdict == "consistent"
    assert at_expected.details["expected_best"] == pytest.approx(expected)
    assert at_expected.details["expected_best_std"] == pytest.approx(spread)
    # the mean of the runs reported as a best-of-10 is worse than such a best almost always
    assert stats.compare_claim("best_of_k", float(np.mean(x)), x, k=10,
                               higher_is_better=higher).verdict == "pessimistic"
    # a best-of-5 better than every run is optimistic
    beyond = float(x.max() + 0.01) if higher else float(x.min() - 0.01)
    assert stats.compare_claim("best_of_k", beyond, x, k=5, higher_is_better=higher).verdict == "optimistic"


def test_best_of_k_mean_with_large_spread_is_pessimistic():
    # most runs near 0.9, a few failures: the mean (0.84) sits far below what a best of 5 gives
    x = np.concatenate([RUNS[:16], [0.50, 0.55, 0.60, 0.65]])
    c = stats.compare_claim("best_of_k", float(np.mean(x)), x, k=5)
    assert c.verdict == "pessimistic"
    assert c.details["best_of_k_band_low"] > np.mean(x)
    assert "Dodge" in c.rule
    assert stats.compare_claim("best_of_k", 0.9, x, k=None).verdict == "indeterminate"


def test_sample_claims():
    achieved = np.linspace(0.88, 0.92, 12)
    same = tuple(np.linspace(0.881, 0.919, 10))
    c = stats.compare_claim("sample", same, achieved)
    assert c.verdict == "consistent" and c.percentile is None and c.reported == same
    assert c.details["mannwhitney_p"] == pytest.approx(sps.mannwhitneyu(same, achieved).pvalue)
    assert "Mann-Whitney" in c.rule and "0.05" in c.rule
    shifted = tuple(np.array(same) + 0.05)
    assert stats.compare_claim("sample", shifted, achieved).verdict == "optimistic"
    assert stats.compare_claim("sample", shifted, achieved, higher_is_better=False).verdict == "pessimistic"
    lower = tuple(np.array(same) - 0.05)
    assert stats.compare_claim("sample", lower, achieved).verdict == "pessimistic"
    assert stats.compare_claim("sample", lower, achieved, higher_is_better=False).verdict == "optimistic"
    with pytest.raises(ValueError):
        stats.compare_claim("sample", 0.9, achieved)


def test_unknown_is_indeterminate():
    c = stats.compare_claim("unknown", 0.99, RUNS, n_resamples=R)
    assert c.statistic == "unknown" and c.verdict == "indeterminate"
    assert c.rule.startswith("the claim's statistic is unknown")
    assert "single run it would be optimistic" in c.rule and "mean of runs it would be optimistic" in c.rule
    assert c.percentile == 100.0
    assert "single_run.band_low" in c.details and "mean_of_k.t_p_value" in c.details


def test_compare_claim_is_reproducible_under_a_seed():
    one = stats.compare_claim("mean_of_k", 0.9, RUNS, k=3, n_resamples=R, random_state=7)
    two = stats.compare_claim("mean_of_k", 0.9, RUNS, k=3, n_resamples=R, random_state=7)
    assert one == two
