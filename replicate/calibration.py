"""Simulated claims against simulated runs: the false-alarm rate and power of every verdict rule (see docs/statistics.md).

A cell is (distribution of runs, claim kind, n repeats, how far the claim is off). For each of ``claims`` draws:
n runs of ours and the paper's k runs come from the same distribution; the paper's number is their mean, their best
or one of them (or the k values, for a sample), moved ``shift`` run-to-run standard deviations towards "better"; the
verdict rule judges it. An honest claim (shift 0) called inconsistent is a false alarm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from replicate.verdict import judge


@dataclass(frozen=True)
class Distribution:
    """How one run's metric is drawn. ``sigma`` is the run-to-run std that a shift is measured in (on the log scale
    for multiplicative metrics); ``scale`` is what the verdict rules are told about the metric."""

    name: str
    draw: Callable[[np.random.Generator, tuple], np.ndarray]
    sigma: float
    higher_is_better: bool = True
    scale: str = "raw"
    multiplicative: bool = False

    def shifted(self, value: np.ndarray | float, shift: float):
        """Move a value ``shift`` sigmas towards better."""
        if self.multiplicative:
            factor = math.exp(shift * self.sigma)
            return value * factor if self.higher_is_better else value / factor
        return value + shift * self.sigma if self.higher_is_better else value - shift * self.sigma


def _normal(rng, size):
    return rng.normal(0.85, 0.02, size)


def _lognormal(rng, size):  # a test MSE across seeds: right-skewed, positive (median 0.03, log-sd 0.8)
    return np.exp(rng.normal(math.log(0.03), 0.8, size))


def _discrete(rng, size):  # accuracy on 300 test examples: per-seed true accuracy plus binomial test-set noise
    return rng.binomial(300, np.clip(rng.normal(0.85, 0.01, size), 0, 1)) / 300


def _bimodal(rng, size):  # 10% of runs fail to converge (chance level of 5 classes)
    failed = rng.random(size) < 0.1
    return np.where(failed, rng.normal(0.2, 0.02, size), rng.normal(0.85, 0.02, size))


DISTRIBUTIONS = {
    "normal": Distribution("normal", _normal, 0.02),
    "lognormal": Distribution("lognormal", _lognormal, 0.8, higher_is_better=False, scale="log", multiplicative=True),
    "discrete": Distribution("discrete", _discrete, math.sqrt(0.01 ** 2 + 0.85 * 0.15 / 300)),
    "bimodal": Distribution("bimodal", _bimodal, 0.02),
}

CLAIMS = {  # name -> (statistic, k)
    "single_run": ("single_run", 1),
    "mean_of_5": ("mean_of_k", 5),
    "mean_of_10": ("mean_of_k", 10),
    "best_of_5": ("best_of_k", 5),
    "best_of_10": ("best_of_k", 10),
    "sample_of_5": ("sample", 5),
    "sample_of_10": ("sample", 10),
}


def paper_number(distribution: Distribution, statistic: str, k: int, rng: np.random.Generator, shift: float):
    """The paper's reported number (or sample) under the claim's semantics, ``shift`` sigmas better than honest."""
    runs = distribution.draw(rng, k)
    if statistic == "sample":
        return distribution.shifted(runs, shift)
    if statistic == "mean_of_k":
        value = float(np.mean(runs))
    elif statistic == "best_of_k":
        value = float(np.max(runs) if distribution.higher_is_better else np.min(runs))
    else:
        value = float(runs[0])
    return distribution.shifted(value, shift)


def simulate(distribution: str, claim: str, n: int, shift: float, claims: int, seed: int = 0,
             tolerance_sigmas: float = 0.5, alpha: float = 0.05) -> dict:
    """Outcome shares over ``claims`` simulated claims of one cell -> {inconsistent, consistent, inconclusive,
    wrong_direction, claims, mc_se} (mc_se: Monte-Carlo standard error of the inconsistent share)."""
    dist = DISTRIBUTIONS[distribution]
    statistic, k = CLAIMS[claim]
    tolerance = tolerance_sigmas * (dist.sigma * 0.03 if dist.multiplicative else dist.sigma)
    rng = np.random.default_rng([seed, n, int(shift * 100), k, len(distribution), len(claim)])
    counts = {"inconsistent": 0, "consistent": 0, "inconclusive": 0, "none": 0, "wrong_direction": 0}
    for _ in range(claims):
        ours = dist.draw(rng, n)
        reported = paper_number(dist, statistic, k, rng, shift)
        verdict = judge(statistic, reported, ours, k=k if statistic in ("mean_of_k", "best_of_k") else None,
                        higher_is_better=dist.higher_is_better, alpha=alpha, tolerance=tolerance,
                        scale=dist.scale, decide_repeats=False)
        counts[verdict.outcome] += 1
        if verdict.outcome == "inconsistent" and verdict.direction != "optimistic":
            counts["wrong_direction"] += 1
    shares = {key: value / claims for key, value in counts.items()}
    p = shares["inconsistent"]
    return {**shares, "claims": claims, "mc_se": math.sqrt(max(p * (1 - p), 1e-12) / claims)}


def mean_interval_coverage(distribution: str, n: int, trials: int, seed: int = 0, confidence: float = 0.95,
                           resamples: int = 999) -> dict:
    """Share of t and BCa intervals of the mean (replicate.stats.summarize) that contain the true mean."""
    from replicate import stats

    dist = DISTRIBUTIONS[distribution]
    truth = float(np.mean(dist.draw(np.random.default_rng(123456), 2_000_000)))
    rng = np.random.default_rng([seed, n, 7])
    t_hits = bca_hits = bca_defined = 0
    for trial in range(trials):
        summary = stats.summarize(dist.draw(rng, n), confidence=confidence, n_resamples=resamples,
                                  random_state=trial, minimum_bca_n=2)
        t_hits += summary.ci_t[0] <= truth <= summary.ci_t[1]
        if math.isfinite(summary.ci_bca[0]):
            bca_defined += 1
            bca_hits += summary.ci_bca[0] <= truth <= summary.ci_bca[1]
    return {"t": t_hits / trials, "bca": bca_hits / max(bca_defined, 1), "trials": trials}


def simulate_sequential(distribution: str, claim: str, shift: float, claims: int, first: int = 5, maximum: int = 100,
                        seed: int = 0, tolerance_sigmas: float = 0.5, alpha: float = 0.05,
                        level: float | None = None) -> dict:
    """The `repeats=auto` rule (replicate.sequential) on simulated claims of one cell: each claim is judged after every
    repeat n = first..maximum at its kind's nominal level and decided at the first look whose verdict is consistent
    or inconsistent. Returns the outcome shares (flagged at shift 0 is the false-alarm rate under optional stopping),
    the mean and 90th percentile of the repeats used, and the fixed-n design it replaces on the same draws:
    ``fixed_n``, the smallest n (from where the fixed-n rule's check is sharp by width, replicate.sequential.sharp_at,
    up a grid to ``maximum``) at which the fixed-n rule at full alpha decides at least 95% of the claims (None: no n
    up to the maximum does), and that rule's shares flagged and decided there.
    ``level``: another nominal level per look (``alpha`` shows what naive re-testing after every repeat does)."""
    from replicate.sequential import plan_levels, sharp_at

    dist = DISTRIBUTIONS[distribution]
    statistic, k = CLAIMS[claim]
    tolerance = tolerance_sigmas * (dist.sigma * 0.03 if dist.multiplicative else dist.sigma)
    level = plan_levels(statistic, k, first, maximum, alpha)[0] if level is None else level
    sharp = min(sharp_at(statistic, k, alpha, maximum), maximum)
    grid = [sharp] + [n for n in (12, 16, 20, 25, 30, 35, 40, 50, 60, 80, 100) if sharp < n <= maximum]
    rng = np.random.default_rng([seed, 16, int(shift * 100), k, len(distribution), len(claim), first, maximum])

    def outcome(reported, values, at: float) -> str:
        verdict = judge(statistic, reported, values, k=k if statistic in ("mean_of_k", "best_of_k") else None,
                        higher_is_better=dist.higher_is_better, alpha=at, tolerance=tolerance, scale=dist.scale,
                        decide_repeats=False)
        return verdict.outcome if verdict.direction in (None, "optimistic") else "wrong_direction"

    used, outcomes, draws = [], [], []
    for _ in range(claims):
        ours = dist.draw(rng, maximum)
        reported = paper_number(dist, statistic, k, rng, shift)
        result, n_used = "inconclusive", maximum
        for n in range(first, maximum + 1):
            result = outcome(reported, ours[:n], level)
            if result != "inconclusive":
                n_used = n
                break
        used.append(n_used)
        outcomes.append(result)
        draws.append((reported, ours))
    fixed_n, fixed = None, []
    for n in grid:
        fixed = [outcome(reported, ours[:n], alpha) for reported, ours in draws]
        if np.mean([f != "inconclusive" for f in fixed]) >= 0.95:
            fixed_n = n
            break
    used_array = np.array(used)
    shares = {name: float(np.mean([o == name for o in outcomes]))
              for name in ("inconsistent", "consistent", "inconclusive", "wrong_direction")}
    flagged = shares["inconsistent"] + shares["wrong_direction"]
    return {**shares, "flagged": flagged, "claims": claims, "level": level,
            "mc_se": math.sqrt(max(flagged * (1 - flagged), 1e-12) / claims),
            "mean_n": float(used_array.mean()), "p90_n": float(np.percentile(used_array, 90)),
            "fixed_n": fixed_n,
            "fixed_flagged": float(np.mean([f in ("inconsistent", "wrong_direction") for f in fixed])) if fixed_n else None,
            "fixed_decided": float(np.mean([f != "inconclusive" for f in fixed])) if fixed_n else None,
            "ratio": float(used_array.mean()) / fixed_n if fixed_n else math.nan}
