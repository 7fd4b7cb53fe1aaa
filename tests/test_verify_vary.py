"""Per-source seed control, the verify command, the check command and a paper that lives outside the repository."""
import json

import pytest

from conftest import read_records, run_cli
from external_paper import external_args, write_external_paper
from replicate.store import RecordStore


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    root = tmp_path_factory.mktemp("external")
    conf, code = write_external_paper(root)
    return {"args": external_args(conf), "env": {"PYTHONPATH": str(code)}, "root": root}


def _run(external, args, **kwargs):
    return run_cli([*external["args"], "executor=serial", *args], **external["env"], **kwargs)


@pytest.fixture(scope="module")
def dropout_only(external):
    run_dir = external["root"] / "dropout_only"
    result = _run(external, ["repeats=3", "vary=[dropout]", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_a_paper_outside_the_repository_runs_end_to_end(dropout_only):
    summary = json.loads((dropout_only / "summary.json").read_text())
    assert summary["paper"]["name"] == "tiny_dropout"
    assert summary["claims"][0]["statistic"] == "mean_of_k"
    assert "test" in summary["per_class"]


def test_varying_only_dropout_changes_results_with_init_and_order_fixed(dropout_only):
    records = read_records(dropout_only)
    for source in ("init", "order", "split"):
        assert len({records[k]["seeds"][source] for k in range(3)}) == 1, source
    assert len({records[k]["seeds"]["dropout"] for k in range(3)}) == 3
    assert len({records[k]["init_weights_sha256"] for k in range(3)}) == 1  # same initial weights
    assert len({records[k]["weights_sha256"] for k in range(3)}) == 3  # dropout alone moved the result
    assert records[0]["layer_random_streams"] == 1
    report = (dropout_only / "report.md").read_text()
    assert "Error bars cover: dropout; fixed: split, init, order." in report


def test_nothing_varying_gives_zero_spread(external):
    run_dir = external["root"] / "nothing"
    result = _run(external, ["repeats=3", "vary=[]", "selfcheck.enabled=false", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    records = read_records(run_dir)
    assert len({records[k]["weights_sha256"] for k in range(3)}) == 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["metrics"]["test_accuracy"]["std"] == 0


def test_every_run_reports_its_self_check(dropout_only):
    check = json.loads((dropout_only / "selfcheck.json").read_text())
    assert check[0]["match"] is True
    assert "**Determinism:** `bitwise`; bitwise reproducible: yes" in (dropout_only / "report.md").read_text()


def test_verify_matches_an_untouched_run(dropout_only, external):
    result = run_cli([str(dropout_only), "--repeat", "1"], module="replicate.verify", **external["env"])
    assert result.returncode == 0, result.stderr
    assert "repeat 1: match" in result.stdout


def test_verify_reports_an_altered_record(dropout_only, external, tmp_path):
    import shutil

    run_dir = tmp_path / "altered"
    shutil.copytree(dropout_only, run_dir)
    store = RecordStore(run_dir)
    record = store.read(2)
    record["metrics"]["test_accuracy"] = 0.123
    store.write(record)  # a valid checksum: someone edited the numbers and re-signed the record
    result = run_cli([str(run_dir), "--repeat", "2"], module="replicate.verify", **external["env"])
    assert result.returncode == 1
    assert "repeat 2: MISMATCH in metrics test_accuracy" in result.stdout


def test_verify_with_another_thread_count_names_the_change(dropout_only, external):
    result = run_cli([str(dropout_only), "--repeat", "0", "--threads", "2"], module="replicate.verify", **external["env"])
    # whether the bits change at 2 threads depends on the kernels; the thread change must be named either way
    assert result.returncode in (0, 1)
    if result.returncode == 1:
        assert "intra_op_threads: recorded 1, now 2" in result.stdout


def test_check_passes_a_good_paper(external):
    result = run_cli(external["args"], module="replicate.check", **external["env"])
    assert result.returncode == 0, result.stderr
    assert "tiny_dropout: ok" in result.stdout


def test_check_names_a_model_that_does_not_match_the_classes(external):
    result = run_cli([*external["args"], "+paper.model.output_units=7"],
                     module="replicate.check", **external["env"])
    assert result.returncode == 2
    line = [l for l in result.stderr.splitlines() if l.strip()][-1]
    assert "paper.model: outputs 7 values per example but the data has 3 classes" in line and "fix" in line


def test_check_names_a_claim_on_a_metric_not_computed(external):
    result = run_cli([*external["args"], "paper.reported.0.metric=mse"], module="replicate.check", **external["env"])
    assert result.returncode == 2
    assert "paper.reported[0].metric='mse'" in result.stderr


@pytest.mark.slow
def test_variance_study_runs_one_group_per_source_and_nothing_varies_with_zero_spread(external):
    run_dir = external["root"] / "study"
    result = _run(external, ["study=variance", "repeats=3", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run_dir / "variance_summary.json").read_text())
    groups = {row["group"]: row for row in summary["groups"]}
    assert set(groups) == {"split", "init", "order", "dropout", "all", "none"}
    assert groups["none"]["std"] == 0
    assert groups["all"]["std"] > 0 and groups["split"]["std"] > 0
    assert groups["all"]["share_of_all_variance"] == pytest.approx(1.0)
    report = (run_dir / "variance_report.md").read_text()
    assert "Spread with nothing varying: zero, as bitwise determinism promises." in report
    assert (run_dir / "variance.png").stat().st_size > 0
    for name in groups:  # each group is an ordinary run directory with its own report
        assert (run_dir / "variance" / name / "report.md").exists()
