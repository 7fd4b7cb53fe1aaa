"""The CLI end to end on mlp_sequence: the three report files, their content, determinism across processes, resume."""
import json

import pandas as pd
import pytest

from conftest import read_records, run_cli

SMALL = ["paper.protocol.epochs=5"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("e2e") / "run"
    result = run_cli([*SMALL, "repeats=3", "executor=serial", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_writes_summary_results_and_report(first_run):
    for name in ("summary.json", "results.csv", "report.md", "run.json"):
        assert (first_run / name).is_file(), name
    assert len(read_records(first_run)) == 3


def test_csv_matches_records_and_summary_matches_csv(first_run):
    records = read_records(first_run)
    table = pd.read_csv(first_run / "results.csv")
    assert list(table["repeat"]) == [0, 1, 2]
    assert list(table["test_mse"]) == [records[k]["metrics"]["test_mse"] for k in range(3)]
    assert list(table["seed_init"]) == [records[k]["seeds"]["init"] for k in range(3)]
    summary = json.loads((first_run / "summary.json").read_text())
    assert summary["metrics"]["test_mse"]["mean"] == pytest.approx(table["test_mse"].mean(), rel=1e-12)
    assert summary["metrics"]["test_mse"]["std"] == pytest.approx(table["test_mse"].std(ddof=1), rel=1e-12)
    assert summary["repeats"] == {"requested": 3, "attempted": 3, "completed": 3, "failed": 0, "diverged": 0, "missing": 0}


def test_report_states_each_claim_with_verdict_and_rule(first_run):
    report = (first_run / "report.md").read_text()
    summary = json.loads((first_run / "summary.json").read_text())
    assert len(summary["claims"]) == 3
    for claim in summary["claims"]:
        assert claim["label"] in report and "Rule:" in report
        assert claim["verdict"] in ("consistent", "inconsistent", "inconclusive", "none")
        assert claim["verdict_label"] in report and claim["why"] in report and claim["error_rates"] in report
    assert "cannot reproduce these values on today's Keras" in report


def test_record_has_everything_needed_to_rerun(first_run):
    record = read_records(first_run)[0]
    assert set(record["seeds"]) == {"split", "init", "order", "dropout"}
    assert record["kept_epoch"] == 5 and len(record["history"]["loss"]) == 5
    assert len(record["weights_sha256"]) == 64
    env = record["environment"]
    for key in ("python", "tensorflow", "keras", "numpy", "cpu", "intra_op_threads", "onednn", "determinism"):
        assert key in env
    assert record["paper"]["protocol"]["epochs"] == 5
    assert record["settings"] == {"master_seed": 0, "threads": 1, "determinism": "bitwise", "unpin_split": False,
                                  "execution": "auto"}
    # execution=auto (the default) trains mlp_sequence's repeats in lockstep, and the record names the path taken
    assert record["execution"]["path"] == "vectorized" and record["execution"]["requested"] == "auto"


def test_same_repeat_is_bitwise_identical_in_another_process_and_repeats_differ(first_run, tmp_path):
    second = tmp_path / "again"
    # 3 repeats: repeat 2 is the one that learns in 5 epochs (repeats 0 and 1 alone learn nothing: exit 4)
    result = run_cli([*SMALL, "repeats=3", "executor=serial", f"hydra.run.dir={second}"])
    assert result.returncode == 0, result.stderr[-3000:]
    a, b = read_records(first_run), read_records(second)
    for k in (0, 1):
        assert a[k]["weights_sha256"] == b[k]["weights_sha256"]
        assert a[k]["metrics"] == b[k]["metrics"]
        assert a[k]["history"] == b[k]["history"]
    assert a[0]["weights_sha256"] != a[1]["weights_sha256"]
    assert a[0]["metrics"] != a[1]["metrics"]


def test_resume_reruns_only_missing_repeats_and_gets_the_same_bits(first_run, tmp_path):
    import shutil

    run_dir = tmp_path / "resume"
    shutil.copytree(first_run, run_dir)
    original = read_records(run_dir)
    untouched = (run_dir / "records" / "repeat-00000.json").read_bytes()
    (run_dir / "records" / "repeat-00001.json").unlink()
    result = run_cli([*SMALL, "repeats=3", "executor=serial", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 of 3 repeats already finished" in result.stderr + result.stdout
    resumed = read_records(run_dir)
    # repeat 1 ran alone in a fresh process, first time after repeat 0 in the same process: same bits
    assert resumed[1]["weights_sha256"] == original[1]["weights_sha256"]
    assert resumed[1]["metrics"] == original[1]["metrics"]
    assert (run_dir / "records" / "repeat-00000.json").read_bytes() == untouched
    resumed_table = pd.read_csv(run_dir / "results.csv").drop(columns="wall_seconds")
    assert resumed_table.equals(pd.read_csv(first_run / "results.csv").drop(columns="wall_seconds"))


def test_a_changed_config_never_reuses_or_overwrites_records(first_run, tmp_path):
    import shutil

    run_dir = tmp_path / "changed"
    shutil.copytree(first_run, run_dir)
    before = (run_dir / "records" / "repeat-00000.json").read_bytes()
    result = run_cli(["paper.protocol.epochs=6", "repeats=3", "executor=serial", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 2
    assert "different configuration" in result.stderr
    assert (run_dir / "records" / "repeat-00000.json").read_bytes() == before
