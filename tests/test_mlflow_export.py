"""replicate-export-mlflow against a real local MLflow store (sqlite in tmp_path), read back with MlflowClient: a
parent run per replicate run, a nested child per repeat with its seeds and per-epoch history, the report files as
artifacts, and no duplicates when the same run is exported again."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from conftest import cli_env, read_records, run_cli
from replicate.export.mlflow import export

SMALL = ["paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial"]


@pytest.fixture(scope="module")
def run_dir(small_run):
    return small_run  # conftest: 3 repeats, 2 epochs, serial (the export only reads it)


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    """The run exported once by the real command; (tracking URI, client, experiment id, the command's result)."""
    where = tmp_path_factory.mktemp("mlflow-store")
    uri = f"sqlite:///{where / 'mlflow.db'}"
    result = run_cli([str(run_dir), "--tracking-uri", uri, "--experiment", "outputs-test"],
                     module="replicate.export.mlflow", cwd=where)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(tracking_uri=uri)
    return uri, client, client.get_experiment_by_name("outputs-test").experiment_id, result


def runs_of(client, experiment_id, kind):
    return client.search_runs([experiment_id], filter_string=f"tags.`replicate.kind` = '{kind}'")


def test_one_parent_with_a_nested_child_per_repeat(exported, run_dir):
    _, client, experiment_id, _ = exported
    summary = json.loads((run_dir / "summary.json").read_text())
    (parent,) = runs_of(client, experiment_id, "run")
    children = runs_of(client, experiment_id, "repeat")
    assert len(children) == 3
    assert {child.data.tags["mlflow.parentRunId"] for child in children} == {parent.info.run_id}
    assert parent.data.params["run_id"] == summary["run_id"] and parent.data.params["paper"] == "mlp_sequence"
    assert parent.data.params["seed"] == "0" and parent.data.params["repeats"] == "3"
    assert parent.data.params["determinism"] == "bitwise"
    assert parent.data.metrics["test_mse_mean"] == pytest.approx(summary["metrics"]["test_mse"]["mean"])
    assert parent.data.metrics["test_mse_std"] == pytest.approx(summary["metrics"]["test_mse"]["std"])
    assert parent.data.metrics["repeats_completed"] == 3
    verdicts = {key: value for key, value in parent.data.tags.items() if key.startswith("verdict.")}
    assert sorted(verdicts.values()) == sorted(claim["verdict"] for claim in summary["claims"])
    assert len(verdicts) == len(summary["claims"]) == 3


def test_each_repeat_carries_its_seeds_metrics_and_history_by_epoch(exported, run_dir):
    _, client, experiment_id, _ = exported
    records = read_records(run_dir)
    for child in runs_of(client, experiment_id, "repeat"):
        record = records[int(child.data.params["repeat"])]
        for source, seed in record["seeds"].items():
            assert child.data.params[f"seed_{source}"] == str(seed)
        assert child.data.params["weights_sha256"] == record["weights_sha256"]
        assert child.data.metrics["test_mse"] == pytest.approx(record["metrics"]["test_mse"])
        history = client.get_metric_history(child.info.run_id, "loss")
        assert sorted((point.step, point.value) for point in history) == \
            [(epoch, pytest.approx(value)) for epoch, value in enumerate(record["history"]["loss"], start=1)]
        assert child.info.status == "FINISHED"


def test_the_report_files_are_artifacts_of_the_parent(exported):
    _, client, experiment_id, _ = exported
    (parent,) = runs_of(client, experiment_id, "run")
    names = {item.path for item in client.list_artifacts(parent.info.run_id)}
    assert {"report.html", "report.md", "summary.json", "results.csv"} <= names


def test_exporting_again_replaces_instead_of_duplicating(exported, run_dir):
    uri, client, experiment_id, _ = exported
    (before,) = runs_of(client, experiment_id, "run")
    (again,) = export(run_dir, uri, "outputs-test")
    (after,) = runs_of(client, experiment_id, "run")
    assert after.info.run_id == again != before.info.run_id
    children = runs_of(client, experiment_id, "repeat")
    assert len(children) == 3 and {child.data.tags["mlflow.parentRunId"] for child in children} == {again}


def test_a_sweep_directory_exports_every_run(exported, run_dir, tmp_path):
    uri, client, _, _ = exported  # the same store (a new one costs its schema migrations), another experiment
    sweep = tmp_path / "sweep"
    for job in ("a", "b"):  # two run directories below one folder, as a sweep leaves them
        shutil.copytree(run_dir, sweep / job)
    # The experiment export picks when none is named (the paper's), made here so its artifacts land in tmp_path:
    # one MLflow makes itself would keep them in ./mlruns of the directory the store was first opened from.
    experiment_id = client.create_experiment("mlp_sequence", artifact_location=(tmp_path / "artifacts").as_uri())
    parents = export(sweep, uri)
    assert len(parents) == 2 and len(runs_of(client, experiment_id, "run")) == 2
    children = runs_of(client, experiment_id, "repeat")
    assert len(children) == 6 and {child.data.tags["mlflow.parentRunId"] for child in children} == set(parents)


def test_without_mlflow_one_line_names_the_extra(run_dir, tmp_path):
    code = ("import sys; sys.modules['mlflow'] = None  # as if mlflow were not installed\n"
            "from replicate.export.mlflow import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, str(run_dir)], cwd=tmp_path, env=cli_env(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'replicate[mlflow]'" in lines[0], result.stderr
