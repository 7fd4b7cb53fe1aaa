"""Simulated claims against simulated runs: the false-alarm rate and power of every verdict rule (see docs/statistics.md).

A cell is (distribution of runs, claim kind, n repeats, how far the claim is off). For each of ``claims`` draws:
n runs of ours and the paper's k runs come from the same distribution; the paper's number is their mean, their best
or one of them (or the k values, for a sample), moved ``shift`` run-to-run standard deviations towards "better"; the
verdict rule judges it. An honest claim (shift 0) called inconsistent is a false alarm.

The distributions are a *family* of how training runs spread across seeds (``family="member"``: the rule is meant to
hold its error rates on every one of them) plus stress cases beyond it (``family="beyond"``: reported, not promised).
Members whose runs sometimes fail to learn carry a ``failure_threshold`` (the trivial predictor's score); for those the
judge is also given which of our runs learned (``learned=``) and the threshold (``failure_threshold=``).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

import numpy as np
from scipy import special as sps_special
from scipy import stats as sps

from replicate.verdict import judge


@dataclass(frozen=True)
class Distribution:
    """How one run's metric is drawn. ``sigma`` is the run-to-run std that a shift is measured in (on the log scale
    for multiplicative metrics; of the runs that learned, for failure mixtures); ``scale`` is what the verdict rules
    are told about the metric. ``failure_threshold``: a run scoring no better than this (the trivial predictor) did
    not learn; None: the judge is not told. ``family``: "member" (the rules are meant to hold on it) or "beyond" (a
    stress case, reported only). ``center``: the metric's median, which turns a log-scale ``sigma`` into the metric's
    unit for the tolerance (multiplicative metrics only). ``about``: what real training runs it stands for."""

    name: str
    draw: Callable[[np.random.Generator, tuple], np.ndarray]
    sigma: float
    higher_is_better: bool = True
    scale: str = "raw"
    multiplicative: bool = False
    failure_threshold: Optional[float] = None
    family: str = "member"
    center: float = 0.03
    about: str = ""

    def shifted(self, value: np.ndarray | float, shift: float):
        """Move a value ``shift`` sigmas towards better."""
        if self.multiplicative:
            factor = math.exp(shift * self.sigma)
            return value * factor if self.higher_is_better else value / factor
        return value + shift * self.sigma if self.higher_is_better else value - shift * self.sigma

    def tolerance(self, sigmas: float) -> float:
        """``sigmas`` run-to-run sd in the metric's own unit (the verdict's tolerance)."""
        return sigmas * (self.sigma * self.center if self.multiplicative else self.sigma)

    def learned(self, values: np.ndarray) -> Optional[np.ndarray]:
        """Which runs learned (scored better than the failure threshold); None without a threshold."""
        if self.failure_threshold is None:
            return None
        values = np.asarray(values, dtype=float)
        return values > self.failure_threshold if self.higher_is_better else values < self.failure_threshold

    def judge_options(self, values: np.ndarray) -> dict:
        """The judge's keywords beyond today's: for failure members ``learned`` (a bool per run of ours) and
        ``failure_threshold``; nothing for the others (so they run against a judge that does not take them)."""
        if self.failure_threshold is None:
            return {}
        return {"learned": self.learned(values), "failure_threshold": self.failure_threshold}


_T4_SCALE = 0.02 / math.sqrt(2.0)  # a t(4) has variance 4/2 = 2


def _normal(rng, size):
    return rng.normal(0.85, 0.02, size)


def _student(df, rng, size):
    return 0.85 + 0.02 * rng.standard_t(df, size) / math.sqrt(df / (df - 2))


def _heavy_lower(rng, size):
    lower = rng.random(size) < 0.5
    below = np.abs(rng.standard_t(4, size)) * _T4_SCALE
    above = np.abs(rng.normal(0.0, 0.02, size))
    return 0.85 + np.where(lower, -below, above)


def _ceiling(rng, size):
    return 0.99 - rng.gamma(4.0, 0.01, size)


def _lognormal(rng, size):  # a test MSE across seeds: right-skewed, positive (median 0.03, log-sd 0.8)
    return np.exp(rng.normal(math.log(0.03), 0.8, size))


def _lognormal_mild(rng, size):
    return np.exp(rng.normal(math.log(0.03), 0.2, size))


def _gamma_loss(rng, size):
    return rng.gamma(4.0, 0.01, size)


def _discrete(rng, size):  # accuracy on 300 test examples: per-seed true accuracy plus binomial test-set noise
    return rng.binomial(300, np.clip(rng.normal(0.85, 0.01, size), 0, 1)) / 300


def _discrete_small(rng, size):
    return rng.binomial(100, np.clip(rng.normal(0.85, 0.01, size), 0, 1)) / 100


def _bimodal(rng, size):  # 10% of runs fail to converge (chance level of 5 classes)
    failed = rng.random(size) < 0.1
    return np.where(failed, rng.normal(0.2, 0.02, size), rng.normal(0.85, 0.02, size))


def _failing(p, rng, size):
    failed = rng.random(size) < p
    return np.where(failed, 0.2 - np.abs(rng.normal(0.0, 0.02, size)), rng.normal(0.85, 0.02, size))


def _failure_member(p: float) -> "Distribution":
    return Distribution(f"fail{round(100 * p)}", partial(_failing, p), 0.02, failure_threshold=0.2,
                        about=f"{100 * p:g}% of seeds fail to learn and score no better than chance (0.2 - |N(0, "
                              "0.02)|); the rest N(0.85, 0.02); the judge is told which runs learned")


_GAMMA_LOG_SD = float(sps_special.polygamma(1, 4.0)) ** 0.5  # sd of log Gamma(shape 4): trigamma(4) ** 0.5

DISTRIBUTIONS = {
    "normal": Distribution("normal", _normal, 0.02,
                           about="accuracy 0.85 ± 0.02, normal: seed noise of a stable model"),
    "t10": Distribution("t10", partial(_student, 10), 0.02,
                        about="0.85 + 0.02·t(10)/sd: slightly heavy tails both sides (occasional lucky/unlucky seed)"),
    "t5": Distribution("t5", partial(_student, 5), 0.02, family="beyond",
                       about="0.85 + 0.02·t(5)/sd: heavy tails both sides, heavier than the family's t(10): one run "
                             "and means hold on it, a best of k does not (its band would cost half its power on "
                             "normal runs)"),
    "heavy_lower": Distribution("heavy_lower", _heavy_lower, 0.02,
                                about="median 0.85; below it half a t(4), above it half a normal, both sd 0.02: a "
                                      "long tail towards worse (unlucky seeds, unstable training)"),
    "ceiling": Distribution("ceiling", _ceiling, 0.02,
                            about="0.99 - Gamma(4, 0.01) (mean 0.95, sd 0.02): accuracy piled against a ceiling, "
                                  "skewed towards worse (easy tasks, near-saturated models)"),
    "discrete": Distribution("discrete", _discrete, math.sqrt(0.01 ** 2 + 0.85 * 0.15 / 300),
                             about="accuracy on 300 test examples: per-seed N(0.85, 0.01) plus binomial test-set "
                                   "noise (ties, a grid of values)"),
    "discrete_small": Distribution("discrete_small", _discrete_small, math.sqrt(0.01 ** 2 + 0.85 * 0.15 / 100),
                                   about="accuracy on 100 test examples: per-seed N(0.85, 0.01) plus binomial "
                                         "test-set noise (a coarse grid, many ties)"),
    "lognormal": Distribution("lognormal", _lognormal, 0.8, higher_is_better=False, scale="log", multiplicative=True,
                              about="a test MSE across seeds: median 0.03, log-sd 0.8, lower is better (strongly "
                                    "right-skewed losses)"),
    "lognormal_mild": Distribution("lognormal_mild", _lognormal_mild, 0.2, higher_is_better=False, scale="log",
                                   multiplicative=True,
                                   about="a test MSE across seeds: median 0.03, log-sd 0.2, lower is better (mildly "
                                         "skewed losses)"),
    "gamma_loss": Distribution("gamma_loss", _gamma_loss, _GAMMA_LOG_SD, higher_is_better=False, scale="log",
                               multiplicative=True, center=float(sps.gamma.ppf(0.5, 4.0)) * 0.01,
                               about="a test loss across seeds, Gamma(shape 4, scale 0.01), lower is better, judged "
                                     "on the log scale (a right-skewed loss whose logarithm is left-skewed)"),
    "fail2": _failure_member(0.02),
    "fail5": _failure_member(0.05),
    "fail10": _failure_member(0.10),
    "fail30": _failure_member(0.30),
    "t3": Distribution("t3", partial(_student, 3), 0.02, family="beyond",
                       about="0.85 + 0.02·t(3)/sd: tails so heavy the fourth moment is infinite (a stress case)"),
    "bimodal": Distribution("bimodal", _bimodal, 0.02, family="beyond",
                            about="10% of runs fail to converge, at N(0.2, 0.02), the judge not told which (kept "
                                  "for continuity; the failure members fail2..fail30 tell it)"),
}


def members() -> list[str]:
    """The family's members (the rules are meant to hold on each)."""
    return [name for name, dist in DISTRIBUTIONS.items() if dist.family == "member"]


def beyond() -> list[str]:
    """Stress cases beyond the family (reported, not promised)."""
    return [name for name, dist in DISTRIBUTIONS.items() if dist.family == "beyond"]


CLAIMS = {  # name -> (statistic, k)
    "single_run": ("single_run", 1),
    "mean_of_3": ("mean_of_k", 3),
    "mean_of_5": ("mean_of_k", 5),
    "mean_of_10": ("mean_of_k", 10),
    "best_of_5": ("best_of_k", 5),
    "best_of_10": ("best_of_k", 10),
    "sample_of_5": ("sample", 5),
    "sample_of_10": ("sample", 10),
}


def _stream(*parts) -> list[int]:
    """A seed sequence from numbers and names (names by CRC-32, so that every cell has a stream of its own)."""
    return [zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts]


def paper_number(distribution: Distribution, statistic: str, k: int, rng: np.random.Generator, shift: float):
    """The paper's reported number (or sample) under the claim's semantics, ``shift`` sigmas better than honest.
    Its k runs come from the same distribution as ours (for a failure mixture, a mean of k includes a failed run
    with probability 1 - (1 - p)^k)."""
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


def _judge(dist: Distribution, statistic: str, k: int, reported, values: np.ndarray, alpha: float, tolerance: float,
           pass_learned: bool):
    options = dist.judge_options(values) if pass_learned else {}
    return judge(statistic, reported, values, k=k if statistic in ("mean_of_k", "best_of_k") else None,
                 higher_is_better=dist.higher_is_better, alpha=alpha, tolerance=tolerance, scale=dist.scale,
                 decide_repeats=False, **options)


def simulate(distribution: str, claim: str, n: int, shift: float, claims: int, seed: int = 0,
             tolerance_sigmas: float = 0.5, alpha: float = 0.05, pass_learned: bool = True) -> dict:
    """Outcome shares over ``claims`` simulated claims of one cell -> {inconsistent, consistent, inconclusive, none,
    wrong_direction, claims, mc_se} (mc_se: Monte-Carlo standard error of the inconsistent share; wrong_direction: the
    share called inconsistent but not optimistic). One judge call per claim. For failure members the judge also gets
    ``learned`` and ``failure_threshold`` (``pass_learned=False``: not, e.g. for a judge that does not take them)."""
    dist = DISTRIBUTIONS[distribution]
    statistic, k = CLAIMS[claim]
    tolerance = dist.tolerance(tolerance_sigmas)
    rng = np.random.default_rng(_stream(seed, n, round(shift * 100), k, distribution, claim))
    counts = {"inconsistent": 0, "consistent": 0, "inconclusive": 0, "none": 0, "wrong_direction": 0}
    for _ in range(claims):
        ours = dist.draw(rng, n)
        reported = paper_number(dist, statistic, k, rng, shift)
        verdict = _judge(dist, statistic, k, reported, ours, alpha, tolerance, pass_learned)
        counts[verdict.outcome] += 1
        if verdict.outcome == "inconsistent" and verdict.direction != "optimistic":
            counts["wrong_direction"] += 1
    shares = {key: value / claims for key, value in counts.items()}
    p = shares["inconsistent"]
    return {**shares, "claims": claims, "mc_se": math.sqrt(max(p * (1 - p), 1e-12) / claims)}


POWER_CURVE_NS = (3, 5, 7, 10, 15, 20, 30, 50, 70, 100)


def power_curve(distribution: str, claim: str, ns=POWER_CURVE_NS, shifts=(1, 2, 3), claims: int = 400,
                seed: int = 0, **options) -> list[dict]:
    """Power against n: one row per (n, shift), ordered by n then shift: {distribution, claim, n, shift, flagged
    (share called inconsistent), optimistic (flagged in the right direction), mc_se, claims}. ``options`` go to
    simulate (tolerance_sigmas, alpha, pass_learned)."""
    rows = []
    for n in sorted(ns):
        for shift in shifts:
            r = simulate(distribution, claim, n, float(shift), claims, seed=seed, **options)
            rows.append({"distribution": distribution, "claim": claim, "n": n, "shift": float(shift),
                         "flagged": r["inconsistent"], "optimistic": r["inconsistent"] - r["wrong_direction"],
                         "mc_se": r["mc_se"], "claims": claims})
    return rows


def power_drops(rows: list[dict], sigmas: float = 2.0) -> list[dict]:
    """Where power falls as n grows by more than ``sigmas`` Monte-Carlo SE of the difference: every pair n < n' at
    one shift with flagged(n) - flagged(n') > sigmas * sqrt(se(n)^2 + se(n')^2). Rows: power_curve's (or any with
    n, shift, flagged, mc_se). -> [{shift, n, n_later, flagged, flagged_later, drop, allowed}]."""
    drops = []
    for shift in sorted({row["shift"] for row in rows}):
        curve = sorted((row for row in rows if row["shift"] == shift), key=lambda row: row["n"])
        for i, early in enumerate(curve):
            for late in curve[i + 1:]:
                allowed = sigmas * math.hypot(early["mc_se"], late["mc_se"])
                drop = early["flagged"] - late["flagged"]
                if drop > allowed:
                    drops.append({"shift": shift, "n": early["n"], "n_later": late["n"], "flagged": early["flagged"],
                                  "flagged_later": late["flagged"], "drop": drop, "allowed": allowed})
    return drops


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
                        level: float | None = None, pass_learned: bool = True) -> dict:
    """The `repeats=auto` rule (replicate.sequential) on simulated claims of one cell: each claim is judged after every
    repeat n = first..maximum at its kind's nominal level and decided at the first look whose verdict is consistent
    or inconsistent. Returns the outcome shares (flagged at shift 0 is the false-alarm rate under optional stopping),
    the mean and 90th percentile of the repeats used, and the fixed-n design it replaces on the same draws:
    ``fixed_n``, the smallest n (from where the fixed-n rule's check is sharp by width, replicate.sequential.sharp_at,
    up a grid to ``maximum``) at which the fixed-n rule at full alpha decides at least 95% of the claims (None: no n
    up to the maximum does), and that rule's shares flagged and decided there.
    ``level``: another nominal level per look (``alpha`` shows what naive re-testing after every repeat does).
    For failure members every look's judge call also gets ``learned`` and ``failure_threshold`` (see simulate)."""
    from replicate.sequential import plan_levels, sharp_at

    dist = DISTRIBUTIONS[distribution]
    statistic, k = CLAIMS[claim]
    tolerance = dist.tolerance(tolerance_sigmas)
    log_scale = dist.scale == "log"  # a loss's claims are planned under the loss families, as the report plans them
    level = plan_levels(statistic, k, first, maximum, alpha, log_scale)[0] if level is None else level
    sharp = min(sharp_at(statistic, k, alpha, maximum, log_scale), maximum)
    grid = [sharp] + [n for n in (12, 16, 20, 25, 30, 35, 40, 50, 60, 80, 100) if sharp < n <= maximum]
    rng = np.random.default_rng(_stream(seed, 16, round(shift * 100), k, distribution, claim, first, maximum))

    def outcome(reported, values, at: float) -> str:
        verdict = _judge(dist, statistic, k, reported, values, at, tolerance, pass_learned)
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
