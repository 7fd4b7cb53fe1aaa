"""Wall time of the commands people type first, this checkout against an earlier revision, side by side in one run.

    python benchmarks/bench_default_run.py [--baseline REV] [--rounds 3] [--only default|tmd]

The baseline revision is checked out into a temporary git worktree and run from there; rounds alternate
baseline and current so that a noisy machine weighs on both alike. Every run writes into a fresh run
directory (nothing resumed); the tmd_cnn data are generated once before timing (both revisions read the
same cache). Prints one line per run and a table of medians and ratios (current / baseline).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "default": [],
    "tmd": ["paper=tmd_cnn", "repeats=8", "paper.protocol.epochs=5"],
}


def run(checkout: Path, args: list[str], out: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "replicate", *args, f"hydra.run.dir={out}", "progress=false"],
                            cwd=checkout, env={**env, "PYTHONPATH": str(checkout)}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{checkout}: {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="7af6141", help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(COMMANDS), action="append")
    args = parser.parse_args()
    names = args.only or sorted(COMMANDS)
    scratch = Path(tempfile.mkdtemp(prefix="bench-default-"))
    baseline = scratch / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True,
                   capture_output=True)
    env = {**os.environ, "REPLICATE_DATA_DIR": str(scratch / "data"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        if "tmd" in names:  # generate the synthetic GeoLife set once, untimed
            run(ROOT, ["paper=tmd_cnn", "repeats=1", "paper.protocol.epochs=1", "selfcheck.enabled=false"],
                scratch / "warm", env)
        times: dict[tuple[str, str], list[float]] = {}
        for round_number in range(args.rounds):
            for name in names:
                for label, checkout in (("baseline", baseline), ("current", ROOT)):
                    out = scratch / f"{name}-{label}-{round_number}"
                    seconds = run(checkout, COMMANDS[name], out, env)
                    times.setdefault((name, label), []).append(seconds)
                    print(f"round {round_number + 1}: {name:8s} {label:8s} {seconds:6.1f} s", flush=True)
        print(f"\n| command | baseline {args.baseline} (median s) | current (median s) | current / baseline |")
        print("|---|---|---|---|")
        for name in names:
            old, new = statistics.median(times[(name, "baseline")]), statistics.median(times[(name, "current")])
            shown = " ".join(["python -m replicate", *COMMANDS[name]])
            print(f"| `{shown}` | {old:.1f} | {new:.1f} | {new / old:.2f}x |")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, capture_output=True)


if __name__ == "__main__":
    main()
