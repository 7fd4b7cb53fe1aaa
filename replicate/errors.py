"""User-facing errors: one line naming what was wrong, the value received and the fix."""
from __future__ import annotations

from typing import Optional


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
