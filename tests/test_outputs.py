"""Outputs for the tools people use: files others can read (the umask decides, as for any program), summary.json
and results.csv that say which run and layout they are, every repeat of a run or a sweep as one DataFrame, and the
notebook API that runs the real command."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import replicate
from conftest import LEARNS, ROOT, cli_env, read_records, run_cli
from replicate.errors import ReplicateError

SMALL = ["paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial"]


def run_under_umask(umask: str, args: list[str]) -> subprocess.CompletedProcess:
    """`python -m replicate ARGS` started by a shell that set `umask` first, as a user's login shell would."""
    return subprocess.run(["sh", "-c", f'umask {umask} && exec "$@"', "sh", sys.executable, "-m", "replicate", *args],
                          cwd=ROOT, env=cli_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def run_dir(small_run):
    return small_run  # conftest: 3 repeats, 2 epochs, serial, made under umask 022


@pytest.fixture(scope="module")
def sweep_dir(small_sweep):
    cwd, _, _ = small_sweep  # conftest: paper.protocol.epochs=12,2,6, 2 repeats each, in the default sweep dir
    (path,) = (cwd / "outputs" / "multirun" / "mlp_sequence").iterdir()
    return path


def modes(directory: Path) -> dict[str, int]:
    return {str(path.relative_to(directory)): stat.S_IMODE(path.stat().st_mode)
            for path in directory.rglob("*") if path.is_file()}


# --- permissions -----------------------------------------------------------------------------------------------------

def test_every_file_of_a_run_is_readable_by_others_under_umask_022(run_dir):
    found = modes(run_dir)
    for name in ("run.json", "summary.json", "results.csv", "report.md", "report.html", "distribution.png",
                 "records/repeat-00000.json", "records/repeat-00002.json"):
        assert name in found, name
    assert {name: mode for name, mode in found.items() if mode != 0o644} == {}


# --- versions and the run id -----------------------------------------------------------------------------------------

def test_summary_names_its_layout_version_and_run(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["schema_version"] == 1
    assert summary["replicate_version"] == replicate.__version__
    # the run id is the name of the run directory the same command makes by default
    asked = run_cli(["repeats=3", *SMALL, "--cfg", "job", "--resolve", "-p", "output_dir"])
    assert asked.returncode == 0, asked.stderr
    default_dir = Path(asked.stdout.strip().splitlines()[-1])
    assert default_dir.parent.name == "mlp_sequence" and summary["run_id"] == default_dir.name
    assert len(summary["run_id"]) == 12
    # python -m replicate.report RUN_DIR regenerates the same id from run.json: tests/test_report.py's rebuild from
    # the records alone compares summary.json and results.csv byte for byte


def test_results_csv_leads_with_run_id_and_paper(run_dir):
    table = pd.read_csv(run_dir / "results.csv", dtype={"run_id": str})
    summary = json.loads((run_dir / "summary.json").read_text())
    assert list(table.columns[:4]) == ["run_id", "paper", "repeat", "status"]
    assert set(table["run_id"]) == {summary["run_id"]} and set(table["paper"]) == {"mlp_sequence"}
    assert "| run_id |" not in (run_dir / "report.md").read_text()  # one run: no column of one value in its table


# --- load_runs -------------------------------------------------------------------------------------------------------

def test_load_runs_of_one_run_is_results_csv_with_its_directory(run_dir):
    frame = replicate.load_runs(run_dir)
    records = read_records(run_dir)
    assert list(frame.columns[:5]) == ["run_id", "paper", "run_dir", "repeat", "status"]
    assert list(frame["repeat"]) == [0, 1, 2] and set(frame["run_dir"]) == {str(run_dir)}
    assert list(frame["seed_init"]) == [records[k]["seeds"]["init"] for k in range(3)]
    assert list(frame["test_mse"]) == [records[k]["metrics"]["test_mse"] for k in range(3)]
    assert list(frame["weights_sha256"]) == [records[k]["weights_sha256"] for k in range(3)]
    for column in ("kept_epoch", "wall_seconds", "seed_split", "seed_order", "seed_dropout"):
        assert column in frame.columns, column
    csv = pd.read_csv(run_dir / "results.csv", dtype={"run_id": str})
    pd.testing.assert_frame_equal(frame.drop(columns="run_dir"), csv, check_dtype=False)


@pytest.mark.slow  # a real three-configuration sweep (shared with tests/test_sweeps.py)
def test_load_runs_of_a_sweep_has_a_column_per_swept_key(sweep_dir):
    frame = replicate.load_runs(sweep_dir)
    assert list(frame.columns[:6]) == ["run_id", "paper", "run_dir", "paper.protocol.epochs", "repeat", "status"]
    assert "repeats" not in frame.columns  # the same in every job: not an axis of the sweep
    assert len(frame) == 6 and frame["run_id"].nunique() == 3 and frame["run_dir"].nunique() == 3
    assert sorted(frame["paper.protocol.epochs"]) == [2, 2, 6, 6, 12, 12]  # YAML scalars, not text
    for run_dir, rows in frame.groupby("run_dir"):
        summary = json.loads((Path(run_dir) / "summary.json").read_text())
        assert set(rows["run_id"]) == {summary["run_id"]} and list(rows["repeat"]) == [0, 1]
        assert rows["paper.protocol.epochs"].iloc[0] == summary["paper"]["protocol"]["epochs"]


def test_load_runs_says_in_one_line_when_there_is_no_run(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReplicateError, match=r"holds no replicate run .*; fix: ") as caught:
        replicate.load_runs(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ReplicateError, match=r"no such file or folder; fix: "):
        replicate.load_runs(tmp_path / "missing")


def test_import_replicate_stays_cheap_and_load_runs_needs_no_tensorflow(run_dir):
    code = ("import sys, replicate; heavy = ('pandas', 'tensorflow', 'keras', 'mlflow', 'matplotlib'); "
            "print([m for m in heavy if m in sys.modules]); "
            f"frame = replicate.load_runs({str(run_dir)!r}); print(len(frame)); "
            "print([m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=cli_env(), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == ["[]", "3", "[]"]


# --- run_paper -------------------------------------------------------------------------------------------------------

def test_run_paper_runs_the_command_and_returns_its_run_private_under_umask_077(tmp_path):
    previous = os.umask(0o077)  # the command inherits the notebook's umask, as from a shell
    try:
        result = replicate.run_paper("mlp_sequence", ["repeats=2", LEARNS, *SMALL], cwd=tmp_path, quiet=True)
    finally:
        os.umask(previous)
    found = modes(result.run_dir)
    assert "summary.json" in found and "records/repeat-00001.json" in found and "report.html" in found
    assert {name: mode for name, mode in found.items() if mode != 0o600} == {}
    # no output_dir: the command's default run directory, below cwd, named by the run id
    assert result.run_dir == tmp_path / "outputs" / "mlp_sequence" / result.summary["run_id"]
    assert result.run_id == result.summary["run_id"]
    assert result.summary["repeats"]["completed"] == 2
    assert list(result.records["repeat"]) == [0, 1]
    assert result.report_md.is_file() and result.report_html.is_file()
    assert result.report_md.parent == result.run_dir


def test_run_paper_raises_the_commands_one_line_error(tmp_path):
    with pytest.raises(ReplicateError, match=r"exited with status 2: replicate: error: .*seed.*abc.*fix") as caught:
        replicate.run_paper("mlp_sequence", ["seed=abc"], cwd=tmp_path, quiet=True)
    assert "\n" not in str(caught.value)
    in_the_way = tmp_path / "a-file"
    in_the_way.write_text("not a folder\n")
    with pytest.raises(ReplicateError, match=r"exited with status 2: replicate: error: .*a-file.*fix"):
        replicate.run_paper("mlp_sequence", ["repeats=1", *SMALL], output_dir=in_the_way, cwd=tmp_path, quiet=True)
