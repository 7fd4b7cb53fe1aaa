"""A run dir that is a file, lies below one, is read-only or on a full disk: one line, non-zero exit, records intact."""
import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import ROOT, cli_env, run_cli
from replicate.errors import FileSystemError
from replicate.lock import LOCK_FILE
from replicate.store import RecordStore, io_error, io_fault, write_atomic

SMALL = ["paper=mlp_sequence", "executor=serial", "selfcheck.enabled=false"]
ANOTHER = "choose another run directory (hydra.run.dir)"


# TensorFlow's C++ start-up notes (absl/glog lines) on stderr are not replicate's to count.
_TF_NOTE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog)")


def _one_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip() and not _TF_NOTE.match(line)]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return lines[0]


def _snapshot(folder):
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run dir holding two finished records, made by the real command; each test works on a copy."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    result = run_cli([*SMALL, "repeats=2", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def _copy(finished_run, target):
    shutil.copytree(finished_run, target)
    return target, _snapshot(target / "records")


# A file where a folder belongs: Hydra's own mkdir of the run dir fails before replicate's code runs.

def test_a_run_dir_that_is_a_file_gives_one_line_and_the_file_is_kept(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.write_text("not a folder\n")
    result = run_cli([*SMALL, "repeats=2", f"hydra.run.dir={run_dir}"], timeout=120)
    assert result.returncode == 2
    assert _one_line(result) == (f"replicate: error: cannot use {run_dir}: File exists (EEXIST): it is a file, not a "
                                 f"folder; fix: move {run_dir} away or {ANOTHER}")
    assert run_dir.read_text() == "not a folder\n"


def test_a_run_dir_below_a_file_gives_one_line_and_the_file_is_kept(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("a file\n")
    run_dir = blocker / "run"
    result = run_cli([*SMALL, "repeats=2", f"hydra.run.dir={run_dir}"], timeout=120)
    assert result.returncode == 2
    assert _one_line(result) == (f"replicate: error: cannot use {run_dir}: Not a directory (ENOTDIR): {blocker} is a "
                                 f"file, not a folder; fix: move {blocker} away or {ANOTHER}")
    assert blocker.read_text() == "a file\n"


# Read-only: root ignores file modes, so as root the command runs without CAP_DAC_OVERRIDE (setpriv), which makes
# chmod bite as it does for any other user; where that is not possible the test is skipped.

_NO_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
                "--inh-caps=-dac_override,-dac_read_search", "--"]


@pytest.fixture(scope="module")
def as_a_user(tmp_path_factory):
    """The command prefix under which chmod 0o500 stops writes; skips the test if there is none."""
    prefix = _NO_OVERRIDE if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("running as root (chmod does not bite) and setpriv is not there to drop CAP_DAC_OVERRIDE")
    folder = tmp_path_factory.mktemp("probe")
    folder.chmod(0o500)
    probe = subprocess.run([*prefix, sys.executable, "-c", f"open({str(folder / 'x')!r}, 'w')"], capture_output=True)
    folder.chmod(0o700)
    if probe.returncode == 0:
        pytest.skip("chmod 0o500 does not stop writes here (root without a way to drop CAP_DAC_OVERRIDE)")
    return prefix


def _cli_as(prefix, args):
    return subprocess.run([*prefix, sys.executable, "-m", "replicate", *args], cwd=ROOT, env=cli_env(),
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("lock_file", ["left by the earlier run", "absent"])
def test_a_read_only_run_dir_gives_one_line_and_keeps_its_records(finished_run, tmp_path, as_a_user, lock_file):
    run_dir, before = _copy(finished_run, tmp_path / "run")
    if lock_file == "absent":
        (run_dir / LOCK_FILE).unlink()
    run_dir.chmod(0o500)
    try:
        result = _cli_as(as_a_user, [*SMALL, "repeats=3", f"hydra.run.dir={run_dir}"])
    finally:
        run_dir.chmod(0o700)
    assert result.returncode == 2
    # Without a lock file the lock is the first write to fail; with one, run.json is.
    what = f"cannot write to {run_dir}" if lock_file == "absent" else f"cannot write {run_dir / 'run.json'}"
    assert _one_line(result) == (f"replicate: error: {what}: Permission denied (EACCES); fix: make {run_dir} writable "
                                 f"(chmod u+w {run_dir}) or {ANOTHER}")
    assert _snapshot(run_dir / "records") == before
    assert not list(run_dir.glob(".*.tmp"))


@pytest.mark.parametrize("case", ["a new run dir in a read-only folder", "an empty read-only run dir"])
def test_hydra_meeting_a_read_only_folder_gives_one_line(tmp_path, as_a_user, case):
    folder = tmp_path / "outputs"
    folder.mkdir()
    run_dir = folder / "run"
    if case == "an empty read-only run dir":
        run_dir.mkdir()
        folder = run_dir
    folder.chmod(0o500)
    try:
        result = _cli_as(as_a_user, [*SMALL, "repeats=2", f"hydra.run.dir={run_dir}"])
    finally:
        folder.chmod(0o700)
    assert result.returncode == 2
    # Hydra's mkdir of the run dir, or its log file (which logging.config wraps in a ValueError).
    named = run_dir if case.startswith("a new") else run_dir / "replicate.log"
    assert _one_line(result) == (f"replicate: error: cannot use {named}: Permission denied (EACCES); fix: make "
                                 f"{folder} writable (chmod u+w {folder}) or {ANOTHER}")


# A full disk. Filling a real disk needs root (a small tmpfs) and is slow and risky on a shared one, so the fault is
# put where it happens: the temporary file write_atomic writes into is re-pointed at /dev/full, whose write() the
# kernel answers with ENOSPC, exactly as for a full disk. The buffered flush, the cleanup and the one line are the
# real ones; only the choice of which file fills up is the test's.

_FULL = """
import os, runpy, sys, tempfile
mkstemp, full_file = tempfile.mkstemp, sys.argv[1]
def mkstemp_on_a_full_disk(*args, **kwargs):
    handle, name = mkstemp(*args, **kwargs)
    if os.path.basename(name).startswith(full_file):
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, handle)
        os.close(full)
    return handle, name
tempfile.mkstemp = mkstemp_on_a_full_disk
sys.argv = ["replicate", *sys.argv[2:]]
runpy.run_module("replicate", run_name="__main__", alter_sys=True)
"""

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


@needs_dev_full
def test_a_disk_that_fills_while_writing_a_record_gives_one_line_and_the_rerun_resumes(finished_run, tmp_path):
    run_dir, before = _copy(finished_run, tmp_path / "run")
    args = [*SMALL, "repeats=4", f"hydra.run.dir={run_dir}"]
    result = subprocess.run([sys.executable, "-c", _FULL, ".repeat-00002.json.", *args], cwd=ROOT, env=cli_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    record = run_dir / "records" / "repeat-00002.json"
    assert _one_line(result) == (
        f"replicate: error: cannot write {record}: No space left on device (ENOSPC); fix: free space on that disk or "
        "choose a run directory (hydra.run.dir) on another disk, then run the same command again; finished records "
        "are kept and reused")
    assert _snapshot(run_dir / "records") == before  # no partial record 2, no temporary file, 0 and 1 untouched

    rerun = run_cli(args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "2 of 4 repeats already finished" in rerun.stdout + rerun.stderr
    after = _snapshot(run_dir / "records")
    assert len(after) == 4 and all(after[name] == content for name, content in before.items())


@needs_dev_full
@pytest.mark.parametrize("earlier", [None, "the earlier content\n"])
def test_write_atomic_on_a_full_disk_keeps_the_earlier_file_and_no_temporary(tmp_path, monkeypatch, earlier):
    target = tmp_path / "summary.json"
    if earlier is not None:
        target.write_text(earlier)
    mkstemp = tempfile.mkstemp

    def on_a_full_disk(*args, **kwargs):
        handle, name = mkstemp(*args, **kwargs)
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, handle)
        os.close(full)
        return handle, name

    monkeypatch.setattr(tempfile, "mkstemp", on_a_full_disk)
    with pytest.raises(FileSystemError, match=r"No space left on device \(ENOSPC\)") as caught:
        write_atomic(target, "new content that does not fit\n")
    assert caught.value.exit_code == 2 and str(caught.value).startswith(f"cannot write {target}: ")
    assert (target.read_text() if target.exists() else None) == earlier
    assert [path.name for path in tmp_path.iterdir()] == ([] if earlier is None else ["summary.json"])


def test_an_unreadable_record_stops_the_run_and_is_not_set_aside_as_corrupt(tmp_path):
    """Setting it aside would re-run finished work; the fault is the file system's, not the record's."""
    store = RecordStore(tmp_path)
    store.path(0).mkdir(parents=True)  # reading it fails with EISDIR; a chmod 000 file (EACCES) fails alike
    with pytest.raises(FileSystemError, match=r"^cannot read .*repeat-00000\.json: Is a directory \(EISDIR\)"):
        store.usable(0, "abc")
    assert [path.name for path in store.directory.iterdir()] == ["repeat-00000.json"]


def test_io_error_names_the_path_the_errno_and_the_fix_and_exits_1_for_a_disk_error(tmp_path):
    error = io_error(tmp_path / "run.json", OSError(errno.EIO, os.strerror(errno.EIO)))
    assert str(error).startswith(f"cannot write {tmp_path / 'run.json'}: Input/output error (EIO); fix: ")
    assert error.exit_code == 1


def test_io_fault_finds_the_os_error_under_a_wrapper_and_places_a_nameless_one_in_the_run_dir(tmp_path):
    log_file = str(tmp_path / "replicate.log")
    try:
        try:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), log_file)
        except PermissionError as error:  # as logging.config wraps a handler it cannot open
            raise ValueError("Unable to configure handler 'file'") from error
    except ValueError as wrapped:
        assert str(io_fault(wrapped)).startswith(f"cannot use {log_file}: Permission denied (EACCES); fix: make ")
    # a plot's write() on a full disk names no file: the run dir is named instead, or it is not described at all
    nameless = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert str(io_fault(nameless, tmp_path)).startswith(f"cannot write in {tmp_path}: No space left on device (ENOSPC)")
    assert io_fault(nameless) is None
    # a missing file is more likely a bug than the user's to fix: it keeps its traceback
    assert io_fault(FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(tmp_path / "x"))) is None
