"""The middle of the house, imported and tested in this process: the driver, each executor, replicas, the runner."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from conftest import settings_for
from replicate.driver import Outcome, Unit, WorkerLost, drive
from replicate.errors import ConfigError
from replicate.executors.local import LocalExecutor
from replicate.executors.serial import SerialExecutor
from replicate.runner import plan_for, run
from replicate.store import RecordStore

TINY = ["paper=mlp_sequence", "paper.protocol.epochs=3", "repeats=3", "selfcheck.enabled=false"]
SAME = ("weights_sha256", "init_weights_sha256", "metrics", "history")


def _settings(tmp_path, *extra):
    return settings_for([*TINY, *extra], tmp_path)


def _bits(records: dict) -> dict:
    return {k: tuple(json.dumps(r[key], sort_keys=True) for key in SAME) for k, r in records.items()}


def _stored(store: RecordStore) -> dict:
    return {int(path.stem.split("-")[1]): store.read(int(path.stem.split("-")[1])) for path in store.existing()}


def test_the_driver_writes_every_record_and_runs_the_self_check_alongside(tmp_path):
    settings = _settings(tmp_path, "executor=serial", "execution=per_repeat")
    store = RecordStore(tmp_path)
    plan = plan_for(settings)
    outcome = drive(settings, plan, store, SerialExecutor(), recheck=plan[1])
    records = _stored(store)
    assert sorted(records) == [0, 1, 2] and all(r["status"] == "completed" for r in records.values())
    assert outcome.ran_in == {0: os.getpid(), 1: os.getpid(), 2: os.getpid()}
    # the re-run is returned, never stored, and equals the record bit for bit
    assert outcome.recheck["repeat"] == 1 and outcome.recheck_pid == os.getpid()
    assert all(outcome.recheck[key] == records[1][key] for key in SAME)


class _LosesRepeat(SerialExecutor):
    """A serial executor whose worker 'dies' running one repeat: what a killed process looks like to the driver."""

    def __init__(self, lost: int):
        super().__init__()
        self.lost = lost

    def wait(self, timeout):
        return [(unit, WorkerLost(f"worker process 1 running {unit.label} killed by signal 9 (SIGKILL)"))
                if any(spec.index == self.lost for spec in unit.specs) else (unit, result)
                for unit, result in super().wait(timeout)]


def test_a_lost_worker_keeps_the_other_records_and_raises_with_its_own_exit_code(tmp_path):
    settings = _settings(tmp_path, "executor=serial", "execution=per_repeat")
    store = RecordStore(tmp_path)
    with pytest.raises(WorkerLost, match="running repeat 1 killed by signal 9") as caught:
        drive(settings, plan_for(settings), store, _LosesRepeat(lost=1))
    assert caught.value.exit_code == 3
    # units already handed out finish and are written; none after the loss is started
    assert 0 in _stored(store) and 1 not in _stored(store)


def test_a_broken_model_stops_the_driver_at_the_workers_model_check(tmp_path):
    settings = _settings(tmp_path, "executor=serial", "paper.protocol.loss=no_such_loss")
    with pytest.raises(ConfigError, match="loss"):
        drive(settings, plan_for(settings), RecordStore(tmp_path), SerialExecutor(), model_check=True)
    assert not RecordStore(tmp_path).existing()


def test_units_are_lockstep_groups_for_auto_and_single_repeats_for_per_repeat(tmp_path):
    from replicate.plan import tasks

    for execution, sizes in (("auto", [2, 1]), ("vectorized", [2, 1]), ("per_repeat", [1, 1, 1])):
        plan = plan_for(_settings(tmp_path, f"execution={execution}"))
        assert [len(unit) for unit in tasks(plan, None, workers=2)] == sizes, execution
    assert Unit(tuple(plan[:1])).label == "repeat 0"
    assert Unit(tuple(plan[:1]), selfcheck=True).label == "the self-check's re-run of repeat 0"


def test_replicas_in_lockstep_are_their_repeats_bit_for_bit(tmp_path):
    from replicate import seeding
    from replicate.executors.common import load_data
    from replicate.replicas import run_task

    settings = _settings(tmp_path, "execution=vectorized")
    seeding.configure_process(settings.threads, settings.determinism)
    plan, data = plan_for(settings), load_data(settings.paper)
    group = run_task(settings.paper, plan, data)
    alone = [record for spec in plan for record in run_task(settings.paper, [spec.__class__(**{**spec.__dict__, "execution": "per_repeat"})], data)]
    assert [r["execution"]["path"] for r in group] == ["vectorized"] * 3
    assert [r["execution"]["path"] for r in alone] == ["per_repeat"] * 3
    assert _bits(dict(enumerate(group))) == _bits(dict(enumerate(alone)))


@pytest.mark.slow
def test_the_local_executor_gives_the_serial_bits_and_cleans_up(tmp_path):
    serial_settings = _settings(tmp_path / "serial", "executor=serial")
    serial = RecordStore(tmp_path / "serial")
    drive(serial_settings, plan_for(serial_settings), serial, SerialExecutor())
    local_settings = _settings(tmp_path / "local", "executor=local")
    local = RecordStore(tmp_path / "local")
    outcome = drive(local_settings, plan_for(local_settings), local, LocalExecutor(tmp_path / "local", workers=2),
                    recheck=plan_for(local_settings)[0])
    assert _bits(_stored(serial)) == _bits(_stored(local))
    assert os.getpid() not in outcome.ran_in.values() and outcome.recheck_pid != outcome.ran_in[0]
    assert not (tmp_path / "local" / ".shared-data").exists()  # the workers' copy of the data is gone


@pytest.mark.slow
def test_a_killed_local_worker_is_named_with_its_signal(tmp_path):
    settings = _settings(tmp_path, "executor=local", "execution=per_repeat", "paper.protocol.epochs=3000")
    store = RecordStore(tmp_path)
    executor = LocalExecutor(tmp_path, workers=2)

    def kill_one_when_busy():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [pid for pid in list(executor.holding)]
            if busy:
                time.sleep(0.5)
                os.kill(busy[0], signal.SIGKILL)
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_one_when_busy, daemon=True)
    killer.start()
    with pytest.raises(WorkerLost) as caught:
        drive(settings, plan_for(settings), store, executor)
    message = str(caught.value)
    assert "killed by signal 9 (SIGKILL)" in message and "running repeat" in message, message
    assert "run the same command again" in message and "\n" not in message


@pytest.mark.slow
def test_run_in_process_checks_a_repeat_in_another_worker_and_says_how(tmp_path):
    settings = settings_for(["paper=mlp_sequence", "paper.protocol.epochs=3", "repeats=4"], tmp_path)
    outcome = run(settings)
    assert outcome.ok and outcome.completed == 4
    (check,) = json.loads((tmp_path / "selfcheck.json").read_text())
    assert check["match"] and "while the run trained" in check["how"] and "lockstep group" in check["how"]
    report = (tmp_path / "report.md").read_text()
    assert check["how"] in report
    # a second run re-scores: nothing trains and the self-check is not repeated for the same record
    again = run(settings)
    assert again.reused == 4 and json.loads((tmp_path / "selfcheck.json").read_text()) == [check]


def test_outcome_defaults_say_nothing_ran():
    assert Outcome().ran_in == {} and Outcome().recheck is None


@pytest.mark.slow
def test_the_ray_executor_gives_the_serial_bits_in_this_process(tmp_path, ray_cluster, monkeypatch):
    from replicate.executors.ray_executor import RayExecutor

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # as the cluster was started (tests/ray_cluster.py)
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    serial_settings = _settings(tmp_path / "serial", "executor=serial")
    serial = RecordStore(tmp_path / "serial")
    drive(serial_settings, plan_for(serial_settings), serial, SerialExecutor())
    ray_settings = _settings(tmp_path / "ray", "executor=ray")
    on_ray = RecordStore(tmp_path / "ray")
    outcome = drive(ray_settings, plan_for(ray_settings), on_ray,
                    RayExecutor(tmp_path / "ray", address=ray_cluster["address"]), recheck=plan_for(ray_settings)[2])
    assert _bits(_stored(serial)) == _bits(_stored(on_ray))
    assert outcome.recheck["weights_sha256"] == _stored(on_ray)[2]["weights_sha256"]
    assert os.getpid() not in outcome.ran_in.values()
