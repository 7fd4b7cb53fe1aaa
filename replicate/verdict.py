"""A reported claim against the achieved runs: a calibrated verdict (consistent, inconsistent, inconclusive), pure.

Every rule answers one question: if the paper's number were an honest draw of the stated kind (one run, a mean of k
runs, the best of k runs, a sample of runs) of the model we retrained, how surprising would it be? The rules, their
assumptions, what happens when those fail and the measured error rates are in docs/statistics.md.

Inputs: ``values`` (n,) achieved values of one metric, one per completed repeat, with ``learned`` (n,) saying which
runs learned (beat the trivial predictor; the others may be non-finite); ``reported`` a number (or (m,) values for a
sample claim). One run, a mean of k and the best of k are judged on the runs that learned by one rule at every n, whose
level holds on a stated family of run distributions (replicate.family); runs that did not learn are a mixture the
paper's number may hold too (a pessimistic call is withheld where they could explain it). Outcomes:

- ``inconsistent``: rejected at level ``alpha`` under the claim's own semantics; ``direction`` says whether the
  reported number is better (``optimistic``) or worse (``pessimistic``) than the retrained model's.
- ``consistent``: not rejected AND the check was sharp enough: a claim off by ``tolerance`` would be flagged with
  probability >= ``power_target``, or equivalence within +-tolerance is shown, or our finite n widens the acceptance
  band by at most ``width_factor_max`` over what infinitely many repeats would give (the claim's own noise -- one run,
  a mean of k -- bounds how sharp any check can be; more repeats cannot remove it).
- ``inconclusive``: neither; ``repeats_to_decide`` says how many repeats would make the check sharp enough.
- ``none``: no verdict (statistic unknown, fewer than two runs that learned, values beyond floating point). Bad
  input (a NaN claim, k missing or below 1, a mask of the wrong length) raises ValueError instead.
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Optional, Sequence

import numpy as np
from scipy import stats as sps

from replicate import family

OUTCOMES = ("consistent", "inconsistent", "inconclusive", "none")
STATISTICS = ("single_run", "mean_of_k", "best_of_k", "sample", "unknown")
POWER_TARGET = 0.8
WIDTH_FACTOR_MAX = 1.25
NORMALITY_ALPHA = 0.01  # Shapiro-Wilk level of the report's "looks normal" line (information; no rule depends on it)
_BEST_DRAWS = 100_000   # Monte-Carlo draws of the best-of-k pivot (fixed seed: every report gives the same numbers)
_NUMERIC_EQUAL = 1e-9   # relative: values this close are the same number (float32 metrics, printing)


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict. ``quantities``: (human label, value text) pairs for the report; ``details``: the same
    numbers, machine-readable, for summary.json."""

    statistic: str
    outcome: str
    direction: Optional[str]
    why: str
    rule: str
    error_rates: str
    method: str
    p_value: float = math.nan
    power: float = math.nan
    width_factor: float = math.nan
    repeats_to_decide: Optional[int] = None
    percentile: Optional[float] = None
    quantities: list = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """'consistent', 'inconsistent (optimistic)', 'inconclusive', 'no verdict'."""
        if self.outcome == "inconsistent":
            return f"inconsistent ({self.direction})"
        return "no verdict" if self.outcome == "none" else self.outcome


# ------------------------------------------------------------------------------------------------------ helpers

def _g(x: float, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{digits}g}"


def _pct(p: float) -> str:
    if not math.isfinite(p):
        return "—"
    return f"{100 * p:.0f}%" if 0.01 <= p <= 0.99 or p in (0.0, 1.0) else f"{100 * p:.2g}%"


def printed_half_unit(value: float, digits: Optional[int] = None) -> float:
    """Half a unit of the last printed decimal of ``value``: 0.745 -> 0.0005. ``digits`` (decimal places) overrides
    what the shortest round-tripping literal (Python's repr, what YAML's 0.745 gives back) shows."""
    if not math.isfinite(float(value)):
        raise ValueError(f"a reported value must be a finite number, got {value!r}")
    if digits is None:
        exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
        digits = max(0, -int(exponent))
    return 0.5 * 10.0 ** (-int(digits))


@functools.lru_cache(maxsize=4096)
def proportion_interval(hits: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact Clopper-Pearson interval of hits/n (the beta quantiles scipy.stats.binomtest's exact interval solves
    for); always inside [0, 1]."""
    if n == 0:
        return math.nan, math.nan
    hits, n, tail = int(hits), int(n), (1 - confidence) / 2
    low = 0.0 if hits == 0 else float(sps.beta.ppf(tail, hits, n - hits + 1))
    high = 1.0 if hits == n else float(sps.beta.ppf(1 - tail, hits + 1, n - hits))
    return low, high


def normality(values: np.ndarray) -> tuple[Optional[float], str]:
    """Shapiro-Wilk p-value of values (n,) (None if n < 3 or zero spread) and a sentence."""
    if values.size < 3 or np.ptp(values) == 0:
        return None, f"normality not checkable with {values.size} run(s)" if values.size < 3 else "normality not checkable (zero spread)"
    p = float(sps.shapiro(values).pvalue)
    verdict = "looks normal" if p >= NORMALITY_ALPHA else "does NOT look normal"
    return p, f"Shapiro-Wilk p = {p:.2g}: the sample {verdict}"


@functools.lru_cache(maxsize=256)
def _best_pivot(n: int, k: int, draws: int = _BEST_DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """Monte-Carlo draws of D = max of k standard normals - Z/sqrt(n) and V = s/sigma (chi, n-1 df): under normal runs
    (r - mean)/s of an honest best of k is distributed as D / V whatever the mean and sigma (a pivot)."""
    rng = np.random.default_rng([20261128, n, k])
    maxima = np.empty(draws)
    batch = max(1, 4_000_000 // k)
    for start in range(0, draws, batch):
        stop = min(draws, start + batch)
        maxima[start:stop] = rng.standard_normal((stop - start, k)).max(axis=1)
    d = maxima - rng.standard_normal(draws) / math.sqrt(n)
    v = np.sqrt(rng.chisquare(n - 1, draws) / (n - 1))
    return d, v


@functools.lru_cache(maxsize=256)
def _best_sorted(n: int, k: int) -> np.ndarray:
    d, v = _best_pivot(n, k)
    return np.sort(d / v)


@functools.lru_cache(maxsize=1024)
def _best_quantiles(n: int, k: int, alpha: float) -> tuple[float, float, float]:
    low, median, high = np.quantile(_best_sorted(n, k), [alpha / 2, 0.5, 1 - alpha / 2])
    return float(low), float(median), float(high)


def _best_of_k_infinite(k: int, alpha: float) -> tuple[float, float]:
    """Central 1-alpha band of the max of k standard normals (exact: P(M <= q) = Phi(q)^k)."""
    return (float(sps.norm.ppf((alpha / 2) ** (1 / k))), float(sps.norm.ppf((1 - alpha / 2) ** (1 / k))))


# ----------------------------------------------------------------------------------------- parametric pivots

@dataclass(frozen=True)
class _Pivot:
    """(reported - mean)/s on the analysis scale; under the claim's null it has a known law (t, or the best-of-k D/V)."""

    kind: str          # single, mean, best
    n: int
    k: int
    df: float
    scale: float       # t kinds: (r - m) / s = scale * t_df
    pooled_sd: Optional[float] = None

    def quantiles(self, alpha: float) -> tuple[float, float, float]:
        if self.kind == "best":
            return _best_quantiles(self.n, self.k, alpha)
        q = float(sps.t.ppf(1 - alpha / 2, self.df)) * self.scale
        return -q, 0.0, q

    def cdf(self, t: float) -> float:
        if self.kind == "best":
            draws = _best_sorted(self.n, self.k)
            return float((np.searchsorted(draws, t, side="right") + 1) / (draws.size + 1))
        return float(sps.t.cdf(t / self.scale, self.df))

    def sf(self, t: float) -> float:
        if self.kind == "best":
            draws = _best_sorted(self.n, self.k)
            return float((draws.size - np.searchsorted(draws, t, side="left") + 1) / (draws.size + 1))
        return float(sps.t.sf(t / self.scale, self.df))

    def power(self, shift: float, alpha: float) -> float:
        """P(reject) when the claim is off by ``shift`` standard deviations (true sigma taken as our s)."""
        low, _, high = self.quantiles(alpha)
        if self.kind == "best":
            d, v = _best_pivot(self.n, self.k)
            t = (d + shift) / v
            return float(np.mean((t < low) | (t > high)))
        crit = high / self.scale
        nc = shift / self.scale
        return float(sps.nct.sf(crit, self.df, nc) + sps.nct.cdf(-crit, self.df, nc))

    def width_factor(self, alpha: float) -> float:
        """Width of the acceptance band at this n over its width with infinitely many repeats."""
        low, _, high = self.quantiles(alpha)
        if self.kind == "best":
            a, b = _best_of_k_infinite(self.k, alpha)
            return (high - low) / (b - a)
        z = float(sps.norm.ppf(1 - alpha / 2))
        infinite = 1.0 if self.kind == "single" else math.sqrt(1.0 / self.k)
        return (high - low) / (2 * z * infinite)


def _pivot(kind: str, n: int, k: int, s: float = 1.0, reported_std: Optional[float] = None) -> _Pivot:
    if kind == "single":
        return _Pivot("single", n, 1, n - 1, math.sqrt(1 + 1 / n))
    if kind == "mean":
        if reported_std is not None and k >= 2 and s > 0:
            pooled = math.sqrt(((n - 1) * s ** 2 + (k - 1) * reported_std ** 2) / (n + k - 2))
            return _Pivot("mean", n, k, n + k - 2, pooled / s * math.sqrt(1 / k + 1 / n), pooled)
        return _Pivot("mean", n, k, n - 1, math.sqrt(1 / k + 1 / n))
    return _Pivot("best", n, k, n - 1, 1.0)


def _sharp(pivot: _Pivot, shift: float, alpha: float) -> tuple[float, float]:
    """(power at +-shift sigma, the smaller side), width factor."""
    power = min(pivot.power(shift, alpha), pivot.power(-shift, alpha)) if math.isfinite(shift) else math.nan
    return power, pivot.width_factor(alpha)


def _repeats_to_decide_normal(kind: str, n: int, k: int, shift: float, alpha: float, s: float) -> Optional[int]:
    """Smallest n' > n at which the normal-theory check would be sharp enough, the spread staying what it is now."""
    candidates = sorted({max(n + 1, int(round(n * 1.15 ** j))) for j in range(1, 80)} | set(range(n + 1, n + 40)))
    for m in candidates:
        if m > 100_000:
            break
        if kind == "best" and m > 2000:
            return None
        power, width = _sharp(_pivot(kind, m, k, s), shift, alpha)
        if power >= POWER_TARGET or width <= WIDTH_FACTOR_MAX:
            return int(m)
    return None


# ------------------------------------------------------------------------------------------------- analysis scale

@dataclass(frozen=True)
class _Scale:
    name: str  # raw, log
    note: str

    def forward(self, x):
        return np.log(x) if self.name == "log" else np.asarray(x, dtype=float)

    def backward(self, y):
        return np.exp(y) if self.name == "log" else y


def choose_scale(values: np.ndarray, reported_low: float, scale: str) -> _Scale:
    """``scale="log"`` (asked for losses and errors: multiplicative noise) holds only for positive numbers."""
    if scale == "log":
        if values.size and np.all(values > 0) and reported_low > 0:
            return _Scale("log", "on the log scale (losses and errors vary multiplicatively)")
        return _Scale("raw", "on the raw scale (the log scale needs positive values)")
    return _Scale("raw", "")


# ------------------------------------------------------------------------------------------------- the rules

def judge(statistic: str, reported: Any, values: Sequence[float], *, k: Optional[int] = None,
          reported_std: Optional[float] = None, higher_is_better: bool = True, alpha: float = 0.05,
          tolerance: float = 0.01, half_unit: float = 0.0, scale: str = "raw",
          bounds: tuple[float, float] = (-math.inf, math.inf), decide_repeats: bool = True,
          learned: Optional[Sequence[bool]] = None, failure_threshold: Optional[float] = None,
          learned_only: bool = False) -> Verdict:
    """The verdict of one claim; see the module docstring. ``half_unit``: half the reported number's printed unit
    (a claim matching the runs to its printed precision is not rejected). ``scale``: "log" for metrics that vary
    multiplicatively (losses): one run and the best of k are judged on the log scale, a mean of k on the metric's
    own scale, each under its family (replicate.family). ``bounds``: the metric's range, for intervals.
    ``decide_repeats=False`` skips the search for how many repeats would decide an inconclusive claim (simulations).

    Runs that did not learn: ``learned`` (one bool per value; None: every run learned) marks them; their values may
    be non-finite. ``failure_threshold``: the trivial predictor's score on this metric (a run no better than it did
    not learn), where the paper's number would land with failed runs in it. ``learned_only``: the paper discarded runs
    that did not learn, so the claim is judged on learned runs alone. Bad input raises ValueError naming it; a claim
    that cannot be judged (no or one learned run) gets outcome "none", never a verdict."""
    x_all, mask = _checked_values(values, learned)
    _check_settings(statistic, alpha, tolerance, half_unit, scale, reported_std, failure_threshold)
    if statistic in ("mean_of_k", "best_of_k"):
        k = _positive_k(k, statistic)
    failures = _Failures.of(mask, alpha, failure_threshold, learned_only,
                            told=learned is not None or failure_threshold is not None)
    if statistic == "sample":
        sample = np.asarray(reported, dtype=float)
        if sample.ndim != 1 or sample.size == 0 or not np.all(np.isfinite(sample)):
            raise ValueError(f"a sample claim needs one or more finite reported values, got {reported!r}")
        if learned_only:
            return _judge_sample(sample, x_all[mask], higher_is_better, alpha, tolerance, failures)
        # every run counts in a sample: the paper's sample holds its failed runs too (a run without a finite value
        # ranks worst)
        worst = -math.inf if higher_is_better else math.inf
        return _judge_sample(sample, np.where(np.isfinite(x_all), x_all, worst), higher_is_better, alpha, tolerance,
                             failures)
    r = _finite_number(reported, "the reported value")
    x = x_all[mask]
    if statistic == "unknown":
        return _judge_unknown(r, x_all, mask, higher_is_better, alpha, tolerance, half_unit, scale, bounds,
                              failure_threshold, learned_only)
    if x.size < 2:
        why = (f"{failures.sentence()}; at least 2 runs that learned are needed to judge a claim, so no verdict"
               if failures.failed else
               f"only {x.size} completed repeat(s); at least 2 are needed to compare with a claim")
        return _none(statistic, why, details=failures.details())
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if not math.isfinite(float(np.std(x))) or not math.isfinite(float(np.mean(x))):
            return _none(statistic, "the achieved values are too large to compute a spread in floating point "
                                    "(training blew up); no verdict")
        kind = {"single_run": "single", "mean_of_k": "mean", "best_of_k": "best"}[statistic]
        return _judge_scalar(kind, r, x, 1 if kind == "single" else int(k), reported_std, higher_is_better, alpha,
                             tolerance, half_unit, scale, bounds, decide_repeats, failures)


def _checked_values(values: Any, learned: Optional[Sequence[bool]]) -> tuple[np.ndarray, np.ndarray]:
    """values (n,) as floats and the learned mask (n,); non-finite values only where a run did not learn."""
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"values must be a 1-D sequence of numbers, got {values!r}") from None
    if x.ndim != 1:
        raise ValueError(f"values must be a 1-D sequence of numbers (one per repeat), got shape {x.shape}")
    if learned is None:
        mask = np.ones(x.size, dtype=bool)
    else:
        mask = np.asarray(learned)
        if mask.shape != x.shape or (mask.size and mask.dtype != bool):
            raise ValueError(f"learned must be one bool per value ({x.size}), got {learned!r}")
    if not np.all(np.isfinite(x[mask])):
        raise ValueError("values must be finite for every run that learned (completed repeats only; mark a run "
                         "whose value is NaN or infinite as not learned)")
    return x, mask.astype(bool)


def _finite_number(value: Any, name: str) -> float:
    if isinstance(value, (str, bytes, bool)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a single number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    return number


def _positive_k(k: Any, statistic: str) -> int:
    if k is None or isinstance(k, (bool, str)) or not np.ndim(k) == 0 or not float(k).is_integer() or int(k) < 1:
        raise ValueError(f"a {statistic} claim needs k, the number of runs, a whole number >= 1; got {k!r}")
    return int(k)


def _check_settings(statistic, alpha, tolerance, half_unit, scale, reported_std, failure_threshold) -> None:
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (isinstance(tolerance, (int, float)) and math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    if not (isinstance(half_unit, (int, float)) and math.isfinite(half_unit) and half_unit >= 0):
        raise ValueError(f"half_unit must be a finite number >= 0, got {half_unit!r}")
    if scale not in ("raw", "log"):
        raise ValueError(f"scale must be 'raw' or 'log', got {scale!r}")
    if reported_std is not None and not (math.isfinite(float(reported_std)) and float(reported_std) >= 0):
        raise ValueError(f"the reported std must be a finite number >= 0, got {reported_std!r}")
    if failure_threshold is not None and not math.isfinite(float(failure_threshold)):
        raise ValueError(f"failure_threshold must be a finite number, got {failure_threshold!r}")


@dataclass(frozen=True)
class _Failures:
    """Runs that did not learn among ours: count, rate, its exact interval, and how the claim treats them."""

    failed: int
    total: int
    alpha: float
    threshold: Optional[float]
    learned_only: bool
    told: bool = True  # the caller said which runs learned (a mask or a trivial predictor's score); else no mixture

    @classmethod
    def of(cls, mask: np.ndarray, alpha: float, threshold: Optional[float], learned_only: bool,
           told: bool = True) -> "_Failures":
        return cls(int(np.count_nonzero(~mask)), int(mask.size), alpha,
                   None if threshold is None else float(threshold), bool(learned_only), told)

    @property
    def interval(self) -> tuple[float, float]:
        return proportion_interval(self.failed, self.total, 0.95)

    def plausible(self, k: int) -> int:
        """The largest number j of failed runs among the paper's k with predictive probability P(J >= j) >= alpha/10:
        J ~ beta-binomial(k, f + 1/2, n - f + 1/2), the law of failures in k new runs given f of our n failed and a
        Jeffreys prior on the rate (the rate's own uncertainty drawn in). 0: no failed run is plausible."""
        if self.learned_only or not self.told or self.total == 0:
            return 0
        j = np.arange(k + 1)
        tail = sps.betabinom.sf(j - 1, k, self.failed + 0.5, self.total - self.failed + 0.5)  # P(J >= j)
        return int(np.max(np.nonzero(tail >= self.alpha / 10)[0]))

    def sentence(self) -> str:
        low, high = self.interval
        rate = self.failed / self.total if self.total else math.nan
        return (f"{self.failed} of {self.total} runs did not learn (failure rate {_pct(rate)}, exact 95% interval "
                f"[{_pct(low)}, {_pct(high)}])")

    def details(self) -> dict:
        low, high = self.interval
        return {"runs": self.total, "did_not_learn": self.failed,
                "failure_rate": self.failed / self.total if self.total else math.nan,
                "failure_rate_interval": [low, high], "failure_threshold": self.threshold,
                "learned_only": self.learned_only}


def _none(statistic: str, why: str, **extra) -> Verdict:
    return Verdict(statistic, "none", None, why, why, "no verdict, so no error rate applies", "none", **extra)


_KIND_WORDS = {"single": "one run", "mean": "a mean of {k} runs", "best": "the best of {k} runs"}


def _judge_scalar(kind: str, r: float, x: np.ndarray, k: int, reported_std: Optional[float], higher: bool,
                  alpha: float, tolerance: float, half_unit: float, scale_name: str,
                  bounds: tuple[float, float], decide_repeats: bool, failures: _Failures) -> Verdict:
    """One run, a mean of k, the best of k: the pivot (r - m)/s of the learned runs against its law under every member
    of the metric's family (replicate.family), two-sided; then the runs that did not learn (a pessimistic call is
    withheld where the paper's number could hold failed runs)."""
    statistic = {"single": "single_run", "mean": "mean_of_k", "best": "best_of_k"}[kind]
    what = _KIND_WORDS[kind].format(k=k)
    n = x.size
    lo_r, hi_r = r - half_unit, r + half_unit
    # A mean of k runs is an arithmetic mean: judged on the metric's own scale (the log of a mean is not a mean of logs).
    scale = choose_scale(x, lo_r, "raw" if kind == "mean" else scale_name)
    family_name = family.family_for(kind, scale_name == "log" and (kind == "mean" or scale.name == "log"))
    # Best is the maximum for higher-is-better metrics; negate so the rules below always look for a maximum.
    sign = 1.0 if higher else -1.0
    y = sign * scale.forward(x)
    ends = sorted(sign * scale.forward(np.array([max(lo_r, 1e-300) if scale.name == "log" else lo_r, hi_r])))
    m, s = float(np.mean(y)), float(np.std(y, ddof=1))
    numeric = _NUMERIC_EQUAL * max(1.0, abs(m))
    precision_note = (f"the reported {_g(r, 6)} is read as [{_g(lo_r, 6)}, {_g(hi_r, 6)}] (its printed precision)"
                      if half_unit > 0 else "")
    tol_shift = _tolerance_shift(tolerance, r, scale, s)
    good = (x >= lo_r) if higher else (x <= hi_r)
    hits = int(np.count_nonzero(good))
    share_low, share_high = proportion_interval(hits, n, 1 - alpha)
    quantities = [("completed repeats", str(failures.total)), ("runs that learned (judged)", str(n))]
    if failures.failed:
        quantities.append(("runs that did not learn", failures.sentence()))
    details: dict[str, Any] = {"n": n, "k": k, "scale": scale.name, "half_unit": half_unit, "alpha": alpha,
                               "tolerance": tolerance, "runs_at_least_as_good": hits / n,
                               "runs_at_least_as_good_interval": [share_low, share_high],
                               "family": family_name, "failures": failures.details()}
    if kind == "best":  # for reference: the best of k resampled from our runs (Dodge et al. 2019)
        from replicate.stats import expected_max_of_k

        expected, spread = expected_max_of_k(x, k, higher)
        quantities.append((f"expected best of {k} of our runs (Dodge et al. 2019, resampled)", f"{_g(expected)} ± {_g(spread)}"))
        details.update(expected_best_of_k=expected, expected_best_of_k_std=spread)

    if s == 0 or not math.isfinite(s):
        return _judge_zero_spread(statistic, what, r, x, m, ends, numeric, higher, alpha, half_unit, quantities,
                                  details, precision_note, hits, share_low, share_high, scale)

    law = family.law(family_name, kind, k)
    centre = law.median(n)
    t_ends = [(e - m) / s for e in ends]
    # the point of the printed interval the rule is kindest to: the largest p-value over it
    grid = np.unique(np.concatenate([np.linspace(t_ends[0], t_ends[1], 11), [np.clip(centre, *t_ends)]]))
    p_grid = law.p_value(n, grid)
    best = int(np.argmax(p_grid))
    t_obs, p = float(grid[best]), float(p_grid[best])
    if abs(t_obs - centre) * s <= numeric:
        p = 1.0
    low, high = law.band(n, alpha)
    power, width = law.power(n, alpha, tol_shift), law.width_factor(n, alpha)
    band = sorted(sign * np.array([m + s * low, m + s * high]))
    band_raw = [float(v) for v in np.clip(scale.backward(np.array(band)), *bounds)]
    if scale.name == "log" and not higher:
        band_raw = sorted(band_raw)
    signed_r = sign_value(r, higher, scale)
    normal_column = law.normal_t[:, law.column(n)]
    normal_column = normal_column[np.isfinite(normal_column)]
    # share of the claim's kind of number (one run, a mean of k, a best of k) below the reported value under normal
    # runs, on the metric's scale
    position = (100 * float(np.mean(normal_column <= (signed_r - m) / s) if higher else
                            np.mean(normal_column >= (signed_r - m) / s)) if math.isfinite(signed_r) else math.nan)
    direction = _direction(t_obs > centre)
    if reported_std is not None and kind == "mean":
        details["reported_std"] = reported_std
    equivalence = (_equivalence_mean(m + s * t_obs, m, s, _pivot(kind, n, k, s, None), alpha, tolerance)
                   if kind == "mean" else None)
    normal_p, normal_text = normality(y)

    rule = (f"{what}: the pivot (reported − our mean)/s of our runs that learned {scale.note}".rstrip()
            + f", two-sided, against its law under every member of the '{family_name}' family of run distributions "
            f"(seeded simulation; each side's p-value the largest over the members), so no test of our sample picks "
            f"a rule; the same rule at every n")
    quantities += [
        (f"{what} of this model, central {_pct(1 - alpha)} (family band)", f"[{_g(band_raw[0])}, {_g(band_raw[1])}]"),
        (f"reported value's position among {what} (predicted percentile, normal runs)", f"{_g(position, 3)}"),
        ("runs at least as good as reported", f"{_pct(hits / n)} [{_pct(share_low)}, {_pct(share_high)}]"),
        ("p-value (two-sided, largest over the family)", _g(p, 3)),
        (f"chance to flag a claim off by ±{_g(tolerance)}", _pct(power)),
        (f"band width at n={n} over its width with unlimited repeats", f"{width:.2f}×"),
        ("normality of our runs (for information; the rule does not depend on it)", normal_text),
    ]
    details.update({"method": "family", "p_value": p, "power": power, "width_factor": width, "band": band_raw,
                    "percentile": position, "normality_p": normal_p, "mean": float(np.mean(x)),
                    "std": float(np.std(x, ddof=1))})
    if equivalence is not None:
        quantities.append((f"equivalence of means within ±{_g(tolerance)} (TOST p)", _g(equivalence, 3)))
        details["equivalence_p"] = equivalence
    intrinsic = _intrinsic(kind, k, s, scale, x, alpha)
    false_alarm = (f"an honest claim is called inconsistent at most {_pct(alpha)} of the time when runs follow any "
                   f"member of the '{family_name}' family ({family.describe(family_name)}); "
                   + ("runs that did not learn are left out, as the paper discarded them"
                      if failures.learned_only else
                      "runs that did not learn are allowed for as a mixture (docs/statistics.md)"))
    check = _Check(statistic, what, r, n, p, power, width, band_raw, direction, rule, f"{false_alarm}; {intrinsic}",
                   "family", position, quantities, details, tolerance, precision_note, equivalence=equivalence)
    components = (_failure_components(kind, k, n, failures, m, s, sign, scale, alpha, family_name)
                  if p < alpha and direction == "pessimistic" else [])
    top, bottom = m + s * max(t_ends), m + s * min(t_ends)
    slack = _NUMERIC_EQUAL * max(1.0, abs(m))
    inside = [words for low_c, high_c, words in components if bottom <= high_c + slack and top >= low_c - slack]
    common = dict(rule=rule, error_rates=f"{false_alarm}; {intrinsic}", p_value=p, power=power, width_factor=width,
                  percentile=position, quantities=quantities, details=details)
    if inside:
        details["failure_mixture"] = inside[0]
        why = (f"the reported {_g(r, 6)} is worse than what {what} of our runs that learned gives "
               f"([{_g(band_raw[0])}, {_g(band_raw[1])}], p = {_g(p, 2)}), but it is what {what} gives when "
               f"{inside[0]}; {failures.sentence()}, so a paper's number may hold such runs: no call in either "
               f"direction (if the paper says it discarded runs that did not learn, set the claim's "
               f"learned_only: true)")
        return Verdict(statistic, "inconclusive", None, _join(why, precision_note),
                       method="family (failure mixture)", **common)
    below = [(bottom - high_c, words) for _, high_c, words in components if high_c < bottom]
    if below and min(below)[0] < m + s * low - top:
        # between the modes, nearer the numbers a paper gets with failed runs than those it gets without: better
        # than the former is the direction that describes it (a too-good claim whose runs included a failure)
        gap, words = min(below)
        details["failure_mixture"] = words
        why = (f"the reported {_g(r, 6)} is outside the central {_pct(1 - alpha)} band for {what} of our runs that "
               f"learned ([{_g(band_raw[0])}, {_g(band_raw[1])}], p = {_g(p, 2)}), and better than what {what} gives "
               f"when {words}, which it is nearer to; {failures.sentence()}: too good for either")
        return Verdict(statistic, "inconsistent", "optimistic", _join(why, precision_note),
                       method="family (failure mixture)", **common)
    return _outcome(check, alpha, lambda: _repeats_to_decide(law, kind, n, k, tol_shift, alpha, s)
                    if decide_repeats else None)


def _failure_components(kind: str, k: int, n: int, failures: _Failures, m: float, s: float, sign: float,
                        scale: "_Scale", alpha: float, family_name: str) -> list[tuple[float, float, str]]:
    """What an honest number of the claim's kind gives when some of its k runs did not learn, at a failure rate our
    runs leave plausible: (low, high, words) bands on the signed analysis scale (empty: no failed run is plausible).
    A run that did not learn scores no better than the trivial predictor (``failures.threshold``) and possibly far
    worse (a diverged loss), so bands reaching down have no lower end; without the threshold only the best of k can
    be placed (the best of its runs that learned)."""
    plausible = failures.plausible(k)
    if plausible == 0:
        return []
    threshold = None
    if failures.threshold is not None and (scale.name == "raw" or failures.threshold > 0):
        threshold = float(sign * scale.forward(np.array([failures.threshold]))[0])
    if kind == "single":
        return [] if threshold is None else [(-math.inf, threshold, "its one run did not learn (no better than the "
                                                                    "trivial predictor)")]
    if kind == "mean":
        if threshold is None:
            return []
        # with j >= 1 failed runs the mean is at most ((k - j) x the top of a mean of k - j learned runs + j x the
        # threshold) / k; j = 1 gives the highest such number, and failed runs can drag it down without limit
        rest = m + s * family.law(family_name, "mean", k - 1).band(n, alpha)[1] if k > 1 else 0.0
        upper = ((k - 1) * rest + threshold) / k
        return [(-math.inf, upper, f"one or more of its {k} runs did not learn (with one such run a mean of {k} is "
                                   f"at most {_g(float(sign * upper))})")]
    bands = []
    for j in range(1, min(plausible, k - 1) + 1):
        low, high = family.law(family_name, "best", k - j).band(n, alpha)
        bands.append((m + s * low, m + s * high, f"{j} of its {k} runs did not learn (it is then the best of the "
                                                 f"other {k - j})"))
    if plausible >= k and threshold is not None:
        bands.append((-math.inf, threshold, f"all {k} of its runs did not learn"))
    return bands


def _repeats_to_decide(law, kind: str, n: int, k: int, shift: float, alpha: float, s: float) -> Optional[int]:
    """Smallest n' > n at which the check would be sharp enough, assuming the spread stays what it is now: from the
    family's tables up to their last n, then by the normal-theory pivot (an estimate)."""
    for size in range(n + 1, family.TABLE_MAX_N + 1):
        if law.power(size, alpha, shift) >= POWER_TARGET or law.width_factor(size, alpha) <= WIDTH_FACTOR_MAX:
            return size
    return _repeats_to_decide_normal(kind, max(n, family.TABLE_MAX_N), k, shift, alpha, s)


@dataclass(frozen=True)
class _Check:
    """What a rule computed, for _outcome: the p-value, the sharpness of the check and how to say both."""

    statistic: str
    what: str            # "one run", "a mean of 5 runs", ...
    reported: float
    n: int
    p: float
    power: float
    width: float
    band: Sequence[float]
    direction: str
    rule: str
    error_rates: str
    method: str
    position: Optional[float]
    quantities: list
    details: dict
    tolerance: float
    precision_note: str = ""
    prefix: str = ""     # why a replacement rule is in use, when one is
    equivalence: Optional[float] = None


def _outcome(check: _Check, alpha: float, repeats_to_decide) -> Verdict:
    """The three outcomes from a rule's p-value and the sharpness of its check (every scalar rule ends here).
    ``repeats_to_decide``: a function giving how many repeats would make the check sharp (called only if needed)."""
    c = check
    band = f"[{_g(c.band[0])}, {_g(c.band[1])}]"
    common = dict(rule=c.rule, error_rates=c.error_rates, method=c.method, p_value=c.p, power=c.power,
                  width_factor=c.width, percentile=c.position, quantities=c.quantities, details=c.details)
    if c.p < alpha:
        why = (f"{c.prefix}the reported {_g(c.reported, 6)} lies outside the central {_pct(1 - alpha)} band for "
               f"{c.what} {band} (p = {_g(c.p, 2)}), on the {'better' if c.direction == 'optimistic' else 'worse'} side")
        return Verdict(c.statistic, "inconsistent", c.direction, _join(why, c.precision_note), **common)
    shown = c.equivalence is not None and c.equivalence < alpha
    if shown or c.power >= POWER_TARGET or c.width <= WIDTH_FACTOR_MAX:
        how = (f"equivalence within ±{_g(c.tolerance)} is shown (TOST p = {_g(c.equivalence, 2)})" if shown else
               f"a claim off by ±{_g(c.tolerance)} would be flagged {_pct(c.power)} of the time"
               if c.power >= POWER_TARGET else
               f"our {c.n} repeats widen the band only {c.width:.2f}× over unlimited repeats")
        why = (f"{c.prefix}the reported {_g(c.reported, 6)} lies inside the band for {c.what} {band} "
               f"(p = {_g(c.p, 2)}) and the check is sharp: {how}")
        return Verdict(c.statistic, "consistent", None, _join(why, c.precision_note), **common)
    repeats = repeats_to_decide()
    why = (f"{c.prefix}not rejected (p = {_g(c.p, 2)}), but the check is not sharp: a claim off by ±{_g(c.tolerance)} "
           f"would be flagged only {_pct(c.power)} of the time, and {c.n} repeats leave the band {c.width:.2f}× as "
           f"wide as unlimited repeats would" + (f"; about {repeats} repeats would decide it" if repeats else ""))
    return Verdict(c.statistic, "inconclusive", None, _join(why, c.precision_note), repeats_to_decide=repeats, **common)


def _join(why: str, note: str) -> str:
    return f"{why}; {note}" if note else why


def _direction(reported_higher_on_signed_scale: bool) -> str:
    # The signed scale always has "higher is better", so above the centre means better than the model gives.
    return "optimistic" if reported_higher_on_signed_scale else "pessimistic"


def _tolerance_shift(tolerance: float, reported: float, scale: _Scale, s: float) -> float:
    """The tolerance in standard deviations of the analysis scale."""
    if not (s > 0) or not tolerance > 0:
        return math.nan
    if scale.name == "log":
        if reported <= 0:
            return math.nan
        return abs(math.log1p(tolerance / reported)) / s
    return tolerance / s


def _intrinsic(kind: str, k: int, s: float, scale: _Scale, x: np.ndarray, alpha: float) -> str:
    z = float(sps.norm.ppf(1 - alpha / 2))
    if scale.name == "log":
        factor = math.exp(z * s / (1 if kind != "mean" else math.sqrt(k)))
        spread = f"within a factor of {factor:.3g} either way"
    else:
        sd = float(np.std(x, ddof=1))
        spread = f"by ±{_g(z * sd / (math.sqrt(k) if kind == 'mean' else 1.0), 3)}"
    if kind == "single":
        return (f"one run of this model varies {spread} ({_pct(1 - alpha)} of runs); a single reported run cannot be "
                "checked more finely than that, however many repeats we add")
    if kind == "mean":
        return (f"a mean of {k} runs varies {spread}; a reported mean of {k} cannot be checked more finely than that, "
                "however many repeats we add")
    return f"one run varies {spread}; a best of {k} runs inherits that noise, which more repeats of ours cannot remove"


def _equivalence_mean(r: float, m: float, s: float, pivot: _Pivot, alpha: float, tolerance: float) -> float:
    """TOST p-value that the paper's mean and ours differ by less than the tolerance (same t law as the test)."""
    if not tolerance > 0:
        return math.nan
    se = s * pivot.scale
    d = r - m
    p_low = float(sps.t.sf((d + tolerance) / se, pivot.df))
    p_high = float(sps.t.cdf((d - tolerance) / se, pivot.df))
    return max(p_low, p_high)


def sign_value(r: float, higher: bool, scale: _Scale) -> float:
    return (1.0 if higher else -1.0) * float(scale.forward(np.array([r]))[0]) if (scale.name == "raw" or r > 0) else math.nan


def _judge_zero_spread(statistic, what, r, x, m, ends, numeric, higher, alpha, half_unit, quantities, details,
                       precision_note, hits, share_low, share_high, scale) -> Verdict:
    """Every run gave the same number: under the normal model that means no variation at all, so a claim either
    matches it (to its printed precision, and floating point) or it does not."""
    value = float(x[0])
    inside = ends[0] - numeric <= m <= ends[1] + numeric
    quantities += [("every run gave", _g(value, 8)),
                   ("runs at least as good as reported", f"{_pct(hits / x.size)} [{_pct(share_low)}, {_pct(share_high)}]")]
    details.update({"method": "zero spread", "mean": value, "std": 0.0, "p_value": 1.0 if inside else 0.0})
    rule = ("zero spread: all runs gave exactly the same number, so training did not vary under the varied sources "
            "(or the metric is too coarse to show it); a claim is consistent when it equals that number to its printed "
            "precision, inconsistent otherwise")
    if inside:
        why = f"all {x.size} runs gave {_g(value, 8)}, and the reported {_g(r, 8)} equals it to its printed precision"
        return Verdict(statistic, "consistent", None, why, rule, "exact when runs do not vary", "zero spread",
                       1.0, math.nan, math.nan, None, 50.0, quantities, details)
    direction = _direction(m < ends[0])
    why = (f"all {x.size} runs gave {_g(value, 8)}; the reported {_g(r, 8)} differs beyond its printed precision "
           f"(± {_g(half_unit)}) and floating point")
    return Verdict(statistic, "inconsistent", direction, why, rule,
                   "exact when runs do not vary; if the spread is merely too small to see at this n, more repeats "
                   "would show it", "zero spread", 0.0, math.nan, math.nan, None, None, quantities, details)


def _judge_sample(sample: np.ndarray, ranked: np.ndarray, higher: bool, alpha: float, tolerance: float,
                  failures: _Failures) -> Verdict:
    """A reported sample (m,) against our runs (n,): Mann-Whitney U (rank, exact for small samples) for a difference;
    Welch TOST for equivalence of means within the tolerance; the Welch t power at the tolerance for sharpness.
    ``ranked``: our runs as the ranks see them (a run that did not learn and has no finite value ranks worst); the
    means, spreads and power use the finite ones. A rank test needs no shape, so runs that did not learn simply
    count, as they would in the paper's own sample."""
    if ranked.size < 2:
        why = (f"{failures.sentence()}; at least 2 runs are needed to compare samples, so no verdict"
               if failures.failed else f"only {ranked.size} completed repeat(s); at least 2 are needed to compare samples")
        return _none("sample", why, details=failures.details())
    x = ranked[np.isfinite(ranked)]
    if x.size < 2:
        return _none("sample", f"{failures.sentence()}; fewer than 2 runs have a finite value, so no verdict",
                     details=failures.details())
    m_, n = sample.size, ranked.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # exact whenever there are no ties and the samples are small: scipy's "auto" takes the normal approximation
        # once one sample passes 8 values, which flags up to 10% of honest samples of 10 against 3 runs
        tied = np.unique(np.concatenate([sample, ranked])).size < sample.size + ranked.size
        method = "exact" if not tied and sample.size + ranked.size <= 60 else "asymptotic"
        mw = sps.mannwhitneyu(sample, ranked, alternative="two-sided", method=method)
    p = float(mw.pvalue) if math.isfinite(mw.pvalue) else 1.0
    delta = float(np.mean(np.sign(sample[:, None] - ranked[None, :])))
    med_r, med_a = float(np.median(sample)), float(np.median(ranked))
    reported_higher = med_r > med_a if med_r != med_a else delta > 0
    direction = "optimistic" if reported_higher == higher else "pessimistic"
    var_r = float(np.var(sample, ddof=1)) if m_ > 1 else 0.0
    var_a = float(np.var(x, ddof=1))
    se = math.sqrt(var_r / m_ + var_a / x.size) if m_ > 1 else math.sqrt(var_a * (1 / x.size + 1))
    df = _welch_df(var_r, m_, var_a, x.size) if m_ > 1 and se > 0 else x.size - 1
    diff = float(np.mean(sample) - np.mean(x))
    if se > 0 and tolerance > 0:
        equivalence = max(float(sps.t.sf((diff + tolerance) / se, df)), float(sps.t.cdf((diff - tolerance) / se, df)))
        # Power of the Mann-Whitney test at a shift of the tolerance: the Welch t power with the noncentrality
        # shrunk by sqrt(3/pi), the test's efficiency against t under normal runs (Noether 1955); zero when even
        # the most extreme ranking cannot reach alpha (2 / C(m+n, m), e.g. 0.1 for 3 against 3).
        crit = float(sps.t.ppf(1 - alpha / 2, df))
        nc = tolerance / se * math.sqrt(3 / math.pi)
        smallest_p = 2.0 / math.comb(m_ + n, m_)
        power = 0.0 if smallest_p > alpha else float(sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc))
    else:
        equivalence = 0.0 if abs(diff) < tolerance else 1.0
        power = math.nan
    rule = ("a sample of runs: two-sided Mann-Whitney U test of equal distributions (rank-based, no normality needed); "
            f"consistent needs, besides no rejection, equivalence of means within ±{_g(tolerance)} (Welch TOST) or "
            f"{_pct(POWER_TARGET)} power to flag a shift of ±{_g(tolerance)}, or our n widening the check at most "
            f"{WIDTH_FACTOR_MAX}× over unlimited repeats")
    quantities = [("reported values", str(m_)), ("completed repeats", str(n)),
                  ("median: reported / ours", f"{_g(med_r)} / {_g(med_a)}"),
                  ("ratio of medians (reported / ours)", _g(med_r / med_a, 3) if med_a != 0 else "—"),
                  ("Mann-Whitney p (two-sided)", _g(p, 3)),
                  ("Cliff's delta (P(reported > ours) − P(reported < ours))", _g(delta, 3)),
                  (f"equivalence of means within ±{_g(tolerance)} (Welch TOST p)", _g(equivalence, 3)),
                  (f"chance to flag a shift of ±{_g(tolerance)}", _pct(power))]
    details = {"method": "rank", "p_value": p, "cliffs_delta": delta, "median_reported": med_r, "median_achieved": med_a,
               "equivalence_p": equivalence, "power": power, "n": n, "m": m_, "alpha": alpha, "tolerance": tolerance,
               "failures": failures.details()}
    if failures.failed:
        quantities.insert(2, ("runs that did not learn", failures.sentence() + (
            " (left out: the paper discarded them)" if failures.learned_only else " (ranked with the others)")))
    false_alarm = (f"an honest sample is called inconsistent at most {_pct(alpha)} of the time, whatever the "
                   "distribution of runs")
    if p < alpha:
        why = (f"Mann-Whitney p = {_g(p, 2)} < {_g(alpha)}: the reported sample (median {_g(med_r)}) is "
               f"{'better' if direction == 'optimistic' else 'worse'} than our runs (median {_g(med_a)})")
        return Verdict("sample", "inconsistent", direction, why, rule, false_alarm, "rank", p, power, math.nan, None,
                       None, quantities, details)
    # Under the null both samples share one distribution, so the se of the difference is sigma*sqrt(1/m + 1/n):
    # against unlimited repeats of ours (sigma*sqrt(1/m)) our finite n widens the check by this factor.
    width = float(sps.t.ppf(1 - alpha / 2, m_ + n - 2) / sps.norm.ppf(1 - alpha / 2) * math.sqrt(1 + m_ / n))
    quantities.append((f"check width at n={n} over its width with unlimited repeats", f"{width:.2f}×"))
    details["width_factor"] = width
    if equivalence < alpha or power >= POWER_TARGET or width <= WIDTH_FACTOR_MAX:
        how = (f"equivalence of means within ±{_g(tolerance)} is shown (TOST p = {_g(equivalence, 2)})"
               if equivalence < alpha else f"a shift of ±{_g(tolerance)} would be flagged {_pct(power)} of the time"
               if power >= POWER_TARGET else
               f"our {n} repeats widen the check only {width:.2f}× over unlimited repeats (the reported sample's own "
               f"size, {m_}, bounds how finely it can be checked)")
        why = f"Mann-Whitney p = {_g(p, 2)}: no difference, and the check is sharp: {how}"
        return Verdict("sample", "consistent", None, why, rule, false_alarm, "rank", p, power, width, None, None,
                       quantities, details)
    repeats = next((int(k) for k in range(n + 1, 100_000) if float(
        sps.t.ppf(1 - alpha / 2, m_ + k - 2) / sps.norm.ppf(1 - alpha / 2) * math.sqrt(1 + m_ / k)) <= WIDTH_FACTOR_MAX), None)
    why = (f"not rejected (Mann-Whitney p = {_g(p, 2)}), but the check is not sharp: equivalence within "
           f"±{_g(tolerance)} is not shown (TOST p = {_g(equivalence, 2)}), a shift of ±{_g(tolerance)} would be flagged "
           f"only {_pct(power)} of the time, and {n} repeats leave the check {width:.2f}× as wide as unlimited repeats "
           f"would" + (f"; about {repeats} repeats would decide it" if repeats else ""))
    return Verdict("sample", "inconclusive", None, why, rule, false_alarm, "rank", p, power, width, repeats, None,
                   quantities, details)


def _welch_df(var_a: float, n_a: int, var_b: float, n_b: int) -> float:
    a, b = var_a / n_a, var_b / n_b
    denominator = (a ** 2 / (n_a - 1) if n_a > 1 else 0.0) + (b ** 2 / (n_b - 1) if n_b > 1 else 0.0)
    return (a + b) ** 2 / denominator if denominator > 0 else float(max(n_a + n_b - 2, 1))


def _judge_unknown(r, x, mask, higher, alpha, tolerance, half_unit, scale, bounds, threshold, learned_only) -> Verdict:
    """Statistic unknown: every reading is shown (one run; a mean of n runs), none is a verdict."""
    readings = []
    quantities = []
    learned = int(np.count_nonzero(mask))
    if learned >= 2:
        common = dict(higher_is_better=higher, alpha=alpha, tolerance=tolerance, half_unit=half_unit, bounds=bounds,
                      learned=mask, failure_threshold=threshold, learned_only=learned_only)
        for name, verdict in (("as one run", judge("single_run", r, x, scale=scale, **common)),
                              (f"as a mean of {learned} runs", judge("mean_of_k", r, x, k=learned, **common))):
            readings.append(f"read {name} it would be {verdict.label} ({verdict.why})")
            quantities.append((f"read {name}", verdict.label))
    why = ("the source does not say what kind of number this is (one run? a mean? the best of several?), so no verdict "
           "is given" + (": " + "; ".join(readings) if readings else ""))
    return _none("unknown", why, quantities=quantities)
