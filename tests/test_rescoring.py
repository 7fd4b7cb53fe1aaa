"""Claims are scoring, not training: changing a claim or a report setting re-scores the stored records in place
(same run directory, no retraining, records untouched); changing what trains is still refused."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli

BASE = ["paper=mlp_sequence", "repeats=4", "paper.protocol.epochs=3", "executor=serial", "selfcheck.enabled=false"]


def _snapshot(run_dir):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted((run_dir / "records").glob("*.json"))}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("rescore") / "run"
    result = run_cli([*BASE, f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_changing_a_claim_re_scores_without_retraining(trained):
    before = _snapshot(trained)
    assert len(before) == 4
    result = run_cli([*BASE, f"hydra.run.dir={trained}", "paper.reported.0.values=[5.0,6.0,7.0,8.0]"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "re-scoring 4 finished repeats" in result.stderr + result.stdout
    assert "repeat 0 finished" not in result.stderr + result.stdout  # nothing trained
    assert _snapshot(trained) == before  # same bytes, not even rewritten
    summary = json.loads((trained / "summary.json").read_text())
    claim = summary["claims"][0]
    assert claim["reported"] == [5.0, 6.0, 7.0, 8.0]
    assert claim["verdict"] == "inconsistent" and claim["direction"] == "pessimistic"  # MSEs far above ours
    assert json.loads((trained / "run.json").read_text())["paper"]["reported"][0]["values"] == [5.0, 6.0, 7.0, 8.0]


def test_report_command_takes_scoring_overrides(trained):
    before = _snapshot(trained)
    result = run_cli([str(trained), "report.tolerance=0.5", "report.confidence=0.9"], module="replicate.report")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no verdict" not in result.stdout and ": " in result.stdout.splitlines()[1]  # one line per claim
    assert _snapshot(trained) == before
    run = json.loads((trained / "run.json").read_text())
    assert run["report"]["tolerance"] == 0.5 and run["report"]["confidence"] == 0.9
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["settings"]["tolerance"] == 0.5
    assert all(claim["tolerance"] == 0.5 for claim in summary["claims"])
    # the report is regenerable from run.json and the records alone: a plain rebuild gives the same summary
    again = run_cli([str(trained)], module="replicate.report")
    assert again.returncode == 0
    assert json.loads((trained / "summary.json").read_text()) == summary


@pytest.mark.parametrize("override, message", [
    ("paper.protocol.epochs=9", "only scoring settings can change without retraining"),
    ("report.tolerance=-1", "report.tolerance=-1"),
    ("report.confidence=high", "report.confidence"),
    ("paper.reported.7.value=0.5", "no such entry"),
    ("paper.reported.0.values=[-1.0,0.5]", "mse lies in >= 0"),
])
def test_report_command_refuses_bad_overrides_in_one_line(trained, override, message):
    before = _snapshot(trained)
    run_before = (trained / "run.json").read_bytes()
    result = run_cli([str(trained), override], module="replicate.report")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert _snapshot(trained) == before and (trained / "run.json").read_bytes() == run_before


def test_a_training_change_in_the_same_directory_is_still_refused(trained):
    before = _snapshot(trained)
    result = run_cli([*BASE, "paper.protocol.epochs=4", f"hydra.run.dir={trained}"])
    assert result.returncode == 2
    assert "different configuration" in result.stderr
    assert _snapshot(trained) == before


def test_a_claim_outside_its_metrics_range_is_a_config_error():
    result = run_cli(["paper=tmd_cnn", "paper.reported.0.value=74.5", "repeats=1"])
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "paper.reported[0].value=74.5" in line and "[0, 1]" in line and "0.745" in line
