"""executor=ray on a real two-node Ray cluster (loopback only): errors, addresses, a dead worker, Ctrl-C. Its bits
against every other executor and path: tests/test_matrix.py."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, cli_env, read_records, run_cli

pytestmark = pytest.mark.slow
pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")  # a dependency of ray[default]

from ray_cluster import free_port as _free_port  # noqa: E402 (after the skips: it imports psutil)
from ray_cluster import ours as _ours  # noqa: E402


@pytest.fixture
def cluster(ray_cluster):
    return ray_cluster  # one cluster for the session (conftest.py), shared with tests/test_matrix.py


def _user_error(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("replicate: error:")]
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-3000:]
    return lines[0]


@pytest.mark.parametrize("address, local", [(None, True), ("auto", True), ("127.0.0.1:6379", True),
                                            ("localhost:6379", True), ("[::1]:6379", True), ("10.0.0.5:6379", False),
                                            ("head.example:6379", False), ("ray://127.0.0.1:10001", False)])
def test_which_addresses_get_the_loopback_only_setup(address, local):
    from replicate.executors.ray_executor import _on_this_machine

    assert _on_this_machine(address) is local


def test_a_worker_that_cannot_start_is_told_apart_from_one_that_died(tmp_path):
    from ray.exceptions import RayActorError

    from replicate.executors.ray_executor import _died

    init = RayActorError(error_msg="The actor died because of an error raised in its creation task\n"
                                   "ModuleNotFoundError: No module named 'replicate'", actor_init_failed=True)
    assert "could not start (ModuleNotFoundError: No module named 'replicate')" in str(_died(init, tmp_path))
    died = str(_died(RayActorError(error_msg="The actor died unexpectedly before finishing this task."), tmp_path))
    assert "a Ray worker died" in died and "run the same command again" in died and "\n" not in died


def test_without_ray_installed_the_error_names_the_install_command(tmp_path):
    blocker = tmp_path / "no-ray" / "ray"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    result = run_cli(["repeats=1", "executor=ray", f"hydra.run.dir={tmp_path / 'run'}"],
                     PYTHONPATH=str(blocker.parent), timeout=120)
    assert "executor=ray needs Ray: pip install -e '.[ray]'" in _user_error(result)


def test_an_address_where_no_cluster_answers_fails_fast_with_the_fix(tmp_path):
    started = time.monotonic()
    result = run_cli(["repeats=1", "executor=ray", f"executor.address=127.0.0.1:{_free_port()}",
                      f"hydra.run.dir={tmp_path / 'run'}"], timeout=120)
    message = _user_error(result)
    assert "no Ray cluster answers there" in message and "ray start --head" in message
    assert time.monotonic() - started < 60


# per_repeat: one unit per repeat, so a kill or an interrupt lands between finished and running repeats
LONGER = ["paper.protocol.epochs=20", "repeats=4", "selfcheck.enabled=false", "executor=ray", "execution=per_repeat"]
# long enough repeats that the interrupt lands while repeats are still training, however loaded the machine is
INTERRUPTED = ["paper.protocol.epochs=600", "repeats=6", "selfcheck.enabled=false", "executor=ray",
               "execution=per_repeat"]


def _actors(cluster) -> list:
    """Our cluster's worker processes that hold a repeat actor."""
    found = []
    for process in _ours(cluster["nodes"]):
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE and \
                    (process.cmdline() or [""])[0].startswith("ray::RepeatWorker"):
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def _start_cli(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as stream:
        return subprocess.Popen([sys.executable, "-m", "replicate", *args], cwd=ROOT, stdout=stream,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                env=cli_env(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0"))


def _wait_for_a_record(cli: subprocess.Popen, run_dir: Path, log: Path) -> None:
    deadline = time.monotonic() + 150
    while not list((run_dir / "records").glob("repeat-*.json")):
        assert cli.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)


def test_a_dead_worker_stops_the_run_and_the_next_run_resumes(cluster, tmp_path):
    run_dir, log = tmp_path / "killed", tmp_path / "killed.log"
    args = [*LONGER, f"executor.address={cluster['address']}", f"hydra.run.dir={run_dir}"]
    cli = _start_cli(args, log)
    try:
        _wait_for_a_record(cli, run_dir, log)
        victims = _actors(cluster)
        assert victims, log.read_text()[-3000:]
        victims[0].kill()  # as the OOM killer or a lost node would
        cli.wait(timeout=120)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    output = log.read_text()
    assert cli.returncode == 3, output[-3000:]  # a lost worker, not bad input (2)
    message = [line for line in output.splitlines() if line.startswith("replicate: error:")]
    assert len(message) == 1 and "a Ray worker died" in message[0], output[-3000:]
    assert "finished repeats are kept" in message[0] and "run the same command again" in message[0]
    kept = read_records(run_dir)
    assert 1 <= len(kept) < 4
    kept_bytes = {k: (run_dir / "records" / f"repeat-{k:05d}.json").read_bytes() for k in kept}

    again = run_cli(args, timeout=240, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    assert again.returncode == 0, again.stderr[-3000:]
    assert sorted(read_records(run_dir)) == [0, 1, 2, 3]
    for k, content in kept_bytes.items():
        assert (run_dir / "records" / f"repeat-{k:05d}.json").read_bytes() == content


def test_ctrl_c_stops_the_repeats_on_the_cluster(cluster, tmp_path):
    run_dir, log = tmp_path / "interrupted", tmp_path / "interrupted.log"
    cli = _start_cli([*INTERRUPTED, f"executor.address={cluster['address']}", f"hydra.run.dir={run_dir}"], log)
    try:
        _wait_for_a_record(cli, run_dir, log)
        assert _actors(cluster)
        cli.send_signal(signal.SIGINT)
        cli.wait(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 130, log.read_text()[-3000:]
    deadline = time.monotonic() + 30
    while _actors(cluster):  # the actors (and the repeats they were training) are gone
        assert time.monotonic() < deadline, [p.cmdline() for p in _actors(cluster)]
        time.sleep(0.5)
