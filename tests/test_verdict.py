"""replicate.verdict: calibration by simulation, the three outcomes, rounding, degenerate inputs, and every
reproduction from the "verdicts a reviewer can trust" review, checked against scipy where scipy computes it."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as sps

from replicate import calibration, verdict

ALPHA = 0.05
TEN = np.array([.80, .82, .83, .84, .85, .85, .86, .87, .88, .90])


# ------------------------------------------------------------------------------------------ calibration

@pytest.mark.parametrize("claim, n", [("single_run", 5), ("single_run", 30), ("mean_of_5", 10), ("best_of_5", 30),
                                      ("sample_of_5", 10)])
def test_honest_claims_on_normal_runs_are_flagged_at_most_alpha_plus_two_mc_se(claim, n):
    result = calibration.simulate("normal", claim, n, shift=0.0, claims=2000)
    assert result["claims"] == 2000
    assert result["inconsistent"] <= ALPHA + 2 * result["mc_se"], result
    assert result["inconsistent"] >= 0.01, result  # the rule does reject: not vacuously calibrated


def test_claims_three_sigma_too_good_are_caught_and_called_optimistic():
    result = calibration.simulate("normal", "mean_of_5", 10, shift=3.0, claims=300)
    assert result["inconsistent"] >= 0.9
    assert result["wrong_direction"] == 0.0
    single = calibration.simulate("normal", "single_run", 30, shift=3.0, claims=300)
    assert single["inconsistent"] >= 0.7


def test_honest_claims_at_thirty_repeats_are_mostly_called_consistent():
    result = calibration.simulate("normal", "single_run", 30, shift=0.0, claims=300)
    assert result["consistent"] >= 0.85


# --------------------------------------------------------------------------------- the review's reproductions

def test_one_run_between_the_two_runs_is_not_rejected():
    v = verdict.judge("single_run", 0.8695, [0.85, 0.87], half_unit=verdict.printed_half_unit(0.8695))
    assert v.outcome == "inconclusive" and v.repeats_to_decide and v.repeats_to_decide > 2
    assert "would decide it" in v.why


def test_one_run_uses_a_t_prediction_interval_matching_scipy():
    x = TEN
    r = 0.91
    v = verdict.judge("single_run", r, x)
    m, s, n = x.mean(), x.std(ddof=1), x.size
    expected = 2 * sps.t.sf(abs(r - m) / (s * math.sqrt(1 + 1 / n)), n - 1)
    assert v.p_value == pytest.approx(expected)
    assert v.method == "parametric" and "t prediction interval" in v.rule
    assert not any("equivalence" in name for name, _ in v.quantities)  # no TOST for one run


def test_mean_of_k_counts_our_own_uncertainty_and_uses_the_papers_std():
    v = verdict.judge("mean_of_k", 0.868, TEN, k=10)
    assert v.outcome != "inconsistent"
    m, s = TEN.mean(), TEN.std(ddof=1)
    t = (0.868 - m) / (s * math.sqrt(1 / 10 + 1 / 10))
    assert v.p_value == pytest.approx(2 * sps.t.sf(abs(t), 9))
    with_std = verdict.judge("mean_of_k", 0.868, TEN, k=10, reported_std=0.02)
    pooled = sps.ttest_ind_from_stats(0.868, 0.02, 10, m, s, 10, equal_var=True)
    assert with_std.p_value == pytest.approx(pooled.pvalue)
    # a mean far off is rejected, on the right side
    far = verdict.judge("mean_of_k", 0.90, TEN, k=10)
    assert far.outcome == "inconsistent" and far.direction == "optimistic"
    assert verdict.judge("mean_of_k", 0.90, TEN, k=10, higher_is_better=False).direction == "pessimistic"


def test_best_of_k_above_every_run_of_ours_is_not_automatically_optimistic():
    v = verdict.judge("best_of_k", 0.905, TEN, k=5)
    assert v.outcome != "inconsistent"
    from replicate.stats import expected_max_of_k

    assert v.details["expected_best_of_k"] == pytest.approx(expected_max_of_k(TEN, 5)[0])  # Dodge et al., shown too
    too_good = verdict.judge("best_of_k", 1.0, TEN, k=5)
    assert too_good.outcome == "inconsistent" and too_good.direction == "optimistic"
    # the mean of our runs reported as a best of 10 is far worse than such a best
    poor = verdict.judge("best_of_k", float(TEN.mean()), TEN, k=10)
    assert poor.outcome == "inconsistent" and poor.direction == "pessimistic"


def test_best_of_k_exact_order_statistic_rule():
    rng = np.random.default_rng(1)
    x = rng.normal(0.9, 0.01, 200)  # n >= k * 39: the exact rule
    above_all = verdict.judge("best_of_k", float(x.max()) + 0.01, x, k=5)
    assert above_all.method == "exact"
    assert above_all.p_value == pytest.approx(2 * 5 / 205)  # P(C = 0) = k / (n + k), two-sided
    assert above_all.outcome == "inconsistent" and above_all.direction == "optimistic"
    assert verdict.judge("best_of_k", float(np.quantile(x, 0.9)), x, k=5).outcome == "consistent"


def test_one_run_exact_rank_rule_from_39_repeats():
    x = np.linspace(0.80, 0.90, 50)
    above = verdict.judge("single_run", 0.95, x)
    assert above.method == "exact" and above.p_value == pytest.approx(2 / 51)
    assert above.outcome == "inconsistent" and above.direction == "optimistic"
    middle = verdict.judge("single_run", 0.85, x)
    assert middle.outcome == "consistent" and middle.p_value == 1.0


def test_non_normal_runs_switch_to_the_assumption_free_rule():
    # 27 converged runs and 3 that failed: Shapiro-Wilk rejects normality, so one run is judged by ranks, which
    # cannot call a claim too good at n = 30 -> inconclusive, never a false "optimistic"
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.85, 0.02, 27), [0.2, 0.21, 0.19]])
    v = verdict.judge("single_run", 0.9, x)
    assert v.method == "exact" and v.outcome == "inconclusive" and "do not look normal" in v.why
    assert v.repeats_to_decide == 39
    # the exact best-of-k rule can still reject a claim every run of ours beats (pessimistic side) at this n
    poor = verdict.judge("best_of_k", 0.1, x, k=5)
    assert poor.method == "exact" and poor.outcome == "inconsistent" and poor.direction == "pessimistic"


def test_sample_without_power_or_equivalence_is_inconclusive_not_consistent():
    v = verdict.judge("sample", [0.99, 0.99, 0.99], [0.1, 0.2, 0.3])
    assert v.outcome == "inconclusive"
    assert v.details["power"] == 0.0  # 3 against 3: Mann-Whitney cannot reach 0.05
    assert v.p_value == pytest.approx(sps.mannwhitneyu([0.99] * 3, [0.1, 0.2, 0.3]).pvalue)
    ratio = dict(v.quantities)["ratio of medians (reported / ours)"]
    assert float(ratio) == pytest.approx(4.95)
    big = verdict.judge("sample", np.linspace(0.8, 0.9, 10), np.linspace(0.8, 0.9, 30))
    assert big.outcome == "consistent"
    shifted = verdict.judge("sample", np.linspace(0.9, 1.0, 10), np.linspace(0.8, 0.9, 30))
    assert shifted.outcome == "inconsistent" and shifted.direction == "optimistic"


def test_zero_spread_and_printed_precision():
    assert verdict.judge("single_run", 0.9 + 1e-12, [0.9] * 5,
                         half_unit=verdict.printed_half_unit(0.9 + 1e-12)).outcome == "consistent"
    assert verdict.judge("single_run", 0.985, [0.98512] * 5,
                         half_unit=verdict.printed_half_unit(0.985)).outcome == "consistent"
    off = verdict.judge("single_run", 0.95, [0.9] * 5, half_unit=verdict.printed_half_unit(0.95))
    assert off.outcome == "inconsistent" and off.direction == "optimistic"
    assert verdict.judge("mean_of_k", 0.9, [0.9, 0.9], k=3).outcome == "consistent"


def test_printed_precision_is_read_from_the_literal_or_digits():
    assert verdict.printed_half_unit(0.745) == pytest.approx(0.0005)
    assert verdict.printed_half_unit(0.75, digits=3) == pytest.approx(0.0005)  # the paper printed 0.750
    assert verdict.printed_half_unit(74.5) == pytest.approx(0.05)
    assert verdict.printed_half_unit(3.0) == pytest.approx(0.5)
    # runs of 0.7453 +- tiny: 0.745 as printed ([0.7445, 0.7455]) is not rejected, the exact 0.745 would be
    x = np.array([0.74530, 0.74531, 0.74529, 0.74530, 0.74532, 0.74528, 0.74530, 0.74531, 0.74529, 0.74530])
    assert verdict.judge("mean_of_k", 0.745, x, k=5, half_unit=0.0).outcome == "inconsistent"
    rounded = verdict.judge("mean_of_k", 0.745, x, k=5, half_unit=verdict.printed_half_unit(0.745))
    assert rounded.outcome != "inconsistent" and "printed precision" in rounded.why


def test_degenerate_inputs_never_crash_and_give_the_right_reason():
    for values in ([1e200, -1e200, 3e200], [1e30, 2e30, 5e30]):
        v = verdict.judge("single_run", 0.5, values)
        assert v.outcome in verdict.OUTCOMES
    assert verdict.judge("single_run", 0.5, [1e200, -1e200, 3e200]).outcome == "none"
    one = verdict.judge("mean_of_k", 0.9, [0.9], k=3)
    assert one.outcome == "none" and "at least 2" in one.why
    assert verdict.judge("sample", [0.9, 0.8], []).outcome == "none"
    with pytest.raises(ValueError):
        verdict.judge("single_run", 0.9, [0.9, float("nan")])
    with pytest.raises(ValueError):
        verdict.judge("median", 0.9, TEN)


def test_unknown_statistic_shows_every_reading_without_a_verdict():
    v = verdict.judge("unknown", 0.99, TEN)
    assert v.outcome == "none" and v.label == "no verdict"
    assert "as one run" in v.why and "as a mean of 10 runs" in v.why
    assert dict(v.quantities)["read as a mean of 10 runs"] == "inconsistent (optimistic)"


def test_percentile_follows_the_claims_own_kind_of_number():
    # 0.88 is about the 80th percentile of single runs, but far in the tail of means of 10 runs
    single = verdict.judge("single_run", 0.88, TEN)
    mean = verdict.judge("mean_of_k", 0.88, TEN, k=10)
    assert 60 < single.percentile < 90
    assert mean.percentile > 95


def test_losses_are_judged_on_the_log_scale_with_the_right_direction():
    rng = np.random.default_rng(3)
    mse = np.exp(rng.normal(math.log(0.03), 0.8, 30))
    low = verdict.judge("single_run", 0.0001, mse, higher_is_better=False, scale="log")
    assert low.outcome == "inconsistent" and low.direction == "optimistic"  # a far lower loss: too good
    high = verdict.judge("single_run", 3.0, mse, higher_is_better=False, scale="log")
    assert high.outcome == "inconsistent" and high.direction == "pessimistic"
    assert verdict.judge("single_run", float(np.median(mse)), mse, higher_is_better=False, scale="log",
                         bounds=(0, math.inf)).outcome == "consistent"
    mean = verdict.judge("mean_of_k", float(np.mean(mse)), mse, k=5, higher_is_better=False, scale="log")
    assert mean.method == "lognormal predictive" and mean.outcome != "inconsistent"


def test_the_three_outcomes_and_their_words():
    rng = np.random.default_rng(5)
    x = rng.normal(0.85, 0.02, 30)
    seen = {verdict.judge("single_run", r, x, tolerance=0.01).outcome for r in (0.85, 0.99)}
    seen.add(verdict.judge("single_run", 0.85, x[:3], tolerance=0.01).outcome)
    assert seen == {"consistent", "inconsistent", "inconclusive"}
    consistent = verdict.judge("single_run", 0.85, x)
    assert "sharp" in consistent.why and "5%" in consistent.error_rates
    assert "cannot be checked more finely" in consistent.error_rates  # the one-run noise, in plain words


def test_a_mean_of_k_from_runs_that_are_not_normal_uses_the_bootstrap_from_30_repeats():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.normal(0.85, 0.02, 36), [0.2, 0.22, 0.21, 0.19]])  # 10% failed runs: not normal
    honest = verdict.judge("mean_of_k", float(x.mean()), x, k=5)
    assert honest.method == "bootstrap" and honest.outcome != "inconsistent"
    assert "do not look normal" in honest.why
    too_good = verdict.judge("mean_of_k", 0.95, x, k=5)
    assert too_good.outcome == "inconsistent" and too_good.direction == "optimistic"
    few = verdict.judge("mean_of_k", 0.95, x[-12:], k=5)  # 8 converged + 4 failed: not normal, too few for it
    assert few.outcome == "inconclusive" and few.repeats_to_decide == verdict.BOOTSTRAP_MIN_N
