"""One replicate per run directory: an flock on RUN_DIR/.replicate.lock, held for a run, freed when its holder dies."""
from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from replicate.errors import RunDirInUse
from replicate.store import io_error

LOCK_FILE = ".replicate.lock"
# How long a process that found the lock taken waits for the holder's pid to appear (the holder writes it just
# after taking the lock).
_PID_WAIT_SECONDS = 1.0

_held: set[int] = set()  # descriptors of the locks this process holds


def _close_in_forked_child() -> None:
    # A forked child shares the lock's open file description: were it to outlive its parent (kill -9), the run
    # directory would stay locked under a dead pid. Closing the child's copy (not unlocking: that would free the
    # parent's lock too) leaves the lock to the parent alone.
    for descriptor in _held:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    _held.clear()


os.register_at_fork(after_in_child=_close_in_forked_child)


def _holder(descriptor: int) -> str:
    """The pid written in the lock file by the process that holds it ('unknown' if it has not written it yet)."""
    deadline = time.monotonic() + _PID_WAIT_SECONDS
    while True:
        text = os.pread(descriptor, 64, 0).decode("ascii", "replace").strip()
        if text.isdigit() or time.monotonic() > deadline:
            return text if text.isdigit() else "unknown"
        time.sleep(0.05)


@contextlib.contextmanager
def run_dir_lock(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold RUN_DIR's lock for the block, or raise RunDirInUse (one line, exit 2) if a live process holds it.

    flock, not a pid file: the kernel frees the lock when its holder exits or is killed (kill -9 included), so a
    stale lock is taken over without guessing whether a pid is still alive or has been reused. The pid written into
    the file is only for the message.
    """
    run_dir = Path(run_dir)
    path = run_dir / LOCK_FILE
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise io_error(run_dir, error, "cannot write to") from error
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirInUse(f"another replicate (pid {_holder(descriptor)}) is running in {run_dir}; "
                              "wait for it or choose another hydra.run.dir") from None
        except OSError as error:  # e.g. ENOLCK: a file system without locks
            raise io_error(path, error, "cannot lock") from error
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError as error:
            raise io_error(path, error) from error
        _held.add(descriptor)
        try:
            yield path
        finally:
            _held.discard(descriptor)
            with contextlib.suppress(OSError):
                os.ftruncate(descriptor, 0)  # an empty lock file names no holder; the next run writes its own pid
    finally:
        os.close(descriptor)  # closing the only descriptor releases the lock


F = TypeVar("F", bound=Callable[..., Any])


def holding_run_dir(run: F) -> F:
    """Decorator for run(settings, ...): the whole call (training, self-check, report) holds the run dir's lock."""
    @functools.wraps(run)
    def locked(settings: Any, *args: Any, **kwargs: Any) -> Any:
        with run_dir_lock(settings.output_dir):
            return run(settings, *args, **kwargs)

    return locked  # type: ignore[return-value]
