"""The variance and sweep reports, written in-process from run dirs built by hand: numbers from the records, the
interval's level from each run's report.confidence."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import settings_for
from replicate import stats
from replicate.config import headline_column
from replicate.plan import run_identities
from replicate.report import write_report
from replicate.report.sweep import write_sweep_report
from replicate.report.variance import write_variance_report
from replicate.runfile import read_run_file, save_run_file, write_run_file
from replicate.seeding import SOURCES
from replicate.store import RecordStore


def make_run(run_dir, values, confidence, overrides=()):
    """A run dir as the runner leaves it (run.json, one completed record per value), without training; returns the
    headline column the values were stored under."""
    # run.json leaves output_dir out, and a sweep job's name ('epochs=3') is no valid override value.
    settings = settings_for(["executor=serial", f"repeats={len(values)}", f"report.confidence={confidence}",
                             "report.bootstrap_resamples=1000", *overrides], run_dir.parent)
    run_dir.mkdir(parents=True)
    write_run_file(run_dir, settings)
    run = read_run_file(run_dir)
    column = headline_column(run["paper"])
    identities = run_identities(run)
    store = RecordStore(run_dir)
    for index, value in enumerate(values):
        store.write({"repeat": index, "status": "completed", "identity": identities[index],
                     "seeds": {source: index for source in SOURCES}, "metrics": {column: value}})
    return column


GROUPS = {"init": [0.81, 0.82, 0.83, 0.85], "all": [0.80, 0.82, 0.85, 0.86], "none": [0.84, 0.84, 0.84, 0.84]}


def test_variance_report_takes_values_from_records_and_its_level_from_run_json(tmp_path):
    dirs = {name: tmp_path / "variance" / name for name in GROUPS}
    column = {name: make_run(dirs[name], values, 0.9) for name, values in GROUPS.items()}["all"]
    path = write_variance_report(tmp_path, dirs)
    text = path.read_text()
    assert "90% interval of std (chi-square)" in text and "95%" not in text
    assert f"`{column}`" in text
    assert "Spread with nothing varying: zero, as bitwise determinism promises." in text
    summary = json.loads((tmp_path / "variance_summary.json").read_text())
    rows = {row["group"]: row for row in summary["groups"]}
    assert [row["group"] for row in summary["groups"]] == list(GROUPS)
    for name, values in GROUPS.items():
        assert rows[name]["n"] == 4 and rows[name]["mean"] == pytest.approx(np.mean(values))
        assert rows[name]["std"] == pytest.approx(np.std(values, ddof=1))
    assert rows["init"]["std_interval"] == pytest.approx(list(stats.std_interval(GROUPS["init"], 0.9)))
    assert rows["init"]["share_of_all_variance"] == pytest.approx(np.var(GROUPS["init"], ddof=1) / np.var(GROUPS["all"], ddof=1))
    assert rows["all"]["share_of_all_variance"] == pytest.approx(1.0)
    assert rows["none"]["std"] == 0 and rows["none"]["std_interval"] == [0.0, 0.0]
    assert (tmp_path / "variance.png").stat().st_size > 0


def test_variance_report_says_when_the_groups_disagree_on_confidence(tmp_path):
    dirs = {name: tmp_path / "variance" / name for name in GROUPS}
    for name, values in GROUPS.items():
        make_run(dirs[name], values, 0.8 if name == "init" else 0.9)
    text = write_variance_report(tmp_path, dirs).read_text()
    assert "disagree on `report.confidence` (80%, 90%)" in text
    rows = {row["group"]: row for row in json.loads((tmp_path / "variance_summary.json").read_text())["groups"]}
    assert rows["init"]["std_interval"] == pytest.approx(list(stats.std_interval(GROUPS["init"], 0.8)))


CONFIGURATIONS = {"paper.protocol.epochs=3": [0.71, 0.74, 0.73], "paper.protocol.epochs=6": [0.80, 0.83, 0.79, 0.82]}


def _sweep(tmp_path, confidences):
    sweep = tmp_path / "sweep"
    for (name, values), confidence in zip(CONFIGURATIONS.items(), confidences):
        make_run(sweep / name, values, confidence)
        write_report(sweep / name)  # summary.json, as each job of a real sweep leaves it
    return sweep


def test_sweep_report_takes_values_from_records_and_its_level_from_run_json(tmp_path):
    sweep = _sweep(tmp_path, [0.9, 0.9])
    (sweep / "paper.protocol.epochs=3" / "results.csv").unlink()  # the records are the source, not the CSV
    text = write_sweep_report(sweep).read_text()
    assert "90% t interval of the mean" in text and "90% CI (t)" in text and "95%" not in text
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    by_name = {c["name"]: c for c in summary["configurations"]}
    assert set(by_name) == set(CONFIGURATIONS)
    for name, values in CONFIGURATIONS.items():
        assert by_name[name]["values"] == values and by_name[name]["confidence"] == 0.9
        metric = by_name[name]["metric"]
        assert metric["mean"] == pytest.approx(np.mean(values))
        low, high = metric["ci_t"]
        assert (high - low) / 2 == pytest.approx(stats.interval_half_width(values, 0.9))
    assert len(summary["pairwise"]) == 1 and not summary["left_out"]
    assert (sweep / "sweep.png").stat().st_size > 0


def test_sweep_report_says_when_the_configurations_disagree_on_confidence(tmp_path):
    sweep = _sweep(tmp_path, [0.9, 0.95])
    text = write_sweep_report(sweep).read_text()
    assert "the configurations disagree: 90%, 95%" in text
    assert "(90%)" in text and "(95%)" in text  # each row's interval names its own level


def test_sweep_report_leaves_out_a_summary_older_than_run_json(tmp_path):
    sweep = _sweep(tmp_path, [0.9, 0.9])
    stale = sweep / "paper.protocol.epochs=6"
    save_run_file(stale, {**read_run_file(stale), "report": {**read_run_file(stale)["report"], "confidence": 0.8}})
    text = write_sweep_report(sweep).read_text()
    assert "## Configurations left out" in text and "replicate-report" in text
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert [c["name"] for c in summary["configurations"]] == ["paper.protocol.epochs=3"]
    assert summary["left_out"][0]["name"] == "paper.protocol.epochs=6"
    assert not math.isnan(summary["configurations"][0]["metric"]["mean"])
