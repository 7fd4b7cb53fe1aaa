#!/usr/bin/env python
"""execution=vectorized against a plain Python loop over seeds: wall time, epochs per second, GFLOP/s.

    python benchmarks/bench_vectorized.py --paper mlp_sequence     # R=30, E=100 (the paper's own), ~2 min
    python benchmarks/bench_vectorized.py --paper tmd_cnn          # CNN-A, full synthetic size, R=30, E=3, ~5 min

Variants, each timed as the wall clock of whole subprocesses (Python and TensorFlow start-up included):

  plain        the tutorial's loop in one process (bench_executors.py's `plain` child: set_random_seed, build,
               compile, model.fit on numpy arrays, evaluate), TensorFlow's default threads. For tmd_cnn it
               runs --plain-repeats seeds (its rate per epoch does not depend on how many).
  per_repeat   `python -m replicate ... execution=per_repeat` (the default local executor, a worker per core).
  vectorized   `python -m replicate ... execution=vectorized` (local executor: groups of R/workers replicas).
  vectorized_serial   the same in the main process (executor=serial, one group of R).

The replicate variants run with selfcheck.enabled=false (the self-check re-runs a repeat in a fresh process,
the same cost for every path); `--selfcheck` also times the full default command.

GFLOP/s (tmd_cnn): the model's multiply-adds counted from its layers (Conv2D and Dense; 2 FLOP each),
training = forward + weight gradients + input gradients (all but the first layer), plus one forward pass
over the monitored split per epoch; compared with a float32 2048x2048 matmul timed here with TensorFlow on
all cores.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
DEFAULTS = {"mlp_sequence": (30, 100, 30), "tmd_cnn": (30, 3, 3)}  # repeats, epochs, plain-loop repeats


def _executors_bench():
    """bench_executors.py's helpers (plain-loop child, timing, machine description), loaded by path."""
    spec = importlib.util.spec_from_file_location("bench_executors", SCRIPT.parent / "bench_executors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def flops_per_epoch(paper: dict, data_shape: tuple, num_outputs: int, train_examples: int,
                    monitored_examples: int) -> dict[str, float]:
    """FLOPs of one epoch of the paper's model (see the module docstring); runs in a child (imports Keras)."""
    import numpy as np

    from replicate.train import instantiate

    model = instantiate(paper["model"], input_shape=tuple(data_shape), num_outputs=num_outputs)
    forward, first_layer = 0.0, None
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        outputs = float(np.prod(layer.output.shape[1:]))
        per_output = float(np.prod(kernel.shape[:-1]))  # fan-in of one output
        layer_flops = 2.0 * outputs * per_output
        forward += layer_flops
        first_layer = layer_flops if first_layer is None else first_layer
    train = 3.0 * forward - (first_layer or 0.0)
    return {"forward_per_example": forward, "train_per_example": train,
            "epoch": train * train_examples + forward * monitored_examples}


def matmul_gflops() -> float:
    import tensorflow as tf

    a = tf.random.stateless_uniform((2048, 2048), seed=(1, 2))
    tf.linalg.matmul(a, a).numpy()
    started, count = time.perf_counter(), 10
    for _ in range(count):
        result = tf.linalg.matmul(a, a)
    result.numpy()
    return count * 2 * 2048**3 / (time.perf_counter() - started) / 1e9


def child_flops(spec: dict) -> dict:
    from replicate import seeding

    seeding.configure_process(os.cpu_count() or 1, "off")
    from replicate.executors.common import load_data
    from replicate.train import split_indices

    paper = spec["paper"]
    data = load_data(paper)
    splits = split_indices(paper, data, {"split": 0})
    protocol = paper["protocol"]
    monitored = len(splits.get(protocol.get("monitor_split") or "", [])) if protocol["keep"] == "best" else 0
    num_outputs = data.num_classes if paper["task"] == "classification" else 1
    result = flops_per_epoch(paper, data.x.shape[1:], num_outputs, len(splits["train"]), monitored)
    result["matmul_gflops"] = matmul_gflops()
    return result


def run_replicate(bench, paper: str, repeats: int, epochs: int, run_dir: Path, *extra: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "replicate", f"paper={paper}", f"repeats={repeats}",
               f"paper.protocol.epochs={epochs}", f"hydra.run.dir={run_dir}", *extra]
    wall, completed = bench.timed(command)
    result: dict[str, Any] = {"command": shlex.join(command), "wall_seconds": wall, "repeats_run": repeats,
                              "exit_code": completed.returncode}
    summary_path = run_dir / "summary.json"
    if completed.returncode != 0 or not summary_path.exists():
        result["error"] = f"exit {completed.returncode}: {bench._tail(completed)}"
        return result
    summary = json.loads(summary_path.read_text())
    result["completed"] = summary["repeats"]["completed"] + summary["repeats"]["diverged"]
    headline = summary["headline"]
    result["headline"] = {"column": headline, "mean": summary["metrics"][headline]["mean"],
                          "std": summary["metrics"][headline]["std"]}
    records = [json.loads(p.read_text()) for p in sorted((run_dir / "records").glob("repeat-*.json"))]
    # Training time alone (no start-up): per-repeat walls; a lockstep group's wall is spread over its replicas.
    result["training_seconds_per_repeat"] = statistics.mean(r["wall_seconds"] for r in records)
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", choices=sorted(DEFAULTS), default="mlp_sequence")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--plain-repeats", type=int)
    parser.add_argument("--variants", nargs="+", default=["plain", "per_repeat", "vectorized", "vectorized_serial"])
    parser.add_argument("--selfcheck", action="store_true", help="also time the default command (self-check on)")
    parser.add_argument("--out", help="write every measurement as JSON to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.child == "flops":
        print("RESULT " + json.dumps(child_flops(json.loads(Path(args.spec).read_text()))), flush=True)
        return 0

    bench = _executors_bench()
    repeats0, epochs0, plain0 = DEFAULTS[args.paper]
    repeats, epochs = args.repeats or repeats0, args.epochs or epochs0
    plain_repeats = args.plain_repeats or min(plain0, repeats)
    meta = {"command": shlex.join(["python", os.path.relpath(SCRIPT, Path.cwd()), *(argv or sys.argv[1:])]),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": bench.machine(), "paper": args.paper,
            "repeats": repeats, "epochs": epochs, "plain_repeats": plain_repeats}
    m = meta["machine"]
    print(f"# bench_vectorized: {args.paper}, R={repeats}, E={epochs}")
    print(f"command: {meta['command']}\nmachine: {m['cpu']}, {m['logical_cores']} logical cores; "
          f"Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}")
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-vectorized-{args.paper}-"))
    results: dict[str, dict] = {}
    try:
        paper = bench.compose_paper(args.paper, epochs, scratch / "compose")
        spec_path = scratch / "spec.json"
        spec_path.write_text(json.dumps({"paper": paper, "epochs": epochs}))
        prepared = bench.child_result(bench.timed([sys.executable, str(bench.SCRIPT), "--child", "prepare",
                                                   "--spec", str(spec_path)])[1])
        print(f"data (loaded once before timing): {prepared['description']}", flush=True)
        if args.paper == "tmd_cnn":
            meta["flops"] = bench.child_result(bench.timed([sys.executable, str(SCRIPT), "--child", "flops",
                                                            "--spec", str(spec_path)])[1])
        steps = {
            "plain": lambda: bench.run_plain(spec_path, list(range(plain_repeats))),
            "per_repeat": lambda: run_replicate(bench, args.paper, repeats, epochs, scratch / "per_repeat",
                                                "execution=per_repeat", "selfcheck.enabled=false"),
            "vectorized": lambda: run_replicate(bench, args.paper, repeats, epochs, scratch / "vectorized",
                                                "execution=vectorized", "selfcheck.enabled=false"),
            "vectorized_serial": lambda: run_replicate(bench, args.paper, repeats, epochs, scratch / "vec_serial",
                                                       "execution=vectorized", "executor=serial",
                                                       "selfcheck.enabled=false"),
        }
        if args.selfcheck:
            steps["vectorized_selfcheck"] = lambda: run_replicate(bench, args.paper, repeats, epochs,
                                                                  scratch / "vec_check", "execution=vectorized")
            args.variants.append("vectorized_selfcheck")
        bench.run_variants(steps, args.variants, results)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(table(meta, results))
    if args.out:
        Path(args.out).write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
        print(f"\nwrote {args.out}")
    return 1 if any(row.get("error") for row in results.values()) else 0


def table(meta: dict, results: dict) -> str:
    epochs = meta["epochs"]
    flops = meta.get("flops")
    plain = results.get("plain")
    plain_rate = plain["repeats_run"] * epochs / plain["wall_seconds"] if plain and "wall_seconds" in plain else None
    lines = ["| variant | repeats | wall s (start-up included) | epochs/s across repeats | ratio to plain loop | "
             "training s per repeat (no start-up) |" + (" achieved GFLOP/s |" if flops else ""),
             "|---|---:|---:|---:|---:|---:|" + ("---:|" if flops else "")]
    for name, row in results.items():
        if "wall_seconds" not in row or row.get("error"):
            lines.append(f"| {name} | — | — | — | — | not measured: {row.get('error')} |" + (" — |" if flops else ""))
            continue
        rate = row["repeats_run"] * epochs / row["wall_seconds"]
        ratio = f"{rate / plain_rate:.2f}x" if plain_rate else "—"
        training = row.get("training_seconds_per_repeat") or row.get("in_process_seconds_per_repeat")
        cells = [name, str(row["repeats_run"]), f"{row['wall_seconds']:.1f}", f"{rate:.2f}", ratio,
                 f"{training:.3f}" if training else "—"]
        if flops:
            cells.append(f"{rate * flops['epoch'] / 1e9:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    if flops:
        lines += ["", f"FLOPs per epoch (training + monitored split): {flops['epoch'] / 1e9:.1f} GFLOP; "
                      f"TensorFlow float32 2048^3 matmul on all cores here: {flops['matmul_gflops']:.0f} GFLOP/s."]
    for name, row in results.items():
        if row.get("headline"):
            lines.append(f"- {name}: {row['headline']['column']} {row['headline']['mean']:.6g} ± "
                         f"{row['headline']['std']:.3g} over {row.get('completed')} repeats")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
