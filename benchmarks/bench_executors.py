#!/usr/bin/env python
"""Repeats (and epochs) per hour for the same training work done five ways, with ratios to the plain loop.

    python benchmarks/bench_executors.py --paper mlp_sequence            # R=30, E=100 (the paper's own), ~8 min on 2 cores
    python benchmarks/bench_executors.py --paper tmd_cnn                 # R=4, E=3 on the synthetic GeoLife data
    python benchmarks/bench_executors.py --variants plain local --out results.json

Variants (each timed as the wall clock of whole subprocesses, so Python/TensorFlow start-up counts the same way):

  plain     what the tutorial does: one process, `for seed in seeds:` keras.utils.set_random_seed(seed), build,
            compile (Adam, the paper's loss), model.fit(x, y, ...) on numpy arrays (Keras' array adapter),
            model.evaluate. TensorFlow's default threads, no op determinism (as a user would run it).
  fresh     a shell loop starting one Python process per seed, each doing one plain repeat.
  joblib    Hydra multirun with the joblib launcher (n_jobs=2), one replicate job per seed (repeats=1,
            executor=serial): every job also writes its own report, and the sweep callback writes sweep_report.md.
  local     replicate's default executor: `python -m replicate repeats=R executor=local ...` (a worker per core).
  overhead  one process, 1 thread, op determinism, jit_compile=False, the tf.data pipeline of replicate/train.py:
            replicate.train.run_repeat against a bare build/compile/fit/predict over the same repeat seeds,
            alternated seed by seed; the overhead is the harness' bookkeeping (seed streams, callback,
            weight hashes, metrics, per-class tables). Record writing is timed separately.

Data generation (tmd_cnn's synthetic set, first use) happens once before anything is timed, in its own process,
into the usual data folder ($REPLICATE_DATA_DIR or data/), so every variant reads the same cached arrays.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
VARIANTS = ("plain", "fresh", "joblib", "local", "overhead")
LABELS = {
    "plain": "plain loop (1 process, Keras array adapter)",
    "fresh": "fresh process per seed (shell loop)",
    "joblib": "Hydra multirun, joblib launcher (n_jobs=2)",
    "local": "replicate executor=local",
}
# (repeats, epochs, repeats of the fresh-process variant) per paper.
DEFAULTS = {"mlp_sequence": (30, 100, 10), "tmd_cnn": (4, 3, 4)}


# ---------------------------------------------------------------------------------------------------------------
# Helpers shared by the parent and the child processes (no TensorFlow at import time).

def _call_target(node: dict, **kwargs: Any) -> Any:
    """Call a resolved config node's `_target_` with its keys plus kwargs, as a user would call the function."""
    module, _, name = node["_target_"].rpartition(".")
    function = getattr(importlib.import_module(module), name)
    return function(**{k: v for k, v in node.items() if k != "_target_"}, **kwargs)


def _load_dataset(paper: dict):
    """The tutorial builds its arrays itself; other papers load as the harness does (executors.common.load_data)."""
    if paper["data"]["_target_"] == "replicate.papers.mlp_sequence.data.load_sequence":
        return _call_target(paper["data"])
    from replicate.executors.common import load_data

    return load_data(paper)


def _arrays(paper: dict, data, split_seed: int) -> dict[str, Any]:
    """Train/test (and monitored) arrays; targets one-hot for a categorical loss, as replicate/train.py does."""
    import numpy as np

    if paper["split"]["_target_"] == "replicate.splits.same_data":
        everything = np.arange(len(data))
        splits = {"train": everything, "test": everything}
    else:
        from replicate.train import split_indices

        splits = split_indices(paper, data, {"split": split_seed})
    num_classes = data.num_classes if paper["task"] == "classification" else None
    loss = paper["protocol"]["loss"]

    def targets(y):
        if num_classes is not None and "categorical" in loss and "sparse" not in loss:
            return np.eye(num_classes, dtype="float32")[y]
        return y

    arrays = {name: (np.asarray(data.x[idx]), targets(np.asarray(data.y[idx])), np.asarray(data.y[idx]))
              for name, idx in splits.items()}
    arrays["num_outputs"] = num_classes if num_classes is not None else (1 if data.y.ndim == 1 else data.y.shape[1])
    return arrays


def _monitor(paper: dict) -> Optional[str]:
    protocol = paper["protocol"]
    if protocol["keep"] == "best" or protocol.get("monitor_split"):
        return protocol.get("monitor_split")
    return None


# ---------------------------------------------------------------------------------------------------------------
# Child processes: `python benchmarks/bench_executors.py --child MODE --spec SPEC.json ...`

def child_prepare(spec: dict) -> dict:
    """Load (and on first use generate) the data once, untimed."""
    started = time.perf_counter()
    data = _load_dataset(spec["paper"])
    return {"examples": len(data), "x_shape": list(data.x.shape), "synthetic": bool(data.synthetic),
            "description": data.description, "seconds": time.perf_counter() - started}


def child_plain(spec: dict, seeds: list[int]) -> dict:
    """The tutorial's loop on numpy arrays; one line of JSON per seed."""
    import keras
    import numpy as np

    paper, epochs = spec["paper"], spec["epochs"]
    protocol = paper["protocol"]
    data = _load_dataset(paper)
    per_seed = []
    for seed in seeds:
        started = time.perf_counter()
        arrays = _arrays(paper, data, seed)
        x_train, y_train, _ = arrays["train"]
        x_test, y_test, _ = arrays["test"]
        keras.utils.set_random_seed(seed)
        model = _call_target(paper["model"], input_shape=tuple(x_train.shape[1:]), num_outputs=arrays["num_outputs"])
        model.compile(optimizer=_call_target(protocol["optimizer"]), loss=protocol["loss"],
                      metrics=["accuracy"] if paper["task"] == "classification" else [])
        monitor = _monitor(paper)
        validation = arrays[monitor][:2] if monitor else None
        model.fit(x_train, y_train, epochs=epochs, batch_size=protocol["batch_size"] or len(x_train),
                  shuffle=bool(protocol["shuffle"]), validation_data=validation, verbose=0)
        result = model.evaluate(x_test, y_test, verbose=0)
        loss = float(result[0] if isinstance(result, (list, tuple)) else result)
        per_seed.append({"seed": seed, "seconds": time.perf_counter() - started, "test_loss": loss,
                         "finite": bool(np.isfinite(loss))})
        print(json.dumps({"plain_repeat": per_seed[-1]}), flush=True)
    return {"repeats": per_seed}


def child_overhead(spec: dict, count: int, record_dir: str) -> dict:
    """run_repeat against a bare loop with the same settings and seeds, alternated, in this one process."""
    from replicate import seeding

    seeding.configure_process(1, "bitwise")
    import keras
    import numpy as np

    from replicate.environment import software_versions
    from replicate.executors.common import load_data
    from replicate.plan import make_plan
    from replicate.store import RecordStore
    from replicate.train import batches, run_repeat, steps_per_epoch

    paper, epochs = spec["paper"], spec["epochs"]
    protocol = paper["protocol"]
    data = load_data(paper)
    specs = make_plan(paper, count, 0, 1, "bitwise", software_versions())
    store = RecordStore(record_dir)

    def bare(repeat_spec) -> float:
        started = time.perf_counter()
        seeds = repeat_spec.seeds
        arrays = _arrays(paper, data, seeds["split"])
        x_train, y_train, _ = arrays["train"]
        keras.backend.clear_session(free_memory=False)  # as replicate's seeding.reset_session
        keras.utils.set_random_seed(seeds["init"])
        model = _call_target(paper["model"], input_shape=tuple(x_train.shape[1:]), num_outputs=arrays["num_outputs"])
        model.compile(optimizer=_call_target(protocol["optimizer"]), loss=protocol["loss"],
                      metrics=["accuracy"] if paper["task"] == "classification" else [], jit_compile=False)
        monitor = _monitor(paper)
        eval_batch = int(protocol.get("eval_batch_size") or 1024)
        validation = batches(*arrays[monitor][:2], eval_batch, None) if monitor else None
        batch_size = int(protocol["batch_size"] or len(x_train))
        order_seed = seeds["order"] if protocol["shuffle"] else None
        train = batches(x_train, y_train, batch_size, order_seed, epochs)
        model.fit(train, epochs=epochs, shuffle=False, validation_data=validation, verbose=0,
                  steps_per_epoch=steps_per_epoch(len(x_train), batch_size) if order_seed is not None else None)
        x_test, _, y_true = arrays["test"]
        y_pred = model.predict(x_test, batch_size=eval_batch, verbose=0)
        if paper["task"] == "classification":
            float(np.mean(np.argmax(y_pred, axis=1) == y_true))
        else:
            float(np.mean((y_pred.reshape(y_true.shape) - y_true) ** 2))
        return time.perf_counter() - started

    def harness(repeat_spec) -> tuple[float, float, str]:
        started = time.perf_counter()
        record = run_repeat(paper, repeat_spec, data)
        middle = time.perf_counter()
        store.write(record)
        return middle - started, time.perf_counter() - middle, record["status"]

    # Warm-up (untimed): TensorFlow's one-time initialisation lands on neither side.
    bare(specs[0])
    harness(specs[0])
    rows = []
    for position, repeat_spec in enumerate(specs):
        if position % 2 == 0:
            bare_s = bare(repeat_spec)
            harness_s, write_s, status = harness(repeat_spec)
        else:
            harness_s, write_s, status = harness(repeat_spec)
            bare_s = bare(repeat_spec)
        rows.append({"repeat": repeat_spec.index, "bare_seconds": bare_s, "run_repeat_seconds": harness_s,
                     "record_write_seconds": write_s, "status": status})
    return {"repeats": rows}


def child_main(args: argparse.Namespace) -> None:
    spec = json.loads(Path(args.spec).read_text())
    if args.child == "prepare":
        result = child_prepare(spec)
    elif args.child == "plain":
        result = child_plain(spec, [int(s) for s in args.seeds.split(",")])
    elif args.child == "overhead":
        result = child_overhead(spec, args.count, args.record_dir)
    else:
        raise SystemExit(f"unknown child mode {args.child}")
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------------------------
# The parent: compose, prepare, time each variant, print.

def compose_paper(paper: str, epochs: int, scratch: Path) -> dict:
    """The resolved paper config, composed with Hydra's compose API as tests/conftest.py does."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from replicate import config, schema

    schema.register()
    config.register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config.CONF_DIR), version_base="1.3"):
        cfg = compose(config_name="config",
                      overrides=[f"paper={paper}", f"paper.protocol.epochs={epochs}", f"output_dir={scratch}"])
    return config.settings_from_config(cfg).paper


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)
    env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def timed(command: list[str], timeout: Optional[float] = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - started, completed


def child_result(completed: subprocess.CompletedProcess) -> dict:
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"child failed (exit {completed.returncode}): {_tail(completed)}")


def _tail(completed: subprocess.CompletedProcess, lines: int = 6) -> str:
    text = (completed.stderr or "") + (completed.stdout or "")
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {"cpu": model, "logical_cores": os.cpu_count(), "usable_cores": usable, "python": platform.python_version(),
            "tensorflow": version("tensorflow") if version("tensorflow") != "not installed" else version("tensorflow-cpu"),
            "keras": version("keras"), "hydra": version("hydra-core"),
            "hydra_joblib_launcher": version("hydra-joblib-launcher"), "joblib": version("joblib"),
            "platform": platform.platform()}


def run_plain(spec_path: Path, seeds: list[int]) -> dict:
    command = [sys.executable, str(SCRIPT), "--child", "plain", "--spec", str(spec_path),
               "--seeds", ",".join(map(str, seeds))]
    wall, completed = timed(command)
    result = child_result(completed)
    per_repeat = [row["seconds"] for row in result["repeats"]]
    return {"command": shlex.join(command), "wall_seconds": wall, "repeats_run": len(seeds),
            "completed": sum(row["finite"] for row in result["repeats"]),
            "in_process_seconds_per_repeat": statistics.mean(per_repeat)}


def run_fresh(spec_path: Path, seeds: list[int]) -> dict:
    one = shlex.join([sys.executable, str(SCRIPT), "--child", "plain", "--spec", str(spec_path), "--seeds"])
    script = f"for seed in {' '.join(map(str, seeds))}; do {one} $seed || exit 1; done"
    command = ["bash", "-c", script]
    wall, completed = timed(command)
    if completed.returncode != 0:
        raise RuntimeError(f"shell loop failed (exit {completed.returncode}): {_tail(completed)}")
    rows = [json.loads(line)["plain_repeat"] for line in completed.stdout.splitlines() if line.startswith('{"plain_repeat"')]
    return {"command": shlex.join(command), "wall_seconds": wall, "repeats_run": len(seeds),
            "completed": sum(row["finite"] for row in rows)}


def _summaries(directory: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(directory.glob("**/summary.json"))]


def run_joblib(paper: str, repeats: int, epochs: int, sweep_dir: Path) -> dict:
    command = [sys.executable, "-m", "replicate", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
               f"paper={paper}", f"seed={','.join(str(s) for s in range(repeats))}", "repeats=1", "executor=serial",
               "selfcheck.enabled=false", f"paper.protocol.epochs={epochs}", f"hydra.sweep.dir={sweep_dir}"]
    wall, completed = timed(command)
    summaries = _summaries(sweep_dir)
    done = sum(s["repeats"]["completed"] + s["repeats"].get("diverged", 0) for s in summaries)
    result = {"command": shlex.join(command), "wall_seconds": wall, "repeats_run": repeats, "completed": done,
              "exit_code": completed.returncode}
    if completed.returncode != 0 or len(summaries) != repeats:
        result["error"] = (f"the joblib launcher could not run our config: exit {completed.returncode}, "
                           f"{len(summaries)}/{repeats} job reports written; {_tail(completed)}")
    return result


def run_local(paper: str, repeats: int, epochs: int, run_dir: Path) -> dict:
    command = [sys.executable, "-m", "replicate", f"paper={paper}", f"repeats={repeats}", "executor=local",
               "execution=per_repeat",  # the executor alone (lockstep: bench_vectorized.py)
               "selfcheck.enabled=false", f"paper.protocol.epochs={epochs}", f"hydra.run.dir={run_dir}"]
    wall, completed = timed(command)
    summaries = _summaries(run_dir)
    done = sum(s["repeats"]["completed"] + s["repeats"].get("diverged", 0) for s in summaries)
    result = {"command": shlex.join(command), "wall_seconds": wall, "repeats_run": repeats, "completed": done,
              "exit_code": completed.returncode}
    if completed.returncode != 0:
        result["error"] = f"exit {completed.returncode}: {_tail(completed)}"
    return result


def run_overhead(spec_path: Path, count: int, record_dir: Path) -> dict:
    command = [sys.executable, str(SCRIPT), "--child", "overhead", "--spec", str(spec_path), "--count", str(count),
               "--record-dir", str(record_dir)]
    wall, completed = timed(command)
    rows = child_result(completed)["repeats"]
    bare = [row["bare_seconds"] for row in rows]
    harness = [row["run_repeat_seconds"] for row in rows]
    write = [row["record_write_seconds"] for row in rows]
    paired = [(h - b) / b * 100 for h, b in zip(harness, bare)]
    return {"command": shlex.join(command), "wall_seconds": wall, "repeats_run": count,
            "completed": sum(row["status"] in ("completed", "diverged") for row in rows),
            "bare_mean_seconds": statistics.mean(bare), "run_repeat_mean_seconds": statistics.mean(harness),
            "record_write_mean_seconds": statistics.mean(write),
            "overhead_percent": (statistics.mean(harness) / statistics.mean(bare) - 1) * 100,
            "overhead_percent_median_paired": statistics.median(paired), "rows": rows}


def run_variants(steps: dict, names: list[str], results: dict[str, dict]) -> None:
    """Run each named variant in turn; one that cannot run is reported with its error, never faked."""
    for name in names:
        print(f"running {name} ...", flush=True)
        try:
            results[name] = steps[name]()
        except Exception as error:
            results[name] = {"error": f"{type(error).__name__}: {error}"}
        row = results[name]
        finished = f", {row['completed']}/{row['repeats_run']} finished" if "completed" in row else ""
        print(f"  {name}: " + (row.get("error") or f"{row['wall_seconds']:.1f} s{finished}"), flush=True)
        if "command" in row:
            print(f"  $ {row['command']}", flush=True)


def fmt(value: Optional[float], digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def report(meta: dict, results: dict, epochs: int) -> str:
    lines = []
    plain = results.get("plain")
    plain_rate = plain["repeats_run"] / plain["wall_seconds"] if plain and "wall_seconds" in plain else None
    header = "| variant | repeats run | completed | wall s | repeats/hour | epochs/s | ratio to plain loop |"
    lines += [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for name in ("plain", "fresh", "joblib", "local"):
        if name not in results:
            continue
        row = results[name]
        if "wall_seconds" not in row:
            lines.append(f"| {LABELS[name]} | — | — | — | — | — | not measured: {row.get('error', '')} |")
            continue
        rate = row["repeats_run"] / row["wall_seconds"]
        ratio = f"{rate / plain_rate:.2f}x" if plain_rate else "—"
        if row.get("error"):
            ratio += f" (FAILED: {row['error']})"
        lines.append(f"| {LABELS[name]} | {row['repeats_run']} | {row['completed']} | {fmt(row['wall_seconds'])} | "
                     f"{fmt(rate * 3600, 0)} | {fmt(rate * epochs, 1)} | {ratio} |")
    overhead = results.get("overhead")
    if overhead and "bare_mean_seconds" in overhead:
        lines += ["", "Harness overhead per repeat (one process, 1 thread, op determinism, jit_compile=False, tf.data; "
                  f"{overhead['repeats_run']} seeds alternated, after one untimed warm-up each; wall of that process "
                  f"{fmt(overhead['wall_seconds'])} s):", "",
                  "| loop | s/repeat | epochs/s | overhead vs bare fit |", "|---|---:|---:|---:|",
                  f"| bare build/compile/fit/predict | {overhead['bare_mean_seconds']:.3f} | "
                  f"{fmt(epochs / overhead['bare_mean_seconds'])} | — |",
                  f"| replicate.train.run_repeat | {overhead['run_repeat_mean_seconds']:.3f} | "
                  f"{fmt(epochs / overhead['run_repeat_mean_seconds'])} | "
                  f"{overhead['overhead_percent']:+.1f}% (median of paired: {overhead['overhead_percent_median_paired']:+.1f}%) |",
                  f"| + writing its record (RecordStore.write) | {overhead['record_write_mean_seconds']:.3f} | — | "
                  f"{overhead['record_write_mean_seconds'] / overhead['bare_mean_seconds'] * 100:+.1f}% more |"]
        if plain and "in_process_seconds_per_repeat" in plain:
            lines.append(f"| (for scale) plain loop in-process, Keras array adapter, TF default threads | "
                         f"{plain['in_process_seconds_per_repeat']:.3f} | "
                         f"{fmt(epochs / plain['in_process_seconds_per_repeat'])} | — |")
    elif overhead:
        lines += ["", f"Harness overhead: not measured: {overhead.get('error')}"]
    return "\n".join(lines)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paper", choices=sorted(DEFAULTS), default="mlp_sequence")
    parser.add_argument("--repeats", type=int, help="R (default: 30 for mlp_sequence, 4 for tmd_cnn)")
    parser.add_argument("--epochs", type=int, help="E (default: 100 for mlp_sequence, the paper's own; 3 for tmd_cnn)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS), metavar="VARIANT",
                        help=f"any of {' '.join(VARIANTS)} (default: all)")
    parser.add_argument("--fresh-repeats", type=int,
                        help="seeds for the fresh-process variant, whose cost is one independent process per seed "
                             "(default: min(R, 10) for mlp_sequence to keep the run under ~10 minutes; R for tmd_cnn)")
    parser.add_argument("--overhead-repeats", type=int, help="seeds for the overhead variant (default: R)")
    parser.add_argument("--out", help="write every measurement as JSON to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run directories (printed)")
    # Internal: the child processes.
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--record-dir", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return 0
    sys.path.insert(0, str(ROOT))
    default_repeats, default_epochs, default_fresh = DEFAULTS[args.paper]
    repeats = args.repeats or default_repeats
    epochs = args.epochs or default_epochs
    fresh_repeats = args.fresh_repeats or (min(repeats, default_fresh) if args.repeats is None else repeats)
    overhead_repeats = args.overhead_repeats or repeats
    command_line = shlex.join(["python", os.path.relpath(SCRIPT, Path.cwd()), *(sys.argv[1:] if argv is None else argv)])
    meta = {"date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"), "command": command_line,
            "paper": args.paper, "repeats": repeats, "epochs": epochs, "machine": machine(),
            "data_dir": os.environ.get("REPLICATE_DATA_DIR", str(ROOT / "data"))}
    m = meta["machine"]
    print(f"# bench_executors: {args.paper}, R={repeats}, E={epochs}")
    print(f"date: {meta['date']}")
    print(f"command: {command_line}")
    print(f"machine: {m['cpu']}, {m['logical_cores']} logical cores ({m['usable_cores']} usable); {m['platform']}")
    print(f"software: Python {m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}, Hydra {m['hydra']}, "
          f"hydra-joblib-launcher {m['hydra_joblib_launcher']}, joblib {m['joblib']}")

    if args.paper == "tmd_cnn" and not (ROOT / "papers" / "tmd_cnn" / "data.py").exists():
        print("tmd_cnn: not available yet (papers/tmd_cnn/data.py, the synthetic data loader, does not exist); "
              "nothing measured")
        if args.out:
            Path(args.out).write_text(json.dumps({**meta, "status": "not available yet"}, indent=1) + "\n")
        return 0

    scratch = Path(tempfile.mkdtemp(prefix=f"bench-executors-{args.paper}-"))
    results: dict[str, dict] = {}
    try:
        paper = compose_paper(args.paper, epochs, scratch / "compose")
        spec_path = scratch / "spec.json"
        spec_path.write_text(json.dumps({"paper": paper, "epochs": epochs}))
        started = time.perf_counter()
        _, completed = timed([sys.executable, str(SCRIPT), "--child", "prepare", "--spec", str(spec_path)])
        prepared = child_result(completed)
        meta["data"] = prepared
        print(f"data (loaded once before timing, {time.perf_counter() - started:.1f} s): {prepared['description']} "
              f"x{tuple(prepared['x_shape'])}{' [synthetic]' if prepared['synthetic'] else ''}")
        print(f"protocol: batch_size={paper['protocol']['batch_size'] or 'whole training set'}, "
              f"shuffle={paper['protocol']['shuffle']}, keep={paper['protocol']['keep']}, "
              f"monitored split={_monitor(paper) or 'none'}; replicate: 1 thread per repeat, op determinism")
        print(f"scratch: {scratch}{' (kept)' if args.keep else ' (removed at the end)'}", flush=True)

        steps = {
            "plain": lambda: run_plain(spec_path, list(range(repeats))),
            "fresh": lambda: run_fresh(spec_path, list(range(fresh_repeats))),
            "joblib": lambda: run_joblib(args.paper, repeats, epochs, scratch / "joblib-sweep"),
            "local": lambda: run_local(args.paper, repeats, epochs, scratch / "local-run"),
            "overhead": lambda: run_overhead(spec_path, overhead_repeats, scratch / "overhead-records"),
        }
        run_variants(steps, [name for name in VARIANTS if name in args.variants], results)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(report(meta, results, epochs))
    notes = ["", "Notes:",
             "- wall s: the whole subprocess(es), Python and TensorFlow start-up included; repeats/hour = repeats run / wall.",
             "- plain and fresh use TensorFlow's default threads and no op determinism (what a user runs); joblib, "
             "local and overhead run replicate's settings: 1 thread per repeat, op determinism, jit_compile=False.",
             "- joblib: each job is a full replicate run (master seed k, repeat 0) that writes its own report and plots; "
             "the sweep callback then writes sweep_report.md."]
    if "fresh" in args.variants and fresh_repeats != repeats:
        notes.append(f"- fresh ran {fresh_repeats} of the {repeats} seeds (one independent process each, so its rate "
                     "does not depend on how many); --fresh-repeats changes it.")
    print("\n".join(notes))
    if args.out:
        Path(args.out).write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
        print(f"\nwrote {args.out}")
    failed = [name for name, row in results.items() if row.get("error")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
