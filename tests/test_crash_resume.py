"""kill -9 of the main process or of a worker loses no finished repeat; the next run completes the same set."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, cli_env, read_records, run_cli
from external_paper import external_args, write_external_paper
from replicate.store import read_record

pytestmark = pytest.mark.slow
REPEATS = 4


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    conf, code = write_external_paper(root)
    # per_repeat: four units of work on two workers, so a kill lands between finished and running repeats
    args = [*external_args(conf), "executor=local", "executor.workers=2", "selfcheck.enabled=false", "execution=per_repeat",
            f"repeats={REPEATS}", "paper.protocol.epochs=40", "paper.data.num_examples=600"]
    return {"args": args, "env": {"PYTHONPATH": str(code)}, "root": root}


@pytest.fixture(scope="module")
def uninterrupted(paper):
    run_dir = paper["root"] / "uninterrupted"
    result = run_cli([*paper["args"], f"hydra.run.dir={run_dir}"], **paper["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def _start(paper, run_dir):
    return subprocess.Popen([sys.executable, "-m", "replicate", *paper["args"], f"hydra.run.dir={run_dir}"],
                            cwd=ROOT, env=cli_env(**paper["env"]), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_records(run_dir, count, process, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(list((run_dir / "records").glob("repeat-*.json"))) >= count:
            return
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.2)
    raise AssertionError("no records appeared")


def _children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _running(pid):
    """Alive and not a zombie (a reaped-late zombie trains nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _assert_same_results(run_dir, reference):
    table = pd.read_csv(run_dir / "results.csv").drop(columns="wall_seconds")
    assert table.equals(pd.read_csv(reference / "results.csv").drop(columns="wall_seconds"))
    summary, expected = (json.loads((d / "summary.json").read_text()) for d in (run_dir, reference))
    for key in ("metrics", "claims", "per_class", "repeats"):
        assert summary[key] == expected[key], key


def _assert_records_whole(run_dir):
    for path in (run_dir / "records").glob("repeat-*.json"):
        read_record(path)  # raises on a half-written or corrupt record


def test_kill_9_of_the_main_process_then_rerun_completes_the_same_set(paper, uninterrupted):
    run_dir = paper["root"] / "killed_main"
    process = _start(paper, run_dir)
    _wait_for_records(run_dir, 1, process)
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(1.0)
    alive = [w for w in workers if _running(w)]
    assert not alive, f"workers outlived the main process: {[open(f'/proc/{w}/cmdline').read() for w in alive]}"
    finished = len(list((run_dir / "records").glob("repeat-*.json")))
    assert 1 <= finished < REPEATS
    _assert_records_whole(run_dir)
    kept = {k: r["weights_sha256"] for k, r in read_records(run_dir).items()}

    result = run_cli([*paper["args"], f"hydra.run.dir={run_dir}"], **paper["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"{finished} of {REPEATS} repeats already finished" in result.stdout + result.stderr
    assert all(read_records(run_dir)[k]["weights_sha256"] == sha for k, sha in kept.items())
    _assert_same_results(run_dir, uninterrupted)


def test_kill_9_of_a_worker_ends_the_run_nonzero_and_a_rerun_completes(paper, uninterrupted):
    run_dir = paper["root"] / "killed_worker"
    process = _start(paper, run_dir)
    _wait_for_records(run_dir, 1, process)
    victim = _children(process.pid)[-1]
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 3, stderr[-3000:]  # a lost worker: not the exit code of bad input (2)
    (line,) = [line for line in stderr.splitlines() if line.startswith("replicate: error:")]
    # what is known, not a guess: which process, what it was running, how it ended
    assert f"worker process {victim} running repeat" in line and "killed by signal 9 (SIGKILL)" in line, line
    assert "run the same command again" in line
    _assert_records_whole(run_dir)

    result = run_cli([*paper["args"], f"hydra.run.dir={run_dir}"], **paper["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_same_results(run_dir, uninterrupted)


def test_ctrl_c_stops_the_workers_and_keeps_finished_repeats(paper, uninterrupted):
    """Ctrl-C in a terminal interrupts the whole foreground process group: the main process and its workers."""
    run_dir = paper["root"] / "interrupted"
    process = _start(paper, run_dir)
    _wait_for_records(run_dir, 1, process)
    workers = _children(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "interrupted; finished repeats are kept and the next run resumes" in stderr
    time.sleep(1.0)
    assert not [w for w in workers if _running(w)]
    _assert_records_whole(run_dir)
    finished = len(list((run_dir / "records").glob("repeat-*.json")))
    assert 1 <= finished < REPEATS

    result = run_cli([*paper["args"], f"hydra.run.dir={run_dir}"], **paper["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    _assert_same_results(run_dir, uninterrupted)
