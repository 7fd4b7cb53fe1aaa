"""Issue 16's first step, simulation before code: a candidate sequential rule for `repeats=auto`, measured.

    python benchmarks/bench_sequential.py                         # normal runs, three claim kinds (~3 min, 2 cores)
    python benchmarks/bench_sequential.py --claims 200 --kinds single_run --max 60

The candidate (not in the product yet): looks after n = first, first + step, ... repeats up to `--max`; at each
look every existing fixed-n rule (replicate.verdict.judge) runs at that look's share of alpha, spent by a
Lan-DeMets spending function of the information fraction t = n / max (Lan & DeMets, "Discrete sequential boundaries
for clinical trials", Biometrika 70(3):659-663, 1983, doi:10.1093/biomet/70.3.659): Pocock-type
alpha * ln(1 + (e - 1) t) or O'Brien-Fleming-type 2 - 2 Phi(z_{alpha/2} / sqrt(t)). The run stops at the first
look whose verdict is inconsistent or consistent. The union bound makes the false-alarm rate <= alpha under this
optional stopping for every rule whatever the looks' correlation (conservative: the looks are correlated).

Prints, per claim kind and shift (in run-to-run standard deviations towards "better"): the share called
inconsistent (at shift 0, the false alarm, with its Monte-Carlo SE), consistent and undecided at `--max`; the mean
and 90th percentile of the repeats used; and the fixed-n design at full alpha with the same decision rate: the
smallest n on the same grid at which the fixed rule decides (consistent or inconsistent) at least as often as the
sequential rule did by `--max`, so "ratio" = sequential mean repeats / that n.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from replicate.calibration import CLAIMS, DISTRIBUTIONS, paper_number  # noqa: E402
from replicate.verdict import judge  # noqa: E402


def spent(t: float, alpha: float, shape: str) -> float:
    """Cumulative alpha spent by information fraction t (0..1)."""
    if t <= 0:
        return 0.0
    if shape == "pocock":
        return alpha * math.log(1 + (math.e - 1) * min(t, 1.0))
    return float(2 - 2 * norm.cdf(norm.ppf(1 - alpha / 2) / math.sqrt(min(t, 1.0))))


def looks(first: int, step: int, maximum: int) -> list[int]:
    return list(range(first, maximum, step)) + [maximum]


def _judge(dist, statistic, k, reported, values, alpha, tolerance):
    return judge(statistic, reported, values, k=k if statistic in ("mean_of_k", "best_of_k") else None,
                 higher_is_better=dist.higher_is_better, alpha=alpha, tolerance=tolerance, scale=dist.scale,
                 decide_repeats=False).outcome


def cell(args) -> dict:
    distribution, claim, shift, claims, grid, alpha, shape, seed = args
    dist = DISTRIBUTIONS[distribution]
    statistic, k = CLAIMS[claim]
    tolerance = 0.5 * (dist.sigma * 0.03 if dist.multiplicative else dist.sigma)
    rng = np.random.default_rng([seed, int(shift * 100), k, len(claim)])
    increments = np.diff([0.0] + [spent(n / grid[-1], alpha, shape) for n in grid])
    used, outcomes = [], []
    fixed_decided = np.zeros(len(grid))
    for _ in range(claims):
        ours = dist.draw(rng, grid[-1])
        reported = paper_number(dist, statistic, k, rng, shift)
        outcome, n_used = "undecided", grid[-1]
        for n, level in zip(grid, increments):
            verdict = _judge(dist, statistic, k, reported, ours[:n], level, tolerance)
            if verdict in ("inconsistent", "consistent"):
                outcome, n_used = verdict, n
                break
        used.append(n_used)
        outcomes.append(outcome)
        for index, n in enumerate(grid):  # the fixed-n rule at full alpha on the same draws
            fixed_decided[index] += _judge(dist, statistic, k, reported, ours[:n], alpha, tolerance) in (
                "inconsistent", "consistent")
    used_array = np.array(used)
    decided = np.mean([o != "undecided" for o in outcomes])
    fixed_rate = fixed_decided / claims
    reaching = [n for n, rate in zip(grid, fixed_rate) if rate >= decided - 1e-9]
    fixed_n = reaching[0] if reaching else None  # None: the fixed rule never decides that often on this grid
    inconsistent = float(np.mean([o == "inconsistent" for o in outcomes]))
    return {"distribution": distribution, "claim": claim, "shift": shift, "claims": claims,
            "inconsistent": inconsistent, "mc_se": math.sqrt(max(inconsistent * (1 - inconsistent), 1e-12) / claims),
            "consistent": float(np.mean([o == "consistent" for o in outcomes])), "undecided": 1 - float(decided),
            "mean_n": float(used_array.mean()), "p90_n": float(np.percentile(used_array, 90)),
            "fixed_n": fixed_n, "ratio": float(used_array.mean()) / fixed_n if fixed_n else math.nan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--distributions", nargs="+", default=["normal"])
    parser.add_argument("--kinds", nargs="+", default=["single_run", "mean_of_5", "sample_of_5"])
    parser.add_argument("--shifts", nargs="+", type=float, default=[0.0, 1.0, 2.0, 3.0])
    parser.add_argument("--first", type=int, default=4)
    parser.add_argument("--step", type=int, default=4)
    parser.add_argument("--max", type=int, default=60)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--shape", choices=["pocock", "obf"], default="pocock")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    grid = looks(args.first, args.step, args.max)
    jobs = [(d, c, s, args.claims, grid, args.alpha, args.shape, 0)
            for d in args.distributions for c in args.kinds for s in args.shifts]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(cell, jobs))
    print(f"looks at n = {grid}; {args.shape}-type spending of alpha = {args.alpha}; {args.claims} claims per row; "
          f"tolerance 0.5 sd; {time.perf_counter() - started:.0f} s\n")
    print("| distribution | claim | shift (sd) | inconsistent | consistent | undecided at max | mean n | p90 n | "
          "fixed n, same decision rate | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        alarm = (f"{r['inconsistent']:.3f} ± {r['mc_se']:.3f}"
                 + (" (ok)" if r["shift"] == 0 and r["inconsistent"] <= args.alpha + 2 * r["mc_se"] else
                    " (HIGH)" if r["shift"] == 0 else ""))
        print(f"| {r['distribution']} | {r['claim']} | {r['shift']:g} | {alarm} | {r['consistent']:.3f} | "
              f"{r['undecided']:.3f} | {r['mean_n']:.1f} | {r['p90_n']:.0f} | {r['fixed_n'] or f'> {args.max}'} | "
              f"{r['ratio']:.2f} |")


if __name__ == "__main__":
    main()
