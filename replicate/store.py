"""Per-repeat records on disk: written atomically, checksummed, reused on resume, never overwritten."""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Optional

from replicate.errors import FileSystemError, ReplicateError

log = logging.getLogger(__name__)

RECORD_SCHEMA = 1
_REQUIRED = ("schema", "repeat", "identity", "status", "seeds", "metrics", "checksum")
FINISHED = ("completed", "diverged")


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def record_checksum(record: dict[str, Any]) -> str:
    body = {key: value for key, value in record.items() if key != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=_plain).encode()).hexdigest()


# Faults the user fixes on their side (a path, a permission, a full or read-only disk): one line and exit 2. Any other
# OSError (ENOENT above all) is more likely a bug in replicate and keeps its traceback.
USER_FIXABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EEXIST,
                          errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG})
_ANOTHER = "choose another run directory (hydra.run.dir)"


def _in_the_way(path: Path) -> Optional[Path]:
    """The file (not folder) at `path` or above it that stops a folder being made there, if any."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def _folder(path: Path) -> Path:
    """The nearest existing folder at or above `path`: the one whose permissions decide whether `path` can be made."""
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            return candidate
    return path


def io_error(path: str | os.PathLike, error: OSError, action: str = "cannot write") -> FileSystemError:
    """One line for a file-system fault at `path`: the path, what the OS said (errno text and name) and the fix.

    action: what was being done, e.g. "cannot write", "cannot read". User-fixable faults (USER_FIXABLE) exit 2,
    others (an I/O error of the disk, say) exit 1.
    """
    path = Path(path)
    code = error.errno
    said = f"{error.strerror or error} ({errno.errorcode.get(code, code)})"
    blocker = _in_the_way(Path(error.filename) if isinstance(error.filename, str) else path)
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = ("free space on that disk or choose a run directory (hydra.run.dir) on another disk, then run the same "
               "command again; finished records are kept and reused")
    elif code in (errno.EACCES, errno.EPERM) and action == "cannot read":
        fix = f"make it readable (chmod u+r {path}) or {_ANOTHER}"
    elif code in (errno.EACCES, errno.EPERM):
        folder = _folder(path)
        fix = f"make {folder} writable (chmod u+w {folder}) or {_ANOTHER}"
    elif code == errno.EROFS:
        fix = f"{_ANOTHER} on a writable disk"
    elif code in (errno.EEXIST, errno.ENOTDIR) and blocker is not None:
        said += f": {'it' if blocker == path else blocker} is a file, not a folder"
        fix = f"move {blocker} away or {_ANOTHER}"
    elif code == errno.EISDIR:
        said += ": a folder is where a file belongs"
        fix = f"move {path} away or {_ANOTHER}"
    elif code == errno.ENAMETOOLONG:
        fix = f"{_ANOTHER} with a shorter path"
    else:
        fix = "check that disk (dmesg, df) and the path, then run the same command again; finished records are kept"
    return FileSystemError(f"{action} {path}: {said}; fix: {fix}", exit_code=2 if code in USER_FIXABLE else 1)


def io_fault(error: BaseException, run_dir: Optional[str | os.PathLike] = None) -> Optional[FileSystemError]:
    """The one-line error for a user-fixable OSError in `error` or its causes, else None (a likely bug: traceback).

    For faults met outside write_atomic: Hydra making the run directory, .hydra/ and its log file (the last wrapped in
    a ValueError by logging.config), a plot saved on a full disk. An OSError that names no file (a write() on a full
    disk) is placed in `run_dir`; without one it is not ours to describe.
    """
    seen: set[int] = set()
    cause: Optional[BaseException] = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in USER_FIXABLE:
            if cause.filename:
                return io_error(os.fsdecode(cause.filename), cause, "cannot use")
            if run_dir is not None:
                return io_error(run_dir, cause, "cannot write in")
        cause = cause.__cause__ or cause.__context__
    return None


def _umask() -> int:
    """The process's current umask, read without changing it: /proc/self/status on Linux (os.umask can only read it
    by setting it, which would race with other threads creating files); elsewhere the value read at import."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return _IMPORT_UMASK


_IMPORT_UMASK = os.umask(0o022)
os.umask(_IMPORT_UMASK)


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, fsync, then rename: readers see all or nothing.

    The file gets the mode a plain open(path, "w") would give (0o666 less the umask), not mkstemp's private 0600:
    reports, records and run.json are for the team's tools and colleagues as much as the PNGs beside them.
    A fault (a full disk, no permission, a file in the way) leaves any earlier file at `path` as it was, removes the
    temporary file and raises io_error's one line.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise io_error(path, error) from error
    try:
        # By name, not os.fchmod(handle): the mode belongs to the file that will be renamed into place.
        os.chmod(temporary, 0o666 & ~_umask())
    except OSError:
        pass  # a file system without Unix modes (some network or FUSE mounts): the file is still written
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise io_error(path, error) from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class CorruptRecord(Exception):
    pass


class RecordStore:
    """The records of one run directory: RUN_DIR/records/repeat-00000.json, one per repeat."""

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self.directory = self.run_dir / "records"

    def path(self, index: int) -> Path:
        return self.directory / f"repeat-{index:05d}.json"

    def write(self, record: dict[str, Any]) -> Path:
        record = {"schema": RECORD_SCHEMA, **{k: v for k, v in record.items() if k != "checksum"}}
        record["checksum"] = record_checksum(record)
        path = self.path(record["repeat"])
        # allow_nan=False: a NaN must have been turned into status 'diverged' and null, never a number.
        write_atomic(path, json.dumps(record, indent=1, sort_keys=True, allow_nan=False, default=_plain) + "\n")
        return path

    def read(self, index: int) -> Optional[dict[str, Any]]:
        """The record of repeat `index`, None if absent; raises CorruptRecord if unreadable or tampered."""
        path = self.path(index)
        if not path.exists():
            return None
        return read_record(path)

    def set_aside(self, index: int, reason: str) -> Path:
        """Move a record that cannot be used out of the way (kept, never deleted) so the repeat re-runs."""
        path = self.path(index)
        target = path.with_name(f"{path.name}.{reason}-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, target)
        except OSError as error:
            raise io_error(path, error, "cannot set aside") from error
        return target

    def usable(self, index: int, identity: str) -> Optional[dict[str, Any]]:
        """A finished record for this exact repeat identity, or None if it must (re-)run.

        A corrupt record and a failed repeat's record are set aside (renamed, kept) and re-run.
        A valid record of a *different* configuration stops the run: it is finished work and is not replaced.
        """
        try:
            record = self.read(index)
        except CorruptRecord as error:
            moved = self.set_aside(index, "corrupt")
            log.warning("%s is corrupt (%s); kept as %s and the repeat runs again", self.path(index), error, moved.name)
            return None
        if record is None:
            return None
        if record["identity"] != identity:
            raise ReplicateError(
                f"{self.path(index)}: this run directory holds repeat {index} of a different configuration "
                f"(identity {record['identity'][:12]}, expected {identity[:12]}); "
                "use another hydra.run.dir or move the old records away"
            )
        if record["status"] not in FINISHED:
            self.set_aside(index, record["status"])
            return None
        return record

    def existing(self) -> list[Path]:
        return sorted(self.directory.glob("repeat-*.json"))

    def set_aside_files(self) -> list[dict[str, str]]:
        """Records moved out of the way earlier (corrupt, failed, misplaced, foreign): file name and reason."""
        found = []
        for path in sorted(self.directory.glob("repeat-*.json.*")):
            if path.name.endswith(".tmp"):
                continue
            reason = path.name.split(".json.", 1)[1].rsplit("-", 2)[0]
            found.append({"file": path.name, "reason": reason})
        return found

    def checked(self, expected: dict[int, str]) -> list[dict[str, Any]]:
        """The records of slots 0..n-1 that belong there: readable, for the repeat their file names, of the
        identity the run expects (``expected``: repeat index -> identity). A corrupt, misplaced (another slot's
        record copied here) or foreign (another configuration's) record is set aside with a warning, as the main
        command does; set_aside_files() lists them afterwards."""
        records = []
        for index, identity in sorted(expected.items()):
            try:
                record = self.read(index)
            except CorruptRecord as error:
                moved = self.set_aside(index, "corrupt")
                log.warning("%s is corrupt (%s); kept as %s and left out", self.path(index), error, moved.name)
                continue
            if record is None:
                continue
            if record["repeat"] != index:
                moved = self.set_aside(index, "misplaced")
                log.warning("%s holds repeat %s's record, not repeat %d's; kept as %s and left out",
                            self.path(index), record["repeat"], index, moved.name)
                continue
            if record["identity"] != identity:
                moved = self.set_aside(index, "foreign")
                log.warning("%s is a record of another configuration (identity %s, expected %s); kept as %s and left out",
                            self.path(index), str(record["identity"])[:12], identity[:12], moved.name)
                continue
            records.append(record)
        return records

    def load(self, indices: Iterable[int]) -> list[dict[str, Any]]:
        records = []
        for index in indices:
            record = self.read(index)
            if record is not None:
                records.append(record)
        return records


def read_record(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes()
    except OSError as error:
        # An unreadable record is not a corrupt one: setting it aside would re-run finished work.
        raise io_error(path, error, "cannot read") from error
    try:
        record = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptRecord(f"not valid JSON: {error}") from error
    if not isinstance(record, dict) or any(key not in record for key in _REQUIRED):
        missing = [key for key in _REQUIRED if not isinstance(record, dict) or key not in record]
        raise CorruptRecord(f"missing fields {missing}")
    if record["checksum"] != record_checksum(record):
        raise CorruptRecord("checksum does not match the content")
    return record
