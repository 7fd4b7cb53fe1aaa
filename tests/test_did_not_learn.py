"""Runs that did not learn are their own finding: trivial predictors per metric, the records' `learned` keys on every
execution path, the did_not_learn block, no verdict and exit 4 when no run learned, and what judge is given."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from conftest import read_records, run_cli, settings_for
from replicate import metrics, verdict
from replicate.config import check_claim
from replicate.errors import ConfigError
from replicate.plan import run_identities
from replicate.progress import verdict_notes
from replicate.report import write_report
from replicate.report.summary import build_summary, claim_inputs, learned_on
from replicate.runfile import read_run_file, save_run_file
from replicate.errors import NOTHING_LEARNED_EXIT
from replicate.runner import run
from replicate.store import RecordStore

TINY = ["repeats=3", "paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial"]


# ---------------------------------------------------------------------------------------- trivial predictors

def test_majority_class_predictor_scored_by_each_classification_metric():
    y_train = np.array([0, 0, 1, 2, 0])          # class 0 is the majority
    y_true = np.array([0, 1, 1, 2])               # predicting 0 everywhere: 1 of 4 right
    assert metrics.trivial("accuracy", y_train, y_true, 3) == 0.25
    # class 0: precision 1/4, recall 1, F1 0.4; classes 1 and 2: F1 0
    assert metrics.trivial("macro_f1", y_train, y_true, 3) == pytest.approx(0.4 / 3, abs=1e-15)
    assert metrics.trivial("weighted_f1", y_train, y_true, 3) == pytest.approx(0.4 * 1 / 4, abs=1e-15)
    assert metrics.majority_class(np.array([2, 1, 1, 2]), 3) == 1  # a tie: the lowest class id


def test_class_frequency_predictor_for_cross_entropy_and_its_clip():
    y_train, y_true = np.array([0, 0, 1, 2, 0]), np.array([0, 1, 1, 2])  # priors 0.6, 0.2, 0.2
    expected = -(math.log(0.6) + 2 * math.log(0.2) + math.log(0.2)) / 4
    assert metrics.trivial("cross_entropy", y_train, y_true, 3) == pytest.approx(expected, rel=1e-12)
    # class 1 never seen in training: its prior is clipped to PRIOR_FLOOR, so a finite loss of -log(1e-15)
    assert metrics.trivial("cross_entropy", np.array([0, 0]), np.array([1]), 2) == pytest.approx(-math.log(1e-15),
                                                                                                rel=1e-9)


def test_mean_for_mse_and_median_for_mae():
    y_train, y_true = np.array([1.0, 2.0, 3.0, 10.0]), np.array([4.0, 0.0])  # mean 4, median 2.5
    assert metrics.trivial("mse", y_train, y_true) == 8.0                    # (0 + 16) / 2
    assert metrics.trivial("mae", y_train, y_true) == 2.0                    # (1.5 + 2.5) / 2
    two_outputs = np.array([[0.0, 10.0], [2.0, 20.0]])                       # per-output means 1 and 15
    assert metrics.trivial("mse", two_outputs, np.array([[1.0, 15.0], [3.0, 15.0]])) == 1.0  # (0 + 0 + 4 + 0) / 4


def test_no_trivial_predictor_where_none_is_defined():
    assert metrics.trivial("loss", np.array([0, 1]), np.array([0, 1]), 2) is None
    assert metrics.trivial("a_custom_metric", np.array([0.0]), np.array([0.0])) is None
    assert metrics.trivial("accuracy", np.array([0, 1]), np.array([0, 1])) is None  # no class count given
    assert metrics.trivial_words("fit_loss") is None
    assert metrics.trivial_words("test_accuracy") == "predicting the training split's majority class"
    assert metrics.trivial_words("test_mae") == "predicting the training split's median target"


def test_learned_means_strictly_better_than_the_trivial_value():
    assert not metrics.learned("test_accuracy", 0.25, 0.25)                 # a tie is no better
    assert not metrics.learned("test_accuracy", 0.25 + 1e-12, 0.25)         # equal to rounding
    assert metrics.learned("test_accuracy", 0.26, 0.25)
    assert not metrics.learned("test_mse", 0.0667, 0.0667) and not metrics.learned("test_mse", 4e13, 0.0667)
    assert metrics.learned("test_mse", 0.01, 0.0667)
    assert not metrics.learned("test_mse", math.nan, None) and not metrics.learned("test_mse", None, 0.1)
    assert metrics.learned("fit_loss", 0.3, None)                           # no bar: a finite value learned


def test_learned_only_is_a_strict_bool():
    paper = {"task": "regression", "evaluate_on": ["test"], "metrics": ["mse"]}
    claim = {"metric": "mse", "split": "test", "statistic": "sample", "values": [0.1, 0.2]}
    check_claim(paper, {**claim, "learned_only": True}, "paper.reported[0]")
    with pytest.raises(ConfigError, match=r"paper.reported\[0\].learned_only='yes': must be true or false"):
        check_claim(paper, {**claim, "learned_only": "yes"}, "paper.reported[0]")
    assert settings_for(["paper.reported.0.learned_only=true"], "/tmp/unused").paper["reported"][0]["learned_only"]


# --------------------------------------------------------------------------------------- a run that did not learn

@pytest.fixture(scope="module")
def blown_up(tmp_path_factory):
    """mlp_sequence at learning_rate=1000, in this process: (run dir, its RunOutcome)."""
    run_dir = tmp_path_factory.mktemp("lr1000") / "run"
    outcome = run(settings_for([*TINY, "paper.protocol.optimizer.learning_rate=1000"], run_dir))
    return run_dir, outcome


def test_every_repeat_at_learning_rate_1000_did_not_learn(blown_up):
    run_dir, outcome = blown_up
    records = read_records(run_dir)
    assert len(records) == 3
    for record in records.values():
        assert record["status"] == "completed" and record["metrics"]["test_mse"] > 1.0
        assert record["trivial"] == {"test_mse": pytest.approx(0.6 / 9, rel=1e-12)}  # the variance of 0.1..0.9
        assert record["learned"] == {"test_mse": False} and record["did_not_learn"] is True
    block = outcome.summary["did_not_learn"]
    entry = block["columns"]["test_mse"]
    assert (entry["n"], entry["not_learned"], entry["rate"]) == (3, 3, 1.0)
    assert entry["interval"] == pytest.approx(list(verdict.proportion_interval(3, 3, 0.95)))
    assert entry["trivial_what"] == "predicting the training split's mean target"
    assert block["none_learned"] and block["text"].startswith("3 of 3 runs did not learn (test MSE no better than "
                                                              "predicting the training split's mean target")
    assert outcome.exit_status == NOTHING_LEARNED_EXIT == 4
    for claim in outcome.summary["claims"]:
        assert claim["verdict"] == "none" and claim["why"].startswith("no run learned: none of the 3 runs did")


def test_the_report_and_the_terminal_say_it_first(blown_up):
    run_dir, outcome = blown_up
    report = (run_dir / "report.md").read_text()
    first = report.split("## Verdicts")[0]
    assert "> **No run learned.** 3 of 3 runs did not learn" in first and "exact 95% interval [0.29, 1]" in first
    assert "## Runs that did not learn" in report
    assert "No run learned." in (run_dir / "report.html").read_text()
    notes = verdict_notes(outcome.summary)
    assert any(note.startswith("NO VERDICT: 3 of 3 runs did not learn") for note in notes)
    assert json.loads((run_dir / "summary.json").read_text())["did_not_learn"]["none_learned"] is True


def test_the_command_exits_4_when_no_run_learned(tmp_path):
    result = run_cli(["repeats=2", "paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial",
                      "paper.protocol.optimizer.learning_rate=1000", f"hydra.run.dir={tmp_path / 'run'}"])
    assert result.returncode == 4, result.stderr[-2000:]
    assert "replicate: no run learned, so no claim has a verdict: 2 of 2 runs did not learn" in result.stderr
    assert "All-NaN slice" not in result.stderr


def test_a_sweep_runs_every_configuration_and_exits_with_the_worst_status(tmp_path):
    """A configuration that learned nothing does not stop the sweep: the others run, the sweep report is written,
    and the sweep exits 4 naming it."""
    sweep = tmp_path / "sweep"
    result = run_cli(["-m", "repeats=2", "paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial",
                      "paper.protocol.optimizer.learning_rate=1000,0.03", f"hydra.sweep.dir={sweep}"])
    assert result.returncode == 4, result.stderr[-3000:]
    runs = sorted(path.parent for path in sweep.rglob("run.json"))
    assert len(runs) == 2 and (sweep / "sweep_report.md").is_file()
    learned = {run.name: json.loads((run / "summary.json").read_text())["did_not_learn"]["none_learned"] for run in runs}
    assert sorted(learned.values()) == [False, True]
    (stuck,) = [name for name, none in learned.items() if none]
    assert "learning_rate=1000" in stuck
    assert f"no run learned, so no claim has a verdict, in {stuck}" in result.stderr


def test_a_learning_rate_of_zero_learns_nothing_whatever_the_untrained_model_scores(tmp_path):
    outcome = run(settings_for([*TINY, "paper.protocol.optimizer.learning_rate=0"], tmp_path))
    records = read_records(tmp_path)
    assert all(r["weights_sha256"] == r["init_weights_sha256"] and r["did_not_learn"] for r in records.values())
    assert outcome.exit_status == 4
    assert "or the run kept its initial weights (3 runs)" in outcome.summary["did_not_learn"]["text"]


def test_repeats_auto_stops_at_its_first_look_when_no_run_learned(tmp_path):
    """Instead of training up to repeats_max: as when none of the first repeats completes."""
    outcome = run(settings_for(["repeats=auto", "paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial",
                                "paper.protocol.optimizer.learning_rate=1000"], tmp_path))
    assert sorted(read_records(tmp_path)) == [0, 1, 2, 3, 4]
    assert outcome.exit_status == 4
    assert {claim["verdict"] for claim in outcome.summary["claims"]} == {"none"}


def test_lockstep_and_per_repeat_records_agree_on_what_was_learned(tmp_path):
    """Every execution path builds its record in train.finish: the same trivial values and flags, the same bits."""
    keys = ("weights_sha256", "metrics", "trivial", "learned", "did_not_learn")
    runs = {}
    for path in ("vectorized", "per_repeat"):
        run(settings_for([*TINY, f"execution={path}", "paper.protocol.epochs=20"], tmp_path / path))
        runs[path] = read_records(tmp_path / path)
    assert {r["execution"]["path"] for r in runs["vectorized"].values()} == {"vectorized"}
    for k in range(3):
        assert [runs["vectorized"][k][key] for key in keys] == [runs["per_repeat"][k][key] for key in keys]
    # replicate-verify re-runs each from its record (per repeat) and still finds the same bits
    from replicate.verify import verify

    assert [result["match"] for result in verify(tmp_path / "vectorized")] == [True] * 3


# ------------------------------------------------------------------------------- some runs failed, from records

MSES = [0.01, 0.02, 0.5, 0.03, None, 0.012, 2.0, 0.04, 0.015, 0.025]  # 0.5 and 2.0: worse than the mean's 0.0667


@pytest.fixture
def hand_made(blown_up, tmp_path):
    """A run directory of 10 hand-made mlp_sequence records (made from a real one): 7 learned; repeat 2 and 6 no
    better than predicting the mean, repeat 4 diverged. Returns (run dir, run.json content, records)."""
    source, _ = blown_up
    run_file = read_run_file(source)
    run_file["repeats"] = 10
    template = read_records(source)[0]
    identities = run_identities(run_file)
    trivial = 0.6 / 9
    records = []
    for index, value in enumerate(MSES):
        record = copy.deepcopy(template)
        record.update(repeat=index, identity=identities[index], status="completed" if value is not None else "diverged",
                      metrics={"test_mse": value}, trivial={"test_mse": trivial},
                      learned={"test_mse": value is not None and metrics.learned("test_mse", value, trivial)})
        record["did_not_learn"] = not record["learned"]["test_mse"]
        records.append(record)
    save_run_file(tmp_path, run_file)
    return tmp_path, run_file, records


def _write(run_dir, records):
    store = RecordStore(run_dir)
    for record in records:
        store.write(record)


def _fake_judge(calls):
    def judge(statistic, reported, values, **options):
        calls.append({"values": list(values), **options})
        return verdict.Verdict(statistic, "inconclusive", None, "a stand-in", "a stand-in rule", "none", "stand-in")

    return judge


def test_some_runs_did_not_learn_the_report_line_and_what_judge_is_given(hand_made, monkeypatch):
    run_dir, run_file, records = hand_made
    run_file["paper"]["reported"][0]["learned_only"] = True
    save_run_file(run_dir, run_file)
    _write(run_dir, records)
    calls = []
    monkeypatch.setattr(verdict, "judge", _fake_judge(calls))
    summary = write_report(run_dir)

    line = ("3 of 10 runs did not learn (test MSE no better than predicting the training split's mean target "
            "(0.06667), or the run diverged (1 run)): failure rate 0.3, exact 95% interval [0.067, 0.65]")
    assert summary["did_not_learn"]["text"] == line
    low, high = verdict.proportion_interval(3, 10, 0.95)
    assert f"[{low:.2g}, {high:.2g}]" == "[0.067, 0.65]"
    entry = summary["did_not_learn"]["columns"]["test_mse"]
    assert entry["repeats"] == [2, 4, 6] and entry["diverged"] == 1 and not summary["did_not_learn"]["none_learned"]
    report = (run_dir / "report.md").read_text()
    assert f"> **Runs that did not learn.** {line}." in report.split("## Verdicts")[0]
    assert f"RUNS THAT DID NOT LEARN: {line}" in verdict_notes(summary)
    assert "Judged on the runs that learned only (7 of 10), as the paper says it discarded runs that did not learn" \
        in report
    assert "| 2, 4, 6 |" in report

    # judge: every finished repeat's value in repeat order (the diverged one's null as NaN), who learned, the bar
    assert len(calls) == 3
    first = calls[0]
    assert first["values"][:4] == [0.01, 0.02, 0.5, 0.03] and math.isnan(first["values"][4])
    assert first["values"][5:] == MSES[5:]
    assert first["learned"] == [True, True, False, True, False, True, False, True, True, True]
    assert first["failure_threshold"] == pytest.approx(0.6 / 9, rel=1e-12)
    assert [call["learned_only"] for call in calls] == [True, False, False]
    assert all(call["failure_threshold"] == first["failure_threshold"] for call in calls)
    assert [claim["verdict"] for claim in summary["claims"]] == ["inconclusive"] * 3


def test_records_from_before_the_learned_keys_still_load(hand_made, monkeypatch):
    """No `trivial` or `learned`: a finite completed value counts as learned (nothing else is known of it); the
    diverged run did not learn; no trivial value is claimed."""
    run_dir, run_file, records = hand_made
    for record in records:
        for key in ("trivial", "learned", "did_not_learn"):
            del record[key]
    _write(run_dir, records)
    calls = []
    monkeypatch.setattr(verdict, "judge", _fake_judge(calls))
    summary = write_report(run_dir)
    block = summary["did_not_learn"]
    assert block["columns"]["test_mse"]["trivial"] is None and block["columns"]["test_mse"]["not_learned"] == 1
    assert block["text"].startswith("1 of 10 runs did not learn (test MSE not a finite number, or the run diverged "
                                    "(1 run)): failure rate 0.1")
    assert calls[0]["learned"] == [True] * 4 + [False] + [True] * 5 and calls[0]["failure_threshold"] is None
    assert [learned_on(r, "test_mse") for r in records] == calls[0]["learned"]
    inputs = claim_inputs(run_file["paper"]["reported"][0], records)
    assert inputs.repeats == list(range(10)) and len(inputs.learned_values) == 9


def test_no_verdict_when_no_repeat_learned_even_with_a_verdict_in_hand(hand_made):
    """A summary over records none of which learned gives every claim 'no verdict', without calling judge."""
    _, run_file, records = hand_made
    for record in records:
        record["learned"] = {"test_mse": False}
    summary = build_summary(run_file, records)
    assert summary["did_not_learn"]["none_learned"]
    assert {claim["verdict"] for claim in summary["claims"]} == {"none"}
