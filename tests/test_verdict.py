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


def test_one_run_is_judged_by_the_family_pivot_never_looser_than_normal_theory():
    x = TEN
    r = 0.91
    v = verdict.judge("single_run", r, x)
    m, s, n = x.mean(), x.std(ddof=1), x.size
    t_p = 2 * sps.t.sf(abs(r - m) / (s * math.sqrt(1 + 1 / n)), n - 1)  # exact when runs are normal
    # each side's p-value is the largest over the family's members, the normal one among them
    assert t_p * 0.97 <= v.p_value <= 0.5
    assert v.method == "family" and "'score' family" in v.rule and "'score' family" in v.error_rates
    assert v.details["family"] == "score"
    assert not any("equivalence" in name for name, _ in v.quantities)  # no TOST for one run


def test_mean_of_k_counts_our_own_uncertainty():
    v = verdict.judge("mean_of_k", 0.868, TEN, k=10)
    assert v.outcome != "inconsistent"
    m, s = TEN.mean(), TEN.std(ddof=1)
    t = (0.868 - m) / (s * math.sqrt(1 / 10 + 1 / 10))
    assert v.p_value >= 2 * sps.t.sf(abs(t), 9) * 0.97  # the family includes normal runs: never looser than t
    with_std = verdict.judge("mean_of_k", 0.868, TEN, k=10, reported_std=0.02)
    assert with_std.details["reported_std"] == 0.02 and with_std.p_value == v.p_value  # shown, not pooled
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


def test_one_rule_at_every_n_so_a_claim_rejected_at_n_stays_rejected_with_more_repeats():
    # the old rules switched to ranks at 39 (one run) or 39k (best of k) repeats, or when Shapiro-Wilk rejected
    # normality, and could then no longer call a claim too good: more repeats, less power
    rng = np.random.default_rng(1)
    x = rng.normal(0.9, 0.01, 200)
    for statistic, k, claim in (("single_run", None, 0.94), ("best_of_k", 5, 0.96)):
        for n in (10, 30, 50, 200):
            v = verdict.judge(statistic, claim, x[:n], k=k)
            assert v.method == "family" and v.outcome == "inconsistent" and v.direction == "optimistic", (n, v.why)
    skewed = 0.99 - rng.gamma(4.0, 0.005, 60)  # piled against a ceiling: Shapiro-Wilk rejects, the rule stays
    assert verdict.normality(skewed)[0] < verdict.NORMALITY_ALPHA
    assert verdict.judge("single_run", 1.2, skewed).direction == "optimistic"


def test_runs_that_did_not_learn_are_counted_and_the_learned_ones_judged():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.85, 0.02, 27), [0.2, 0.19, float("nan")]])
    learned = np.isfinite(x) & (x > 0.2)
    too_good = verdict.judge("single_run", 0.95, x, learned=learned, failure_threshold=0.2)
    assert too_good.outcome == "inconsistent" and too_good.direction == "optimistic"  # never the wrong direction
    assert too_good.details["failures"]["did_not_learn"] == 3 and too_good.details["n"] == 27
    low, high = too_good.details["failures"]["failure_rate_interval"]
    assert (low, high) == pytest.approx(verdict.proportion_interval(3, 30, 0.95))
    assert "3 of 30 runs did not learn" in dict(too_good.quantities)["runs that did not learn"]
    # a mean of 5 holding one failed run (what an honest paper gets with probability 1 - (1 - p)^5): no call
    honest = verdict.judge("mean_of_k", (4 * 0.85 + 0.2) / 5, x, k=5, learned=learned, failure_threshold=0.2)
    assert honest.outcome == "inconclusive" and "did not learn" in honest.why and honest.details["failure_mixture"]
    # the same number from a paper that discarded failed runs is far too poor for a mean of learned runs
    discarded = verdict.judge("mean_of_k", (4 * 0.85 + 0.2) / 5, x, k=5, learned=learned, failure_threshold=0.2,
                              learned_only=True)
    assert discarded.outcome == "inconsistent" and discarded.direction == "pessimistic"
    assert "left out, as the paper discarded them" in discarded.error_rates
    # a mean between the learned band and what a failed run allows is still called poor
    between = verdict.judge("mean_of_k", 0.80, x, k=5, learned=learned, failure_threshold=0.2)
    assert between.outcome == "inconsistent" and between.direction == "pessimistic"
    # nearer what a mean with a failed run gives: a too-good claim whose runs included a failure, called so
    lucky = verdict.judge("mean_of_k", 0.765, x, k=5, learned=learned, failure_threshold=0.2)
    assert lucky.outcome == "inconsistent" and lucky.direction == "optimistic" and "too good for either" in lucky.why
    # with no run of ours failed in 200, a failed run in the paper's one run is not plausible
    many = rng.normal(0.85, 0.02, 200)
    assert verdict.judge("single_run", 0.15, many, learned=many > 0.2, failure_threshold=0.2).outcome == "inconsistent"
    # in 10 it is: the paper's one run may have been a failure
    assert verdict.judge("single_run", 0.15, many[:10], learned=many[:10] > 0.2,
                         failure_threshold=0.2).outcome == "inconclusive"


def test_no_verdict_when_fewer_than_two_runs_learned():
    x = [1e13, float("inf"), 2e12]
    v = verdict.judge("single_run", 0.01, x, learned=[False, False, False], failure_threshold=0.08,
                      higher_is_better=False, scale="log")
    assert v.outcome == "none" and "3 of 3 runs did not learn" in v.why
    assert verdict.judge("sample", [0.01, 0.02], x, learned=[False] * 3, learned_only=True).outcome == "none"
    # a sample ranks every run, a failed one (no finite value) as the worst
    s = verdict.judge("sample", [0.01, 0.02, 0.03], [0.02, 0.03, float("nan"), 0.01], learned=[True, True, False, True],
                      higher_is_better=False)
    assert s.outcome in verdict.OUTCOMES and s.details["failures"]["did_not_learn"] == 1


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
    assert mean.method == "family" and mean.outcome != "inconsistent"
    assert mean.details["family"] == "loss_raw" and low.details["family"] == "loss_log"  # a mean on the raw scale


def test_the_three_outcomes_and_their_words():
    rng = np.random.default_rng(5)
    x = rng.normal(0.85, 0.02, 30)
    seen = {verdict.judge("single_run", r, x, tolerance=0.01).outcome for r in (0.85, 0.99)}
    seen.add(verdict.judge("single_run", 0.85, x[:3], tolerance=0.01).outcome)
    assert seen == {"consistent", "inconsistent", "inconclusive"}
    consistent = verdict.judge("single_run", 0.85, x)
    assert "sharp" in consistent.why and "5%" in consistent.error_rates
    assert "cannot be checked more finely" in consistent.error_rates  # the one-run noise, in plain words
