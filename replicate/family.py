"""The family of run distributions the verdicts hold on, and a claim's pivot law under each of its members (pure).

A claim of one run, a mean of k runs or the best of k runs is judged by the pivot T = (r - m) / s: the reported
number minus the mean of our n learned runs, over their standard deviation, on the claim's analysis scale, signed so
that higher is better. T does not depend on the model's mean or spread, only on the *shape* of the runs'
distribution. Training runs take several shapes (docs/statistics.md, "The family"): near normal, heavier tails,
a long tail toward worse (unlucky seeds), piled against a ceiling, coarse on small test sets, multiplicative for
losses. For each member of the family this module simulates the null law of T at every n from 2 to
``TABLE_MAX_N`` (seeded, so every report gives the same numbers), and a claim's p-value on each side is the
*largest* tail probability over the members: an honest claim is rejected at most alpha of the time whichever member
the runs follow (up to the simulation's error), with no pre-test on the sample to pick one (a pre-test is what made
power fall as n grew). Runs that did not learn are not a shape: replicate.verdict handles them as a mixture.

Beyond ``TABLE_MAX_N`` repeats the tables of ``TABLE_MAX_N`` are used: the pivot's law narrows as n grows, so
these are slightly wider than exact (conservative) and power still never falls with n.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

DRAWS = 20_000        # simulated pivots per member and n (p-values resolve to 1/20,001; the level to ~0.1 point)
TABLE_MAX_N = 100     # tables up to this n; beyond it the tables of this n (conservative)
_SEED = 20261205


@dataclass(frozen=True)
class Member:
    """One shape of the runs' distribution on the signed analysis scale (higher is better)."""

    name: str
    text: str
    draw: Callable[[np.random.Generator, tuple], np.ndarray]


def _normal(rng, size):
    return rng.standard_normal(size)


def _t10(rng, size):
    return rng.standard_t(10, size)


def _heavy_lower(rng, size):
    # median 0; below it the lower half of a t law with 4 degrees of freedom (unit sd), above it a normal's upper half
    lower = rng.random(size) < 0.5
    t4 = np.abs(rng.standard_t(4, size)) * math.sqrt(0.5)
    return np.where(lower, -t4, np.abs(rng.standard_normal(size)))


def _ceiling(rng, size):
    return -rng.gamma(4.0, 1.0, size)


def _discrete(rng, size):
    return rng.binomial(100, np.clip(0.85 + 0.01 * rng.standard_normal(size), 0.0, 1.0)) / 100.0


def _gamma_log(rng, size):  # a gamma(4) loss on the log scale, signed (lower loss is better)
    return -np.log(rng.gamma(4.0, 1.0, size))


def _lognormal_raw(rng, size):  # a loss with log-sd 0.8 on its own scale, signed
    return -np.exp(0.8 * rng.standard_normal(size))


def _gamma_raw(rng, size):
    return -rng.gamma(4.0, 1.0, size)


NORMAL = Member("normal", "normal runs (Bouthillier et al. 2021)", _normal)
T10 = Member("t10", "heavier tails on both sides: Student t, 10 degrees of freedom", _t10)
HEAVY_LOWER = Member("heavy_lower", "a long tail toward worse (unlucky seeds): a t law with 4 degrees of freedom "
                     "below the median, normal above (Picard 2021)", _heavy_lower)
CEILING = Member("ceiling", "scores piled against a ceiling: 1 − a gamma law of shape 4 (skewness 1 toward worse)",
                 _ceiling)
DISCRETE = Member("discrete", "accuracy on a small test set: 100 examples, so runs tie and move in steps of 0.01",
                  _discrete)
GAMMA_LOG = Member("gamma_loss", "a loss with a gamma law of shape 4, judged on the log scale", _gamma_log)
LOGNORMAL_RAW = Member("lognormal_loss", "a loss whose logarithm has sd 0.8, on its own scale", _lognormal_raw)
GAMMA_RAW = Member("gamma_loss_raw", "a loss with a gamma law of shape 4, on its own scale", _gamma_raw)

FAMILIES: dict[str, tuple[Member, ...]] = {
    # scores (accuracy, F1, ...) on their own scale, every kind of claim
    "score": (NORMAL, T10, HEAVY_LOWER, CEILING, DISCRETE),
    # losses and errors on the log scale (one run, best of k: rank-invariant claims)
    "loss_log": (NORMAL, T10, HEAVY_LOWER, GAMMA_LOG),
    # losses and errors on their own scale (a mean of k losses is an arithmetic mean)
    "loss_raw": (NORMAL, T10, HEAVY_LOWER, LOGNORMAL_RAW, GAMMA_RAW),
}


def family_for(kind: str, log_scale: bool) -> str:
    """The family a claim's metric and kind are judged under: ``log_scale`` for losses and errors."""
    if not log_scale:
        return "score"
    return "loss_raw" if kind == "mean" else "loss_log"


def describe(family: str) -> str:
    """The family in words, for a verdict's error-rate line."""
    return "; ".join(member.text for member in FAMILIES[family])


def _reported(kind: str, k: int, draws: np.ndarray) -> np.ndarray:
    """The claim's kind of number from (D, k) draws: one run, their mean, their best."""
    if kind == "single":
        return draws[:, 0]
    if kind == "mean":
        return draws.mean(axis=1)
    return draws.max(axis=1)


def simulate_pivots(member: Member, kind: str, k: int, maximum: int, draws: int,
                    seed: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(T, 1/S): draws x (maximum - 1) pivots for n = 2..maximum (column n - 2), from one set of ``maximum`` runs per
    draw (so the columns are the looks of one growing sample) and the claim's k runs; 1/S is sigma/s with sigma the
    member's spread (only the normal member's is used: for power). Draws where all of the first n runs tie (s = 0)
    are NaN: the zero-spread rule judges those, not T."""
    rng = np.random.default_rng([_SEED, *seed])
    x = member.draw(rng, (draws, maximum))
    r = _reported(kind, k, member.draw(rng, (draws, k)))
    n = np.arange(1, maximum + 1)
    total = np.cumsum(x, axis=1)
    mean = total / n
    # a two-pass variance per look (numerically safe for the discrete member's ties)
    squares = np.cumsum((x - mean[:, -1:]) ** 2, axis=1)
    offset = mean - mean[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (squares - n * offset ** 2) / np.maximum(n - 1, 1)
        sd = np.sqrt(np.maximum(var, 0.0))
        tiny = sd <= 1e-12 * np.maximum(1.0, np.abs(mean))
        t = (r[:, None] - mean) / sd
        inverse = 1.0 / sd
    t[tiny] = np.nan
    inverse[tiny] = np.nan
    return t[:, 1:], inverse[:, 1:]


@dataclass(frozen=True)
class Law:
    """A claim kind's pivot law under every member of a family, n = 2..TABLE_MAX_N: sorted columns per member."""

    family: str
    kind: str
    k: int
    sorted: tuple        # per member: (N-1, D) float32, row n-2 the sorted pivots at n, NaN last (rows: contiguous)
    valid: tuple         # per member: (N-1,) draws with s > 0
    normal_t: np.ndarray       # the normal member's T, unsorted (D, N-1), for power
    normal_inverse: np.ndarray  # and its sigma/s
    infinite: tuple      # per member: sorted draws of (r - mu)/sigma, the claim's law with the model known

    def column(self, n: int) -> int:
        return min(max(int(n), 2), TABLE_MAX_N) - 2

    def tails(self, n: int, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P(T <= t), P(T >= t)) at n, each the largest over the members; ``t`` any shape."""
        c = self.column(n)
        t = np.asarray(t, dtype=np.float32)
        order = np.argsort(t, axis=None)  # sorted queries search several times faster
        queries = t.ravel()[order]
        low = np.zeros(queries.shape)
        high = np.zeros(queries.shape)
        for table, valid in zip(self.sorted, self.valid):
            row = table[c, :valid[c]]
            size = row.size
            below = np.searchsorted(row, queries, side="right")
            above = size - np.searchsorted(row, queries, side="left")
            np.maximum(low, (below + 1) / (size + 1), out=low)
            np.maximum(high, (above + 1) / (size + 1), out=high)
        out_low, out_high = np.empty(queries.shape), np.empty(queries.shape)
        out_low[order], out_high[order] = low, high
        return out_low.reshape(t.shape), out_high.reshape(t.shape)

    def p_value(self, n: int, t: np.ndarray) -> np.ndarray:
        low, high = self.tails(n, t)
        return np.minimum(1.0, 2 * np.minimum(low, high))

    def band(self, n: int, alpha: float) -> tuple[float, float]:
        """The pivot's acceptance band at level alpha: the lowest member's alpha/2 quantile, the highest's 1-alpha/2."""
        c = self.column(n)
        lows, highs = [], []
        for table, valid in zip(self.sorted, self.valid):
            row = table[c, :valid[c]]
            lows.append(_sorted_quantile(row, alpha / 2))
            highs.append(_sorted_quantile(row, 1 - alpha / 2))
        return min(lows), max(highs)

    def median(self, n: int) -> float:
        """The normal member's median of T at n: the centre a claim is measured from."""
        c = self.column(n)
        return float(np.nanmedian(self.normal_t[:, c]))

    def infinite_band(self, alpha: float) -> tuple[float, float]:
        lows = [_sorted_quantile(d, alpha / 2) for d in self.infinite]
        highs = [_sorted_quantile(d, 1 - alpha / 2) for d in self.infinite]
        return min(lows), max(highs)

    def width_factor(self, n: int, alpha: float) -> float:
        low, high = self.band(n, alpha)
        a, b = self.infinite_band(alpha)
        return (high - low) / (b - a)

    def power(self, n: int, alpha: float, shift: float) -> float:
        """P(reject) under normal runs for a claim off by ``shift`` sigmas (the smaller of the two directions)."""
        if not math.isfinite(shift):
            return math.nan
        c = self.column(n)
        low, high = self.band(n, alpha)
        t, inverse = self.normal_t[:, c], self.normal_inverse[:, c]
        keep = np.isfinite(t)
        t, inverse = t[keep], inverse[keep]
        up = (t + shift * inverse < low) | (t + shift * inverse > high)
        down = (t - shift * inverse < low) | (t - shift * inverse > high)
        return float(min(np.mean(up), np.mean(down)))


_INFINITE_DRAWS = 200_000


def _sorted_quantile(values: np.ndarray, q: float) -> float:
    """np.quantile's default (linear) of an already sorted 1-D array, without sorting it again."""
    position = q * (values.size - 1)
    below = int(math.floor(position))
    above = min(below + 1, values.size - 1)
    return float(values[below] + (position - below) * (float(values[above]) - float(values[below])))


@functools.lru_cache(maxsize=32)
def _moments(member_name: str, family: str) -> tuple[float, float]:
    member = next(m for m in FAMILIES[family] if m.name == member_name)
    x = member.draw(np.random.default_rng([_SEED, 7, len(member_name)]), 2_000_000)
    return float(np.mean(x)), float(np.std(x))


@functools.lru_cache(maxsize=32)  # ~60 MB each; a best of 10 with failures asks for up to 11 values of k
def law(family: str, kind: str, k: int) -> Law:
    """The pivot law of a claim kind (single, mean, best) with its k under a family (seeded; cached per process)."""
    if kind not in ("single", "mean", "best"):
        raise ValueError(f"kind must be single, mean or best, got {kind!r}")
    k = 1 if kind == "single" else int(k)
    kind_code = {"single": 0, "mean": 1, "best": 2}[kind]
    sorted_tables, valid, infinite = [], [], []
    normal_t = normal_inverse = None
    for index, member in enumerate(FAMILIES[family]):
        t, inverse = simulate_pivots(member, kind, k, TABLE_MAX_N, DRAWS, (kind_code, k, index, len(member.name)))
        if member is NORMAL:
            normal_t, normal_inverse = t.astype(np.float32), inverse.astype(np.float32)
        sorted_tables.append(np.ascontiguousarray(np.sort(t, axis=0).T, dtype=np.float32))  # NaN last; float32: memory
        valid.append(np.sum(np.isfinite(t), axis=0))
        mu, sigma = _moments(member.name, family)
        rng = np.random.default_rng([_SEED, 9, kind_code, k, index])
        known = (_reported(kind, k, member.draw(rng, (_INFINITE_DRAWS, k))) - mu) / sigma
        infinite.append(np.sort(known))
    return Law(family, kind, k, tuple(sorted_tables), tuple(valid), normal_t, normal_inverse, tuple(infinite))
