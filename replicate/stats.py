"""Descriptive statistics of achieved (retrained) values, intervals, and two-sample tests; claim verdicts: verdict.py.

Pure functions: no I/O, no module state. Every random procedure takes ``random_state`` (an int, ``None`` or a
``np.random.Generator``); it is passed around as given and turned into a Generator only where it is used
(``np.random.default_rng(random_state)``, which returns a Generator unchanged, so a shared Generator advances).

Inputs called ``values`` are 1-D arrays of achieved values, shape ``(n,)``, one per completed repeat. They must be
finite: a NaN or infinity raises ``ValueError`` (the caller passes only completed, finite values). Edge cases are
explicit: with n = 0 every statistic is NaN; with n = 1 the standard deviation and every interval are NaN (a spread
is undefined with one value); with zero spread (all values equal) the intervals collapse to the point instead of
failing (the BCa bootstrap is undefined on degenerate data). Intervals are clipped to the metric's range (``bounds``):
a mean of values in [0, 1] lies in [0, 1], so clipping never excludes the true mean.

Tests and the bootstrap come from ``scipy.stats``; only the closed-form quantities (Dodge et al.'s expected maximum,
Holm's step-down, effect sizes) are written out here.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
from scipy import special
from scipy import stats as sps

RandomState = Union[int, None, np.random.Generator]

BCA_MIN_N = 30  # below this the BCa interval of a mean covers far less than promised (91.8% at n=20; docs/statistics.md)

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


def summarize(values, confidence: float = 0.95, n_resamples: int = 9999, random_state: RandomState = 0,
              bounds: tuple[float, float] = (-math.inf, math.inf), minimum_bca_n: int = BCA_MIN_N) -> Summary:
    """Descriptive statistics and two intervals for the mean of ``values`` (n,). See ``Summary`` for edge cases.

    Quartiles are ``np.percentile`` with linear interpolation. The BCa interval is
    ``scipy.stats.bootstrap((values,), np.mean, method="BCa", n_resamples=n_resamples,
    rng=np.random.default_rng(random_state))``, given only from ``minimum_bca_n`` values on (NaN below: at n = 3..10
    it covers 72-92% instead of 95% at n = 3..20, measured in benchmarks/bench_calibration.py). Both intervals are clipped to
    ``bounds``.
    """
    x = _values(values)
    confidence = _confidence(confidence)
    n = int(x.size)
    nan2 = (NAN, NAN)
    if n == 0:
        return Summary(0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, nan2, nan2, confidence)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(np.mean(x))
        q1, median, q3 = (float(q) for q in np.percentile(x, [25, 50, 75]))
        low, high = float(np.min(x)), float(np.max(x))
        if n == 1:
            return Summary(1, mean, NAN, NAN, median, q1, q3, q3 - q1, low, high, nan2, nan2, confidence)
        std = float(np.std(x, ddof=1))
    sem = std / math.sqrt(n)
    if not (math.isfinite(mean) and math.isfinite(std)):  # values beyond floating point (a run that blew up)
        return Summary(n, mean, std, sem, median, q1, q3, q3 - q1, low, high, nan2, nan2, confidence)
    if low == high:  # zero spread: the t interval has zero width and BCa is undefined; the point is both ends
        ci_t = (mean, mean)
        ci_bca = (mean, mean) if n_resamples > 0 and n >= minimum_bca_n else nan2
    else:
        t_low, t_high = sps.t.interval(confidence, n - 1, loc=mean, scale=sem)
        ci_t = _clip((float(t_low), float(t_high)), bounds)
        use_bca = n_resamples > 0 and n >= minimum_bca_n
        ci_bca = _clip(_bca_interval(x, np.mean, confidence, n_resamples, random_state), bounds) if use_bca else nan2
    return Summary(n, mean, std, sem, median, q1, q3, q3 - q1, low, high, ci_t, ci_bca, confidence)


def _clip(interval: tuple[float, float], bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = interval
    if math.isnan(low) or math.isnan(high):
        return interval
    return float(max(low, bounds[0])), float(min(high, bounds[1]))


def percentile_of(reported: float, values) -> float:
    """Percent (0..100) of ``values`` (n,) below ``reported``, ties counted half
    (``scipy.stats.percentileofscore(values, reported, kind="mean")``). NaN when n = 0."""
    x = _values(values)
    reported = _scalar(reported, "reported")
    if x.size == 0:
        return NAN
    return float(sps.percentileofscore(x, reported, kind="mean"))


# ---------------------------------------------------------------------------------------------- single quantities



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


def std_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Chi-square interval (sqrt((n-1) s^2 / chi2_{1-a/2, n-1}), sqrt((n-1) s^2 / chi2_{a/2, n-1})) for the std of
    a normal population, from ``values`` (n,); (NaN, NaN) if n < 2, (0, 0) with zero spread."""
    x = _values(values)
    confidence = _confidence(confidence)
    n = x.size
    if n < 2:
        return (NAN, NAN)
    scaled = (n - 1) * float(np.var(x, ddof=1))
    alpha = 1 - confidence
    return (math.sqrt(scaled / sps.chi2.ppf(1 - alpha / 2, n - 1)), math.sqrt(scaled / sps.chi2.ppf(alpha / 2, n - 1)))


def repeats_needed(std: float, tolerance: float, confidence: float = 0.95, limit: int = 1_000_000) -> Optional[int]:
    """Smallest n >= 2 whose t half-width std * t_{1-a/2, n-1} / sqrt(n) is <= ``tolerance``; None if it exceeds
    ``limit`` (a spread huge against the tolerance, e.g. a run that blew up).

    std == 0 -> 2. Raises ValueError for a negative or non-finite std, or a tolerance <= 0 with std > 0. The search
    starts just below the normal-approximation answer (t > z, so no smaller n can qualify).
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
    approximate = (z * std / tolerance) ** 2
    if not approximate < limit:
        return None
    start = max(2, int(math.floor(approximate)) - 1)
    while start <= limit:
        n = np.arange(start, start + 1024)
        ok = std * sps.t.ppf((1 + confidence) / 2, n - 1) / np.sqrt(n) <= tolerance
        if ok.any():
            return int(n[np.argmax(ok)])
        start += 1024
    return None


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, shape (m,), in the input order.

    Sorted ascending p_(1) <= ... <= p_(m): adj_(j) = max_{i <= j} min(1, (m - i + 1) p_(i)) (step-down, monotone,
    capped at 1). A NaN p-value (a test undefined for that pair, e.g. two zero-spread groups) stays NaN and does not
    count among the m tests. Raises ValueError for values outside [0, 1].
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"p_values must be 1-D, got shape {p.shape}")
    defined = ~np.isnan(p)
    if np.any((p[defined] < 0) | (p[defined] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    adjusted = np.full(p.size, NAN)
    q = p[defined]
    m = q.size
    if m == 0:
        return adjusted
    order = np.argsort(q, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * q[order])
    inner = np.empty(m, dtype=float)
    inner[order] = np.maximum.accumulate(scaled)
    adjusted[defined] = inner
    return adjusted




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
