"""Repeats in a pool of worker processes on this machine, one core each; workers write their own records."""
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Optional

import numpy as np

from replicate.config import RunSettings
from replicate.dataset import Dataset
from replicate.errors import ReplicateError
from replicate.executors.common import check_data_unchanged, load_data
from replicate.plan import RepeatSpec, tasks
from replicate.progress import make_progress
from replicate.store import RecordStore, write_atomic

log = logging.getLogger(__name__)

_worker: dict[str, Any] = {}


# Every array field of Dataset travels to the workers (folds once did not: a predefined split then failed there).
_ARRAYS = ("x", "y", "groups", "folds")


def share_dataset(data: Dataset, directory: Path) -> Path:
    """Save the dataset once per run so every worker memory-maps its arrays instead of loading its own copy.
    Every field round-trips exactly (open_shared_dataset(...).sha256 == data.sha256; tested field by field)."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    present = {}
    for name in _ARRAYS:
        array = getattr(data, name)
        if array is not None:
            array = np.asarray(array)
            np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=array.dtype == object)
            present[name] = array.dtype == object
    meta = {"class_names": data.class_names, "synthetic": data.synthetic, "description": data.description,
            "provenance": data.provenance, "arrays": present}
    write_atomic(directory / "meta.json", json.dumps(meta, default=str))
    return directory


def open_shared_dataset(directory: Path) -> Dataset:
    import json

    meta = json.loads((directory / "meta.json").read_text())
    arrays = {}
    for name, is_object in meta["arrays"].items():
        # numbers are memory-mapped; labels held as Python objects (e.g. user names) are loaded whole
        arrays[name] = (np.load(directory / f"{name}.npy", allow_pickle=True) if is_object
                        else np.load(directory / f"{name}.npy", mmap_mode="r"))
    for name in ("y", "groups", "folds"):
        if name in arrays:
            arrays[name] = np.asarray(arrays[name])
    return Dataset(**arrays, class_names=meta["class_names"], synthetic=meta["synthetic"],
                   description=meta["description"], provenance=meta["provenance"])


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the main process dies (kill -9 included), so no orphan trains on."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _init_worker(counter, events, cores: list[int], threads: int, determinism: str, data_dir: str, paper: dict,
                 run_dir: str, model_check: bool = False) -> None:
    _die_with_parent()
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    if hasattr(os, "sched_setaffinity") and len(cores) > 1:
        # One worker per core: two pinned single-thread workers train ~2x one 2-thread process here.
        start = (slot * threads) % len(cores)
        os.sched_setaffinity(0, {cores[(start + i) % len(cores)] for i in range(threads)})
    from replicate import seeding

    seeding.configure_process(threads, determinism)
    _worker.update(data=open_shared_dataset(Path(data_dir)), paper=paper, store=RecordStore(run_dir), events=events,
                   model_check=model_check)


def _run_in_worker(task: list[RepeatSpec]) -> list[dict[str, Any]]:
    """One unit of work (a repeat, or a group of replicas); each record is written as soon as it exists.
    With the model check on, a worker's first unit starts with the dry run's model part (raises ConfigError)."""
    from replicate.replicas import run_task

    if _worker.get("model_check"):
        from replicate.dryrun import model_problems, stop_on

        if _worker.get("model_problems") is None:  # once per worker; a broken paper stops every unit it is handed
            _worker["model_problems"] = model_problems(_worker["paper"], _worker["data"], task[0].threads,
                                                       task[0].determinism)
        stop_on(_worker["model_problems"], _worker["paper"]["name"])
    events = _worker["events"]
    summaries = []
    for record in run_task(_worker["paper"], task, _worker["data"],
                           on_epoch=lambda repeat, epoch, logs: events.put((repeat, epoch, logs))):
        _worker["store"].write(record)
        summaries.append({key: record.get(key) for key in ("repeat", "status", "metrics", "wall_seconds")})
    return summaries


def default_workers(threads: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, threads))


def execute(settings: RunSettings, specs: list[RepeatSpec], store: RecordStore,
            workers: Optional[int] = None, model_check: bool = False) -> None:
    workers = min(workers or default_workers(settings.threads), len(specs))
    work = tasks(specs, settings.replicas, workers)
    workers = min(workers, len(work))
    data = load_data(settings.paper)
    check_data_unchanged(data, store)
    shared = share_dataset(data, store.run_dir / ".shared-data")
    del data
    # Workers start with this environment: a fixed string-hash seed in each of them.
    os.environ.setdefault("PYTHONHASHSEED", "0")
    context = multiprocessing.get_context("spawn")
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    log.info("running %d repeats on %d worker processes (%d thread(s) each)%s", len(specs), workers, settings.threads,
             f", in {len(work)} lockstep groups" if settings.execution == "vectorized" else "")
    events = context.Queue()
    progress = make_progress(settings.progress, len(specs), settings.headline, settings.paper["protocol"]["epochs"])
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker,
        initargs=(context.Value("i", 0), events, cores, settings.threads, settings.determinism, str(shared),
                  settings.paper, str(store.run_dir), model_check),
    )
    try:
        pending = {pool.submit(_run_in_worker, task) for task in work}
        while pending:
            done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            _drain(events, progress)
            for future in done:
                for summary in future.result():
                    progress.finished(summary)
    except BrokenProcessPool as error:
        raise ReplicateError(
            f"a worker process died (killed or out of memory) in {store.run_dir}; finished repeats are kept; "
            "fix: run the same command again to resume the missing repeats"
        ) from error
    except KeyboardInterrupt:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        progress.close()
        shutil.rmtree(shared, ignore_errors=True)  # a copy of the data for the workers, not a result


def _drain(events, progress) -> None:
    import queue

    while True:
        try:
            progress.epoch(*events.get_nowait())
        except queue.Empty:
            return
