"""replicate.verdict.judge as a public function: every degenerate input gives a clear ValueError or "no verdict",
never a verdict; property-based (hypothesis) over random inputs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replicate import verdict

RUNS = [0.84, 0.85, 0.86, 0.83, 0.87]


@pytest.mark.parametrize("statistic, reported, kwargs, fragment", [
    ("single_run", float("nan"), {}, "finite number"),
    ("single_run", float("inf"), {}, "finite number"),
    ("mean_of_k", -float("inf"), {"k": 5}, "finite number"),
    ("single_run", "0.9", {}, "single number"),
    ("mean_of_k", 0.9, {"k": None}, "needs k"),
    ("mean_of_k", 0.9, {"k": 0}, "needs k"),
    ("best_of_k", 0.9, {"k": -2}, "needs k"),
    ("best_of_k", 0.9, {"k": 2.5}, "needs k"),
    ("mean_of_k", 0.9, {"k": True}, "needs k"),
    ("sample", [0.9, float("nan")], {}, "finite reported values"),
    ("sample", [], {}, "finite reported values"),
    ("single_run", 0.9, {"alpha": 0.0}, "alpha"),
    ("single_run", 0.9, {"alpha": float("nan")}, "alpha"),
    ("single_run", 0.9, {"tolerance": -0.1}, "tolerance"),
    ("single_run", 0.9, {"tolerance": float("nan")}, "tolerance"),
    ("single_run", 0.9, {"half_unit": float("nan")}, "half_unit"),
    ("single_run", 0.9, {"scale": "logit"}, "scale"),
    ("mean_of_k", 0.9, {"k": 3, "reported_std": float("nan")}, "std"),
    ("single_run", 0.9, {"learned": [True, False]}, "one bool per value"),
    ("single_run", 0.9, {"failure_threshold": float("inf")}, "failure_threshold"),
    ("median", 0.9, {}, "statistic must be one of"),
])
def test_bad_input_is_a_clear_error(statistic, reported, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        verdict.judge(statistic, reported, RUNS, **kwargs)


def test_non_finite_values_only_for_runs_that_did_not_learn():
    with pytest.raises(ValueError, match="finite for every run that learned"):
        verdict.judge("single_run", 0.9, [0.9, float("nan"), 0.8])
    ok = verdict.judge("single_run", 0.9, [0.9, float("nan"), 0.8, 0.85], learned=[True, False, True, True])
    assert ok.outcome in verdict.OUTCOMES and ok.details["n"] == 3


def test_too_few_values_give_no_verdict():
    for values in ([], [0.9]):
        for statistic, k in (("single_run", None), ("mean_of_k", 3), ("best_of_k", 3)):
            assert verdict.judge(statistic, 0.9, values, k=k).outcome == "none"
        assert verdict.judge("sample", [0.9, 0.8], values).outcome == "none"


def test_an_infinite_claim_on_a_loss_is_refused_before_printing():
    with pytest.raises(ValueError, match="finite"):
        verdict.printed_half_unit(float("inf"))
    with pytest.raises(ValueError, match="finite"):
        verdict.judge("single_run", float("inf"), RUNS, higher_is_better=False, scale="log")


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
anything = st.one_of(finite, st.just(float("nan")), st.just(float("inf")), st.just(-float("inf")))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statistic=st.sampled_from(["single_run", "mean_of_k", "best_of_k", "unknown"]),
       reported=anything, values=st.lists(anything, min_size=0, max_size=12),
       k=st.one_of(st.none(), st.integers(min_value=-2, max_value=12)), higher=st.booleans(),
       log=st.booleans(), threshold=st.one_of(st.none(), finite))
def test_any_input_gives_an_error_or_an_outcome_never_a_crash(statistic, reported, values, k, higher, log, threshold):
    x = np.array(values, dtype=float)
    learned = np.isfinite(x)
    try:
        v = verdict.judge(statistic, reported, x, k=k, learned=learned, higher_is_better=higher,
                          scale="log" if log else "raw", failure_threshold=threshold, decide_repeats=False)
    except ValueError as error:
        assert str(error)  # a sentence, not an empty error
        return
    assert v.outcome in verdict.OUTCOMES
    assert (v.direction is not None) == (v.outcome == "inconsistent")
    if v.outcome != "none":
        assert math.isfinite(reported) and np.count_nonzero(learned) >= 2
        assert 0.0 <= v.p_value <= 1.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.lists(finite, min_size=1, max_size=8), values=st.lists(finite, min_size=0, max_size=10),
       higher=st.booleans())
def test_sample_claims_on_any_finite_input(sample, values, higher):
    v = verdict.judge("sample", sample, values, higher_is_better=higher)
    assert v.outcome in verdict.OUTCOMES
    if len(values) < 2:
        assert v.outcome == "none"
