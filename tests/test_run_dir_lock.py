"""One replicate per run directory: a second live one exits 2 with one line; a lock left by kill -9 is taken over."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, cli_env, read_records, run_cli
from replicate.errors import RunDirInUse
from replicate.lock import LOCK_FILE, run_dir_lock
from replicate.store import read_record

REPEATS = 8
SMALL = ["paper=mlp_sequence", "executor=serial", "selfcheck.enabled=false"]
ARGS = [*SMALL, f"repeats={REPEATS}"]


def _busy_line(pid, run_dir):
    return (f"replicate: error: another replicate (pid {pid}) is running in {run_dir}; "
            "wait for it or choose another hydra.run.dir")


def _start(args):
    return subprocess.Popen([sys.executable, "-m", "replicate", *args], cwd=ROOT, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _assert_all_records_whole(run_dir):
    records = read_records(run_dir)
    assert sorted(records) == list(range(REPEATS))
    for index in records:
        read_record(run_dir / "records" / f"repeat-{index:05d}.json")  # raises on a half-written or tampered record


def _lines(stderr):
    return [line for line in stderr.splitlines() if line.strip()]


# In-process: the lock itself.

def test_the_lock_names_its_holder_and_is_free_again_after_the_block(tmp_path):
    with run_dir_lock(tmp_path) as path:
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(RunDirInUse) as caught, run_dir_lock(tmp_path):
            pass
        assert str(caught.value) == (f"another replicate (pid {os.getpid()}) is running in {tmp_path}; "
                                     "wait for it or choose another hydra.run.dir")
        assert caught.value.exit_code == 2
    assert path.read_text() == ""  # released: no holder named
    with run_dir_lock(tmp_path):
        pass


def test_a_forked_child_does_not_keep_the_parents_lock(tmp_path):
    """A child forked while the lock is held (a fork-context pool) must not hold it once the parent lets go, or a
    kill -9 of the parent would leave the directory locked by an orphan under a dead pid."""
    started, ready = os.pipe()
    with run_dir_lock(tmp_path):
        child = os.fork()
        if child == 0:  # the child says it is past fork's hooks, sleeps on what it still holds, leaves without cleanup
            os.write(ready, b"x")
            time.sleep(30)
            os._exit(0)
        assert os.read(started, 1) == b"x"
    os.close(started)
    os.close(ready)
    try:
        with run_dir_lock(tmp_path):
            pass
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


# Two real processes.

@pytest.mark.slow
def test_two_replicates_started_together_on_one_run_dir_one_trains_the_other_exits_2(tmp_path):
    run_dir = tmp_path / "run"
    processes = [_start([*ARGS, f"hydra.run.dir={run_dir}"]) for _ in range(2)]
    outputs = [process.communicate(timeout=600) for process in processes]
    codes = [process.returncode for process in processes]
    assert sorted(codes) == [0, 2], [err[-3000:] for _, err in outputs]
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    assert _lines(outputs[loser][1]) == [_busy_line(processes[winner].pid, run_dir)]
    assert "Traceback" not in outputs[loser][1]
    assert "finished" not in outputs[loser][0] + outputs[loser][1]  # it trained nothing
    _assert_all_records_whole(run_dir)


@pytest.mark.slow
def test_a_run_dir_held_by_a_live_process_is_refused_and_left_untouched(tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli([*SMALL, "repeats=2", f"hydra.run.dir={run_dir}"])
    assert first.returncode == 0, first.stderr[-3000:]
    before = {path.name: path.read_bytes() for path in (run_dir / "records").iterdir()}
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom replicate.lock import run_dir_lock\n"
                               "with run_dir_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(600)\n",
                               str(run_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = run_cli([*ARGS, f"hydra.run.dir={run_dir}"], timeout=120)
        assert result.returncode == 2, result.stderr[-3000:]
        assert _lines(result.stderr) == [_busy_line(holder.pid, run_dir)]
        assert {path.name: path.read_bytes() for path in (run_dir / "records").iterdir()} == before
        assert (run_dir / LOCK_FILE).read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_a_lock_left_by_a_replicate_killed_with_sigkill_is_taken_over(tmp_path):
    run_dir = tmp_path / "run"
    process = _start([*ARGS, f"hydra.run.dir={run_dir}"])
    deadline = time.time() + 300
    while not list((run_dir / "records").glob("repeat-*.json")):
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.time() < deadline, "no record appeared"
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # The file still names the dead holder; only the kernel's flock says it is free.
    assert (run_dir / LOCK_FILE).read_text().strip() == str(process.pid)
    kept = {path.name: path.read_bytes() for path in (run_dir / "records").glob("repeat-*.json")}

    result = run_cli([*ARGS, f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "another replicate" not in result.stderr
    _assert_all_records_whole(run_dir)
    assert all((run_dir / "records" / name).read_bytes() == content for name, content in kept.items())
