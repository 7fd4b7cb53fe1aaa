"""False-alarm rate and power of every verdict rule, by simulation; and the coverage of the intervals of the mean.

    python benchmarks/bench_calibration.py                      # the full table (about 10 minutes on 2 cores)
    python benchmarks/bench_calibration.py --claims 400 --distributions normal --n 3 10

Prints markdown tables: for each distribution of runs, claim kind and n, the share of honest claims called
inconsistent (false alarm, with its Monte-Carlo standard error and whether it is within alpha + 2 MC SE), the share
called consistent and inconclusive, and the share of claims 1, 2 and 3 run-to-run standard deviations too good that
are called inconsistent (power). The simulation itself is replicate.calibration (also used by the tests).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from replicate.calibration import CLAIMS, DISTRIBUTIONS, mean_interval_coverage, simulate  # noqa: E402


def _cell(args):
    distribution, claim, n, shift, claims = args
    return args, simulate(distribution, claim, n, shift, claims)


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
    args = parser.parse_args()
    alpha = 0.05

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
        print(f"\nMC SE of a coverage near 95%: {100 * math.sqrt(0.95 * 0.05 / args.coverage_trials):.1f} points")


if __name__ == "__main__":
    main()
