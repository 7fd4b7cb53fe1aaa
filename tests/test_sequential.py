"""repeats=auto (replicate/sequential.py): the stopping rule's validity by simulation, the looks over records, and
the real command: an obvious claim stops at the first look, an interrupted run resumes the same sequence (any
executor gives the same looks), re-scoring after the stop, and the errors a user can make."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from replicate import sequential
from replicate.calibration import simulate_sequential
from replicate.report.summary import claim_verdict

from conftest import LEARNS, ROOT, cli_env, read_records, run_cli, settings_for
from replicate.errors import ConfigError
from replicate.runner import auto_design

REPORT = {"confidence": 0.95, "tolerance": 0.01, "bootstrap_resamples": 9999}


def claim(value=0.5, statistic="single_run", **extra):
    return {"metric": "accuracy", "split": "test", "statistic": statistic, "value": value, "values": None, "k": None,
            "std": None, "digits": None, "tolerance": None, "per_class": None, "source": "a test", "label": "c",
            **extra}


def record(index, value, status="completed"):
    return {"repeat": index, "status": status, "metrics": {"test_accuracy": value} if status == "completed" else {}}


def judge(c, values, alpha):
    return claim_verdict(c, values, REPORT, alpha, decide_repeats=False)


# ------------------------------------------------------------------------------------------- the rule, simulated

def test_one_look_is_the_fixed_n_test():
    """The Monte-Carlo level machinery: with a single look the nominal level is alpha itself."""
    assert sequential.nominal_level("single_run", 1, 10, 10, 0.05) == pytest.approx(0.05, abs=0.004)
    assert sequential.nominal_level("mean_of_k", 5, 12, 12, 0.05) == pytest.approx(0.05, abs=0.004)
    many = sequential.nominal_level("mean_of_k", 5, 5, 40, 0.05)
    assert 0.005 < many < 0.03  # many correlated looks: a smaller level per look
    assert sequential.nominal_level("mean_of_k", 5, 5, 40, 0.05) == many  # seeded: every report gives the same


def test_the_rule_holds_alpha_under_optional_stopping_where_naive_retesting_does_not():
    """Honest means of 5 against normal runs, judged after every repeat and stopped at the first decision: the
    rule's false-alarm rate stays within alpha + 2 MC SE; re-testing at alpha after every repeat flags about 16%."""
    claims, alpha = 200, 0.05
    bound = alpha + 2 * math.sqrt(alpha * (1 - alpha) / claims)
    rule = simulate_sequential("normal", "mean_of_5", 0.0, claims, maximum=30)
    naive = simulate_sequential("normal", "mean_of_5", 0.0, claims, maximum=30, level=alpha)
    assert rule["flagged"] <= bound, rule
    assert naive["flagged"] > bound + 0.02, naive
    # the fixed-n design: where the family's band for a mean of 5 is sharp by width (22 repeats at alpha = 0.05)
    assert rule["fixed_n"] == 22 and rule["mean_n"] <= 1.3 * rule["fixed_n"], rule  # at most 1.3x the fixed n
    off = simulate_sequential("normal", "mean_of_5", 3.0, 40, maximum=30)
    assert off["flagged"] >= 0.95 and off["mean_n"] <= 10, off  # 3 sd off: flagged, in a handful of repeats


def test_plan_levels_end_the_looks_where_the_check_is_sharp():
    level, last = sequential.plan_levels("single_run", 1, 5, 100, 0.05)
    assert sequential.sharp_at("single_run", 1, level, 100) <= last < 20
    assert level > sequential.nominal_level("single_run", 1, 5, 100, 0.05)  # fewer looks, a larger level


# ------------------------------------------------------------------------------------- looks over records

def test_looks_use_the_prefix_of_repeats_in_repeat_order():
    design = sequential.Design(0.05, 5, 30, (claim(0.99),))
    runs = [record(i, 0.5 + 0.01 * ((i * 7) % 5)) for i in range(9)]
    runs[6] = record(6, None, status="failed")
    del runs[8]  # repeat 8 not finished: the looks stop at 8 (repeats 0..7)
    result = sequential.evaluate(design, runs, judge)
    assert result.available == 8
    assert [look.n for look in result.looks] == [5]  # 0.99 is far off: decided at the first look
    assert result.stop == 5 and result.decided_at == {0: 5}
    assert result.verdicts[0].outcome == "inconsistent"
    honest = sequential.Design(0.05, 5, 30, (claim(0.52),))
    unfinished = sequential.evaluate(honest, runs, judge)
    assert [look.n for look in unfinished.looks] == [5, 6, 7, 8]
    assert [look.completed for look in unfinished.looks] == [5, 6, 6, 7]  # the failed repeat 6 gives no value
    assert unfinished.stop is None and not unfinished.finished
    assert sequential.next_target(unfinished, 4) == 12
    assert sequential.next_target(sequential.evaluate(honest, runs[:2], judge), 4) == 8  # first round: whole rounds


def test_a_claim_the_run_did_not_stop_on_is_rescored_at_the_level_of_every_look():
    design = sequential.Design(0.05, 5, 30, (claim(0.99),))
    runs = [record(i, 0.5 + 0.01 * ((i * 7) % 5)) for i in range(6)]
    result = sequential.evaluate(design, runs, judge)
    new = claim(0.52, label="new")
    made, block = sequential.summarize(design, result, [claim(0.99), new], runs, REPORT, judge)
    assert block["stopped_at"] == 5 and block["overrun"] == [5] and block["rescored"] == ["new"]
    assert block["claim_levels"][1] == sequential.nominal_level("single_run", 1, 5, 30, 0.05)
    assert made[0][0].outcome == "inconsistent" and len(made[0][1]) == 5
    assert "at some look at most 5%" in made[0][0].error_rates


# ------------------------------------------------------------------------------------------- the command

CLAIM = "paper.reported=[{{label: one run, metric: mse, split: test, statistic: single_run, value: {value}, source: a test}}]"
AUTO = ["repeats=auto", "paper.protocol.epochs=5", LEARNS]  # runs that learn in 5 epochs


def summary_of(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


@pytest.mark.slow
def test_an_obvious_claim_stops_at_the_first_look_and_can_be_rescored(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli([*AUTO, CLAIM.format(value=1e-9), f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    summary = summary_of(run_dir)
    block = summary["sequential"]
    assert block["status"] == "decided" and block["stopped_at"] == 5, block["text"]
    # far too good (an MSE a failed run cannot give, unlike 1e6: that one could be a run that did not learn)
    assert summary["claims"][0]["verdict_label"] == "inconsistent (optimistic)"
    assert summary["repeats"]["completed"] == 5 and summary["claims"][0]["n"] == 5
    assert sorted(read_records(run_dir)) == list(range(5 + len(block["overrun"])))
    assert "repeats=auto stopped after 5 repeats" in result.stdout + result.stderr
    report = (run_dir / "report.md").read_text()
    assert "## Sequential stopping (repeats=auto)" in report and "| 5 | 5 | inconsistent" in report

    # Re-scoring a changed claim: nothing trains; the report says the stopping rule was for the old claim.
    before = {path.name: path.read_bytes() for path in (run_dir / "records").iterdir()}
    rescored = run_cli([str(run_dir), "paper.reported.0.value=0.03"], module="replicate.report")
    assert rescored.returncode == 0, rescored.stderr[-2000:]
    block = summary_of(run_dir)["sequential"]
    assert block["rescored"] == ["one run"] and block["stopped_at"] == 5
    assert "**Re-scored:**" in (run_dir / "report.md").read_text()
    assert {path.name: path.read_bytes() for path in (run_dir / "records").iterdir()} == before

    # The same through the main command: the changed claim is re-scored, the run stops where it stopped.
    again = run_cli([*AUTO, CLAIM.format(value=0.03), f"hydra.run.dir={run_dir}"])
    assert again.returncode == 0, again.stderr[-2000:]
    assert "the stopping rule keeps the ones it started with" in again.stdout + again.stderr
    assert summary_of(run_dir)["sequential"]["rescored"] == ["one run"]
    assert {path.name: path.read_bytes() for path in (run_dir / "records").iterdir()} == before

    # The frozen design: lowering repeats_max (or moving the first look) would re-decide looks already made; raising
    # the maximum keeps the claims the run started with.
    for changed in (["repeats_max=50"], ["repeats_min=6"]):
        with pytest.raises(ConfigError) as error:
            auto_design(settings_for([*AUTO, CLAIM.format(value=1e-9), *changed], run_dir), run_dir)
        assert "run.json" in str(error.value) and "repeats_max=100" in str(error.value) and "fix:" in str(error.value)
    raised = auto_design(settings_for([*AUTO, CLAIM.format(value=0.5), "repeats_max=200"], run_dir), run_dir)
    assert raised.maximum == 200 and raised.claims[0]["value"] == 1e-9


HONEST = ["repeats=auto", "paper.protocol.epochs=40", CLAIM.format(value=0.001), "selfcheck.enabled=false"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted auto run on the serial executor (rounds of one repeat): the claim (0.001, one run) is
    decided "consistent" where its check becomes sharp, at look 11."""
    run_dir = tmp_path_factory.mktemp("auto") / "reference"
    done = run_cli([*HONEST, "executor=serial", f"hydra.run.dir={run_dir}"])
    assert done.returncode == 0, done.stderr[-3000:]
    expected = summary_of(run_dir)["sequential"]
    assert expected["stopped_at"] > 6, expected["text"]  # the claim needs more than the first round
    return run_dir


def same_sequence(run_dir, reference_dir):
    got, expected = summary_of(run_dir)["sequential"], summary_of(reference_dir)["sequential"]
    for key in ("looks", "stopped_at", "repeats_used", "claims", "status"):
        assert got[key] == expected[key], key
    ours, theirs = read_records(run_dir), read_records(reference_dir)
    for index in range(expected["repeats_used"]):
        assert ours[index]["weights_sha256"] == theirs[index]["weights_sha256"], index


@pytest.mark.slow
def test_a_killed_auto_run_resumes_the_same_sequence_as_an_uninterrupted_one(reference, tmp_path):
    """Against the serial reference: the local executor with one worker process (rounds of one repeat), killed
    with SIGKILL after its first looks, mid-round, then run again on the default executor (2 workers): the same
    looks, the same stopping point and bit-identical records."""
    expected = summary_of(reference)["sequential"]
    run_dir = tmp_path / "killed"
    local = [*HONEST, "executor=local", "executor.workers=1", "execution=per_repeat", f"hydra.run.dir={run_dir}"]
    process = subprocess.Popen([sys.executable, "-m", "replicate", *local],
                               cwd=ROOT, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and len(list((run_dir / "records").glob("repeat-*.json"))) < 7:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (run_dir / "summary.json").exists()  # killed mid-sequence: looks 5..7 made, no report yet
    assert len(list((run_dir / "records").glob("repeat-*.json"))) < expected["stopped_at"]
    resumed = run_cli([*HONEST, f"hydra.run.dir={run_dir}"])  # resumed on the default executor (local, 2 workers)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    same_sequence(run_dir, reference)


@pytest.mark.slow
def test_on_a_ray_cluster_the_rounds_give_the_same_sequence(reference, ray_cluster, tmp_path):
    """executor=ray on the session's two-node cluster (rounds of two, one per node)."""
    pytest.importorskip("ray")
    run_dir = tmp_path / "ray"
    result = run_cli([*HONEST, "executor=ray", f"executor.address={ray_cluster['address']}", f"hydra.run.dir={run_dir}"],
                     timeout=400, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    assert result.returncode == 0, result.stderr[-3000:]
    same_sequence(run_dir, reference)
