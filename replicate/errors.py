"""User-facing errors: one line naming what was wrong, the value received and the fix."""


class ReplicateError(Exception):
    """A problem with the user's input (config, override, data file, record).

    The message is printed as one line without a traceback and the process exits
    non-zero; it should name the file or key, the value received and the fix.
    """

    exit_code = 2


class DataError(ReplicateError):
    """A data file is missing or malformed."""


class ConfigError(ReplicateError):
    """A configuration key has a bad value."""
