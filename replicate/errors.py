"""User-facing errors: one line naming what was wrong, the value received and the fix; the exit statuses."""
from __future__ import annotations

from typing import Any, Iterable, Optional

# The main command's exit statuses for runs that reached their report (README, "Exit statuses"); errors exit 2 (this
# module's ReplicateError) or 3 (a lost worker, replicate.driver.WorkerLost).
REPEATS_FAILED_EXIT = 1   # some repeats raised (the report says which and why; the same command re-runs them)
NOTHING_LEARNED_EXIT = 4  # no repeat learned on the headline column, so no claim has a verdict


def run_exit_status(summary: dict[str, Any]) -> int:
    """A run's exit status from its summary (replicate.report.summary.build_summary): REPEATS_FAILED_EXIT when a
    repeat failed (first: the same command re-runs it), else NOTHING_LEARNED_EXIT when no repeat learned, else 0."""
    if (summary.get("repeats") or {}).get("failed"):
        return REPEATS_FAILED_EXIT
    return NOTHING_LEARNED_EXIT if (summary.get("did_not_learn") or {}).get("none_learned") else 0


def worst_exit_status(statuses: Iterable[int]) -> int:
    """The status of a command that made several runs (a variance study's groups, a sweep's configurations):
    REPEATS_FAILED_EXIT if any run had failed repeats, else NOTHING_LEARNED_EXIT if any learned nothing, else 0."""
    found = set(statuses)
    return next((status for status in (REPEATS_FAILED_EXIT, NOTHING_LEARNED_EXIT) if status in found), 0)


class ReplicateError(Exception):
    """A problem with the user's input (config, override, data file, record, run directory).

    The message is printed as one line without a traceback and the process exits with `exit_code` (2 unless
    given); it should name the file or key, the value received and the fix.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: Optional[int] = None):
        super().__init__(message)
        if exit_code is not None:
            # An instance attribute, so it survives pickling from a worker process (it travels in __dict__).
            self.exit_code = exit_code


class DataError(ReplicateError):
    """A data file is missing or malformed."""


class ConfigError(ReplicateError):
    """A configuration key has a bad value."""


class FileSystemError(ReplicateError):
    """A path cannot be created, read or written: a file in the way, no permission, a full or read-only disk."""


class RunDirInUse(ReplicateError):
    """Another live replicate process holds the run directory's lock."""
