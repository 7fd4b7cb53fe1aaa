"""False-alarm rate and power of every verdict rule, by simulation; and the coverage of the intervals of the mean.

    python benchmarks/bench_calibration.py                      # the full tables (fixed n, then repeats=auto)
    python benchmarks/bench_calibration.py --claims 400 --distributions normal --n 3 10 --sequential-claims 0
    python benchmarks/bench_calibration.py --only-sequential --sequential-claims 1000 --distributions normal

Prints markdown tables: for each distribution of runs, claim kind and n, the share of honest claims called
inconsistent (false alarm, with its Monte-Carlo standard error and whether it is within alpha + 2 MC SE), the share
called consistent and inconclusive, and the share of claims 1, 2 and 3 run-to-run standard deviations too good that
are called inconsistent (power). The simulation itself is replicate.calibration (also used by the tests).

Then the `repeats=auto` rule (replicate.sequential): each simulated claim is judged after every repeat from
`--first` to `--max` at its kind's nominal level and stops at its first decision. Per distribution, claim kind and
shift: the nominal level, the share flagged (at shift 0: the false-alarm rate under optional stopping, against
alpha + 2 MC SE), consistent and still inconclusive at the maximum, the mean and 90th percentile of the repeats used,
and the fixed-n design it replaces (the smallest n, from where the fixed-n rule's check is sharp by width, at which
the fixed-n rule at full alpha decides at least 95% of the claims), that design's share flagged on the same draws
(its power, beside the sequential rule's) and the ratio of repeats.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from replicate.calibration import (CLAIMS, DISTRIBUTIONS, mean_interval_coverage, simulate,  # noqa: E402
                                   simulate_sequential)


def _cell(args):
    distribution, claim, n, shift, claims = args
    return args, simulate(distribution, claim, n, shift, claims)


def _sequential_cell(args):
    distribution, claim, shift, claims, first, maximum = args
    return args, simulate_sequential(distribution, claim, shift, claims, first=first, maximum=maximum)


def sequential_tables(args, alpha: float) -> None:
    shifts = [0.0] + list(args.shifts)
    jobs = [(d, c, s, args.sequential_claims if s == 0 else args.power_claims, args.first, args.max)
            for d in args.distributions for c in args.kinds for s in shifts]
    jobs.sort(key=lambda job: job[2])  # honest cells (the long ones) first
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(pool.map(_sequential_cell, jobs, chunksize=1))
    print(f"## repeats=auto: looks after every repeat from {args.first} to {args.max}; alpha = {alpha}; tolerance = 0.5 "
          f"run-to-run sd; {args.sequential_claims} honest and {args.power_claims} shifted claims per cell; "
          f"{time.perf_counter() - start:.0f} s on {args.workers} workers\n")
    for distribution in args.distributions:
        print(f"### {distribution} (repeats=auto)\n")
        print("| claim | level | shift | flagged | MC SE | <= α+2SE | consistent | inconclusive at max | mean n | p90 n | "
              "fixed n | fixed-n flagged | ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for claim in args.kinds:
            for shift in shifts:
                r = results[(distribution, claim, shift, args.sequential_claims if shift == 0 else args.power_claims,
                             args.first, args.max)]
                ok = ("yes" if r["flagged"] <= alpha + 2 * r["mc_se"] else "**NO**") if shift == 0 else ""
                print(f"| {claim} | {r['level']:.4f} | {shift:g}σ | {100 * r['flagged']:.1f}% | {100 * r['mc_se']:.1f} | "
                      f"{ok} | {100 * r['consistent']:.0f}% | {100 * r['inconclusive']:.0f}% | {r['mean_n']:.1f} | "
                      f"{r['p90_n']:.0f} | {r['fixed_n'] or f'> {args.max}'} | "
                      + (f"{100 * r['fixed_flagged']:.0f}% | {r['ratio']:.2f} |" if r["fixed_n"] else "— | — |"))
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=2000, help="honest claims per cell (default 2000)")
    parser.add_argument("--power-claims", type=int, default=400, help="shifted claims per cell (default 400)")
    parser.add_argument("--distributions", nargs="+", default=list(DISTRIBUTIONS))
    parser.add_argument("--kinds", nargs="+", default=list(CLAIMS))
    parser.add_argument("--n", nargs="+", type=int, default=[3, 5, 10, 30, 100])
    parser.add_argument("--shifts", nargs="+", type=float, default=[1.0, 2.0, 3.0])
    parser.add_argument("--coverage-trials", type=int, default=2000, help="0 skips the interval coverage table")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sequential-claims", type=int, default=1000,
                        help="honest claims per repeats=auto cell (shifted ones: --power-claims); 0 skips those tables")
    parser.add_argument("--only-sequential", action="store_true", help="only the repeats=auto tables")
    parser.add_argument("--first", type=int, default=5, help="repeats=auto: the first look (repeats_min)")
    parser.add_argument("--max", type=int, default=100, help="repeats=auto: the last look (repeats_max)")
    args = parser.parse_args()
    alpha = 0.05
    if args.only_sequential:
        sequential_tables(args, alpha)
        return

    jobs = [(d, c, n, 0.0, args.claims) for d in args.distributions for c in args.kinds for n in args.n]
    jobs += [(d, c, n, s, args.power_claims) for d in args.distributions for c in args.kinds for n in args.n
             for s in args.shifts]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(pool.map(_cell, jobs, chunksize=1))
    elapsed = time.perf_counter() - start

    print(f"alpha = {alpha}; tolerance = 0.5 run-to-run sd; {args.claims} honest and {args.power_claims} shifted claims "
          f"per cell; {elapsed:.0f} s on {args.workers} workers\n")
    for distribution in args.distributions:
        print(f"### {distribution}\n")
        header = ["claim", "n", "false alarm", "MC SE", "<= α+2SE", "consistent", "inconclusive"]
        header += [f"power {s:g}σ" for s in args.shifts]
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for claim in args.kinds:
            for n in args.n:
                honest = results[(distribution, claim, n, 0.0, args.claims)]
                fa, se = honest["inconsistent"], honest["mc_se"]
                ok = "yes" if fa <= alpha + 2 * se else "**NO**"
                row = [claim, str(n), f"{100 * fa:.1f}%", f"{100 * se:.1f}", ok, f"{100 * honest['consistent']:.0f}%",
                       f"{100 * honest['inconclusive']:.0f}%"]
                row += [f"{100 * results[(distribution, claim, n, s, args.power_claims)]['inconsistent']:.0f}%"
                        for s in args.shifts]
                print("| " + " | ".join(row) + " |")
        print()

    if args.coverage_trials:
        print(f"### Coverage of the 95% intervals of the mean ({args.coverage_trials} samples per cell)\n")
        print("| distribution | n | t interval | BCa bootstrap |")
        print("|---|---|---|---|")
        for distribution in ("normal", "lognormal"):
            for n in (3, 5, 8, 10, 20, 30):
                c = mean_interval_coverage(distribution, n, args.coverage_trials)
                print(f"| {distribution} | {n} | {100 * c['t']:.1f}% | {100 * c['bca']:.1f}% |")
        print(f"\nMC SE of a coverage near 95%: {100 * math.sqrt(0.95 * 0.05 / args.coverage_trials):.1f} points\n")
    if args.sequential_claims:
        sequential_tables(args, alpha)


if __name__ == "__main__":
    main()
