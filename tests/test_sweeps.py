"""Sweeps as a Hydra user types them: one run dir per configuration (config-group keys included), rows labelled by
the swept keys only in natural order, a stable sweep dir that the same command resumes, and the joblib launcher."""
import json
import re

import pytest

from conftest import read_records, run_cli

pytestmark = pytest.mark.slow

def _rows(report: str) -> list[str]:
    """The configuration column of the first table (not the pairwise one below it)."""
    return re.findall(r"^\| `([^`]+)` \| `", report.split("## Pairwise")[0], re.M)


def test_a_sweep_is_labelled_by_its_swept_key_in_natural_order_and_the_same_command_resumes_it(small_sweep):
    cwd, command, _ = small_sweep  # conftest: -m ... repeats=2 paper.protocol.epochs=12,2,6, in the default sweep dir
    (sweep,) = (cwd / "outputs" / "multirun" / "mlp_sequence").iterdir()  # no timestamp: a hash of the overrides
    assert re.fullmatch(r"[0-9a-f]{12}", sweep.name)
    report = (sweep / "sweep_report.md").read_text()
    # Only the swept key tells the rows apart (not repeats=2, executor=serial, ...), and 2 < 6 < 12 as numbers.
    assert _rows(report) == ["paper.protocol.epochs=2", "paper.protocol.epochs=6", "paper.protocol.epochs=12"]
    summary = json.loads((sweep / "sweep_summary.json").read_text())
    assert [c["overrides"] for c in summary["configurations"]] == [{"paper.protocol.epochs": v} for v in ("2", "6", "12")]
    assert len(summary["pairwise"]) == 3 and (sweep / "sweep.png").stat().st_size > 0
    before = {c["directory"]: read_records(sweep / c["directory"]) for c in summary["configurations"]}

    again = run_cli(command, cwd=cwd)  # the same sweep typed again: same directory, nothing retrained
    assert again.returncode == 0, again.stderr[-3000:]
    assert [p.name for p in (cwd / "outputs" / "multirun" / "mlp_sequence").iterdir()] == [sweep.name]
    output = again.stdout + again.stderr
    assert output.count("nothing to train") == 3, output[-3000:]
    assert {name: read_records(sweep / name) for name in before} == before


def test_a_config_group_sweep_under_the_joblib_launcher_with_the_default_executor(tmp_path, data_dir):
    sweep = tmp_path / "sweep"
    result = run_cli(["-m", "paper=tmd_cnn", "paper/model=cnn_e,cnn_a", "paper.data.num_segments=300",
                      "paper.protocol.epochs=1", "repeats=2", "selfcheck.enabled=false", "executor.workers=1", "hydra/launcher=joblib",
                      f"hydra.sweep.dir={sweep}"])
    # one epoch on 300 segments: a configuration whose runs all predict the majority class learned nothing, which the
    # sweep says by exiting 4 after every configuration ran (README, exit statuses)
    assert result.returncode in (0, 4), result.stderr[-3000:]
    assert result.returncode == 0 or "no run learned, so no claim has a verdict, in " in result.stderr
    # One run directory per configuration right below the sweep dir: the '/' of a group key does not nest them.
    runs = sorted(path.parent for path in sweep.rglob("run.json"))
    assert len(runs) == 2 and all(run.parent == sweep for run in runs), runs
    built = {read_records(run)[0]["paper"]["model"]["_target_"].rsplit(".", 1)[1] for run in runs}
    assert built == {"build_cnn_a", "build_cnn_e"}
    assert all(record["status"] == "completed" for run in runs for record in read_records(run).values())
    assert _rows((sweep / "sweep_report.md").read_text()) == ["paper/model=cnn_a", "paper/model=cnn_e"]
