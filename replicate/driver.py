"""The one driver of a run's repeats: data to the workers, units of work out, records back (it writes every one), progress.

An executor (replicate/executors/) only says *where* a unit of work runs: in this process, in local worker
processes or on Ray actors. Everything else is here, once: loading the data and checking it against finished
records, packing it for the workers (replicate.dataset.pack: every field, one round trip), cutting the repeats
into units (one repeat, or a lockstep group), the self-check's re-run, the progress display, who writes records
(the driver, as each unit comes back: the workers never touch the run directory) and the log lines.

An executor has four methods (see SerialExecutor for the smallest one):
  capacity(job) -> int            units it can run at once (Ray connects to its cluster here)
  start(job, size, on_epoch)      start `size` workers, each a `Worker(job, data)`; on_epoch(repeat, epoch, logs)
  submit(unit) / wait(timeout)    hand out a unit; the (unit, Result or exception) pairs finished since
  close()                         stop every worker (also on Ctrl-C or an error)
and a `describe(size)` for the log line.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Optional

from replicate.dataset import Dataset, pack
from replicate.errors import ReplicateError
from replicate.plan import RepeatSpec, tasks
from replicate.progress import Terminal
from replicate.store import RecordStore

log = logging.getLogger(__name__)

EpochCallback = Callable[[int, int, dict], None]

RESUME_HINT = "finished repeats are kept; fix: run the same command again to resume the missing repeats"


def self_check_bar(index: int) -> str:
    """What the self-check's re-run reports its epochs as: its own bar, not the original repeat's (both may train
    at the same time, in two workers)."""
    return f"self-check: repeat {index}"


class WorkerLost(ReplicateError):
    """A worker died or failed outside any repeat (a repeat's own error is recorded, not raised)."""

    exit_code = 3


@dataclass(frozen=True)
class Job:
    """What every worker of a run needs, wherever it runs: the paper, the process settings and the packed data."""

    paper: dict
    threads: int
    determinism: str
    data: dict  # dataset.pack(...); an executor may ship it another way (the local one as memory-mapped files)
    model_check: bool = False  # run the dry run's model part before the worker's first unit
    versions: dict = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Unit:
    """One unit of work: a repeat, or a group trained in lockstep; `selfcheck` marks the re-run of a repeat."""

    specs: tuple[RepeatSpec, ...]
    selfcheck: bool = False

    @property
    def label(self) -> str:
        indices = [spec.index for spec in self.specs]
        name = "repeat" if len(indices) == 1 else "repeats"
        text = ", ".join(map(str, indices)) if len(indices) <= 4 else f"{indices[0]}-{indices[-1]}"
        return f"the self-check's re-run of repeat {text}" if self.selfcheck else f"{name} {text}"


@dataclass(frozen=True)
class Result:
    records: list[dict[str, Any]]
    pid: int  # the process that trained them (the self-check must run in another one than the original)
    units_before: int = 0  # units that process ran before this one (0: a fresh process)


class Worker:
    """A process's share of a run: configured once (threads, determinism, before TensorFlow starts), holding the
    data, then running unit after unit. Serial runs one in the driver's process, local one per worker process,
    Ray one per actor."""

    def __init__(self, job: Job, data: Dataset):
        from replicate import seeding

        seeding.configure_process(job.threads, job.determinism)
        self.job, self.data = job, data
        self.problems: Optional[list[str]] = None
        self.units_run = 0

    def run(self, unit: Unit, on_epoch: Optional[EpochCallback] = None) -> Result:
        """The unit's records (a failing repeat's record says so; nothing here raises for it). With the model check
        on, the worker's first unit starts with the dry run's model part: a broken paper raises ConfigError."""
        from replicate.replicas import run_task

        if self.job.model_check:
            from replicate.dryrun import model_problems, stop_on

            if self.problems is None:
                self.problems = model_problems(self.job.paper, self.data, self.job.threads, self.job.determinism)
            stop_on(self.problems, self.job.paper["name"])
        if unit.selfcheck and on_epoch is not None:
            report, bar = on_epoch, self_check_bar(unit.specs[0].index)

            def on_epoch(repeat: int, epoch: int, logs: dict) -> None:
                report(bar, epoch, logs)
        records = run_task(self.job.paper, list(unit.specs), self.data, on_epoch)
        self.units_run += 1
        return Result(records, os.getpid(), self.units_run - 1)


def die_with_parent() -> None:
    """Linux: the kernel kills this process when its parent dies (kill -9 included), so no orphan trains on."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class Outcome:
    """What drive() learnt beyond the records it wrote: the self-check's re-run and where the original ran."""

    ran_in: dict[int, int] = dataclasses.field(default_factory=dict)  # repeat index -> pid that trained it
    recheck: Optional[dict[str, Any]] = None  # the re-run's record (not stored as a record)
    recheck_pid: Optional[int] = None
    recheck_fresh: bool = False  # the re-run was the first unit of its process


def executor_from(settings, store: RecordStore):
    """The executor conf/executor/<name>.yaml names by `_target_` (its other keys are its options)."""
    from replicate.train import instantiate

    node = {key: value for key, value in settings.executor.items() if key != "name"}
    return instantiate(node, run_dir=store.run_dir)


# rounds(slots) -> (the next round's repeats, a line saying why), or ([], "") when no round is left (repeats=auto)
Rounds = Callable[[int], tuple[list[RepeatSpec], str]]


def drive(settings, todo: list[RepeatSpec], store: RecordStore, executor=None, recheck: Optional[RepeatSpec] = None,
          model_check: bool = False, terminal: Optional[Terminal] = None, rounds: Optional[Rounds] = None) -> Outcome:
    """Train `todo` (and re-run `recheck`, the self-check, alongside) wherever `executor` runs units; every record
    is written to `store` as its unit comes back. Raises WorkerLost when a worker died (finished records kept).
    `terminal`: the run's screen (runner.run passes its own); default: one for this call, from settings.progress.
    `rounds` (repeats=auto): asked for the first round (before `todo`) and again each time every unit is back, with
    the executor's capacity; the workers stay up between rounds."""
    with contextlib.ExitStack() as stack:
        if terminal is None:
            terminal = stack.enter_context(Terminal(settings.progress))
        return _drive(settings, todo, store, executor, recheck, model_check, terminal, rounds)


def _drive(settings, todo: list[RepeatSpec], store: RecordStore, executor, recheck: Optional[RepeatSpec],
           model_check: bool, terminal: Terminal, rounds: Optional[Rounds] = None) -> Outcome:
    from replicate.environment import software_versions
    from replicate.executors.common import check_data_unchanged, load_data

    if executor is None:
        executor = executor_from(settings, store)
        log.debug("executor: %s (conf/executor/%s.yaml)", type(executor).__name__, settings.executor.get("name"))
    else:
        log.debug("executor: %s (passed in)", type(executor).__name__)
    data = load_data(settings.paper)
    check_data_unchanged(data, store)
    job = Job(settings.paper, settings.threads, settings.determinism, pack(data), model_check, software_versions())
    del data
    slots = executor.capacity(job)
    if rounds is not None:
        first, why = rounds(slots)
        todo = first + list(todo)
        if why:
            log.info("%s", why)
    units = [Unit(tuple(unit)) for unit in tasks(todo, settings.replicas, slots)]
    log.debug("executor capacity: %d unit(s) at once; %d repeat(s) to run as %d unit(s) (execution=%s, replicas=%s)",
              slots, len(todo), len(units), todo[0].execution if todo else settings.execution, settings.replicas)
    for unit in units:
        log.debug("unit: %s%s", unit.label, " (a lockstep group)" if len(unit.specs) > 1 else "")
    if recheck is not None:
        # Second in line, so that with two or more workers it starts at once beside the unit holding the original
        # repeat, in another process (checked below: same process -> the runner re-runs it in a fresh one).
        units.insert(min(1, len(units)), Unit((recheck,), selfcheck=True))
    size = min(slots, len(units))
    outcome = Outcome()
    if not units:
        return outcome
    grouped = any(len(unit.specs) > 1 for unit in units)
    log.info("running %d repeat%s on %s%s%s", len(todo), "" if len(todo) == 1 else "s", executor.describe(size),
             f", in {sum(not u.selfcheck for u in units)} lockstep groups" if grouped else "",
             ", with the self-check's re-run alongside" if recheck is not None else "")
    failure: Optional[BaseException] = None
    if recheck is not None:
        log.debug("self-check: repeat %d re-runs as a unit of its own (execution=%s), second in line",
                  recheck.index, recheck.execution)
    with terminal.progress(len(todo), settings.headline, settings.paper["protocol"]["epochs"]) as progress:
        try:
            progress.starting(f"starting {executor.describe(size)}")
            executor.start(job, size, progress.epoch)
            pending, running = deque(units), 0
            while running or (pending and failure is None):  # after a loss: let running units finish, start none
                while pending and running < size and failure is None:
                    executor.submit(pending.popleft())
                    running += 1
                for unit, result in executor.wait(0.25):
                    running -= 1
                    if isinstance(result, BaseException):
                        if not isinstance(result, WorkerLost):
                            raise result  # e.g. the model check's ConfigError: the paper is broken, stop now
                        log.error("%s lost: %s", unit.label, result)
                        failure = failure or result
                        continue
                    if unit.selfcheck:
                        outcome.recheck, outcome.recheck_pid = result.records[0], result.pid
                        outcome.recheck_fresh = result.units_before == 0
                        progress.unit_done(self_check_bar(unit.specs[0].index))
                        log.debug("self-check: the re-run of repeat %d came back from process %d",
                                  unit.specs[0].index, result.pid)
                        continue
                    for record in result.records:
                        store.write(record)
                        outcome.ran_in[record["repeat"]] = result.pid
                        progress.finished(record)
                    if recheck is not None and running and len(outcome.ran_in) == len(todo):
                        progress.note(f"waiting for {Unit((recheck,), selfcheck=True).label}")
                if rounds is not None and not running and not pending and failure is None:
                    following, why = rounds(slots)
                    if following:
                        todo = todo + following
                        pending.extend(Unit(tuple(unit)) for unit in tasks(following, settings.replicas, slots))
                        progress.grow(len(todo), why)
        finally:
            progress.note("stopping the workers", logging.DEBUG)
            executor.close()
    if failure is not None:
        raise failure
    return outcome
