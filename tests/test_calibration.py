"""replicate.calibration: the family of run distributions (each draw's spread, direction and failure mask), the judge
keywords failure members pass, power against n, and the benchmark's options. The verdict's error rates are measured
by benchmarks/bench_calibration.py (and asserted in test_verdict.py / test_sequential.py), not here."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import special, stats as sps

from replicate import calibration
from replicate.calibration import CLAIMS, DISTRIBUTIONS

DRAWS = 200_000
FAILURE_SHARE = {"fail2": 0.02, "fail5": 0.05, "fail10": 0.10, "fail30": 0.30}
NAMES = ["normal", "t10", "t5", "t3", "heavy_lower", "ceiling", "discrete", "discrete_small", "lognormal",
         "lognormal_mild", "gamma_loss", "fail2", "fail5", "fail10", "fail30", "bimodal"]


def draws(name, seed=20261129):
    return DISTRIBUTIONS[name].draw(np.random.default_rng(seed), DRAWS)


def test_the_family_and_the_claim_kinds():
    assert set(NAMES) == set(DISTRIBUTIONS)
    assert calibration.beyond() == ["t5", "t3", "bimodal"]  # t5: heavier than the family's t(10)
    assert set(calibration.members()) == set(NAMES) - {"t5", "t3", "bimodal"}
    assert all(dist.about for dist in DISTRIBUTIONS.values())  # each says what runs it stands for
    assert CLAIMS["mean_of_3"] == ("mean_of_k", 3)
    assert {"single_run", "mean_of_5", "mean_of_10", "best_of_5", "best_of_10", "sample_of_5",
            "sample_of_10"} <= set(CLAIMS)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("t3", "bimodal")])
def test_each_member_draws_with_its_stated_run_to_run_sd(name):
    dist = DISTRIBUTIONS[name]
    x = draws(name)
    assert x.shape == (DRAWS,) and np.all(np.isfinite(x))
    if dist.failure_threshold is not None:
        x = x[dist.learned(x)]  # sigma of a failure mixture: the runs that learned
    spread = np.log(x).std() if dist.multiplicative else x.std()
    assert spread == pytest.approx(dist.sigma, rel=0.03), (name, spread, dist.sigma)


def test_the_stated_sigmas():
    assert DISTRIBUTIONS["gamma_loss"].sigma == pytest.approx(math.sqrt(special.polygamma(1, 4)))
    assert DISTRIBUTIONS["discrete_small"].sigma == pytest.approx(math.sqrt(0.01 ** 2 + 0.85 * 0.15 / 100))
    assert DISTRIBUTIONS["lognormal_mild"].sigma == 0.2 and DISTRIBUTIONS["lognormal"].sigma == 0.8
    for name in ("t3", "t5", "t10", "heavy_lower", "ceiling", "fail5", "bimodal"):
        assert DISTRIBUTIONS[name].sigma == 0.02


def test_t3_is_a_scaled_student_t():
    """Its sample sd converges too slowly to check (infinite fourth moment): its quartiles instead."""
    x = draws("t3")
    scale = 0.02 / math.sqrt(3.0)
    for q in (0.1, 0.25, 0.75, 0.9):
        assert np.quantile(x, q) == pytest.approx(0.85 + scale * sps.t.ppf(q, 3), abs=0.0004)


def test_shapes_and_directions():
    heavy, ceiling = draws("heavy_lower"), draws("ceiling")
    # a long tail towards worse: the 0.1th percentile further below the median than the 99.9th above it
    for x in (heavy, ceiling):
        median = np.median(x)
        assert median - np.quantile(x, 0.001) > 1.3 * (np.quantile(x, 0.999) - median)
    assert np.median(heavy) == pytest.approx(0.85, abs=0.0003)
    assert ceiling.max() < 0.99 and ceiling.mean() == pytest.approx(0.95, abs=0.0005)
    assert np.all(draws("gamma_loss") > 0) and sps.skew(np.log(draws("gamma_loss"))) < 0
    small = draws("discrete_small")
    assert np.allclose(small * 100, np.round(small * 100))  # a 100-example test set: a grid of 0.01
    for name in ("gamma_loss", "lognormal", "lognormal_mild"):
        dist = DISTRIBUTIONS[name]
        assert not dist.higher_is_better and dist.scale == "log" and dist.multiplicative
    for name, dist in DISTRIBUTIONS.items():  # a shift of 1 moves every value one sigma towards better
        x = draws(name)[:1000]
        moved = dist.shifted(x, 1.0)
        gain = np.log(moved / x) if dist.multiplicative else moved - x
        assert np.allclose(gain * (1 if dist.higher_is_better else -1), dist.sigma), name


@pytest.mark.parametrize("name", list(FAILURE_SHARE))
def test_failure_members_fail_at_their_rate_and_mark_it(name):
    dist = DISTRIBUTIONS[name]
    x = draws(name)
    learned = dist.learned(x)
    assert dist.failure_threshold == 0.2 and dist.higher_is_better
    assert learned.dtype == bool and np.array_equal(learned, x > 0.2)
    p = FAILURE_SHARE[name]
    assert 1 - learned.mean() == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / DRAWS))
    assert np.all(x[~learned] <= 0.2) and x[~learned].min() > 0.05  # no better than chance, near it
    assert np.mean(x[learned]) == pytest.approx(0.85, abs=0.0005)
    options = dist.judge_options(x[:7])
    assert set(options) == {"learned", "failure_threshold"} and options["failure_threshold"] == 0.2
    assert np.array_equal(options["learned"], x[:7] > 0.2)


def test_only_failure_members_pass_judge_keywords_and_lower_is_better_thresholds_flip():
    for name, dist in DISTRIBUTIONS.items():
        if name not in FAILURE_SHARE:
            assert dist.failure_threshold is None and dist.judge_options(np.ones(3)) == {}
            assert dist.learned(np.ones(3)) is None
    loss = calibration.Distribution("loss", None, 0.1, higher_is_better=False, failure_threshold=1.0)
    assert loss.learned(np.array([0.5, 1.0, 2.0])).tolist() == [True, False, False]


class _Recorder:
    """A judge that records its keywords and calls every claim inconclusive."""

    def __init__(self):
        self.calls = []

    def __call__(self, statistic, reported, values, **options):
        self.calls.append((statistic, np.asarray(values).copy(), options))
        return SimpleNamespace(outcome="inconclusive", direction=None)


def test_simulations_pass_learned_and_the_threshold_for_failure_members_only(monkeypatch):
    recorder = _Recorder()
    monkeypatch.setattr(calibration, "judge", recorder)
    result = calibration.simulate("fail30", "mean_of_5", 10, 0.0, claims=4)
    assert result["inconclusive"] == 1.0 and len(recorder.calls) == 4  # one judge call per claim
    for statistic, values, options in recorder.calls:
        assert statistic == "mean_of_k" and options["k"] == 5
        assert options["failure_threshold"] == 0.2 and np.array_equal(options["learned"], values > 0.2)
        assert options["learned"].shape == (10,)
    recorder.calls.clear()
    calibration.simulate("normal", "single_run", 5, 0.0, claims=2)
    assert all("learned" not in o and "failure_threshold" not in o for _, _, o in recorder.calls)
    recorder.calls.clear()
    calibration.simulate("fail5", "single_run", 5, 0.0, claims=2, pass_learned=False)
    assert all("learned" not in o for _, _, o in recorder.calls)
    recorder.calls.clear()
    sequential = calibration.simulate_sequential("fail10", "single_run", 0.0, claims=2, first=5, maximum=8)
    assert sequential["inconclusive"] == 1.0 and sequential["mean_n"] == 8
    looks = [(values, options) for _, values, options in recorder.calls]
    assert looks and all(np.array_equal(o["learned"], v > 0.2) and o["failure_threshold"] == 0.2 for v, o in looks)
    assert {v.size for v, _ in looks} >= {5, 6, 7, 8}  # every look, with the mask of the runs it uses


def test_power_curve_rows_and_drops():
    rows = calibration.power_curve("normal", "mean_of_5", ns=(10, 5), shifts=(1, 3), claims=20)
    assert [(r["n"], r["shift"]) for r in rows] == [(5, 1.0), (5, 3.0), (10, 1.0), (10, 3.0)]
    for row in rows:
        assert row["claims"] == 20 and 0 <= row["optimistic"] <= row["flagged"] <= 1 and row["mc_se"] >= 0
    assert rows[1]["flagged"] >= rows[0]["flagged"] and rows[3]["flagged"] >= rows[2]["flagged"]
    # a fall by more than 2 MC SE of the difference is a drop; one within it is not
    flat = [{"n": 5, "shift": 2.0, "flagged": 0.50, "mc_se": 0.05}, {"n": 10, "shift": 2.0, "flagged": 0.45,
                                                                    "mc_se": 0.05}]
    assert calibration.power_drops(flat) == []
    falling = flat + [{"n": 30, "shift": 2.0, "flagged": 0.20, "mc_se": 0.04}]
    drops = calibration.power_drops(falling)
    assert [(d["n"], d["n_later"]) for d in drops] == [(5, 30), (10, 30)]
    assert drops[0]["allowed"] == pytest.approx(2 * math.hypot(0.05, 0.04))


def _bench():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_calibration.py"
    spec = importlib.util.spec_from_file_location("bench_calibration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_quick_form_parses():
    bench = _bench()
    quick = bench.parse(["--quick"])
    assert quick.n == [3, 10, 30] and quick.claims == 300 and quick.power_claims == 100
    assert quick.distributions == ["normal", "t5", "heavy_lower", "ceiling", "gamma_loss", "fail5", "fail30"]
    assert quick.sequential_claims == 150 and quick.sequential_kinds == ["mean_of_5", "single_run"]
    assert quick.sequential_distributions == ["normal", "ceiling", "fail5"] and quick.workers == 2
    assert quick.kinds == list(CLAIMS)
    mine = bench.parse(["--quick", "--distributions", "normal", "t5", "--claims", "50"])
    assert mine.distributions == ["normal", "t5"] and mine.claims == 50 and mine.n == [3, 10, 30]
    full = bench.parse([])
    assert full.n == [3, 5, 10, 30, 100] and full.distributions == list(DISTRIBUTIONS) and not full.power_curve
    assert bench.parse(["--power-curve"]).curve_n == [3, 5, 7, 10, 15, 20, 30, 50, 70, 100]
    with pytest.raises(SystemExit):
        bench.parse(["--distributions", "no_such_member"])
