"""Config -> plan -> executor -> per-repeat records -> report: one run of a paper."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from replicate.config import RunSettings
from replicate.environment import software_versions
from replicate.plan import RepeatSpec, make_plan
from replicate.store import RecordStore, write_atomic

log = logging.getLogger(__name__)

RUN_FILE = "run.json"


@dataclass
class RunOutcome:
    run_dir: Path
    attempted: int
    completed: int
    failed: int
    diverged: int
    reused: int
    summary: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.failed == 0


def plan_for(settings: RunSettings) -> list[RepeatSpec]:
    return make_plan(settings.paper, settings.repeats, settings.seed, settings.threads, settings.determinism,
                     software_versions(), settings.vary, settings.execution)


def write_run_file(run_dir: Path, settings: RunSettings) -> None:
    """The run's resolved settings: with the records, all a report needs to be rebuilt."""
    payload = {**settings.as_dict(), "versions": software_versions()}
    write_atomic(run_dir / RUN_FILE, json.dumps(payload, indent=1, sort_keys=True) + "\n")


def read_run_file(run_dir: Path) -> dict[str, Any]:
    from replicate.errors import ReplicateError

    path = Path(run_dir) / RUN_FILE
    if not path.exists():
        raise ReplicateError(f"{path}: no such file; fix: pass a run directory written by 'python -m replicate' (it holds run.json and records/)")
    return json.loads(path.read_text(encoding="utf-8"))


def executor_for(settings: RunSettings, model_check: bool = False) -> Callable:
    """The executor's entry point. model_check: the local executor's workers run the dry run's model part before
    their first repeat (they import TensorFlow anyway; the driver then never does)."""
    from replicate.executors import local, serial

    name = settings.executor["name"]
    if name == "serial":
        return serial.execute
    if name == "ray":
        from replicate.executors import ray_executor

        return ray_executor.execute
    return lambda s, todo, store: local.execute(s, todo, store, workers=s.executor.get("workers"),
                                                model_check=model_check)


def self_check(settings: RunSettings, store: RecordStore) -> None:
    """Re-run one finished repeat in a fresh process and store the comparison (selfcheck.json) for the report."""
    import subprocess
    import sys

    from replicate.verify import SELF_CHECK_FILE

    target = store.run_dir / SELF_CHECK_FILE
    index = settings.selfcheck["repeat"]
    if settings.determinism != "bitwise" or not settings.selfcheck["enabled"] or index >= settings.repeats:
        target.unlink(missing_ok=True)
        return
    record = store.read(index)
    if record is None or record["status"] == "failed":
        return
    if target.exists():
        previous = json.loads(target.read_text(encoding="utf-8"))
        if previous and previous[0].get("recorded_weights_sha256") == record.get("weights_sha256"):
            return  # already checked this very record (a resumed run)
    log.info("self-check: re-running repeat %d in a fresh process to compare its bits", index)
    result = subprocess.run(
        [sys.executable, "-m", "replicate.verify", str(store.run_dir), "--repeat", str(index), "--output", str(target)],
        capture_output=True, text=True,
    )
    if result.returncode not in (0, 1):
        log.error("self-check could not run: %s", result.stderr.strip().splitlines()[-1:] or result.returncode)


def dry_run_or_stop(settings: RunSettings, in_workers: bool) -> None:
    """Before the first repeat of a paper: check its data and labels, build, compile and step its model on a few
    examples, so a broken paper stops in seconds with one line (`python -m replicate.check` lists every problem)
    instead of N failed repeats. in_workers: the model part is left to the workers (see executor_for)."""
    from replicate.dryrun import data_problems, model_problems, stop_on
    from replicate.executors.common import load_data

    log.info("dry run: checking %s's data%s", settings.paper["name"],
             "" if in_workers else ", building its model and taking one training step on a few examples")
    data = load_data(settings.paper)
    stop_on(data_problems(settings.paper, data) or
            ([] if in_workers else model_problems(settings.paper, data, settings.threads, settings.determinism)),
            settings.paper["name"])





def run(settings: RunSettings, execute: Optional[Callable] = None) -> RunOutcome:
    """Run every repeat not already finished in the run directory, then write the report."""
    from replicate.report import write_report

    run_dir = Path(settings.output_dir)
    store = RecordStore(run_dir)
    plan = plan_for(settings)
    finished = {spec.index: store.usable(spec.index, spec.identity) for spec in plan}
    todo = [spec for spec in plan if finished[spec.index] is None]
    reused = len(plan) - len(todo)
    if reused and not todo:
        log.info("re-scoring %d finished repeats in %s: nothing to train (claims and report settings are scoring only)",
                 reused, run_dir)
    elif reused:
        log.info("resuming in %s: %d of %d repeats already finished, %d to run", run_dir, reused, len(plan), len(todo))
    write_run_file(run_dir, settings)

    if todo:
        # A paper that has completed a repeat here is known to work.
        check = not any(record and record["status"] == "completed" for record in finished.values())
        in_workers = execute is None and settings.executor["name"] == "local"
        if check:
            dry_run_or_stop(settings, in_workers)
        try:
            (execute or executor_for(settings, model_check=check and in_workers))(settings, todo, store)
        finally:
            from replicate.executors.common import forget_data

            forget_data()

    self_check(settings, store)
    summary = write_report(run_dir)
    counts = summary["repeats"]
    outcome = RunOutcome(
        run_dir=run_dir,
        attempted=counts["attempted"],
        completed=counts["completed"],
        failed=counts["failed"],
        diverged=counts["diverged"],
        reused=reused,
        summary=summary,
    )
    log.info("report: %s", run_dir / "report.md")
    return outcome
