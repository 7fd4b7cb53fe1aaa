"""Bad input: a non-zero exit and one line naming the key, the value received and the fix — no traceback."""
import pytest

from conftest import run_cli

CASES = [
    # (overrides, words the one line must contain)
    (["paper.protocol.epoch=5"], ["paper.protocol.epoch", "5", "did you mean 'paper.protocol.epochs'"]),
    (["repeats=0"], ["repeats=0", "at least 1", "fix"]),
    (["seed=1.5"], ["seed", "1.5", "fix"]),
    (["seed=abc"], ["seed", "abc", "fix"]),
    (["seed=-3"], ["seed=-3", "non-negative", "fix"]),
    (["threads=0"], ["threads=0", "fix"]),
    (["determinism=sometimes"], ["determinism", "sometimes", "fix"]),
    (["paper=no_such_paper"], ["no_such_paper", "mlp_sequence"]),
    (["paper.reported.0.metric=accuracy"], ["paper.reported[0].metric='accuracy'", "mse", "fix"]),
    (["paper.metrics=[msee]"], ["msee", "did you mean 'mse'", "fix"]),
    (["paper.protocol.epochs=0"], ["paper.protocol.epochs=0", "fix"]),
    (["paper.reported.0.statistic=mean_of_k", "paper.reported.0.value=0.1"], ["k", "mean_of_k", "fix"]),
    (["execution=lockstep"], ["execution", "lockstep", "per_repeat", "vectorized", "fix"]),
    (["execution=vectorized", "replicas=0"], ["replicas=0", "at least 1", "fix"]),
    # settings once accepted silently (a blank BCa column, a quiet 1024, a skipped self-check)
    (["report.bootstrap_resamples=0"], ["report.bootstrap_resamples=0", "1000", "fix"]),
    (["paper.protocol.eval_batch_size=0"], ["paper.protocol.eval_batch_size=0", "at least 1", "fix"]),
    (["selfcheck.repeat=999"], ["selfcheck.repeat=999", "0..29", "fix"]),
    (["selfcheck.repeat=-1", "repeats=5"], ["selfcheck.repeat=-1", "0..4", "fix"]),
    # a claim on the wrong scale
    (["paper.reported.0.values=[-0.5,0.1]"], ["paper.reported[0].values[0]=-0.5", ">= 0", "fix"]),
]


@pytest.mark.parametrize("overrides,words", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_input_exits_nonzero_with_one_line(tmp_path, overrides, words):
    result = run_cli([*overrides, f"hydra.run.dir={tmp_path / 'run'}"], timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("replicate: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "records").exists()
