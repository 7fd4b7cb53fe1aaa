"""False-alarm rate and power of every verdict rule on a family of run distributions, by simulation; power against n;
the coverage of the intervals of the mean.

    python benchmarks/bench_calibration.py --quick --out /tmp/calibration.md   # the reduced form (< 10 min, 2 cores)
    python benchmarks/bench_calibration.py                      # every distribution, kind and n; then repeats=auto
    python benchmarks/bench_calibration.py --power-curve        # power vs n, every kind x member; docs/power_curves.png
    python benchmarks/bench_calibration.py --only-sequential --sequential-claims 1000 --distributions normal

The distributions are replicate.calibration.DISTRIBUTIONS: the family's *members* (normal, t10, t5, heavy_lower,
ceiling, discrete, discrete_small, lognormal, lognormal_mild, gamma_loss, fail2, fail5, fail10, fail30), on each of
which every rule is meant to hold its false-alarm rate, and stress cases *beyond the family* (t3, bimodal), reported
only. For the failure members (fail*) the judge is also given which of our runs learned (``learned=``) and the
failure threshold (``failure_threshold=``); ``--without-learned`` leaves both out (a judge that does not take them).

Fixed n: one markdown table per distribution: for each claim kind and n, the share of honest claims called
inconsistent (false alarm, with its Monte-Carlo standard error and whether it is within alpha + 2 MC SE), the shares
called consistent and inconclusive, the share of claims 1-3 sd too good flagged in the wrong direction (pessimistic),
and the share of claims 1, 2 and 3 run-to-run sd too good called inconsistent (power). Then a summary line (cells
within alpha + 2 MC SE, members and beyond the family, and every cell that is not) and a check that power does not
fall as n grows (by more than 2 MC SE of the difference) for each kind x distribution.

repeats=auto (unless --sequential-claims 0): each simulated claim is judged after every repeat from `--first` to
`--max` at its kind's nominal level and stops at its first decision. Per distribution, claim kind and shift: the
nominal level, the share flagged (at shift 0: the false-alarm rate under optional stopping, against alpha + 2 MC SE),
consistent and still inconclusive at the maximum, the mean and 90th percentile of the repeats used, and the fixed-n
design it replaces (the smallest n, from where the fixed-n rule's check is sharp by width, at which the fixed-n rule
at full alpha decides at least 95% of the claims), that design's share flagged on the same draws and the ratio of
repeats.

--power-curve: power against n on the grid 3 5 7 10 15 20 30 50 70 100 for every kind x member at 1, 2 and 3 sd
(--power-claims claims per point): a table per member, the same monotonicity check, and a PNG (--png) with one
panel per claim kind, one line per member at 2 sd, plus the normal member's 1 and 3 sd.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from replicate.calibration import (CLAIMS, DISTRIBUTIONS, POWER_CURVE_NS, mean_interval_coverage,  # noqa: E402
                                   power_drops, simulate, simulate_sequential)

ALPHA = 0.05
QUICK = {  # the reduced form: within 10 minutes on 2 cores
    "n": [3, 10, 30], "claims": 300, "power_claims": 100,
    "distributions": ["normal", "t5", "heavy_lower", "ceiling", "gamma_loss", "fail5", "fail30"],
    "sequential_claims": 150, "sequential_distributions": ["normal", "ceiling", "fail5"],
    "sequential_kinds": ["mean_of_5", "single_run"], "coverage_trials": 0,
}


class Output:
    """Prints markdown and keeps it for --out."""

    def __init__(self):
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def write(self, path: str) -> None:
        Path(path).write_text("\n".join(self.lines) + "\n")


def _cell(args):
    distribution, claim, n, shift, claims, pass_learned = args
    try:
        return args, simulate(distribution, claim, n, shift, claims, pass_learned=pass_learned)
    except Exception as error:  # a judge that rejects a keyword, say: reported in the table, the other cells go on
        return args, {"error": f"{type(error).__name__}: {error}"}


def _sequential_cell(args):
    distribution, claim, shift, claims, first, maximum, pass_learned = args
    try:
        return args, simulate_sequential(distribution, claim, shift, claims, first=first, maximum=maximum,
                                         pass_learned=pass_learned)
    except Exception as error:
        return args, {"error": f"{type(error).__name__}: {error}"}


def _cells(group):
    """Every cell of one (distribution, claim kind) in one process, so that what the judge caches per process (its
    pivot laws, per k and per count of runs that learned) is computed once for the honest and shifted claims at every
    n, not once per worker."""
    return [_cell(job) for job in group]


def _run(function, jobs, workers):
    with ProcessPoolExecutor(workers) as pool:
        return dict(pool.map(function, jobs, chunksize=1))


def _run_cells(jobs, workers):
    """_cell over jobs, grouped by (distribution, claim kind); failure members (the slowest) first."""
    groups = {}
    for job in jobs:
        groups.setdefault(job[:2], []).append(job)
    ordered = sorted(groups.values(), key=lambda group: DISTRIBUTIONS[group[0][0]].failure_threshold is None)
    with ProcessPoolExecutor(workers) as pool:
        return {job: result for done in pool.map(_cells, ordered, chunksize=1) for job, result in done}


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def _family(name: str) -> str:
    return DISTRIBUTIONS[name].family


def _heading(name: str, suffix: str = "", without_learned: bool = False) -> str:
    dist = DISTRIBUTIONS[name]
    where = "member" if dist.family == "member" else "beyond the family"
    return f"### {name}{suffix} ({where})\n\n{dist.about}; run-to-run sd {dist.sigma:.4g}" + (
        " on the log scale" if dist.multiplicative else "") + (
        "; **here judged without** `learned=` / `failure_threshold=` (--without-learned)"
        if without_learned and dist.failure_threshold is not None else "") + "\n"


def _all_failed(results: list[dict]) -> str | None:
    """The error every one of these cells failed with, if they all failed with one."""
    errors = {r.get("error") for r in results}
    return errors.pop() if len(errors) == 1 and None not in errors else None


def _within(result: dict, key: str = "inconsistent") -> bool:
    return result[key] <= ALPHA + 2 * result["mc_se"]


def _summary(out: Output, what: str, honest: dict, key: str, label) -> None:
    """The summary line over honest cells {job: result}, members and beyond, and every cell outside the bound."""
    counts = {"member": [0, 0], "beyond": [0, 0]}
    failing, errors = [], {}
    for job, result in honest.items():
        family = _family(job[0])
        counts[family][1] += 1
        if "error" in result:
            errors.setdefault((job[0], result["error"]), []).append(job)
        elif _within(result, key):
            counts[family][0] += 1
        else:
            failing.append(f"{label(job)}: {_pct(result[key])} (MC SE {100 * result['mc_se']:.1f}; limit "
                           f"{_pct(ALPHA + 2 * result['mc_se'])})" + (" [beyond]" if family == "beyond" else ""))
    failing += [f"{distribution}: {len(jobs)} cell(s) not run: {error}" for (distribution, error), jobs in errors.items()]
    member, beyond = counts["member"], counts["beyond"]
    out(f"**{what}: cells within α + 2 MC SE: {member[0]} of {member[1]} (members); beyond-the-family: "
        f"{beyond[0]} of {beyond[1]}**\n")
    if failing:
        out("Cells outside α + 2 MC SE:\n")
        for line in failing:
            out(f"- {line}")
        out()
    if any("unexpected keyword argument 'learned'" in line for line in failing):
        out("(This judge does not take `learned=` / `failure_threshold=` yet; `--without-learned` judges the failure "
            "members without them.)\n")


def _power_check(out: Output, rows_of: dict, distributions: list[str], kinds: list[str], ns_text: str) -> None:
    """rows_of[(distribution, claim)] -> power rows (n, shift, flagged, mc_se); yes/no per kind x distribution."""
    out(f"**power non-decreasing in n within 2 MC SE** (n {ns_text}; every pair n < n′ at each shift, against 2 MC SE "
        "of the difference):\n")
    out("| claim | " + " | ".join(distributions) + " |")
    out("|---|" + "---|" * len(distributions))
    violations = []
    for claim in kinds:
        cells = []
        for distribution in distributions:
            rows = rows_of.get((distribution, claim))
            if rows is None:
                cells.append("error")
                continue
            drops = power_drops(rows)
            cells.append("yes" if not drops else "**no**")
            largest = {}
            for d in drops:
                if d["drop"] > largest.get(d["shift"], {"drop": -1.0})["drop"]:
                    largest[d["shift"]] = d
            violations += [(distribution, claim, d) for d in largest.values()]
        out(f"| {claim} | " + " | ".join(cells) + " |")
    out()
    if violations:
        out("Violations, the largest per shift (power at n, then at the later n′; the drop against its allowance of "
            "2 MC SE):\n")
        for distribution, claim, d in violations:
            out(f"- {distribution} {claim} {d['shift']:g}σ: n={d['n']} {_pct(d['flagged'])} → n′={d['n_later']} "
                f"{_pct(d['flagged_later'])} (drop {100 * d['drop']:.1f} points > {100 * d['allowed']:.1f})"
                + (" [beyond]" if _family(distribution) == "beyond" else ""))
        out()
    else:
        out("No violations.\n")


def fixed_tables(args, out: Output) -> None:
    pass_learned = not args.without_learned
    honest_jobs = [(d, c, n, 0.0, args.claims, pass_learned) for d in args.distributions for c in args.kinds
                   for n in args.n]
    shifted_jobs = [(d, c, n, s, args.power_claims, pass_learned) for d in args.distributions for c in args.kinds
                    for n in args.n for s in args.shifts]
    start = time.perf_counter()
    results = _run_cells(honest_jobs + shifted_jobs, args.workers)
    elapsed = time.perf_counter() - start
    out(f"## Fixed n: alpha = {ALPHA}; tolerance = 0.5 run-to-run sd; {args.claims} honest and {args.power_claims} "
        f"shifted claims per cell; failure members {'without' if args.without_learned else 'with'} the learned mask; "
        f"{elapsed:.0f} s on {args.workers} workers\n")
    out("Columns: claim kind, our repeats n, false-alarm rate (honest claims called inconsistent), its Monte-Carlo SE "
        "(points), whether it is within α + 2 SE, shares of honest claims called consistent and inconclusive, the "
        "share of claims 1-3 sd too good (pooled) called inconsistent in the wrong direction (pessimistic), and the "
        "share of claims 1, 2, 3 sd too good called inconsistent (power).\n")
    shift_header = [f"power {s:g}σ" if i == 0 else f"{s:g}σ" for i, s in enumerate(args.shifts)]
    header = ["claim", "n", "false alarm", "MC SE", "≤ α+2SE", "consistent", "inconclusive", "wrong direction"]
    header += shift_header
    rows_of = {}
    for distribution in args.distributions:
        out(_heading(distribution, without_learned=args.without_learned))
        error = _all_failed([r for job, r in results.items() if job[0] == distribution])
        if error:
            out(f"Every cell: error: {error}\n")
            continue
        out("| " + " | ".join(header) + " |")
        out("|" + "|".join("---" for _ in header) + "|")
        for claim in args.kinds:
            power_rows = []
            for n in args.n:
                honest = results[(distribution, claim, n, 0.0, args.claims, pass_learned)]
                shifted = [results[(distribution, claim, n, s, args.power_claims, pass_learned)] for s in args.shifts]
                if "error" in honest or any("error" in r for r in shifted):
                    error = honest.get("error") or next(r["error"] for r in shifted if "error" in r)
                    out(f"| {claim} | {n} | error: {error} |" + " |" * (len(header) - 3))
                    power_rows = None
                    continue
                fa, se = honest["inconsistent"], honest["mc_se"]
                wrong = sum(r["wrong_direction"] for r in shifted) / len(shifted)
                row = [claim, str(n), _pct(fa), f"{100 * se:.1f}", "yes" if _within(honest) else "**NO**",
                       f"{100 * honest['consistent']:.0f}%", f"{100 * honest['inconclusive']:.0f}%", _pct(wrong)]
                row += [f"{100 * r['inconsistent']:.0f}%" for r in shifted]
                out("| " + " | ".join(row) + " |")
                if power_rows is not None:
                    power_rows += [{"n": n, "shift": s, "flagged": r["inconsistent"], "mc_se": r["mc_se"]}
                                   for s, r in zip(args.shifts, shifted)]
            if power_rows is not None:
                rows_of[(distribution, claim)] = power_rows
        out()
    honest = {job: results[job] for job in honest_jobs}
    _summary(out, "Fixed n", honest, "inconsistent", lambda job: f"{job[0]} {job[1]} n={job[2]}")
    _power_check(out, rows_of, args.distributions, args.kinds, " ".join(map(str, args.n)))


def sequential_tables(args, out: Output) -> None:
    pass_learned = not args.without_learned
    distributions = args.sequential_distributions or args.distributions
    kinds = args.sequential_kinds or args.kinds
    shifts = [0.0] + list(args.shifts)

    def job(d, c, s):
        return (d, c, s, args.sequential_claims if s == 0 else args.power_claims, args.first, args.max, pass_learned)

    jobs = [job(d, c, s) for d in distributions for c in kinds for s in shifts]
    jobs.sort(key=lambda j: j[2])  # honest cells (the long ones) first
    start = time.perf_counter()
    results = _run(_sequential_cell, jobs, args.workers)
    out(f"## repeats=auto: looks after every repeat from {args.first} to {args.max}; alpha = {ALPHA}; tolerance = 0.5 "
        f"run-to-run sd; {args.sequential_claims} honest and {args.power_claims} shifted claims per cell; "
        f"{time.perf_counter() - start:.0f} s on {args.workers} workers\n")
    for distribution in distributions:
        out(_heading(distribution, " (repeats=auto)", args.without_learned))
        error = _all_failed([r for j, r in results.items() if j[0] == distribution])
        if error:
            out(f"Every cell: error: {error}\n")
            continue
        out("| claim | level | shift | flagged | MC SE | ≤ α+2SE | consistent | inconclusive at max | mean n | p90 n | "
            "fixed n | fixed-n flagged | ratio |")
        out("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for claim in kinds:
            for shift in shifts:
                r = results[job(distribution, claim, shift)]
                if "error" in r:
                    out(f"| {claim} | | {shift:g}σ | error: {r['error']} |" + " |" * 9)
                    continue
                ok = ("yes" if _within(r, "flagged") else "**NO**") if shift == 0 else ""
                out(f"| {claim} | {r['level']:.4f} | {shift:g}σ | {_pct(r['flagged'])} | {100 * r['mc_se']:.1f} | "
                    f"{ok} | {100 * r['consistent']:.0f}% | {100 * r['inconclusive']:.0f}% | {r['mean_n']:.1f} | "
                    f"{r['p90_n']:.0f} | {r['fixed_n'] or f'> {args.max}'} | "
                    + (f"{100 * r['fixed_flagged']:.0f}% | {r['ratio']:.2f} |" if r["fixed_n"] else "— | — |"))
        out()
    honest = {j: results[j] for j in jobs if j[2] == 0}
    _summary(out, "repeats=auto", honest, "flagged", lambda j: f"{j[0]} {j[1]} (repeats=auto)")


def coverage_table(args, out: Output) -> None:
    out(f"### Coverage of the 95% intervals of the mean ({args.coverage_trials} samples per cell)\n")
    out("| distribution | n | t interval | BCa bootstrap |")
    out("|---|---|---|---|")
    for distribution in ("normal", "lognormal"):
        for n in (3, 5, 8, 10, 20, 30):
            c = mean_interval_coverage(distribution, n, args.coverage_trials)
            out(f"| {distribution} | {n} | {100 * c['t']:.1f}% | {100 * c['bca']:.1f}% |")
    out(f"\nMC SE of a coverage near 95%: {100 * math.sqrt(0.95 * 0.05 / args.coverage_trials):.1f} points\n")


def power_curves(args, out: Output) -> None:
    pass_learned = not args.without_learned
    distributions = [d for d in args.distributions if _family(d) == "member"] or args.distributions
    ns = args.curve_n
    jobs = [(d, c, n, s, args.power_claims, pass_learned) for d in distributions for c in args.kinds for n in ns
            for s in args.shifts]
    start = time.perf_counter()
    results = _run_cells(jobs, args.workers)
    out(f"## Power against n: {args.power_claims} claims per point; alpha = {ALPHA}; tolerance = 0.5 run-to-run sd; "
        f"{time.perf_counter() - start:.0f} s on {args.workers} workers\n")
    rows_of = {}
    for distribution in distributions:
        out(_heading(distribution, " (power against n)", args.without_learned))
        out("| claim | shift | " + " | ".join(f"n={n}" for n in ns) + " |")
        out("|---|---|" + "---|" * len(ns))
        for claim in args.kinds:
            rows = []
            for shift in args.shifts:
                cells = [results[(distribution, claim, n, shift, args.power_claims, pass_learned)] for n in ns]
                if any("error" in c for c in cells):
                    out(f"| {claim} | {shift:g}σ | error: {next(c['error'] for c in cells if 'error' in c)} |")
                    rows = None
                    break
                rows += [{"n": n, "shift": shift, "flagged": c["inconsistent"], "mc_se": c["mc_se"]}
                         for n, c in zip(ns, cells)]
                out(f"| {claim} | {shift:g}σ | " + " | ".join(f"{100 * c['inconsistent']:.0f}%" for c in cells) + " |")
            if rows is not None:
                rows_of[(distribution, claim)] = rows
        out()
    _power_check(out, rows_of, distributions, args.kinds, " ".join(map(str, ns)))
    if args.png:
        _plot(rows_of, distributions, args.kinds, args.shifts, args.png, args.power_claims)
        out(f"Power curves: {args.png}\n")


def _plot(rows_of, distributions, kinds, shifts, path, claims) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 4
    lines = math.ceil(len(kinds) / columns)
    figure, axes = plt.subplots(lines, columns, figsize=(4.2 * columns, 3.6 * lines), sharex=True, sharey=True,
                                squeeze=False)
    colours = plt.get_cmap("tab20")
    main = 2.0 if 2.0 in shifts else shifts[len(shifts) // 2]
    for index, claim in enumerate(kinds):
        ax = axes[index // columns][index % columns]
        for number, distribution in enumerate(distributions):
            rows = rows_of.get((distribution, claim))
            if rows is None:
                continue
            for shift in shifts:
                if shift != main and distribution != "normal":
                    continue
                curve = sorted((r for r in rows if r["shift"] == shift), key=lambda r: r["n"])
                style = "-" if shift == main else (":" if shift < main else "--")
                label = f"{distribution} {shift:g}σ" if index == 0 and (shift == main or distribution == "normal") \
                    else None
                ax.plot([r["n"] for r in curve], [r["flagged"] for r in curve], style, marker=".", markersize=3,
                        color="black" if distribution == "normal" else colours(number % 20),
                        linewidth=1.6 if distribution == "normal" else 1.0, label=label)
        ax.set_xscale("log")
        grid = sorted({r["n"] for rows in rows_of.values() for r in rows})
        ax.set_xticks(grid, [str(n) for n in grid], fontsize=7)
        ax.minorticks_off()
        ax.set_title(claim)
        ax.axhline(ALPHA, color="grey", linewidth=0.5)
        ax.set_ylim(0, 1.02)
        ax.grid(True, linewidth=0.3)
    for index in range(len(kinds), lines * columns):
        axes[index // columns][index % columns].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("our repeats n")
    for line in axes:
        line[0].set_ylabel("share flagged inconsistent")
    figure.legend(loc="lower center", ncol=6, fontsize=7, frameon=False)
    figure.suptitle(f"Power against n: claims {main:g} run-to-run sd too good, every member (normal also at the other "
                    f"shifts, dotted/dashed); {claims} claims per point; α = {ALPHA}")
    figure.tight_layout(rect=(0, 0.08, 1, 0.97))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="the reduced form (within 10 minutes on 2 cores): " + ", ".join(
                       f"--{key.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                       for key, v in QUICK.items()) + "; options given explicitly still win")
    p.add_argument("--claims", type=int, default=2000, help="honest claims per cell (default 2000)")
    p.add_argument("--power-claims", type=int, default=400, help="shifted claims per cell (default 400)")
    p.add_argument("--distributions", nargs="+", default=list(DISTRIBUTIONS), choices=list(DISTRIBUTIONS),
                   metavar="NAME", help="default: every member and beyond-the-family case: "
                   + " ".join(DISTRIBUTIONS))
    p.add_argument("--kinds", nargs="+", default=list(CLAIMS), choices=list(CLAIMS), metavar="KIND",
                   help="claim kinds, default: " + " ".join(CLAIMS))
    p.add_argument("--n", nargs="+", type=int, default=[3, 5, 10, 30, 100])
    p.add_argument("--shifts", nargs="+", type=float, default=[1.0, 2.0, 3.0])
    p.add_argument("--coverage-trials", type=int, default=2000, help="0 skips the interval coverage table")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--sequential-claims", type=int, default=1000,
                   help="honest claims per repeats=auto cell (shifted ones: --power-claims); 0 skips those tables")
    p.add_argument("--sequential-distributions", nargs="+", default=None, choices=list(DISTRIBUTIONS),
                   metavar="NAME", help="repeats=auto cells: these distributions (default: --distributions)")
    p.add_argument("--sequential-kinds", nargs="+", default=None, choices=list(CLAIMS), metavar="KIND",
                   help="repeats=auto cells: these kinds (default: --kinds)")
    p.add_argument("--only-sequential", action="store_true", help="only the repeats=auto tables")
    p.add_argument("--first", type=int, default=5, help="repeats=auto: the first look (repeats_min)")
    p.add_argument("--max", type=int, default=100, help="repeats=auto: the last look (repeats_max)")
    p.add_argument("--power-curve", action="store_true",
                   help="only power against n (--curve-n) for every kind x member, its table and the PNG (--png)")
    p.add_argument("--curve-n", nargs="+", type=int, default=list(POWER_CURVE_NS))
    p.add_argument("--png", default=str(ROOT / "docs" / "power_curves.png"),
                   help="where --power-curve draws (default docs/power_curves.png; '' for none)")
    p.add_argument("--without-learned", action="store_true",
                   help="judge the failure members without learned= and failure_threshold= (today's judge)")
    p.add_argument("--out", help="also write the markdown to this file")
    return p


def parse(argv=None) -> argparse.Namespace:
    p = parser()
    if p.parse_args(argv).quick:
        p.set_defaults(**QUICK)
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse(argv)
    out = Output()
    start = time.perf_counter()
    command = " ".join(["python benchmarks/bench_calibration.py"] + (sys.argv[1:] if argv is None else list(argv)))
    out(f"`{command}`\n")
    if args.power_curve:
        power_curves(args, out)
    elif args.only_sequential:
        sequential_tables(args, out)
    else:
        fixed_tables(args, out)
        if args.coverage_trials:
            coverage_table(args, out)
        if args.sequential_claims:
            sequential_tables(args, out)
    out(f"Wall time: {time.perf_counter() - start:.0f} s on {args.workers} workers")
    if args.out:
        out.write(args.out)


if __name__ == "__main__":
    main()
