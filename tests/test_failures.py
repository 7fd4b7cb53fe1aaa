"""A repeat that raises or diverges is recorded as such; the others go on; the report counts it."""
import json
import random

import pytest

from conftest import read_records, run_cli
from external_paper import external_args, write_external_paper
from replicate.seeding import repeat_seeds


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    root = tmp_path_factory.mktemp("failures")
    conf, code = write_external_paper(root)
    return {"args": [*external_args(conf), "executor=serial", "selfcheck.enabled=false"],
            "env": {"PYTHONPATH": str(code)}, "root": root}


def test_a_failing_repeat_is_recorded_and_the_others_go_on(external):
    draw = random.Random(repeat_seeds(0, 1)["init"]).random()  # what repeat 1's builder will draw first
    others = [random.Random(repeat_seeds(0, k)["init"]).random() for k in (0, 2)]
    assert all(abs(o - draw) > 1e-9 for o in others)
    run_dir = external["root"] / "fails"
    result = run_cli([*external["args"], "repeats=3", f"+paper.model.fail_if_draw_in=[{draw!r},{draw + 1e-12!r}]",
                      f"hydra.run.dir={run_dir}"], **external["env"])
    assert result.returncode == 1
    records = read_records(run_dir)
    assert [records[k]["status"] for k in range(3)] == ["completed", "failed", "completed"]
    assert "simulated failure in the model builder" in records[1]["error"]["traceback"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["repeats"]["attempted"] == 3 and summary["repeats"]["failed"] == 1
    assert summary["metrics"]["test_accuracy"]["n"] == 2
    report = (run_dir / "report.md").read_text()
    assert "2 completed of 3 requested (1 failed, 0 diverged, 0 not run)" in report
    assert "simulated failure" in report
    failure = summary["failures"][0]
    assert failure["error"].startswith("RuntimeError: ") and "\n" not in failure["error"]


def test_failure_text_is_one_table_safe_line():
    from replicate.report.summary import one_line_error

    message = "Graph execution error:\n\nDetected at node 'x' | shape (32, 5) vs (32,)\n  File ...\n" + "y" * 400
    line = one_line_error({"type": "InvalidArgumentError", "message": message})
    assert "\n" not in line and "|" not in line and len(line) <= 240 and line.endswith("…")
    assert line.startswith("InvalidArgumentError: Graph execution error: Detected at node 'x' / shape")
    assert one_line_error(None) is None


def test_nan_loss_is_recorded_as_diverged_not_as_a_number(external):
    run_dir = external["root"] / "diverges"
    result = run_cli([*external["args"], "repeats=2", "paper.protocol.optimizer.learning_rate=1e30",
                      "paper.protocol.epochs=2", f"hydra.run.dir={run_dir}"], **external["env"])
    # every repeat diverged: none learned, so no verdict and exit 4 (README, exit statuses); the learning curves of
    # all-null epochs draw no numpy warning
    assert result.returncode == 4, result.stderr[-2000:]
    assert "All-NaN slice" not in result.stderr
    records = read_records(run_dir)
    assert {records[k]["status"] for k in range(2)} == {"diverged"}
    assert all(value is None for value in records[0]["metrics"].values())
    assert all(record["did_not_learn"] and not any(record["learned"].values()) for record in records.values())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["repeats"]["diverged"] == 2 and summary["metrics"]["test_accuracy"] is None
    assert summary["did_not_learn"]["none_learned"] and summary["did_not_learn"]["columns"]["test_accuracy"]["diverged"] == 2
    claim = summary["claims"][0]  # nothing to compare with: said so, not blamed on the claim's semantics
    assert claim["verdict"] == "none" and "no run learned" in claim["why"] and "diverged (2 runs)" in claim["why"]
    assert "semantics" not in claim["why"]
