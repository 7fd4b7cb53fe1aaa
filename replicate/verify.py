"""`replicate-verify RUN_DIR [--repeat K]` (or `python -m replicate.verify`): re-run recorded repeats and say whether the bits match."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any, Optional

from replicate.environment import fingerprint
from replicate import cli
from replicate.errors import ReplicateError
from replicate.plan import RepeatSpec
from replicate.store import CorruptRecord, RecordStore, write_atomic

log = logging.getLogger(__name__)


def spec_from_record(record: dict[str, Any]) -> RepeatSpec:
    """The repeat exactly as it was run: its index, seeds and settings come from the record alone."""
    settings = record["settings"]
    return RepeatSpec(
        index=record["repeat"], master_seed=settings["master_seed"], seeds=record["seeds"],
        threads=settings["threads"], determinism=settings["determinism"], identity=record["identity"],
        seed_notes=record.get("seed_notes", {}), unpin_split=settings.get("unpin_split", False),
        execution=settings.get("execution", "per_repeat"),
    )


def _first_difference(old: list[Optional[float]], new: list[Optional[float]]) -> Optional[int]:
    """First epoch (1-based) whose value differs; null (a non-finite loss) equals null."""
    for epoch, (a, b) in enumerate(zip(old, new), start=1):
        if a != b:
            return epoch
    return None if len(old) == len(new) else min(len(old), len(new)) + 1


def compare(original: dict[str, Any], rerun: dict[str, Any]) -> dict[str, Any]:
    """What differs between a recorded repeat and its re-run: hashes, metrics, first differing epoch, environment."""
    differences: list[str] = []
    if original.get("weights_sha256") != rerun.get("weights_sha256"):
        differences.append("final weights (SHA-256)")
    if original.get("init_weights_sha256") != rerun.get("init_weights_sha256"):
        differences.append("initial weights (SHA-256)")
    changed_metrics = sorted(k for k in set(original.get("metrics", {})) | set(rerun.get("metrics", {}))
                             if original.get("metrics", {}).get(k) != rerun.get("metrics", {}).get(k))
    if changed_metrics:
        differences.append("metrics " + ", ".join(changed_metrics))
    first_epoch = None
    for key in sorted(set(original.get("history", {})) | set(rerun.get("history", {}))):
        epoch = _first_difference(original.get("history", {}).get(key, []), rerun.get("history", {}).get(key, []))
        if epoch is not None:
            first_epoch = epoch if first_epoch is None else min(first_epoch, epoch)
    if first_epoch is not None:
        differences.append(f"training history from epoch {first_epoch}")
    environment = {
        key: {"recorded": original.get("environment", {}).get(key), "now": rerun.get("environment", {}).get(key)}
        for key in sorted(set(original.get("environment", {})) | set(rerun.get("environment", {})))
        if key != "executable" and original.get("environment", {}).get(key) != rerun.get("environment", {}).get(key)
    }
    return {
        "repeat": original["repeat"],
        "match": not differences,
        "differences": differences,
        "first_differing_epoch": first_epoch,
        "environment_changes": environment,
        "recorded_weights_sha256": original.get("weights_sha256"),
        "rerun_weights_sha256": rerun.get("weights_sha256"),
    }


def _expected_identities(run_dir: Path) -> Optional[dict[int, str]]:
    """Each slot's identity from run.json (None for a directory without one: only slots are checked then)."""
    from replicate.plan import run_identities

    path = Path(run_dir) / "run.json"
    if not path.exists():
        return None
    return run_identities(json.loads(path.read_text(encoding="utf-8")))


def _identity_of(store: RecordStore, index: int) -> str:
    """The identity a record claims (no run.json to check it against): only its slot is then checked."""
    try:
        return (store.read(index) or {}).get("identity", "")
    except CorruptRecord:
        return ""


def verify(run_dir: Path, repeats: Optional[list[int]] = None, threads: Optional[int] = None) -> list[dict[str, Any]]:
    """Re-run the chosen recorded repeats in this process (from their records alone) and compare.

    `threads` overrides the recorded thread count (to show that it changes the bits).
    """
    from replicate import seeding
    from replicate.executors.common import load_data
    from replicate.replicas import run_task

    store = RecordStore(run_dir)
    paths = store.existing()
    if not paths:
        raise ReplicateError(f"{run_dir}: no records/repeat-*.json; fix: pass a run directory written by 'python -m replicate'")
    indices = repeats if repeats is not None else [int(p.stem.split("-")[1]) for p in paths]
    expected = _expected_identities(run_dir)
    for index in indices:
        if not store.path(index).exists():
            raise ReplicateError(f"{store.path(index)}: no such record; fix: choose --repeat among {', '.join(p.stem.split('-')[1].lstrip('0') or '0' for p in paths)}")
        if expected is not None and index not in expected:
            raise ReplicateError(f"{store.path(index)}: repeat {index} is not one of this run's {len(expected)} repeats; "
                                 f"fix: choose --repeat below {len(expected)}")
    # A corrupt, misplaced (another slot's copy) or foreign record is set aside with a warning, never verified.
    checked = {r["repeat"]: r for r in store.checked({i: expected[i] for i in indices} if expected is not None else
                                                      {i: _identity_of(store, i) for i in indices})}
    for index in indices:
        if index not in checked:
            log.warning("repeat %d: its record was set aside (see the warning above); nothing to verify", index)
    records = [checked[i] for i in indices if i in checked and checked[i]["status"] != "failed"]
    if not records:
        return []
    settings = records[0]["settings"]
    used_threads = threads or settings["threads"]
    seeding.configure_process(used_threads, settings["determinism"])
    data = load_data(records[0]["paper"])
    results = []
    for record in records:
        spec = spec_from_record(record)
        if threads is not None:
            spec = RepeatSpec(**{**spec.__dict__, "threads": threads})
        # A replica of a lockstep group re-runs as a group of one: grouping never changes a replica's bits.
        (rerun,) = run_task(record["paper"], [spec], data)
        rerun["environment"] = fingerprint(used_threads, spec.determinism)
        results.append(compare(record, rerun))
    return results


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=cli.prog("replicate-verify", "replicate.verify"), description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--repeat", type=int, action="append", help="repeat index to re-run (repeatable; default: all)")
    parser.add_argument("--threads", type=int, help="re-run with another thread count (the bits are then expected to differ)")
    parser.add_argument("--output", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        results = verify(args.run_dir, args.repeat, args.threads)
    except ReplicateError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    if not results:
        print(f"{parser.prog}: no record could be verified (set aside, or only failed repeats)", file=sys.stderr)
        return 1
    for result in results:
        if result["match"]:
            print(f"repeat {result['repeat']}: match (weights {result['rerun_weights_sha256'][:12]})")
        else:
            changes = "; ".join(f"{k}: recorded {v['recorded']!r}, now {v['now']!r}" for k, v in result["environment_changes"].items())
            print(f"repeat {result['repeat']}: MISMATCH in {', '.join(result['differences'])}"
                  + (f" — environment changed: {changes}" if changes else " — environment unchanged"))
    if args.output:
        write_atomic(args.output, json.dumps(results, indent=1, default=str) + "\n")
    return 0 if all(r["match"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
