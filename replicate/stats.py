"""Statistics for comparing a paper's reported number with the distribution of achieved (retrained) values.

Pure functions: no I/O, no module state. Every random procedure takes ``random_state`` (an int, ``None`` or a
``np.random.Generator``); it is passed around as given and turned into a Generator only where it is used
(``np.random.default_rng(random_state)``, which returns a Generator unchanged, so a shared Generator advances).

Inputs called ``values`` are 1-D arrays of achieved values, shape ``(n,)``, one per completed repeat. They must be
finite: a NaN or infinity raises ``ValueError`` (the caller passes only completed, finite values). Edge cases are
explicit: with n = 0 every statistic is NaN; with n = 1 the standard deviation and every interval are NaN (a spread
is undefined with one value); with zero spread (all values equal) the intervals collapse to the point instead of
failing (the BCa bootstrap is undefined on degenerate data).

Tests and the bootstrap come from ``scipy.stats``; only the closed-form quantities (Dodge et al.'s expected maximum,
Holm's step-down, effect sizes) are written out here.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
from scipy import special
from scipy import stats as sps

RandomState = Union[int, None, np.random.Generator]

STATISTICS = ("single_run", "mean_of_k", "best_of_k", "sample", "unknown")
VERDICTS = ("consistent", "optimistic", "pessimistic", "indeterminate")
COARSE_BELOW = 5  # fewer runs than this: a central-95% band of the runs is essentially their range

NAN = float("nan")


# --------------------------------------------------------------------------------------------------------- helpers

def _values(values: Any, name: str = "values") -> np.ndarray:
    """``values`` as a float array of shape (n,); raises ValueError on NaN/inf or on more than one dimension."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        raise ValueError(f"{name} must be a 1-D sequence of numbers, got a scalar")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf); pass only completed, finite values")
    return array


def _scalar(value: Any, name: str) -> float:
    if isinstance(value, (str, bytes)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return confidence


def _rng(random_state: RandomState) -> np.random.Generator:
    return np.random.default_rng(random_state)


def _g(x: float) -> str:
    """A number for rule text."""
    return f"{x:.4g}"


def _pct(x: float) -> str:
    return f"{100 * x:.4g}%"


def _tail_quantiles(confidence: float) -> tuple[float, float]:
    """Percentiles (0..100) bounding the central ``confidence`` mass."""
    alpha = 1.0 - confidence
    return 100 * alpha / 2, 100 * (1 - alpha / 2)


def _side_verdict(reported: float, low: float, high: float, higher_is_better: bool) -> str:
    """consistent inside [low, high]; outside, optimistic when the reported value is on the better side."""
    if low <= reported <= high:
        return "consistent"
    above = reported > high
    return "optimistic" if above == higher_is_better else "pessimistic"


def _better_word(higher_is_better: bool) -> str:
    return "higher" if higher_is_better else "lower"


def _bca_interval(data: np.ndarray, statistic, confidence: float, n_resamples: int,
                  random_state: RandomState) -> tuple[float, float]:
    """scipy.stats.bootstrap BCa interval of ``statistic`` over ``data`` (n,); NaN if the BCa interval is undefined.

    ``statistic(x, axis)`` must be vectorised. The caller handles n < 2 and degenerate data before calling.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # includes scipy's DegenerateDataWarning
        result = sps.bootstrap((data,), statistic, n_resamples=int(n_resamples), confidence_level=confidence,
                               method="BCa", vectorized=True, rng=_rng(random_state))
    low, high = result.confidence_interval
    return float(low), float(high)


# --------------------------------------------------------------------------------------------------------- summary

@dataclass(frozen=True)
class Summary:
    """Summary of achieved values, shape (n,). ``std`` is the sample std (ddof=1); ``ci_t`` the t interval and
    ``ci_bca`` the BCa bootstrap interval (scipy.stats.bootstrap) for the mean, both at ``confidence``.

    n = 0: everything NaN. n = 1: std, sem, and both intervals NaN. Zero spread: both intervals are (mean, mean).
    ``n_resamples=0`` skips the bootstrap: ``ci_bca`` is (NaN, NaN).
    """
    n: int
    mean: float
    std: float
    sem: float
    median: float
    q1: float
    q3: float
    iqr: float
    min: float
    max: float
    ci_t: tuple[float, float]
    ci_bca: tuple[float, float]
    confidence: float


def summarize(values, confidence: float = 0.95, n_resamples: int = 9999, random_state: RandomState = 0) -> Summary:
    """Descriptive statistics and two intervals for the mean of ``values`` (n,). See ``Summary`` for edge cases.

    Quartiles are ``np.percentile`` with linear interpolation. The BCa interval is
    ``scipy.stats.bootstrap((values,), np.mean, method="BCa", n_resamples=n_resamples,
    rng=np.random.default_rng(random_state))``.
    """
    x = _values(values)
    confidence = _confidence(confidence)
    n = int(x.size)
    nan2 = (NAN, NAN)
    if n == 0:
        return Summary(0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, nan2, nan2, confidence)
    mean = float(np.mean(x))
    q1, median, q3 = (float(q) for q in np.percentile(x, [25, 50, 75]))
    low, high = float(np.min(x)), float(np.max(x))
    if n == 1:
        return Summary(1, mean, NAN, NAN, median, q1, q3, q3 - q1, low, high, nan2, nan2, confidence)
    std = float(np.std(x, ddof=1))
    sem = std / math.sqrt(n)
    if low == high:  # zero spread: the t interval has zero width and BCa is undefined; the point is both ends
        ci_t = (mean, mean)
        ci_bca = (mean, mean) if n_resamples > 0 else nan2
    else:
        t_low, t_high = sps.t.interval(confidence, n - 1, loc=mean, scale=sem)
        ci_t = (float(t_low), float(t_high))
        ci_bca = _bca_interval(x, np.mean, confidence, n_resamples, random_state) if n_resamples > 0 else nan2
    return Summary(n, mean, std, sem, median, q1, q3, q3 - q1, low, high, ci_t, ci_bca, confidence)


def percentile_of(reported: float, values) -> float:
    """Percent (0..100) of ``values`` (n,) below ``reported``, ties counted half
    (``scipy.stats.percentileofscore(values, reported, kind="mean")``). NaN when n = 0."""
    x = _values(values)
    reported = _scalar(reported, "reported")
    if x.size == 0:
        return NAN
    return float(sps.percentileofscore(x, reported, kind="mean"))


# ---------------------------------------------------------------------------------------------- single quantities

def prob_at_least_as_good(values, reported: float, higher_is_better: bool = True, confidence: float = 0.95,
                          n_resamples: int = 9999, random_state: RandomState = 0) -> tuple[float, float, float]:
    """P(one run at least as good as ``reported``): the fraction of ``values`` (n,) that are >= reported
    (<= for lower-is-better), with a BCa bootstrap interval (scipy.stats.bootstrap) -> (p, low, high).

    n = 0: all NaN. n = 1: (p, NaN, NaN). When every run is on the same side (p = 0 or 1) the bootstrap is
    degenerate, so the interval is the exact Clopper-Pearson interval of a binomial proportion instead
    (``scipy.stats.binomtest(...).proportion_ci(method="exact")``), which is honest about n; ``n_resamples=0`` gives
    NaN ends.
    """
    x = _values(values)
    reported = _scalar(reported, "reported")
    confidence = _confidence(confidence)
    n = int(x.size)
    if n == 0:
        return NAN, NAN, NAN
    good = (x >= reported) if higher_is_better else (x <= reported)
    p = float(np.mean(good))
    if n == 1:
        return p, NAN, NAN
    hits = int(np.sum(good))
    if hits in (0, n):
        ci = sps.binomtest(hits, n).proportion_ci(confidence_level=confidence, method="exact")
        return p, float(ci.low), float(ci.high)
    if n_resamples <= 0:
        return p, NAN, NAN

    def fraction(sample, axis=-1):
        return np.mean(sample, axis=axis)

    low, high = _bca_interval(good.astype(float), fraction, confidence, n_resamples, random_state)
    return p, low, high


def expected_max_of_k(values, k: int, higher_is_better: bool = True) -> tuple[float, float]:
    """Expected best of ``k`` runs drawn (with replacement) from the empirical distribution of ``values`` (n,), and
    the std of that best -> (expected, std). Dodge et al. 2019 ("Show Your Work", EMNLP): with sorted
    v_(1) <= ... <= v_(n), E[max of k] = sum_i v_(i) * ((i/n)^k - ((i-1)/n)^k); std = sqrt(sum_i v_(i)^2 w_i - E^2).
    For lower-is-better metrics the best is the minimum (computed on the negated values). n = 0: (NaN, NaN).
    """
    x = _values(values)
    k = _k(k)
    if x.size == 0:
        return NAN, NAN
    support, weights = _max_of_k_distribution(x if higher_is_better else -x, k)
    expected = float(np.sum(support * weights))
    variance = float(np.sum(support ** 2 * weights)) - expected ** 2
    std = math.sqrt(max(variance, 0.0))
    return (expected if higher_is_better else -expected), std


def _k(k: Any) -> int:
    if isinstance(k, bool) or int(k) != k or int(k) < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _max_of_k_distribution(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values v (n,) and w_i = P(max of k draws = v_(i)) = (i/n)^k - ((i-1)/n)^k (ties keep separate rows)."""
    v = np.sort(x)
    n = v.size
    cdf = (np.arange(n + 1) / n) ** k  # (n+1,): P(max <= v_(i)) for i = 0..n
    return v, np.diff(cdf)


def _max_of_k_quantile(x: np.ndarray, k: int, q: float) -> float:
    """Exact q-quantile (0 < q < 1) of the max of k draws from the empirical distribution of x (n,):
    the smallest v_(i) with (i/n)^k >= q, i.e. i = ceil(n * q^(1/k))."""
    v = np.sort(x)
    n = v.size
    i = math.ceil(n * q ** (1.0 / k) - 1e-9)  # tolerance: q^(1/k) * n landing on an integer up to rounding
    return float(v[min(max(i, 1), n) - 1])


def binomial_se(accuracy: float, n_test: int) -> float:
    """Standard error sqrt(p (1 - p) / n) of one accuracy measured on ``n_test`` examples: the test-set sampling
    noise of a single run, to set beside the between-seed std."""
    accuracy = _scalar(accuracy, "accuracy")
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {accuracy}")
    if int(n_test) != n_test or n_test < 1:
        raise ValueError(f"n_test must be a positive integer, got {n_test!r}")
    return math.sqrt(accuracy * (1.0 - accuracy) / int(n_test))


def interval_half_width(values, confidence: float = 0.95) -> float:
    """Half-width std * t_{1-a/2, n-1} / sqrt(n) of the t interval for the mean of ``values`` (n,); NaN if n < 2."""
    x = _values(values)
    confidence = _confidence(confidence)
    n = x.size
    if n < 2:
        return NAN
    return float(np.std(x, ddof=1) * sps.t.ppf((1 + confidence) / 2, n - 1) / math.sqrt(n))


def repeats_needed(std: float, tolerance: float, confidence: float = 0.95) -> int:
    """Smallest n >= 2 whose t half-width std * t_{1-a/2, n-1} / sqrt(n) is <= ``tolerance``.

    std == 0 -> 2. Raises ValueError for a negative or non-finite std, or a tolerance <= 0 with std > 0 (no n would
    do). The search starts just below the normal-approximation answer (t > z, so no smaller n can qualify).
    """
    std = _scalar(std, "std")
    tolerance = float(tolerance)
    confidence = _confidence(confidence)
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    if std == 0:
        return 2
    if not tolerance > 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a positive finite number, got {tolerance}")
    z = sps.norm.ppf((1 + confidence) / 2)
    start = max(2, int(math.floor((z * std / tolerance) ** 2)) - 1)
    while True:
        n = np.arange(start, start + 1024)
        ok = std * sps.t.ppf((1 + confidence) / 2, n - 1) / np.sqrt(n) <= tolerance
        if ok.any():
            return int(n[np.argmax(ok)])
        start += 1024


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, shape (m,), in the input order.

    Sorted ascending p_(1) <= ... <= p_(m): adj_(j) = max_{i <= j} min(1, (m - i + 1) p_(i)) (step-down, monotone,
    capped at 1). Raises ValueError for NaN or values outside [0, 1].
    """
    p = _values(p_values, "p_values")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    if m == 0:
        return np.array([], dtype=float)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m, dtype=float)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def tost(values, reported: float, tolerance: float, alpha: float = 0.05) -> dict[str, Any]:
    """Two one-sided t-tests (TOST) that the mean of ``values`` (n,) lies within ``reported`` +- ``tolerance``.

    p_lower: H0 mean <= reported - tolerance vs greater (scipy.stats.ttest_1samp, alternative="greater");
    p_upper: H0 mean >= reported + tolerance vs less. p_value = max of both; equivalent = p_value < alpha.
    n < 2: p-values NaN, not equivalent. Zero spread: the t statistics are infinite, so each p is 0 or 1 according to
    the side the (exact) mean is on.
    Returns keys p_lower, p_upper, p_value, equivalent (bool), tolerance, alpha.
    """
    x = _values(values)
    reported = _scalar(reported, "reported")
    tolerance = _scalar(tolerance, "tolerance")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    lower_bound, upper_bound = reported - tolerance, reported + tolerance
    if x.size < 2:
        p_lower = p_upper = NAN
    elif np.ptp(x) == 0:
        mean = float(x[0])
        p_lower = 0.0 if mean > lower_bound else 1.0
        p_upper = 0.0 if mean < upper_bound else 1.0
    else:
        p_lower = float(sps.ttest_1samp(x, lower_bound, alternative="greater").pvalue)
        p_upper = float(sps.ttest_1samp(x, upper_bound, alternative="less").pvalue)
    p_value = max(p_lower, p_upper) if not (math.isnan(p_lower) or math.isnan(p_upper)) else NAN
    return {"p_lower": p_lower, "p_upper": p_upper, "p_value": p_value,
            "equivalent": bool(p_value < alpha) if not math.isnan(p_value) else False,
            "tolerance": tolerance, "alpha": float(alpha)}


# ------------------------------------------------------------------------------------------------- two samples

def hedges_g(a, b) -> float:
    """Hedges' g of a (n_a,) vs b (n_b,): Cohen's d with the pooled sample std, times the exact small-sample
    correction J = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)), df = n_a + n_b - 2. Positive when a's mean is larger.
    NaN if df < 2; with zero pooled spread 0 for equal means, +-inf otherwise."""
    a, b = _values(a, "a"), _values(b, "b")
    df = a.size + b.size - 2
    d = cohens_d(a, b)
    if df < 2 or math.isnan(d):
        return NAN
    correction = math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2)
    return d * correction


def cohens_d(a, b) -> float:
    """Cohen's d of a (n_a,) vs b (n_b,): (mean_a - mean_b) / pooled sample std. NaN if n_a + n_b < 3 or either is
    empty; with zero pooled spread 0 for equal means, +-inf otherwise."""
    a, b = _values(a, "a"), _values(b, "b")
    df = a.size + b.size - 2
    if a.size == 0 or b.size == 0 or df < 1:
        return NAN
    ss = (np.sum((a - a.mean()) ** 2) if a.size > 1 else 0.0) + (np.sum((b - b.mean()) ** 2) if b.size > 1 else 0.0)
    pooled = math.sqrt(ss / df)
    diff = float(a.mean() - b.mean())
    if pooled == 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / pooled


def cliffs_delta(a, b) -> float:
    """Cliff's delta of a (n_a,) vs b (n_b,): P(a > b) - P(a < b) over all pairs, in [-1, 1]; NaN if either is empty."""
    a, b = _values(a, "a"), _values(b, "b")
    if a.size == 0 or b.size == 0:
        return NAN
    return float(np.mean(np.sign(a[:, None] - b[None, :])))


def compare_groups(a, b) -> dict[str, Any]:
    """Two independent samples a (n_a,) and b (n_b,), e.g. reported vs achieved, or two sweep configurations.

    Keys: n_a, n_b, mean_a, mean_b, median_a, median_b, std_a, std_b (ddof=1); welch_t, welch_p (scipy.stats.ttest_ind,
    equal_var=False); mannwhitney_u, mannwhitney_p (scipy.stats.mannwhitneyu, two-sided; U is a's statistic);
    ks_statistic, ks_p (scipy.stats.ks_2samp, two-sided); hedges_g, cohens_d (pooled std; g bias-corrected);
    cliffs_delta. Signs: positive effect sizes mean a is larger. p-values need n >= 1 each (Welch: n >= 2 each and
    some spread); otherwise NaN. Raises ValueError if either sample is empty.
    """
    a, b = _values(a, "a"), _values(b, "b")
    if a.size == 0 or b.size == 0:
        raise ValueError("compare_groups needs at least one value in each sample")
    out: dict[str, Any] = {
        "n_a": int(a.size), "n_b": int(b.size),
        "mean_a": float(a.mean()), "mean_b": float(b.mean()),
        "median_a": float(np.median(a)), "median_b": float(np.median(b)),
        "std_a": float(a.std(ddof=1)) if a.size > 1 else NAN, "std_b": float(b.std(ddof=1)) if b.size > 1 else NAN,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if a.size >= 2 and b.size >= 2 and (np.ptp(a) > 0 or np.ptp(b) > 0):
            welch = sps.ttest_ind(a, b, equal_var=False)
            out["welch_t"], out["welch_p"] = float(welch.statistic), float(welch.pvalue)
        else:
            out["welch_t"], out["welch_p"] = NAN, NAN
        mw = sps.mannwhitneyu(a, b, alternative="two-sided")
        out["mannwhitney_u"], out["mannwhitney_p"] = float(mw.statistic), float(mw.pvalue)
        ks = sps.ks_2samp(a, b)
        out["ks_statistic"], out["ks_p"] = float(ks.statistic), float(ks.pvalue)
    out["hedges_g"] = hedges_g(a, b)
    out["cohens_d"] = cohens_d(a, b)
    out["cliffs_delta"] = cliffs_delta(a, b)
    return out


# ---------------------------------------------------------------------------------------------------- claims

@dataclass(frozen=True)
class Comparison:
    """A reported claim against the achieved values. ``verdict``: "optimistic" means the reported number is better
    than what the retrained model achieves (higher if higher-is-better, lower otherwise), "pessimistic" worse."""
    statistic: str
    verdict: str
    rule: str
    reported: Union[float, tuple[float, ...]]
    percentile: Optional[float]
    details: dict[str, Union[float, str]] = field(default_factory=dict)


def compare_claim(statistic: str, reported, values, *, k: Optional[int] = None, higher_is_better: bool = True,
                  confidence: float = 0.95, n_resamples: int = 9999, random_state: RandomState = 0) -> Comparison:
    """Compare a reported number (or sample, for ``statistic="sample"``) with achieved ``values`` (n,).

    statistic:
      single_run  reported is one run: consistent if inside the central ``confidence`` band of the runs
                  (np.percentile, linear); also P(one run at least as good) with a BCa interval.
      mean_of_k   reported is a mean of k runs: consistent if inside the central band of the bootstrap distribution of
                  the mean of k runs drawn with replacement (n_resamples draws); one-sample t-test in details.
                  k=None: the verdict is given only where it holds for every k from 1 to n (see the rule text).
      best_of_k   reported is the best of k runs: Dodge et al. 2019 expected maximum and its std; consistent if inside
                  the exact central band of the max-of-k distribution under the empirical CDF. k=None: indeterminate.
      sample      reported is a sequence of values (m,): compare_groups(reported, values); consistent if the
                  Mann-Whitney p >= 1 - confidence, else by which side's median is better.
      unknown     single_run and mean_of_k (k unknown) are both computed; verdict indeterminate.
    With n < 2 achieved values the verdict is indeterminate. ``percentile`` is the reported value's percentile among
    the achieved runs (None for sample claims).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    x = _values(values)
    confidence = _confidence(confidence)
    if statistic == "sample":
        sample = _values(reported, "reported sample")
        if sample.size == 0:
            raise ValueError("a sample claim needs at least one reported value")
        return _compare_sample(tuple(float(v) for v in sample), sample, x, higher_is_better, confidence)
    value = _scalar(reported, "reported")
    if k is not None:
        k = _k(k)
    n = x.size
    percentile = percentile_of(value, x)
    if n < 2:
        return Comparison(statistic, "indeterminate",
                          f"only {n} achieved value(s); at least 2 are needed for a distribution to compare with, "
                          "so no verdict is given", value, percentile, {"n": float(n)})
    rng = _rng(random_state)
    if statistic == "single_run":
        return _compare_single(value, x, higher_is_better, confidence, n_resamples, rng)
    if statistic == "mean_of_k":
        return _compare_mean(value, x, k, higher_is_better, confidence, n_resamples, rng)
    if statistic == "best_of_k":
        return _compare_best(value, x, k, higher_is_better, confidence)
    single = _compare_single(value, x, higher_is_better, confidence, n_resamples, rng)
    mean = _compare_mean(value, x, k, higher_is_better, confidence, n_resamples, rng)
    details: dict[str, Union[float, str]] = {}
    details.update({f"single_run.{key}": v for key, v in single.details.items()})
    details.update({f"mean_of_k.{key}": v for key, v in mean.details.items()})
    rule = ("the claim's statistic is unknown (one run? a mean of runs? the best of several?), so no verdict is given. "
            f"Read as a single run it would be {single.verdict}: {single.rule} "
            f"Read as a mean of runs it would be {mean.verdict}: {mean.rule}")
    return Comparison("unknown", "indeterminate", rule, value, percentile, details)


def _coarse_note(n: int) -> str:
    if n < COARSE_BELOW:
        return (f" Only {n} runs: the empirical band is essentially their range (min to max), too coarse to say much;"
                " more repeats are needed for a firm verdict.")
    return ""


def _compare_single(reported: float, x: np.ndarray, higher_is_better: bool, confidence: float,
                    n_resamples: int, rng: np.random.Generator) -> Comparison:
    q_low, q_high = _tail_quantiles(confidence)
    low, high = (float(v) for v in np.percentile(x, [q_low, q_high]))
    verdict = _side_verdict(reported, low, high, higher_is_better)
    percentile = percentile_of(reported, x)
    p, p_low, p_high = prob_at_least_as_good(x, reported, higher_is_better, confidence, n_resamples, rng)
    where = {"consistent": "inside", "optimistic": "outside", "pessimistic": "outside"}[verdict]
    side = ""
    if verdict != "consistent":
        side = (f", on the {'better' if verdict == 'optimistic' else 'worse'} side ({_better_word(higher_is_better)} "
                "is better)")
    rule = (f"single run: consistent if the reported value lies inside the central {_pct(confidence)} of the "
            f"{x.size} achieved runs (the {q_low:.4g}th to {q_high:.4g}th percentiles, [{_g(low)}, {_g(high)}]); "
            f"the reported {_g(reported)} is {where}{side}: it sits at the {percentile:.3g}th percentile, and "
            f"P(one run at least as good as reported) = {p:.3g} [{_g(p_low)}, {_g(p_high)}].{_coarse_note(x.size)}")
    details: dict[str, Union[float, str]] = {
        "n": float(x.size), "percentile": percentile, "band_low": low, "band_high": high,
        "p_at_least_as_good": p, "p_at_least_as_good_low": p_low, "p_at_least_as_good_high": p_high,
        "p_interval_method": "exact (Clopper-Pearson)" if p in (0.0, 1.0) else "BCa bootstrap",
        "achieved_mean": float(np.mean(x)), "achieved_median": float(np.median(x)),
        "achieved_std": float(np.std(x, ddof=1)),
    }
    return Comparison("single_run", verdict, rule, reported, percentile, details)


def _mean_of_k_band(x: np.ndarray, k: int, confidence: float, n_resamples: int,
                    rng: np.random.Generator) -> tuple[float, float, np.ndarray]:
    """Central band of the bootstrap distribution of the mean of k runs drawn with replacement from x (n,);
    returns (low, high, means (n_resamples,))."""
    n_resamples = max(int(n_resamples), 1)
    means = np.empty(n_resamples)
    batch = max(1, 2_000_000 // k)  # bound memory: at most ~2M draws at once
    for start in range(0, n_resamples, batch):
        stop = min(start + batch, n_resamples)
        means[start:stop] = rng.choice(x, size=(stop - start, k), replace=True).mean(axis=1)
    q_low, q_high = _tail_quantiles(confidence)
    low, high = np.percentile(means, [q_low, q_high])
    return float(low), float(high), means


def _compare_mean(reported: float, x: np.ndarray, k: Optional[int], higher_is_better: bool, confidence: float,
                  n_resamples: int, rng: np.random.Generator) -> Comparison:
    n = x.size
    percentile = percentile_of(reported, x)
    details: dict[str, Union[float, str]] = {"n": float(n)}
    if np.ptp(x) == 0:
        t_stat, t_p = NAN, NAN
        t_text = "the one-sample t-test is undefined (all achieved values are equal)"
    else:
        test = sps.ttest_1samp(x, reported)
        t_stat, t_p = float(test.statistic), float(test.pvalue)
        t_text = f"one-sample t-test of the achieved runs against the reported value: t = {t_stat:.3g}, p = {t_p:.3g}"
    summary = summarize(x, confidence, n_resamples=0)
    details.update({"achieved_mean": summary.mean, "achieved_std": summary.std,
                    "ci_t_low": summary.ci_t[0], "ci_t_high": summary.ci_t[1],
                    "t_statistic": t_stat, "t_p_value": t_p})
    band = f"central {_pct(confidence)} of the bootstrap distribution of the mean of"
    if k is not None:
        low, high, means = _mean_of_k_band(x, k, confidence, n_resamples, rng)
        verdict = _side_verdict(reported, low, high, higher_is_better)
        mean_pct = float(sps.percentileofscore(means, reported, kind="mean"))
        details.update({"k": float(k), "mean_of_k_band_low": low, "mean_of_k_band_high": high,
                        "mean_of_k_percentile": mean_pct})
        rule = (f"mean of k={k} runs: consistent if the reported mean lies inside the {band} {k} runs drawn with "
                f"replacement from the {n} achieved runs ({n_resamples} draws): [{_g(low)}, {_g(high)}]; the reported "
                f"{_g(reported)} is at its {mean_pct:.3g}th percentile, so {verdict}"
                f"{'' if verdict == 'consistent' else f' ({_better_word(higher_is_better)} is better)'}; {t_text}.")
        return Comparison("mean_of_k", verdict, rule, reported, percentile, details)
    # k unknown: the band narrows as k grows, so judge at both ends of the plausible range 1..n.
    low1, high1, _ = _mean_of_k_band(x, 1, confidence, n_resamples, rng)
    lown, highn, _ = _mean_of_k_band(x, n, confidence, n_resamples, rng)
    wide = _side_verdict(reported, low1, high1, higher_is_better)
    narrow = _side_verdict(reported, lown, highn, higher_is_better)
    if narrow == "consistent":
        verdict = "consistent"
    elif wide != "consistent":
        verdict = wide
    else:
        verdict = "indeterminate"
    details.update({"k": "unknown", "mean_of_1_band_low": low1, "mean_of_1_band_high": high1,
                    "mean_of_n_band_low": lown, "mean_of_n_band_high": highn})
    rule = (f"mean of an unknown number k of runs: k is not given, so the reported mean is judged against the {band} "
            f"k runs at both ends of 1..n: k=1 (widest) [{_g(low1)}, {_g(high1)}] and k=n={n} (narrowest) "
            f"[{_g(lown)}, {_g(highn)}]; consistent if inside the k=n band, optimistic/pessimistic if outside even the "
            f"k=1 band, otherwise no verdict (it depends on k). The reported {_g(reported)} gives: {verdict}; {t_text}.")
    return Comparison("mean_of_k", verdict, rule, reported, percentile, details)


def _compare_best(reported: float, x: np.ndarray, k: Optional[int], higher_is_better: bool,
                  confidence: float) -> Comparison:
    n = x.size
    percentile = percentile_of(reported, x)
    best = "maximum" if higher_is_better else "minimum"
    if k is None:
        expected, std = expected_max_of_k(x, n, higher_is_better)
        rule = (f"best of an unknown number k of runs: the expected best shifts with k (Dodge et al. 2019), so without "
                f"k no verdict is given; for reference, the expected {best} of k=n={n} runs is {_g(expected)} "
                f"(std {_g(std)}).")
        return Comparison("best_of_k", "indeterminate", rule, reported, percentile,
                          {"n": float(n), "k": "unknown", "expected_best_of_n": expected,
                           "expected_best_of_n_std": std})
    expected, std = expected_max_of_k(x, k, higher_is_better)
    q_low, q_high = _tail_quantiles(confidence)
    signed = x if higher_is_better else -x
    a, b = _max_of_k_quantile(signed, k, q_low / 100), _max_of_k_quantile(signed, k, q_high / 100)
    low, high = (a, b) if higher_is_better else (-b, -a)
    verdict = _side_verdict(reported, low, high, higher_is_better)
    support, weights = _max_of_k_distribution(signed, k)
    r = reported if higher_is_better else -reported
    best_pct = float(100 * (np.sum(weights[support < r]) + 0.5 * np.sum(weights[support == r])))  # ties counted half
    if not higher_is_better:
        best_pct = 100.0 - best_pct  # percentile on the metric's own scale (share of best-of-k values below reported)
    rule = (f"best of k={k} runs ({best} for a {_better_word(higher_is_better)}-is-better metric): under the empirical "
            f"distribution of the {n} achieved runs, the best of {k} has expected value {_g(expected)} and std "
            f"{_g(std)} (Dodge et al. 2019, E = sum_i v_(i)((i/n)^k - ((i-1)/n)^k)); consistent if the reported value "
            f"lies inside the exact central {_pct(confidence)} of that best-of-{k} distribution, [{_g(low)}, {_g(high)}]; "
            f"the reported {_g(reported)} is at its {best_pct:.3g}th percentile, so {verdict}"
            f"{'' if verdict == 'consistent' else f' ({_better_word(higher_is_better)} is better)'}."
            f"{_coarse_note(n)}")
    details: dict[str, Union[float, str]] = {
        "n": float(n), "k": float(k), "expected_best": expected, "expected_best_std": std,
        "best_of_k_band_low": low, "best_of_k_band_high": high, "best_of_k_percentile": best_pct,
        "achieved_mean": float(np.mean(x)), "achieved_median": float(np.median(x)),
    }
    return Comparison("best_of_k", verdict, rule, reported, percentile, details)


def _compare_sample(reported: tuple[float, ...], sample: np.ndarray, x: np.ndarray, higher_is_better: bool,
                    confidence: float) -> Comparison:
    alpha = 1.0 - confidence
    if x.size < 2:
        return Comparison("sample", "indeterminate",
                          f"only {x.size} achieved value(s); at least 2 are needed to compare samples, so no verdict "
                          "is given", reported, None, {"n": float(x.size)})
    groups = compare_groups(sample, x)
    details: dict[str, Union[float, str]] = {key: float(v) for key, v in groups.items()}
    details["effect_size_note"] = ("hedges_g: bias-corrected standardised mean difference (pooled std); cliffs_delta: "
                                   "P(reported > achieved) - P(reported < achieved); positive means reported larger")
    p = groups["mannwhitney_p"]
    med_r, med_a = groups["median_a"], groups["median_b"]
    if p >= alpha:
        verdict = "consistent"
        why = f"p = {p:.3g} >= {alpha:.3g}, so consistent"
    else:
        if med_r != med_a:
            reported_higher = med_r > med_a
            how = "by the medians"
        else:
            reported_higher = groups["cliffs_delta"] > 0
            how = "medians tie, so by the sign of Cliff's delta"
        verdict = "optimistic" if reported_higher == higher_is_better else "pessimistic"
        why = (f"p = {p:.3g} < {alpha:.3g}, and {how} the reported sample is "
               f"{'better' if verdict == 'optimistic' else 'worse'} ({_better_word(higher_is_better)} is better), "
               f"so {verdict}")
    rule = (f"sample of {sample.size} reported values vs {x.size} achieved: consistent if the two-sided Mann-Whitney U "
            f"test does not reject equal distributions at {alpha:.3g} (p >= {alpha:.3g}); otherwise optimistic or "
            f"pessimistic by which median is better. Medians: reported {_g(med_r)}, achieved {_g(med_a)}; {why}. "
            f"Also Welch t p = {groups['welch_p']:.3g}, KS p = {groups['ks_p']:.3g}, Hedges' g = "
            f"{groups['hedges_g']:.3g}, Cliff's delta = {groups['cliffs_delta']:.3g}.")
    return Comparison("sample", verdict, rule, reported, None, details)
