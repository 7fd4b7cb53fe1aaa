"""execution=vectorized: replicas in lockstep give each repeat's own bits, fail and diverge alone, resume,
verify, and fall back to one repeat at a time for a model that cannot have per-replica random streams."""
import json
import random
import shutil

import pytest
from scipy import stats

from conftest import read_records, run_cli
from external_paper import external_args, write_external_paper
from replicate.seeding import repeat_seeds

pytestmark = pytest.mark.slow

REPEATS = 4


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    """The tiny test paper: dropout, shuffled batches, a split that follows each repeat's split seed."""
    root = tmp_path_factory.mktemp("vectorized")
    conf, code = write_external_paper(root)
    return {"args": [*external_args(conf), "executor=serial", "selfcheck.enabled=false", f"repeats={REPEATS}"],
            "env": {"PYTHONPATH": str(code)}, "root": root}


def _run(external, name, *args, expect=0):
    run_dir = external["root"] / name
    result = run_cli([*external["args"], *args, f"hydra.run.dir={run_dir}"], **external["env"])
    assert result.returncode == expect, result.stderr[-3000:]
    return run_dir, result


@pytest.fixture(scope="module")
def per_repeat(external):
    return read_records(_run(external, "per_repeat", "execution=per_repeat")[0])


@pytest.fixture(scope="module")
def vectorized(external):
    run_dir, _ = _run(external, "vectorized", "execution=vectorized")
    return run_dir


def _same_bits(a: dict, b: dict, k: int) -> None:
    assert a["status"] == b["status"], (k, a.get("error"), b.get("error"))
    for key in ("init_weights_sha256", "weights_sha256", "metrics", "history", "kept_epoch", "per_class", "split_sha256",
                "trivial", "learned", "did_not_learn"):
        assert a[key] == b[key], (k, key)


def test_each_replica_is_its_repeat_bit_for_bit(per_repeat, vectorized):
    """Same initial weights, batches, dropout masks and optimizer steps: the records agree exactly (a stronger
    result than the stated tolerance, relative difference 1e-6 of each metric, that floating-point order
    could have forced)."""
    replicas = read_records(vectorized)
    assert sorted(replicas) == list(range(REPEATS))
    for k in range(REPEATS):
        _same_bits(replicas[k], per_repeat[k], k)
        assert replicas[k]["execution"]["path"] == "vectorized"
        assert replicas[k]["execution"]["backend"] == "tensorflow"
        assert replicas[k]["execution"]["group"] == list(range(REPEATS))
        assert per_repeat[k]["execution"] == {"path": "per_repeat", "backend": "tensorflow"}
        assert replicas[k]["settings"]["execution"] == "vectorized"
    # the repeats really differ from each other (own init, order, dropout and split)
    assert len({replicas[k]["init_weights_sha256"] for k in range(REPEATS)}) == REPEATS
    assert len({replicas[k]["weights_sha256"] for k in range(REPEATS)}) == REPEATS
    assert replicas[0]["identity"] == per_repeat[0]["identity"]  # same bits, so the path is not part of the identity


def test_grouping_and_process_never_change_a_replicas_bits(external, vectorized):
    """Groups of one, two and four, in other processes, on one or two workers: the same bits (bitwise
    reproducible with itself)."""
    four = read_records(vectorized)
    ones, _ = _run(external, "groups_of_one", "execution=vectorized", "replicas=1")
    twos, result = _run(external, "groups_of_two_local", "execution=vectorized", "executor=local",
                        "executor.workers=2")
    assert "in 2 lockstep groups" in result.stderr + result.stdout
    for run_dir, size in ((ones, 1), (twos, 2)):
        records = read_records(run_dir)
        for k in range(REPEATS):
            _same_bits(records[k], four[k], k)
            assert len(records[k]["execution"]["group"]) == size


def test_thirty_repeats_two_paths_same_distribution(tmp_path):
    """mlp_sequence, 30 repeats, 8 epochs, by both paths. Stated test: each repeat's test MSE agrees within a
    relative 1e-6 (here exactly), and the two samples of 30 are indistinguishable by a two-sample
    Kolmogorov-Smirnov test and a Mann-Whitney U test (p > 0.05)."""
    common = ["paper=mlp_sequence", "repeats=30", "paper.protocol.epochs=8", "selfcheck.enabled=false"]
    runs = {}
    for path in ("per_repeat", "vectorized"):
        run_dir = tmp_path / path
        result = run_cli([*common, f"execution={path}", f"hydra.run.dir={run_dir}"])
        assert result.returncode == 0, result.stderr[-3000:]
        runs[path] = [json.loads((run_dir / "summary.json").read_text()), read_records(run_dir)]
    a = [runs["per_repeat"][1][k]["metrics"]["test_mse"] for k in range(30)]
    b = [runs["vectorized"][1][k]["metrics"]["test_mse"] for k in range(30)]
    assert b == pytest.approx(a, rel=1e-6)
    assert stats.ks_2samp(a, b).pvalue > 0.05
    assert stats.mannwhitneyu(a, b).pvalue > 0.05
    assert len(set(a)) == 30
    report = (tmp_path / "vectorized" / "report.md").read_text()
    assert "- Execution: `vectorized`: repeats trained in lockstep, groups of" in report


def _first_draw(index: int) -> float:
    """What repeat `index`'s model builder draws first (Python's random, seeded with its init seed)."""
    return random.Random(repeat_seeds(0, index)["init"]).random()


def test_a_failing_replica_fails_alone(external, per_repeat):
    draw = _first_draw(1)
    run_dir, _ = _run(external, "fails", "execution=vectorized",
                      f"+paper.model.fail_if_draw_in=[{draw!r},{draw + 1e-12!r}]", expect=1)
    records = read_records(run_dir)
    assert [records[k]["status"] for k in range(REPEATS)] == ["completed", "failed", "completed", "completed"]
    assert "simulated failure in the model builder" in records[1]["error"]["traceback"]
    for k in (0, 2, 3):  # the others trained in lockstep without it, bit for bit as alone
        _same_bits(records[k], per_repeat[k], k)
        assert records[k]["execution"]["group"] == [0, 2, 3]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["repeats"]["failed"] == 1 and summary["repeats"]["attempted"] == REPEATS


def test_a_diverging_replica_does_not_spoil_the_others(external):
    draw = _first_draw(2)
    explode = f"+paper.model.explode_if_draw_in=[{draw!r},{draw + 1e-12!r}]"
    alone, _ = _run(external, "diverges_alone", "execution=per_repeat", explode)
    together, _ = _run(external, "diverges_together", "execution=vectorized", explode)
    a, b = read_records(alone), read_records(together)
    assert [b[k]["status"] for k in range(REPEATS)] == ["completed", "completed", "diverged", "completed"]
    assert all(value is None for value in b[2]["metrics"].values())
    assert None in b[2]["history"]["loss"]
    for k in range(REPEATS):
        _same_bits(b[k], a[k], k)


def test_resume_reruns_only_the_missing_replicas(external, vectorized, tmp_path):
    run_dir = tmp_path / "resume"
    shutil.copytree(vectorized, run_dir)
    before = read_records(run_dir)
    kept = (run_dir / "records" / "repeat-00000.json").read_bytes()
    for k in (1, 3):
        (run_dir / "records" / f"repeat-{k:05d}.json").unlink()
    result = run_cli([*external["args"], "execution=vectorized", f"hydra.run.dir={run_dir}"], **external["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 of 4 repeats already finished" in result.stderr + result.stdout
    after = read_records(run_dir)
    for k in (1, 3):
        _same_bits(after[k], before[k], k)
        assert after[k]["execution"]["group"] == [1, 3]
    assert (run_dir / "records" / "repeat-00000.json").read_bytes() == kept


def test_self_check_and_verify_rerun_a_replica_from_its_record(external, tmp_path):
    run_dir = tmp_path / "checked"
    args = [a for a in external["args"] if a != "selfcheck.enabled=false"]
    result = run_cli([*args, "execution=vectorized", "selfcheck.repeat=2", f"hydra.run.dir={run_dir}"],
                     **external["env"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((run_dir / "selfcheck.json").read_text())[0]["match"] is True
    assert "**Determinism:** `bitwise`; bitwise reproducible: yes" in (run_dir / "report.md").read_text()
    verify = run_cli([str(run_dir), "--repeat", "1", "--repeat", "3"], module="replicate.verify", **external["env"])
    assert verify.returncode == 0, verify.stderr
    assert "repeat 1: match" in verify.stdout and "repeat 3: match" in verify.stdout


@pytest.mark.parametrize("source, reason", [
    ("tf", "the model uses TensorFlow's process-wide random generator (RandomStandardNormal)"),
    ("keras", "a layer draws from Keras' global random generator"),
])
def test_a_model_that_is_not_replica_safe_falls_back_with_one_notice(external, source, reason):
    noise = ["+paper.model.global_noise=0.1", f"+paper.model.global_noise_source={source}"]
    alone, _ = _run(external, f"noise_alone_{source}", "execution=per_repeat", *noise)
    run_dir, result = _run(external, f"noise_fallback_{source}", "execution=vectorized", *noise)
    output = result.stdout + result.stderr  # Hydra's log goes to stdout
    notices = [line for line in output.splitlines() if "cannot train its repeats in lockstep" in line]
    assert len(notices) == 1, output[-3000:]
    assert reason in notices[0] and "execution=per_repeat" in notices[0]
    records, reference = read_records(run_dir), read_records(alone)
    for k in range(REPEATS):
        execution = records[k]["execution"]
        assert execution["path"] == "per_repeat" and execution["requested"] == "vectorized"
        assert reason in execution["fallback_reason"]
        _same_bits(records[k], reference[k], k)
    report = (run_dir / "report.md").read_text()
    assert f"`vectorized` was asked for, but {reason}" in report
