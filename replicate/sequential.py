"""`repeats=auto`: stop as soon as every claim is decided, with a false-alarm rate that holds under optional stopping.

The rule (docs/statistics.md, "Sequential stopping"): a repeated significance test at a constant nominal level
(Armitage, McPherson & Rowe 1969; Pocock 1977). After every repeat n from the first look (`repeats_min`) to
`repeats_max`, each claim is judged by its fixed-n rule (replicate.verdict.judge) at the nominal level alpha' of
its kind instead of alpha; the claim is decided at the first look where that verdict is inconsistent or consistent,
and the run stops at the first look where every claim is decided (or at `repeats_max`: inconclusive).

alpha' is the largest level at which an honest claim is rejected at *any* of the looks first..max with probability
<= alpha. It comes from the joint null law of the claim's p-values over all those looks, by seeded Monte Carlo:
under normal runs (r - mean_n)/s_n does not depend on the model's mean or spread, so one simulation per (kind, k,
first, max, alpha) serves every paper. Because every look from first to max is covered, the bound holds whatever
looks are actually taken and whenever the run stops (a round of 8 repeats, a resumed run, a claim re-scored after
the run stopped): the false-alarm rate is <= alpha under optional stopping, not only under this stopping rule.
The claim's own noise (one run, a mean of k) is shared by every look, so the looks are strongly correlated and
alpha' stays close to alpha (about 0.02 for one run between 5 and 100 repeats, against 0.0005 for a union bound).

The whole sequence is a pure function of the records (repeats 0..n-1 at look n, in repeat order, never in order of
completion) and the design (alpha, first, max, the claims set when the run started): any executor, round size,
crash or resume gives the same looks and the same stopping point.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np
from scipy import stats as sps

from replicate import family, verdict

_LEVEL_DRAWS = 20_000  # simulated sequences per member and nominal level (Monte-Carlo error on the rate: ~0.0015)
DECIDED = ("consistent", "inconsistent")


_KINDS = {"single_run": "single", "mean_of_k": "mean", "best_of_k": "best"}


def nominal_level(statistic: str, k: int, first: int, maximum: int, alpha: float, log_scale: bool = False) -> float:
    """alpha' for a claim of this kind judged after every repeat n = first..maximum: P(any look rejects an honest
    claim) <= alpha under every member of the claim's family of run distributions (replicate.family; seeded Monte
    Carlo, so every report gives the same number). ``k``: the claim's k (mean_of_k, best_of_k) or the number of
    reported values (sample); 1 for one run. ``log_scale``: the claim's metric is a loss or error."""
    if not 2 <= first <= maximum:
        raise ValueError(f"looks need 2 <= first <= maximum, got first={first}, maximum={maximum}")
    if statistic == "sample":
        return _sample_level(k, first, maximum, alpha)
    horizon = max(maximum, family.TABLE_MAX_N)
    running = _running_smallest_p(statistic, k, first, horizon, log_scale)
    # judge rejects when p < level: per member the largest level with P(min p < level) <= alpha; the smallest of
    # those over the members; never above alpha (one look must not test more loosely than the fixed-n rule)
    index = int(math.floor(alpha * _LEVEL_DRAWS))
    return min(alpha, min(float(np.partition(member[:, maximum - first], index)[index]) for member in running))


@functools.lru_cache(maxsize=4)
def _running_smallest_p(statistic: str, k: int, first: int, horizon: int, log_scale: bool) -> tuple:
    """Per member of the family: (draws, horizon - first + 1), column j the smallest p-value over the looks
    first..first+j of simulated honest claims (each a run of ``horizon`` repeats judged after every one by the same
    family p-values as the fixed-n rule). One simulation serves every last look up to the horizon."""
    kind = _KINDS[statistic]
    family_name = family.family_for(kind, log_scale)
    law = family.law(family_name, kind, k)
    kind_code = {"single": 0, "mean": 1, "best": 2}[kind]
    result = []
    for index, member in enumerate(family.FAMILIES[family_name]):
        t, _ = family.simulate_pivots(member, kind, 1 if kind == "single" else k, horizon, _LEVEL_DRAWS,
                                      (16, kind_code, k, index, first, horizon))
        running = np.empty((_LEVEL_DRAWS, horizon - first + 1), dtype=np.float32)
        smallest = np.ones(_LEVEL_DRAWS)
        for n in range(first, horizon + 1):
            column = t[:, n - 2]
            p = law.p_value(n, np.where(np.isfinite(column), column, 0.0))
            p[~np.isfinite(column)] = 1.0   # zero spread: the zero-spread rule, not the pivot
            np.minimum(smallest, p, out=smallest)
            running[:, n - first] = smallest
        result.append(running)
    return tuple(result)


@functools.lru_cache(maxsize=128)
def _sample_level(k: int, first: int, maximum: int, alpha: float) -> float:
    """alpha' of a sample claim (Mann-Whitney after every look; ranks need no shape, so normal runs serve)."""
    rng = np.random.default_rng([20261128, 16, 3, k, first, maximum, int(round(alpha * 1e6))])
    draws = _LEVEL_DRAWS
    x = rng.standard_normal((draws, maximum))
    n = np.arange(first, maximum + 1)
    y = rng.standard_normal((draws, k))
    beaten = np.zeros(x.shape, dtype=np.int32)  # (draws, maximum): reported values above each run
    for column in range(k):
        beaten += y[:, column:column + 1] > x
    u = np.cumsum(beaten, axis=1)[:, first - 1:]
    stat = np.abs(u - k * n / 2.0)
    p = _empirical_two_sided_abs(stat)
    smallest = np.sort(p.min(axis=1))
    return min(alpha, float(smallest[int(math.floor(alpha * draws))]))


def sharp_at(statistic: str, k: int, level: float, limit: int, log_scale: bool = False) -> int:
    """The first n at which the claim's fixed-n rule at ``level`` calls its check sharp by the band's width alone
    (at most WIDTH_FACTOR_MAX times its width with unlimited repeats: a bound that does not depend on the model's
    mean or spread), so an honest claim the rule does not reject is decided there at the latest; ``limit`` if no n
    before it does."""
    if statistic == "sample":
        for n in range(2, limit):
            width = float(sps.t.ppf(1 - level / 2, k + n - 2) / sps.norm.ppf(1 - level / 2) * math.sqrt(1 + k / n))
            if width <= verdict.WIDTH_FACTOR_MAX:
                return n
        return limit
    kind = _KINDS[statistic]
    law = family.law(family.family_for(kind, log_scale), kind, k)
    for n in range(2, min(limit, family.TABLE_MAX_N + 1)):
        if law.width_factor(n, level) <= verdict.WIDTH_FACTOR_MAX:
            return n
    return limit


@functools.lru_cache(maxsize=128)
def plan_levels(statistic: str, k: int, first: int, maximum: int, alpha: float,
                log_scale: bool = False) -> tuple[float, int]:
    """(nominal level, last look) of a claim under the stopping rule. A claim its rule does not reject is decided
    "consistent" by the width of its band at ``sharp_at(level)`` at the latest, so its looks end there, and the
    level need only hold over looks first..that n. Iterate from the full range: each step's level holds over a range
    at least as long as the looks it implies (the last look shrinks as the level grows), so every step is valid and
    the fixed point is the sharpest."""
    last = maximum
    level = nominal_level(statistic, k, first, last, alpha, log_scale)
    for _ in range(20):
        shorter = max(first, min(last, sharp_at(statistic, k, level, maximum, log_scale)))
        if shorter >= last:
            break
        last = shorter
        level = nominal_level(statistic, k, first, last, alpha, log_scale)
    return level, last


def _empirical_two_sided(t: np.ndarray) -> np.ndarray:
    """Two-sided p-values of each column's values against that column's own (simulated) law."""
    ordered = np.sort(t, axis=0)
    p = np.empty_like(t)
    size = t.shape[0]
    for column in range(t.shape[1]):
        below = np.searchsorted(ordered[:, column], t[:, column], side="right")
        above = size - np.searchsorted(ordered[:, column], t[:, column], side="left")
        p[:, column] = np.minimum(1.0, 2 * np.minimum(below, above) / size)
    return p


def _empirical_two_sided_abs(stat: np.ndarray) -> np.ndarray:
    """P(|statistic| >= observed) of each column against its own law (ties count against rejecting)."""
    ordered = np.sort(stat, axis=0)
    p = np.empty_like(stat, dtype=float)
    for column in range(stat.shape[1]):
        p[:, column] = (stat.shape[0] - np.searchsorted(ordered[:, column], stat[:, column], side="left")) / stat.shape[0]
    return p


def alpha_of(report: dict) -> float:
    """The verdicts' alpha, 1 - report.confidence, without floating-point dust (0.05, not 0.050000000000000044)."""
    return round(1.0 - float(report["confidence"]), 12)


def claim_k(claim: dict) -> int:
    """The k that sets a claim's nominal level: its k, the size of a reported sample, 1 for one run."""
    if claim["statistic"] == "sample":
        return len(claim["values"])
    return int(claim.get("k") or 1)


def decidable(claim: dict) -> bool:
    """A claim the stopping rule waits for (an unknown statistic never gets a verdict, so it cannot be waited for)."""
    return claim["statistic"] != "unknown"


@dataclass(frozen=True)
class Design:
    """What the stopping rule was computed for, frozen when an auto run starts (run.json's `sequential`)."""

    alpha: float
    first: int
    maximum: int
    claims: tuple  # the claims (as in paper.reported) that stop the run; unknown statistics are left out
    tolerance: float = 0.01  # report.tolerance when the run started (a claim's own `tolerance:` is in the claim)

    def scoring(self, report: dict) -> dict:
        """``report`` (run.json's report settings) with the tolerance the looks were judged with (each look passes
        its level explicitly, so the confidence is not read)."""
        return {**report, "tolerance": self.tolerance}

    def level(self, claim: dict) -> float:
        """The claim's nominal level: over its own looks (first..the look where its check is sharp by width) for a
        claim the run stops on; over every look first..max for any other (a claim set after the run stopped): valid
        at any stopping point."""
        log_scale = _scale(claim) == "log"
        if claim in self.claims:
            return plan_levels(claim["statistic"], claim_k(claim), self.first, self.maximum, self.alpha, log_scale)[0]
        return nominal_level(claim["statistic"], claim_k(claim), self.first, self.maximum, self.alpha, log_scale)

    def as_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "repeats_min": self.first, "repeats_max": self.maximum,
                "tolerance": self.tolerance, "claims": [dict(claim) for claim in self.claims]}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> "Design":
        return cls(float(value["alpha"]), int(value["repeats_min"]), int(value["repeats_max"]),
                   tuple(value["claims"]), float(value["tolerance"]))


def design_of(run: dict[str, Any]) -> Optional[Design]:
    """The design an auto run's run.json holds (None: a fixed-n run)."""
    if run.get("repeats") != "auto":
        return None
    frozen = run.get("sequential")
    if frozen:
        return Design.from_dict({"tolerance": run["report"]["tolerance"], **frozen})
    return Design(alpha_of(run["report"]), int(run["repeats_min"]), int(run["repeats_max"]),
                  tuple(claim for claim in run["paper"].get("reported", []) if decidable(claim)),
                  float(run["report"]["tolerance"]))


@dataclass
class Look:
    n: int
    completed: int                  # completed repeats among the first n (failed ones give no value)
    results: dict[int, Any]         # claim index -> its verdict at this look (undecided claims only)


@dataclass
class State:
    """The looks so far and what they decided. ``stop``: the look at which every claim was decided (None: not yet);
    ``decided_at``: claim index -> the look that decided it; ``available``: repeats 0..available-1 all finished."""

    design: Design
    looks: list[Look] = field(default_factory=list)
    decided_at: dict[int, int] = field(default_factory=dict)
    verdicts: dict[int, Any] = field(default_factory=dict)  # claim index -> its verdict at its deciding look
    stop: Optional[int] = None
    available: int = 0

    @property
    def finished(self) -> bool:
        """No more repeats to run: every claim decided, or the maximum reached."""
        return self.stop is not None or self.available >= self.design.maximum

    @property
    def used(self) -> int:
        """Repeats the analysis uses: up to the stopping look, or every finished one up to the maximum."""
        return self.stop if self.stop is not None else min(self.available, self.design.maximum)


def prefix_available(records: Sequence[dict]) -> int:
    """n such that repeats 0..n-1 all have a record (completed, diverged or failed) and repeat n has none."""
    have = {record["repeat"] for record in records}
    n = 0
    while n in have:
        n += 1
    return n


def evaluate(design: Design, records: Sequence[dict], judge_claim, cache: Optional[dict] = None) -> State:
    """Run the looks first..(the finished prefix) over the records. ``judge_claim(claim, values, alpha)`` gives a
    claim's verdict (replicate.report.summary.claim_verdict): the same function the report uses. ``cache``: a dict
    kept between calls on growing records of one run (a look's prefix never changes once it is finished)."""
    from replicate.report.summary import claim_inputs

    cache = {} if cache is None else cache
    ordered = sorted(records, key=lambda record: record["repeat"])
    sequence = State(design, available=prefix_available(ordered))
    open_claims = list(range(len(design.claims)))
    levels = {index: design.level(claim) for index, claim in enumerate(design.claims)}
    for n in range(design.first, min(sequence.available, design.maximum) + 1):
        prefix = [record for record in ordered if record["repeat"] < n]
        look = Look(n, sum(record["status"] == "completed" for record in prefix), {})
        for index in open_claims:
            claim = design.claims[index]
            if (index, n) not in cache:
                cache[index, n] = judge_claim(claim, claim_inputs(claim, prefix), levels[index])
            look.results[index] = cache[index, n]
        for index, result in look.results.items():
            if result.outcome in DECIDED:
                sequence.decided_at[index] = n
                sequence.verdicts[index] = result
        open_claims = [index for index in open_claims if index not in sequence.decided_at]
        sequence.looks.append(look)
        if not open_claims:
            sequence.stop = n
            break
    if sequence.stop is None and sequence.looks and sequence.looks[-1].n >= design.maximum:
        for index in open_claims:
            sequence.verdicts[index] = sequence.looks[-1].results[index]
    return sequence


def next_target(sequence: State, round_size: int) -> int:
    """How many repeats the next round brings the run to: the first look, then one round more, never past the
    maximum. A round fills the workers (or their lockstep groups), so it can train past the look that stops the run
    (the overrun: kept in records/, not used by the decision)."""
    design = sequence.design
    done = sequence.available
    if done < design.first:
        target = max(design.first, round_size)
        target = -(-target // round_size) * round_size  # whole rounds: every worker busy
    else:
        target = done + round_size
    return min(target, design.maximum)


def fixed_n_to_decide(statistic: str, k: int, values: np.ndarray, reported: Any, alpha: float, tolerance: float,
                      scale: str, limit: int = 2000) -> Optional[int]:
    """The fixed-n design of the same sharpness: the smallest n at which the fixed-n rule at full alpha would make
    its check sharp (power at the tolerance >= 80%, or the band at most 1.25x its width with unlimited repeats),
    planned with the spread measured here (the family's tables up to their last n, the normal-theory pivot beyond,
    an estimate). None when no n would (for a sample: none up to ``limit``)."""
    x = np.asarray(values, dtype=float)
    if statistic == "sample":
        m = len(reported)
        for n in range(2, limit):
            width = float(sps.t.ppf(1 - alpha / 2, m + n - 2) / sps.norm.ppf(1 - alpha / 2) * math.sqrt(1 + m / n))
            if width <= verdict.WIDTH_FACTOR_MAX:
                return n
        return None
    if statistic not in _KINDS or x.size < 2:
        return None
    kind = _KINDS[statistic]
    log = scale == "log" and kind != "mean" and bool(np.all(x > 0)) and float(reported) > 0
    y = np.log(x) if log else x
    s = float(np.std(y, ddof=1))
    shift = verdict._tolerance_shift(tolerance, float(reported), verdict._Scale("log" if log else "raw", ""), s)
    law = family.law(family.family_for(kind, scale == "log" and (kind == "mean" or log)), kind, max(k, 1))
    # the same search as a fixed-n verdict's "repeats to decide it", from n = 2
    return verdict._repeats_to_decide(law, kind, 1, max(k, 1), shift, alpha, s)


RULE = ("repeats=auto: after every repeat from the first look (repeats_min) on, each claim is judged by its fixed-n rule "
        "at a nominal level α′ instead of α, and decided at the first look where it is inconsistent or consistent (the "
        "same sharpness conditions, at α′); the run stops when every claim is decided, or at repeats_max "
        "(inconclusive there). α′ is the largest level at which an honest claim is rejected at any of its looks with "
        "probability at most α (a repeated significance test at a constant nominal level, Armitage, McPherson & Rowe "
        "1969, doi:10.2307/2343787; Pocock 1977, doi:10.1093/biomet/64.2.191), computed by seeded Monte Carlo of the "
        "joint law of the claim's p-values over its looks under every member of the claim's family of run "
        "distributions (the smallest level over the members); so the false-alarm rate holds under this optional "
        "stopping on each member (measured in docs/statistics.md)")


def summarize(design: Design, sequence: State, claims: list[dict], records: list[dict], report: dict,
              judge_claim) -> tuple[list[tuple[Optional[Any], list[float]]], dict[str, Any]]:
    """Each current claim's verdict under the stopping rule with the inputs it was made on (summary.claim_inputs;
    None for a claim of unknown statistic, which the report judges as usual; ``judge_claim`` judges with the current
    ``report`` settings the claims the run did not stop on) and the report's `sequential` block: the rule, the design, every look's
    interim results, where the run stopped and why, and the fixed-n design each claim would have needed."""
    from replicate.report.summary import claim_inputs

    alpha_now = alpha_of(report)
    same_scoring = (math.isclose(alpha_now, design.alpha, rel_tol=0, abs_tol=1e-12)
                    and report["tolerance"] == design.tolerance)
    label = lambda claim: claim.get("label") or f"{claim['split']}_{claim['metric']}"  # noqa: E731
    used = [record for record in records if record["repeat"] < sequence.used]
    verdicts: list[tuple[Optional[Any], list[float]]] = []
    levels: list[Optional[float]] = []
    changed = []
    for claim in claims:
        if not decidable(claim):
            verdicts.append((None, claim_inputs(claim, used)))
            levels.append(None)
            continue
        if same_scoring and claim in design.claims:
            index = design.claims.index(claim)
            levels.append(design.level(claim))
            at = sequence.decided_at.get(index, sequence.used)
            values = claim_inputs(claim, [record for record in records if record["repeat"] < at])
            if index in sequence.verdicts:
                verdicts.append((sequence.verdicts[index], values))
            elif sequence.looks:  # the sequence has not ended (an interrupted run): its latest look
                verdicts.append((sequence.looks[-1].results[index], values))
            else:
                why = (f"repeats=auto looks first after {design.first} repeats; {sequence.available} are finished, so "
                       "no look has been made yet; fix: run the same command again to continue")
                verdicts.append((verdict.Verdict(claim["statistic"], "none", None, why, RULE, "no verdict, so no "
                                                 "error rate applies", "sequential (no look yet)"), values))
            continue
        # Not a claim the run stopped on (set or changed afterwards, or another alpha or tolerance): judged on the repeats used at
        # the level that holds at every look first..max, so the data-dependent stopping point cannot inflate it.
        changed.append(label(claim))
        level = Design(alpha_now, design.first, design.maximum, ()).level(claim)
        levels.append(level)
        values = claim_inputs(claim, used)
        verdicts.append((judge_claim(claim, values, level) if len(values) else None, values))
    rows = []
    for index, claim in enumerate(design.claims):
        decided = sequence.decided_at.get(index)
        at = decided or sequence.used
        values = claim_inputs(claim, [record for record in records if record["repeat"] < at]).learned_values
        rows.append({
            "label": label(claim), "statistic": claim["statistic"], "k": claim_k(claim),
            "level": design.level(claim),
            "last_look": plan_levels(claim["statistic"], claim_k(claim), design.first, design.maximum, design.alpha,
                                     _scale(claim) == "log")[1],
            "decided_at": decided,
            "outcome": sequence.verdicts[index].label if index in sequence.verdicts else "undecided",
            "fixed_n": fixed_n_to_decide(claim["statistic"], claim_k(claim), np.array(values),
                                         claim["values"] if claim["statistic"] == "sample" else claim["value"],
                                         design.alpha, claim.get("tolerance") or design.tolerance,
                                         _scale(claim)) if len(values) >= 2 else None,
        })
    if sequence.stop is not None:
        status, text = "decided", (f"repeats=auto stopped after {sequence.stop} repeats: every claim decided "
                                   f"(looks after each repeat from {design.first}; at most {design.maximum})")
    elif sequence.available >= design.maximum:
        status, text = "maximum", (f"repeats=auto reached repeats_max={design.maximum}: "
                                   + ", ".join(row["label"] for row in rows if row["decided_at"] is None)
                                   + f" inconclusive at {design.maximum} repeats")
    else:
        status, text = "running", (f"repeats=auto has not finished: {sequence.available} repeats done, "
                                   f"{len(sequence.looks)} look(s) made; run the same command again to continue")
    block = {
        "rule": RULE, "alpha": design.alpha, "repeats_min": design.first, "repeats_max": design.maximum,
        "status": status, "text": text, "stopped_at": sequence.stop, "repeats_used": sequence.used,
        "available": sequence.available,
        "overrun": sorted(record["repeat"] for record in records if record["repeat"] >= sequence.used),
        "claims": rows,
        "looks": [{"n": look.n, "completed": look.completed,
                   "results": {label(design.claims[index]): {"outcome": result.label, "p_value": result.p_value}
                               for index, result in look.results.items()}} for look in sequence.looks],
        "stopping_claims": [label(claim) for claim in design.claims],
        "rescored": changed,
        "alpha_now": alpha_now,
        "claim_levels": levels,
    }
    verdicts = [(_sequential_words(result, level, design, alpha_now) if result is not None else None, values)
                for (result, values), level in zip(verdicts, levels)]
    return verdicts, block


def _scale(claim: dict) -> str:
    """The scale the verdict rules judge a claim's metric on: log for losses and errors."""
    from replicate import metrics

    return "log" if metrics.multiplicative(metrics.column(claim["split"], claim["metric"])) else "raw"


def _sequential_words(result, level: Optional[float], design: Design, alpha: float):
    """A verdict made at a look says so: its rule is the fixed-n rule at the nominal level, and its false-alarm rate
    is alpha over all the looks (the fixed-n rule's text would give the per-look level as if it were the whole)."""
    import dataclasses

    if level is None or result.outcome == "none":
        return result
    rule = (f"repeats=auto: at each look (after every repeat from {design.first}), the fixed-n rule at nominal level "
            f"α′ = {level:.4g} instead of α = {alpha:g}; decided at the first look where it is consistent or "
            f"inconsistent. The fixed-n rule: {result.rule}")
    error_rates = (f"an honest claim is called inconsistent at some look at most {alpha:.0%} of the time when runs "
                   f"follow any member of the claim's family (α′ = {level:.4g} per look, computed for all looks "
                   f"together; the fixed-n rule's family and its allowance for runs that did not learn apply, see "
                   f"docs/statistics.md)")
    return dataclasses.replace(result, rule=rule, error_rates=error_rates)
