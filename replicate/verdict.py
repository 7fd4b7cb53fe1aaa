"""A reported claim against the achieved runs: a calibrated verdict (consistent, inconsistent, inconclusive), pure.

Every rule answers one question: if the paper's number were an honest draw of the stated kind (one run, a mean of k
runs, the best of k runs, a sample of runs) of the model we retrained, how surprising would it be? The rules, their
assumptions, what happens when those fail and the measured error rates are in docs/statistics.md.

Inputs: ``values`` (n,) achieved values of one metric, finite, one per completed repeat; ``reported`` a number (or
(m,) values for a sample claim). Outcomes:

- ``inconsistent``: rejected at level ``alpha`` under the claim's own semantics; ``direction`` says whether the
  reported number is better (``optimistic``) or worse (``pessimistic``) than the retrained model's.
- ``consistent``: not rejected AND the check was sharp enough: a claim off by ``tolerance`` would be flagged with
  probability >= ``power_target``, or equivalence within +-tolerance is shown, or our finite n widens the acceptance
  band by at most ``width_factor_max`` over what infinitely many repeats would give (the claim's own noise -- one run,
  a mean of k -- bounds how sharp any check can be; more repeats cannot remove it).
- ``inconclusive``: neither; ``repeats_to_decide`` says how many repeats would make the check sharp enough.
- ``none``: no verdict (statistic unknown, fewer than two completed repeats, values beyond floating point).
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

OUTCOMES = ("consistent", "inconsistent", "inconclusive", "none")
STATISTICS = ("single_run", "mean_of_k", "best_of_k", "sample", "unknown")
POWER_TARGET = 0.8
WIDTH_FACTOR_MAX = 1.25
NORMALITY_ALPHA = 0.01  # Shapiro-Wilk level for "the runs do not look normal" (each normal sample pays it in power)
_BEST_DRAWS = 100_000   # Monte-Carlo draws of the best-of-k pivot (fixed seed: every report gives the same numbers)
LOGNORMAL_MIN_N = 5     # fewest repeats for the log-normal mean-of-k rule (at n=3 it flags 6.2% for k=10)
BOOTSTRAP_MIN_N = 30    # fewest repeats whose empirical distribution stands in for the model's (mean of k, non-normal)
_BOOTSTRAP_DRAWS = 20_000
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
    if digits is None:
        exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
        digits = max(0, -int(exponent))
    return 0.5 * 10.0 ** (-int(digits))


def n_exact_single(alpha: float) -> int:
    """Smallest n at which the rank (conformal) rule for one run can reject at two-sided level alpha: 2/(n+1) <= alpha."""
    return int(math.ceil(2.0 / alpha - 1.0 - 1e-12))


def n_exact_best(alpha: float, k: int) -> int:
    """Smallest n at which the exact order-statistic rule for a best of k can call it too good: k/(n+k) <= alpha/2."""
    return int(math.ceil(k * (2.0 / alpha - 1.0) - 1e-12))


def proportion_interval(hits: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact Clopper-Pearson interval of hits/n (scipy.stats.binomtest); always inside [0, 1]."""
    if n == 0:
        return math.nan, math.nan
    ci = sps.binomtest(int(hits), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return float(ci.low), float(ci.high)


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


def _repeats_to_decide(kind: str, n: int, k: int, shift: float, alpha: float, s: float,
                       reported_std: Optional[float]) -> Optional[int]:
    """Smallest n' > n at which the check would be sharp enough, assuming the spread stays what it is now."""
    candidates = sorted({max(n + 1, int(round(n * 1.15 ** j))) for j in range(1, 80)} | set(range(n + 1, n + 40)))
    for m in candidates:
        if m > 100_000:
            break
        if kind == "best" and m > 2000:
            return None
        power, width = _sharp(_pivot(kind, m, k, s, reported_std), shift, alpha)
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
          bounds: tuple[float, float] = (-math.inf, math.inf), decide_repeats: bool = True) -> Verdict:
    """The verdict of one claim; see the module docstring. ``half_unit``: half the reported number's printed unit
    (a claim matching the runs to its printed precision is not rejected). ``scale``: "log" for metrics that vary
    multiplicatively (losses); single_run and best_of_k use it (their rules are rank-invariant), mean_of_k does not.
    ``bounds``: the metric's range, for intervals. ``decide_repeats=False`` skips the search for how many repeats would
    decide an inconclusive claim (simulations)."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("values must be a 1-D array of finite numbers (completed repeats only)")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if statistic == "sample":
        return _judge_sample(np.asarray(reported, dtype=float), x, higher_is_better, alpha, tolerance)
    r = float(reported)
    if statistic == "unknown":
        return _judge_unknown(r, x, higher_is_better, alpha, tolerance, half_unit, scale, bounds)
    if x.size < 2:
        return _none(statistic, f"only {x.size} completed repeat(s); at least 2 are needed to compare with a claim")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if not math.isfinite(float(np.std(x))) or not math.isfinite(float(np.mean(x))):
            return _none(statistic, "the achieved values are too large to compute a spread in floating point "
                                    "(training blew up); no verdict")
        if statistic == "single_run":
            return _judge_scalar("single", r, x, 1, None, higher_is_better, alpha, tolerance, half_unit, scale, bounds,
                                 decide_repeats)
        if statistic == "mean_of_k":
            return _judge_scalar("mean", r, x, int(k), reported_std, higher_is_better, alpha, tolerance, half_unit,
                                 scale, bounds, decide_repeats)
        return _judge_scalar("best", r, x, int(k), None, higher_is_better, alpha, tolerance, half_unit, scale, bounds,
                             decide_repeats)


def _none(statistic: str, why: str, **extra) -> Verdict:
    return Verdict(statistic, "none", None, why, why, "no verdict, so no error rate applies", "none", **extra)


_KIND_WORDS = {"single": "one run", "mean": "a mean of {k} runs", "best": "the best of {k} runs"}


def _judge_scalar(kind: str, r: float, x: np.ndarray, k: int, reported_std: Optional[float], higher: bool,
                  alpha: float, tolerance: float, half_unit: float, scale_name: str,
                  bounds: tuple[float, float], decide_repeats: bool = True) -> Verdict:
    statistic = {"single": "single_run", "mean": "mean_of_k", "best": "best_of_k"}[kind]
    what = _KIND_WORDS[kind].format(k=k)
    n = x.size
    lo_r, hi_r = r - half_unit, r + half_unit
    skewed_metric = scale_name == "log"
    # A mean of k runs is an arithmetic mean: judged on the metric's own scale (the log of a mean is not a mean of logs).
    scale = choose_scale(x, lo_r, "raw" if kind == "mean" else scale_name)
    # Best is the maximum for higher-is-better metrics; negate so the rules below always look for a maximum.
    sign = 1.0 if higher else -1.0
    y = sign * scale.forward(x)
    ends = sorted(sign * scale.forward(np.array([max(lo_r, 1e-300) if scale.name == "log" else lo_r, hi_r])))
    m, s = float(np.mean(y)), float(np.std(y, ddof=1))
    numeric = _NUMERIC_EQUAL * max(1.0, abs(m))
    precision_note = (f"the reported {_g(r, 6)} is read as [{_g(lo_r, 6)}, {_g(hi_r, 6)}] (its printed precision)"
                      if half_unit > 0 else "")
    tol_shift = _tolerance_shift(tolerance, r, scale, s)
    exact_n = n_exact_single(alpha) if kind == "single" else n_exact_best(alpha, k) if kind == "best" else None
    good = (x >= lo_r) if higher else (x <= hi_r)
    hits = int(np.count_nonzero(good))
    share_low, share_high = proportion_interval(hits, n, 1 - alpha)
    quantities = [("completed repeats", str(n))]
    details: dict[str, Any] = {"n": n, "k": k, "scale": scale.name, "half_unit": half_unit, "alpha": alpha,
                               "tolerance": tolerance, "runs_at_least_as_good": hits / n,
                               "runs_at_least_as_good_interval": [share_low, share_high]}
    if kind == "best":  # for reference: the best of k resampled from our runs (Dodge et al. 2019)
        from replicate.stats import expected_max_of_k

        expected, spread = expected_max_of_k(x, k, higher)
        quantities.append((f"expected best of {k} of our runs (Dodge et al. 2019, resampled)", f"{_g(expected)} ± {_g(spread)}"))
        details.update(expected_best_of_k=expected, expected_best_of_k_std=spread)

    if s == 0 or not math.isfinite(s):
        return _judge_zero_spread(statistic, what, r, x, m, ends, numeric, higher, alpha, half_unit, quantities,
                                  details, precision_note, hits, share_low, share_high, scale)

    normal_p, normal_text = normality(y)
    assumption_ok = normal_p is None or normal_p >= NORMALITY_ALPHA
    if exact_n is not None and (n >= exact_n or not assumption_ok):
        reason = "" if assumption_ok else f"our runs do not look normal ({normal_text}), so the assumption-free rule is used"
        return _judge_exact(kind, statistic, what, r, x, y, ends, k, higher, alpha, quantities, details,
                            precision_note, hits, share_low, share_high, scale, exact_n, reason, decide_repeats)
    if kind == "mean" and skewed_metric and np.all(x > 0):
        log_p, log_text = normality(np.log(x))
        if n < LOGNORMAL_MIN_N:
            why = (f"{what} of a loss or error is skewed, and its rule needs {LOGNORMAL_MIN_N} repeats to hold its "
                   f"error rate; {LOGNORMAL_MIN_N} repeats would decide it")
            return Verdict(statistic, "inconclusive", None, why, "a mean of k losses: the log-normal predictive rule "
                           f"(from {LOGNORMAL_MIN_N} repeats)", "no rejection is made below that, so no false alarm",
                           "lognormal predictive (too few repeats)", repeats_to_decide=LOGNORMAL_MIN_N,
                           quantities=quantities, details={**details, "method": "lognormal predictive"})
        if log_p is None or log_p >= NORMALITY_ALPHA:
            return _judge_mean_lognormal(r, x, ends, k, higher, alpha, tolerance, quantities, details,
                                         precision_note, hits, share_low, share_high, log_text)
    if kind == "mean" and (skewed_metric or not assumption_ok):
        reason = (f"{what} of a loss or error is skewed and its logarithms do not look normal" if skewed_metric else
                  f"our runs do not look normal ({normal_text})")
        return _judge_mean_bootstrap(r, x, ends, k, higher, alpha, tolerance, quantities, details, precision_note,
                                     hits, share_low, share_high, reason)

    pivot = _pivot(kind, n, k, s, reported_std)
    q_low, q_med, q_high = pivot.quantiles(alpha)
    center = m + s * q_med
    closest = float(np.clip(center, ends[0], ends[1]))
    t_obs = (closest - m) / s
    p = min(1.0, 2 * min(pivot.cdf(t_obs), pivot.sf(t_obs)))
    if abs(closest - center) <= numeric:
        p = 1.0
    power, width = _sharp(pivot, tol_shift, alpha)
    band = sorted(sign * np.array([m + s * q_low, m + s * q_high]))
    band_raw = [float(v) for v in np.clip(scale.backward(np.array(band)), *bounds)]
    if scale.name == "log" and not higher:
        band_raw = sorted(band_raw)
    signed_r = sign_value(r, higher, scale)
    # share of the claim's kind of number (one run, a mean of k, a best of k) below the reported value, metric scale
    position = (100 * (pivot.cdf((signed_r - m) / s) if higher else pivot.sf((signed_r - m) / s))
                if math.isfinite(signed_r) else math.nan)
    direction = _direction(closest > center)
    if reported_std is not None and kind == "mean":
        details["reported_std"] = reported_std
    equivalence = _equivalence_mean(closest, m, s, pivot, alpha, tolerance) if kind == "mean" else None

    rule_assumption = ("the logarithms of runs are normal" if scale.name == "log" else "runs are normally distributed")
    if kind == "single":
        rule = (f"one run: a t prediction interval for one new run, mean ± t(n-1)·s·√(1+1/n) {scale.note}".rstrip()
                + f"; exact if {rule_assumption} (checked with Shapiro-Wilk). With {exact_n}+ repeats an exact rank "
                "rule with no assumption is used instead.")
    elif kind == "mean":
        rule = ("a mean of k runs: (reported mean − our mean) / (s·√(1/k+1/n)) against Student's t"
                + (" with the paper's std pooled in (df = n+k−2)" if pivot.pooled_sd is not None else " (df = n−1)")
                + "; exact if runs are normal with one variance (checked on ours with Shapiro-Wilk); the t-test's "
                "robustness (central limit theorem) covers mild departures.")
    else:
        rule = (f"the best of {k} runs: (reported − our mean)/s against its exact law under normal runs, max of {k} "
                f"standard normals minus our mean's error over s ({_BEST_DRAWS:,} seeded Monte-Carlo draws) "
                f"{scale.note}".rstrip() + f"; with {exact_n}+ repeats an exact order-statistic rule with no "
                "assumption is used instead.")
    band_words = f"{what} of this model" if kind != "best" else f"the best of {k} runs of this model"
    quantities += [
        (f"{band_words}, central {_pct(1 - alpha)} (predicted)", f"[{_g(band_raw[0])}, {_g(band_raw[1])}]"),
        (f"reported value's position among {what} (predicted percentile)", f"{_g(position, 3)}"),
        ("runs at least as good as reported", f"{_pct(hits / n)} [{_pct(share_low)}, {_pct(share_high)}]"),
        ("p-value (two-sided)", _g(p, 3)),
        (f"chance to flag a claim off by ±{_g(tolerance)}", _pct(power)),
        (f"band width at n={n} over its width with unlimited repeats", f"{width:.2f}×"),
        ("normality of our runs", normal_text),
    ]
    details.update({"method": "parametric", "p_value": p, "power": power, "width_factor": width, "band": band_raw,
                    "percentile": position, "normality_p": normal_p, "mean": float(np.mean(x)),
                    "std": float(np.std(x, ddof=1))})
    if equivalence is not None:
        quantities.append((f"equivalence of means within ±{_g(tolerance)} (TOST p)", _g(equivalence, 3)))
        details["equivalence_p"] = equivalence
    intrinsic = _intrinsic(kind, k, s, scale, x, alpha)
    false_alarm = f"an honest claim is called inconsistent {_pct(alpha)} of the time if {rule_assumption}"

    check = _Check(statistic, what, r, n, p, power, width, band_raw, direction, rule, f"{false_alarm}; {intrinsic}",
                   "parametric", position, quantities, details, tolerance, precision_note, equivalence=equivalence)
    return _outcome(check, alpha, lambda: _repeats_to_decide(kind, n, k, tol_shift, alpha, s, reported_std)
                    if decide_repeats else None)


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


def _judge_exact(kind: str, statistic: str, what: str, r: float, x: np.ndarray, y: np.ndarray, ends: list,
                 k: int, higher: bool, alpha: float, quantities: list, details: dict, precision_note: str,
                 hits: int, share_low: float, share_high: float, scale: _Scale, exact_n: int, reason: str,
                 decide_repeats: bool) -> Verdict:
    """Assumption-free rules: a rank (conformal) p-value for one run; the exact law of how many of our n runs beat the
    best of k (exchangeability of n + k runs) for a best of k. Ties count against rejecting. Valid at any n; below
    ``exact_n`` they cannot call a claim too good, so a claim they do not reject is inconclusive there."""
    n = x.size
    center = float(np.median(y))
    closest = float(np.clip(center, ends[0], ends[1]))
    above_strict = int(np.count_nonzero(y > closest))
    above_or_equal = int(np.count_nonzero(y >= closest))
    below_or_equal = int(np.count_nonzero(y <= closest))
    if kind == "single":
        p_high = (1 + above_or_equal) / (n + 1)  # small when the claim is above (almost) every run: too good
        p_low = (1 + below_or_equal) / (n + 1)
        rule = ("one run: an exact rank (conformal) test, p = (1 + runs at least as extreme) / (n + 1), two-sided; "
                "valid for any distribution of runs (they and the paper's run need only be exchangeable)")
        position = float(sps.percentileofscore(x, r, kind="mean"))
    else:
        def at_least(j: int) -> float:  # P(at least j of our n runs beat the best of k)
            return float(np.prod([(n - i) / (n + k - i) for i in range(j)])) if j <= n else 0.0

        p_high = 1.0 - at_least(above_or_equal + 1)  # P(C <= c): few of ours beat it -> too good
        p_low = at_least(above_strict)               # P(C >= c): many of ours beat it -> too poor
        rule = (f"the best of {k} runs: exact law of C, the number of our n runs above the best of {k} honest runs "
                f"(P(C >= j) = Π_(i<j) (n−i)/(n+k−i), from exchangeability of the n + k runs); two-sided, valid for "
                "any distribution of runs")
        position = 100 * (1 - p_high) if higher else 100 * p_high
    p = min(1.0, 2 * min(p_high, p_low))
    direction = _direction(closest > center)
    order = np.sort(x)
    low_i, high_i = int(math.floor(alpha / 2 * (n + 1))), int(math.ceil((1 - alpha / 2) * (n + 1)))
    band = [float(order[max(low_i, 1) - 1]), float(order[min(high_i, n) - 1])]
    quantities += [
        (f"runs of this model, central {_pct(1 - alpha)} (order statistics)", f"[{_g(band[0])}, {_g(band[1])}]"),
        ("runs at least as good as reported", f"{_pct(hits / n)} [{_pct(share_low)}, {_pct(share_high)}]"),
        ("p-value (two-sided, exact)", _g(p, 3)),
    ]
    details.update({"method": "exact", "p_value": p, "band": band, "percentile": position,
                    "mean": float(np.mean(x)), "std": float(np.std(x, ddof=1))})
    false_alarm = (f"an honest claim is called inconsistent at most {_pct(alpha)} of the time, whatever the distribution "
                   "of runs")
    if reason:
        quantities.append(("why this rule", reason))
        details["assumption_failed"] = True
    prefix = f"{reason}; " if reason else ""
    if p < alpha:
        why = (f"{prefix}exact test p = {_g(p, 2)} < {_g(alpha)}: the reported {_g(r, 6)} is on the "
               f"{'better' if direction == 'optimistic' else 'worse'} side of what {what} gives")
        return Verdict(statistic, "inconsistent", direction, _join(why, precision_note), rule, false_alarm, "exact",
                       p, math.nan, math.nan, None, position, quantities, details)
    if n >= exact_n:
        why = (f"{prefix}exact test p = {_g(p, 2)}: the reported {_g(r, 6)} is among what {what} of this model gives, "
               f"and with {n} repeats the exact rule is as sharp as the claim's own noise allows")
        return Verdict(statistic, "consistent", None, _join(why, precision_note), rule, false_alarm, "exact", p,
                       math.nan, math.nan, None, position, quantities, details)
    why = (f"{prefix}exact test p = {_g(p, 2)}: not rejected, but with {n} repeats this rule cannot call a claim too "
           f"good (its smallest p-value needs {exact_n} repeats); {exact_n} repeats would decide it")
    return Verdict(statistic, "inconclusive", None, _join(why, precision_note), rule, false_alarm, "exact", p,
                   math.nan, math.nan, exact_n, position, quantities, details)


def _judge_mean_lognormal(r: float, x: np.ndarray, ends: list, k: int, higher: bool, alpha: float,
                          tolerance: float, quantities: list, details: dict, precision_note: str, hits: int,
                          share_low: float, share_high: float, log_text: str) -> Verdict:
    """A mean of k losses whose logarithms look normal: the predictive law of the mean of k lognormal runs, with the
    uncertainty of our log-mean and log-sd drawn in (sigma^2 ~ (n-1) s^2 / chi2(n-1), mu ~ N(mean, sigma^2/n))."""
    n = x.size
    what = f"a mean of {k} runs"
    logs = np.log(x)
    m, s = float(np.mean(logs)), float(np.std(logs, ddof=1))
    rng = np.random.default_rng([20261128, n, k, 2])
    draws = _BOOTSTRAP_DRAWS * 5
    sigma = s * np.sqrt((n - 1) / rng.chisquare(n - 1, draws))
    mu = m + sigma * rng.standard_normal(draws) / math.sqrt(n)
    predicted = np.empty(draws)
    batch = max(1, 4_000_000 // k)
    for start in range(0, draws, batch):
        stop = min(draws, start + batch)
        z = rng.standard_normal((stop - start, k))
        predicted[start:stop] = np.exp(mu[start:stop, None] + sigma[start:stop, None] * z).mean(axis=1)
    predicted.sort()
    low, centre, high = (float(q) for q in np.quantile(predicted, [alpha / 2, 0.5, 1 - alpha / 2]))
    closest = float(np.clip(centre, min(abs(e) for e in ends), max(abs(e) for e in ends)))
    below = np.searchsorted(predicted, closest, side="right")
    above = predicted.size - np.searchsorted(predicted, closest, side="left")
    p = min(1.0, 2 * min(below + 1, above + 1) / (predicted.size + 1))
    reported_lower = closest < centre
    direction = "optimistic" if reported_lower != higher else "pessimistic"

    def rejects(shift: float) -> float:
        moved = predicted + shift
        return float(np.mean((moved < low) | (moved > high)))

    power = min(rejects(tolerance), rejects(-tolerance)) if tolerance > 0 else math.nan
    # with unlimited repeats: the same law with mu and sigma known
    z = np.random.default_rng([20261128, k, 3]).standard_normal((min(draws, 4_000_000 // k), k))
    known = np.exp(m + s * z).mean(axis=1)
    known_low, known_high = np.quantile(known, [alpha / 2, 1 - alpha / 2])
    width = float((high - low) / (known_high - known_low))
    position = 100 * float(np.searchsorted(predicted, r, side="left") / predicted.size)
    rule = (f"a mean of k losses or errors: the predictive law of the mean of {k} lognormal runs, the uncertainty of "
            "our log-mean and log-sd drawn in (seeded Monte Carlo); exact in the limit if the logarithms of runs are "
            "normal (checked with Shapiro-Wilk)")
    quantities += [
        (f"{what} of this model, central {_pct(1 - alpha)} (predicted)", f"[{_g(low)}, {_g(high)}]"),
        (f"reported value's position among {what} (predicted percentile)", _g(position, 3)),
        ("runs at least as good as reported", f"{_pct(hits / n)} [{_pct(share_low)}, {_pct(share_high)}]"),
        ("p-value (two-sided)", _g(p, 3)),
        (f"chance to flag a claim off by ±{_g(tolerance)}", _pct(power)),
        (f"band width at n={n} over its width with unlimited repeats", f"{width:.2f}×"),
        ("normality of the logarithms of our runs", log_text),
    ]
    details.update({"method": "lognormal predictive", "p_value": p, "power": power, "width_factor": width,
                    "band": [low, high], "percentile": position, "mean": float(np.mean(x)),
                    "std": float(np.std(x, ddof=1))})
    false_alarm = f"an honest claim is called inconsistent {_pct(alpha)} of the time if the logarithms of runs are normal"
    check = _Check("mean_of_k", what, r, n, p, power, width, (low, high), direction, rule, false_alarm,
                   "lognormal predictive", position, quantities, details, tolerance, precision_note)
    return _outcome(check, alpha, lambda: _repeats_to_decide("single", n, 1, math.nan, alpha, s, None))


def _judge_mean_bootstrap(r: float, x: np.ndarray, ends: list, k: int, higher: bool, alpha: float,
                          tolerance: float, quantities: list, details: dict, precision_note: str, hits: int,
                          share_low: float, share_high: float, reason: str) -> Verdict:
    """A mean of k runs when runs are not normal: the bootstrap law of (mean of k) - (mean of our n), both drawn from
    our runs with replacement (fixed seed), keeps the skew and a failure mode that a t law would smooth away."""
    n = x.size
    what = f"a mean of {k} runs"
    rule = (f"a mean of k runs from runs that are not normal: the bootstrap law of (mean of {k} runs) − (mean of our n "
            f"runs), both resampled from our runs ({_BOOTSTRAP_DRAWS:,} draws, fixed seed), two-sided; it needs "
            f"{BOOTSTRAP_MIN_N}+ repeats for our runs to stand in for the model's")
    details.update({"method": "bootstrap", "mean": float(np.mean(x)), "std": float(np.std(x, ddof=1)),
                    "assumption": reason})
    quantities.append(("why this rule", reason))
    if n < BOOTSTRAP_MIN_N:
        why = (f"{reason}, so the t rule's error rates do not hold, and the bootstrap rule that replaces it needs "
               f"{BOOTSTRAP_MIN_N} repeats; {BOOTSTRAP_MIN_N} repeats would decide it")
        return Verdict("mean_of_k", "inconclusive", None, why, rule,
                       "no rejection is made on a broken assumption, so no false alarm", "bootstrap (too few repeats)",
                       repeats_to_decide=BOOTSTRAP_MIN_N, quantities=quantities, details=details)
    sign = 1.0 if higher else -1.0
    y = sign * x
    rng = np.random.default_rng([20261128, n, k, 1])
    differences = np.empty(_BOOTSTRAP_DRAWS)
    means_of_k = np.empty(_BOOTSTRAP_DRAWS)
    batch = max(1, 2_000_000 // (n + k))
    for start in range(0, _BOOTSTRAP_DRAWS, batch):
        stop = min(_BOOTSTRAP_DRAWS, start + batch)
        means_of_k[start:stop] = rng.choice(y, size=(stop - start, k)).mean(axis=1)
        differences[start:stop] = means_of_k[start:stop] - rng.choice(y, size=(stop - start, n)).mean(axis=1)
    m = float(np.mean(y))
    # Resampling from n runs understates the spread by (n-1)/n in variance; undo that around the centre.
    centre = float(np.median(differences))
    differences = centre + (differences - centre) * math.sqrt(n / (n - 1))
    q_low, q_med, q_high = (float(q) for q in np.quantile(differences, [alpha / 2, 0.5, 1 - alpha / 2]))
    closest = float(np.clip(m + q_med, ends[0], ends[1]))
    observed = closest - m
    count_below = np.count_nonzero(differences <= observed)
    count_above = np.count_nonzero(differences >= observed)
    p = min(1.0, 2 * min(count_below + 1, count_above + 1) / (differences.size + 1))
    direction = _direction(observed > q_med)
    shift = tolerance if tolerance > 0 else math.nan
    power = (min(float(np.mean((differences + shift < q_low) | (differences + shift > q_high))),
                 float(np.mean((differences - shift < q_low) | (differences - shift > q_high))))
             if math.isfinite(shift) else math.nan)
    k_low, k_high = np.quantile(means_of_k - m, [alpha / 2, 1 - alpha / 2])
    width = (q_high - q_low) / (k_high - k_low) if k_high > k_low else math.nan
    band = sorted(sign * np.array([m + q_low, m + q_high]))
    signed_r = sign * r
    position = 100 * float(np.mean(differences <= signed_r - m) if higher else np.mean(differences >= signed_r - m))
    quantities += [
        (f"{what} of this model, central {_pct(1 - alpha)} (bootstrap)", f"[{_g(band[0])}, {_g(band[1])}]"),
        ("runs at least as good as reported", f"{_pct(hits / n)} [{_pct(share_low)}, {_pct(share_high)}]"),
        ("p-value (two-sided, bootstrap)", _g(p, 3)),
        (f"chance to flag a claim off by ±{_g(tolerance)}", _pct(power)),
        (f"band width at n={n} over its width with unlimited repeats", f"{width:.2f}×"),
    ]
    details.update({"p_value": p, "power": power, "width_factor": width, "band": [float(b) for b in band],
                    "percentile": position})
    false_alarm = (f"an honest claim is called inconsistent about {_pct(alpha)} of the time (bootstrap: approximate, "
                   f"measured in docs/statistics.md for skewed and bimodal runs)")
    check = _Check("mean_of_k", what, r, n, p, power, width, band, direction, rule, false_alarm, "bootstrap", position,
                   quantities, details, tolerance, precision_note, prefix=f"{reason}; bootstrap: ")
    # the band's width goes as sqrt(1/k + 1/n), so width^2 - 1 ~ k/n: the n at which width <= WIDTH_FACTOR_MAX
    return _outcome(check, alpha, lambda: max(n + 1, int(math.ceil(n * (width ** 2 - 1) / (WIDTH_FACTOR_MAX ** 2 - 1))))
                    if math.isfinite(width) else None)


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


def _judge_sample(sample: np.ndarray, x: np.ndarray, higher: bool, alpha: float, tolerance: float) -> Verdict:
    """A reported sample (m,) against our runs (n,): Mann-Whitney U (rank, exact for small samples) for a difference;
    Welch TOST for equivalence of means within the tolerance; the Welch t power at the tolerance for sharpness."""
    if sample.ndim != 1 or sample.size == 0 or not np.all(np.isfinite(sample)):
        raise ValueError("a sample claim needs one or more finite reported values")
    if x.size < 2:
        return _none("sample", f"only {x.size} completed repeat(s); at least 2 are needed to compare samples")
    m_, n = sample.size, x.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mw = sps.mannwhitneyu(sample, x, alternative="two-sided")
    p = float(mw.pvalue) if math.isfinite(mw.pvalue) else 1.0
    delta = float(np.mean(np.sign(sample[:, None] - x[None, :])))
    med_r, med_a = float(np.median(sample)), float(np.median(x))
    reported_higher = med_r > med_a if med_r != med_a else delta > 0
    direction = "optimistic" if reported_higher == higher else "pessimistic"
    var_r = float(np.var(sample, ddof=1)) if m_ > 1 else 0.0
    var_a = float(np.var(x, ddof=1))
    se = math.sqrt(var_r / m_ + var_a / n) if m_ > 1 else math.sqrt(var_a * (1 / n + 1))
    df = _welch_df(var_r, m_, var_a, n) if m_ > 1 and se > 0 else n - 1
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
               "equivalence_p": equivalence, "power": power, "n": n, "m": m_, "alpha": alpha, "tolerance": tolerance}
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


def _judge_unknown(r, x, higher, alpha, tolerance, half_unit, scale, bounds) -> Verdict:
    """Statistic unknown: every reading is shown (one run; a mean of n runs), none is a verdict."""
    readings = []
    quantities = []
    if x.size >= 2:
        for name, verdict in (("as one run", judge("single_run", r, x, higher_is_better=higher, alpha=alpha,
                                                   tolerance=tolerance, half_unit=half_unit, scale=scale, bounds=bounds)),
                              (f"as a mean of {x.size} runs", judge("mean_of_k", r, x, k=x.size, higher_is_better=higher,
                                                                   alpha=alpha, tolerance=tolerance, half_unit=half_unit,
                                                                   bounds=bounds))):
            readings.append(f"read {name} it would be {verdict.label} ({verdict.why})")
            quantities.append((f"read {name}", verdict.label))
    why = ("the source does not say what kind of number this is (one run? a mean? the best of several?), so no verdict "
           "is given" + (": " + "; ".join(readings) if readings else ""))
    return _none("unknown", why, quantities=quantities)
