"""Config -> plan -> executor -> per-repeat records -> report: one run of a paper."""
from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from replicate.config import RunSettings
from replicate.driver import Outcome, die_with_parent, drive
from replicate.errors import run_exit_status
from replicate.environment import software_versions
from replicate.lock import holding_run_dir
from replicate.plan import RepeatSpec, make_plan
from replicate.progress import Terminal
from replicate.runfile import SELF_CHECK_FILE, write_run_file
from replicate.store import RecordStore, write_atomic

log = logging.getLogger(__name__)


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
        return self.exit_status == 0

    @property
    def exit_status(self) -> int:
        """0, REPEATS_FAILED_EXIT or NOTHING_LEARNED_EXIT (replicate.errors.run_exit_status)."""
        return run_exit_status(self.summary)


def plan_for(settings: RunSettings) -> list[RepeatSpec]:
    """The run's repeats; under hydra.verbose=true the log shows each one's identity and seeds (what a record must
    match to be reused, and what `replicate-verify` re-runs from)."""
    plan = make_plan(settings.paper, settings.planned, settings.seed, settings.threads, settings.determinism,
                     software_versions(), settings.vary, settings.execution)
    log.debug("plan: %d repeats of %s, master seed %d, threads=%d, determinism=%s, vary=%s, execution=%s",
              len(plan), settings.paper["name"], settings.seed, settings.threads, settings.determinism,
              "the paper's sources" if settings.vary is None else list(settings.vary), settings.execution)
    for spec in plan:
        log.debug("plan: repeat %d identity %s seeds %s%s", spec.index, spec.identity[:16],
                  ", ".join(f"{source}={seed}" for source, seed in spec.seeds.items()),
                  "".join(f"; {source} {note}" for source, note in spec.seed_notes.items()) if spec.index == 0 else "")
    return plan


def self_check_spec(settings: RunSettings, store: RecordStore, plan: list[RepeatSpec],
                    finished: dict[int, Optional[dict]]) -> Optional[RepeatSpec]:
    """The repeat the self-check re-runs (as one repeat on its own, the per_repeat path, so that a lockstep original
    is also checked against the other path), or None: disabled, determinism=off, or that very record already
    checked (a resumed run). finished: repeat index -> its reusable record (run() has read them all)."""
    target = store.run_dir / SELF_CHECK_FILE
    index = settings.selfcheck["repeat"]
    if settings.determinism != "bitwise" or not settings.selfcheck["enabled"] or index >= settings.planned:
        target.unlink(missing_ok=True)
        return None
    record = finished[index]  # never a failed one: the store sets those aside to re-run
    if record is not None and target.exists():
        previous = json.loads(target.read_text(encoding="utf-8"))
        if previous and previous[0].get("recorded_weights_sha256") == record.get("weights_sha256"):
            return None
    return dataclasses.replace(plan[index], execution="per_repeat")


def finish_self_check(spec: RepeatSpec, store: RecordStore, outcome: Outcome, terminal: Optional[Terminal] = None) -> None:
    """Compare the re-run with the stored record and write selfcheck.json (what was compared, in words, included).
    When the re-run could not run in another process than the original (one worker, executor=serial), repeat it
    in a fresh process now (python -m replicate.verify), as a reviewer would."""
    from replicate.verify import compare

    target = store.run_dir / SELF_CHECK_FILE
    record = store.read(spec.index)
    if record is None or record["status"] == "failed":
        target.unlink(missing_ok=True)
        return
    original = outcome.ran_in.get(spec.index)  # None: trained by an earlier command, so in another process
    if outcome.recheck is not None and outcome.recheck_pid != original:
        result = compare(record, outcome.recheck)
        group = (record.get("execution") or {}).get("group") or []
        path = f"in a lockstep group of {len(group)}" if len(group) > 1 else "on its own"
        fresh = "a fresh worker process" if outcome.recheck_fresh else "another worker process"
        result["how"] = (f"re-run on its own (execution=per_repeat) in {fresh} while the run trained, against its "
                         f"record (trained {path}" + (" by an earlier command)" if original is None else
                                                        f" in process {original})"))
        write_atomic(target, json.dumps([result], indent=1, default=str) + "\n")
        return
    with (terminal or Terminal(False)).phase(f"self-check: re-running repeat {spec.index} in a fresh process to "
                                              "compare its bits"):
        result = subprocess.run(
            [sys.executable, "-m", "replicate.verify", str(store.run_dir), "--repeat", str(spec.index), "--output",
             str(target)],
            capture_output=True, text=True, preexec_fn=die_with_parent,  # dies with this process (kill -9 included)
        )
    if result.returncode not in (0, 1):
        log.error("self-check could not run: %s", result.stderr.strip().splitlines()[-1:] or result.returncode)


def load_phase(settings: RunSettings) -> str:
    """What the screen says while the paper's data load: the loader, and that generated data take a while once."""
    target = str(settings.paper["data"].get("_target_", "its loader"))
    slow = "; synthetic data are generated on first use, which can take minutes" if "synthetic" in target else ""
    return f"loading {settings.paper['name']}'s data ({target}{slow})"


def dry_run_data(settings: RunSettings) -> None:
    """Before the first repeat of a paper: check its data and labels here (the workers then build, compile and step
    its model on a few examples before their first unit: Job.model_check), so a broken paper stops in seconds with
    one line (`python -m replicate.check` lists every problem) instead of N failed repeats."""
    from replicate.dryrun import data_problems, stop_on
    from replicate.executors.common import load_data

    log.info("dry run: checking %s's data (the workers check its model before their first repeat)", settings.paper["name"])
    stop_on(data_problems(settings.paper, load_data(settings.paper)), settings.paper["name"])


def auto_design(settings: RunSettings, run_dir: Path):
    """repeats=auto: the stopping rule's design, frozen in run.json when the run starts. A later command on the same
    run directory keeps it (the claims it stops on, alpha, the first look), so a resumed run continues the same
    sequence; repeats_max may be raised (more looks cannot re-decide one already made), not lowered."""
    from replicate.errors import ConfigError
    from replicate.runfile import RUN_FILE
    from replicate.sequential import Design, alpha_of, decidable

    fresh = Design(alpha_of(settings.report), settings.repeats_min, settings.repeats_max,
                   tuple(claim for claim in settings.paper.get("reported") or [] if decidable(claim)),
                   float(settings.report["tolerance"]))
    path = run_dir / RUN_FILE
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if previous.get("repeats") != "auto" or not previous.get("sequential"):
        return fresh
    frozen = Design.from_dict({"tolerance": previous["report"]["tolerance"], **previous["sequential"]})
    if frozen.first != fresh.first or fresh.maximum < frozen.maximum:
        raise ConfigError(
            f"{path}: this repeats=auto run started with repeats_min={frozen.first} and repeats_max={frozen.maximum}, "
            f"and its looks are computed for them (got repeats_min={fresh.first}, repeats_max={fresh.maximum}); fix: "
            f"repeats_min={frozen.first} and repeats_max >= {frozen.maximum}, or another hydra.run.dir for a new run")
    if (frozen.claims, frozen.alpha, frozen.tolerance) != (fresh.claims, fresh.alpha, fresh.tolerance):
        log.warning("repeats=auto: the claims, report.confidence or report.tolerance differ from those this run "
                    "started with; the stopping rule keeps the ones it started with, and the report re-scores the "
                    "new ones")
    return dataclasses.replace(frozen, maximum=fresh.maximum)


class AutoRounds:
    """repeats=auto's rounds for the driver: after each round, the looks over the records (replicate.sequential),
    then the next round's repeats, until every claim is decided or repeats_max is reached."""

    def __init__(self, settings: RunSettings, store: RecordStore, plan: list[RepeatSpec], design):
        from replicate.report.summary import claim_verdict

        self.settings, self.store, self.plan, self.design = settings, store, plan, design
        self.identities = {spec.index: spec.identity for spec in plan}
        self.cache: dict = {}
        frozen = design.scoring(settings.report)
        self.judge = lambda claim, values, alpha: claim_verdict(claim, values, frozen, alpha,  # noqa: E731
                                                                decide_repeats=False)

    def looks(self):
        """The records finished so far and the looks over them (judged once each: the cache)."""
        from replicate.sequential import evaluate

        records = self.store.checked(self.identities)
        return records, evaluate(self.design, records, self.judge, self.cache)

    def finished(self) -> bool:
        return self.looks()[1].finished

    def round_size(self, slots: int) -> int:
        """A round fills the workers, or their lockstep groups (execution=vectorized/auto with `replicas`)."""
        per_unit = 1 if self.settings.execution == "per_repeat" else (self.settings.replicas or 1)
        return max(1, slots * per_unit)

    def __call__(self, slots: int) -> tuple[list[RepeatSpec], str]:
        from replicate.report.summary import learned_on
        from replicate.sequential import next_target

        records, sequence = self.looks()
        if sequence.finished:
            return [], ""
        if sequence.available >= self.design.first and not any(r["status"] == "completed" for r in records):
            log.error("repeats=auto: none of the first %d repeats completed, so no claim can be decided; stopping "
                      "instead of training up to repeats_max=%d (the report lists why they failed)",
                      sequence.available, self.design.maximum)
            return [], ""
        if sequence.available >= self.design.first and not any(learned_on(r, self.settings.headline) for r in records):
            log.error("repeats=auto: none of the first %d repeats learned %s (none did better than the trivial "
                      "predictor made from the training split), so no claim can be decided; stopping instead of "
                      "training up to repeats_max=%d (the report says how they failed)",
                      sequence.available, self.settings.headline, self.design.maximum)
            return [], ""
        target = next_target(sequence, self.round_size(slots))
        have = {record["repeat"] for record in records}
        todo = [spec for spec in self.plan[:target] if spec.index not in have]
        undecided = len(self.design.claims) - len(sequence.decided_at)
        state = (f"{len(sequence.looks)} look(s), {undecided} of {len(self.design.claims)} claim(s) undecided"
                 if sequence.looks else f"first look after {self.design.first} repeats")
        return todo, f"repeats=auto: {state}; next round: repeats {sequence.available}..{target - 1}"


@holding_run_dir  # one replicate per run directory, from the first record read to the report
def run(settings: RunSettings, executor=None) -> RunOutcome:
    """Run every repeat not already finished in the run directory, then write the report. `executor`: one made
    by hand (tests, notebooks); default: the one conf/executor/ names by `_target_`."""
    with Terminal(settings.progress) as terminal:
        return _run(settings, executor, terminal)


def _run(settings: RunSettings, executor, terminal: Terminal) -> RunOutcome:
    from replicate.executors.common import load_data
    from replicate.report import write_report

    run_dir = Path(settings.output_dir)
    store = RecordStore(run_dir)
    plan = plan_for(settings)
    finished = {spec.index: store.usable(spec.index, spec.identity) for spec in plan}
    todo = [spec for spec in plan if finished[spec.index] is None]
    reused = len(plan) - len(todo)
    for index, record in finished.items():
        if record is not None:
            log.debug("resume: repeat %d reused (identity %s matches its record, status %s)",
                      index, plan[index].identity[:16], record["status"])
    if settings.auto:
        if reused:
            log.info("resuming repeats=auto in %s: %d repeats already finished; the looks are recomputed from them",
                     run_dir, reused)
    elif reused and not todo:
        log.info("re-scoring %d finished repeats in %s: nothing to train (claims and report settings are scoring only)",
                 reused, run_dir)
    elif reused:
        log.info("resuming in %s: %d of %d repeats already finished, %d to run", run_dir, reused, len(plan), len(todo))
    rounds = None
    if settings.auto:
        design = auto_design(settings, run_dir)
        rounds = AutoRounds(settings, store, plan, design)
        todo = []  # the rounds say what to train
        write_run_file(run_dir, settings, sequential=design.as_dict())
    else:
        write_run_file(run_dir, settings)

    spec = self_check_spec(settings, store, plan, finished)
    log.debug("self-check: %s", f"repeat {spec.index}" if spec is not None else "none to run")
    if todo or spec is not None or (rounds is not None and not rounds.finished()):
        # A paper that has completed a repeat here is known to work.
        check = not any(record and record["status"] == "completed" for record in finished.values())
        try:
            with terminal.phase(load_phase(settings)):
                load_data(settings.paper)  # kept: the dry run and the driver reuse it
            if check:
                dry_run_data(settings)
            outcome = drive(settings, todo, store, executor, recheck=spec, model_check=check, terminal=terminal,
                            rounds=rounds)
        finally:
            from replicate.executors.common import forget_data

            forget_data()
        if spec is not None:
            finish_self_check(spec, store, outcome, terminal)
    with terminal.phase("writing the report (summary.json, results.csv, report.md, report.html, plots)"):
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
    terminal.verdicts(summary, run_dir)
    return outcome
