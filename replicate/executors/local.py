"""executor=local: units of work in a pool of worker processes on this machine, pinned one per core."""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue
import shutil
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Optional

from replicate.dataset import load_packed, save_packed, unpack
from replicate.driver import RESUME_HINT, Job, Unit, Worker, WorkerLost, die_with_parent

log = logging.getLogger(__name__)

# This worker process's Worker (one per process, made by the pool's initializer).
_worker: dict[str, Any] = {}


def default_workers(threads: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, threads))


def _init_worker(counter, events, cores: list[int], job: Job, data_dir: str) -> None:
    die_with_parent()
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    if hasattr(os, "sched_setaffinity") and len(cores) > 1:
        # One worker per core: two pinned single-thread workers train ~2x one 2-thread process here.
        start = (slot * job.threads) % len(cores)
        os.sched_setaffinity(0, {cores[(start + i) % len(cores)] for i in range(job.threads)})
    _worker.update(worker=Worker(job, unpack(load_packed(Path(data_dir)))), events=events)


def _run_in_worker(unit: Unit):
    events = _worker["events"]
    events.put(("start", os.getpid(), unit.label))  # so the driver can say which unit a dead worker held
    return _worker["worker"].run(unit, on_epoch=lambda repeat, epoch, logs: events.put(("epoch", repeat, epoch, logs)))


class LocalExecutor:
    def __init__(self, run_dir: Path, workers: Optional[int] = None, **options):
        self.run_dir, self.workers = Path(run_dir), workers
        self.pool: Optional[ProcessPoolExecutor] = None
        self.futures: dict = {}
        self.holding: dict[int, str] = {}  # pid -> the unit it runs
        self.processes: dict[int, Any] = {}

    def capacity(self, job: Job) -> int:
        self.threads = job.threads
        return self.workers or default_workers(job.threads)

    def describe(self, size: int) -> str:
        return f"{size} worker process{'es' if size != 1 else ''} ({self.threads} thread(s) each)"

    def start(self, job: Job, size: int, on_epoch) -> None:
        self.on_epoch = on_epoch
        # The data once per run as files every worker memory-maps, instead of a pickled copy per worker.
        self.shared = save_packed(job.data, self.run_dir / ".shared-data")
        # Workers start with this environment: a fixed string-hash seed in each of them.
        os.environ.setdefault("PYTHONHASHSEED", "0")
        if multiprocessing.get_start_method(allow_none=True) not in (None, "fork", "spawn", "forkserver"):
            # Inside a joblib (loky) worker, e.g. a sweep under hydra/launcher=joblib: the default start method is
            # loky's own, which a child spawned by the standard library cannot set up ("cannot find context for
            # 'loky'"). This process only runs our task, so the standard spawn becomes its default.
            multiprocessing.set_start_method("spawn", force=True)
        context = multiprocessing.get_context("spawn")
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
        self.events = context.Queue()
        light = dataclasses.replace(job, data={})  # the workers read the data from the files
        self.pool = ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=_init_worker,
                                        initargs=(context.Value("i", 0), self.events, cores, light, str(self.shared)))

    def submit(self, unit: Unit) -> None:
        self.futures[self.pool.submit(_run_in_worker, unit)] = unit
        # The pool's processes (a private attribute of the standard library's pool, read only to say which
        # worker died and how: BrokenProcessPool itself does not say).
        self.processes.update(getattr(self.pool, "_processes", None) or {})

    def wait(self, timeout: float) -> list:
        done, _ = wait(list(self.futures), timeout=timeout, return_when=FIRST_COMPLETED)
        self._drain()
        finished = []
        for future in done:
            unit = self.futures.pop(future)
            try:
                finished.append((unit, future.result()))
            except BrokenProcessPool:
                finished.append((unit, WorkerLost(self._death(unit))))
            except Exception as error:  # an exception outside any repeat's own try (a bug, or the model check)
                from replicate.errors import ReplicateError

                finished.append((unit, error if isinstance(error, ReplicateError) else WorkerLost(
                    f"a worker process failed running {unit.label}: {type(error).__name__}: {error}; {RESUME_HINT}")))
        return finished

    def _drain(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if event[0] == "start":
                self.holding[event[1]] = event[2]
            else:
                self.on_epoch(*event[1:])

    def _death(self, unit: Unit) -> str:
        """What is known of a dead worker: its pid, the unit it held and how it ended (signal or exit code)."""
        # The pool fails the futures first and then stops and reaps its processes: wait for that to know how
        # each ended. The pool itself stops the survivors with SIGTERM; those are not the cause.
        for process in self.processes.values():
            process.join(timeout=10)
        ended = {pid: process.exitcode for pid, process in self.processes.items() if process.exitcode not in (None, 0)}
        dead = {pid: code for pid, code in ended.items() if code != -signal.SIGTERM} or ended
        if not dead:
            return f"the worker pool broke while {unit.label} waited to run ({self.run_dir}); {RESUME_HINT}"
        parts = []
        for pid, code in dead.items():
            how = f"killed by signal {-code} ({signal.Signals(-code).name})" if code < 0 else f"exited with code {code}"
            parts.append(f"worker process {pid} running {self.holding.get(pid, 'no unit yet')} {how}")
        return f"{'; '.join(parts)} ({self.run_dir}); {RESUME_HINT}"

    def close(self) -> None:
        if self.pool is not None:
            if self.futures:  # units still running after Ctrl-C or a lost worker: stop them
                for process in list(self.processes.values()):
                    if process.exitcode is None:
                        process.terminate()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
            shutil.rmtree(self.run_dir / ".shared-data", ignore_errors=True)  # a copy of the data, not a result
