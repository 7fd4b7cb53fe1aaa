"""Bad input: a non-zero exit and one line naming the key, the value received and the fix — no traceback."""
import pytest

from conftest import LEARNS, run_cli

CASES = [
    # (overrides, words the one line must contain)
    (["paper.protocol.epoch=5"], ["paper.protocol.epoch", "5", "did you mean 'paper.protocol.epochs'"]),
    (["repeats=0"], ["repeats=0", "at least 1", "fix"]),
    (["repeats=abc"], ["repeats=abc", "or auto", "fix"]),
    (["repeats=auto", "repeats_min=2"], ["repeats_min=2", "at least 3", "fix: repeats_min=5"]),
    (["repeats=auto", "repeats_max=4"], ["repeats_max=4", "repeats_min=5", "fix"]),
    (["repeats=auto", "selfcheck.repeat=7"], ["selfcheck.repeat=7", "0..4", "first round", "fix"]),
    (["repeats=auto", "paper.reported=[{metric: mse, split: test, statistic: unknown, value: 0.1, source: s}]"],
     ["repeats=auto", "no claim with a known statistic", "fix: repeats=30"]),
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
    # strict overrides: a typo at the top level, a key added with + that the schema lacks, one removed with ~
    (["repats=3"], ["'repats'", "repats=3", "did you mean 'repeats'"]),
    (["+repats=3"], ["'repats'", "+repats=3", "did you mean 'repeats'"]),
    (["~seed"], ["'seed'", "~seed", "seed=VALUE"]),
    (["~paper.protocol.epochs"], ["'paper.protocol.epochs'", "~paper.protocol.epochs", "paper.protocol.epochs=VALUE"]),
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


@pytest.mark.parametrize("override,words", [
    ("+unknown=1", ["'unknown'", "+unknown=1", "valid keys under the top level", "repeats"]),
    ("+paper.protocol.foo=1", ["'paper.protocol.foo'", "+paper.protocol.foo=1", "valid keys under paper.protocol", "epochs"]),
    ("+paper.reported.0.vlaue=0.1", ["'paper.reported.0.vlaue'", "did you mean 'paper.reported.0.value'"]),
    ("+paper.model.extra_argument=2", []),  # free-form: the builder's own arguments (checked against its signature)
    ("+executor.resources.GPU=1", []),
])
def test_keys_added_with_plus_are_checked_against_the_schema(override, words):
    """The same check the command runs (tests above show its one line and exit 2), for more keys, in-process."""
    from conftest import compose_config
    from replicate.config import schema_problems

    problems = schema_problems(compose_config([override]), (override,))
    if not words:
        assert problems == []
        return
    (problem,) = problems
    for word in words:
        assert word in problem, problem


def test_a_refused_override_leaves_a_finished_run_dir_as_it_was(tmp_path):
    """Checked before Hydra writes anything: the run's .hydra/ and log are not rewritten by a command it refuses."""
    run_dir = tmp_path / "run"
    first = run_cli(["repeats=2", "paper.protocol.epochs=2", LEARNS, "executor=serial", "selfcheck.enabled=false",
                     f"hydra.run.dir={run_dir}"], timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    before = {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    refused = run_cli(["+repats=3", f"hydra.run.dir={run_dir}"], timeout=120)
    assert refused.returncode == 2 and "did you mean 'repeats'" in refused.stderr, refused.stderr
    assert {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()} == before


def test_cfg_job_resolve_prints_the_run_directory_the_command_would_use(tmp_path):
    command = ["repeats=1", "paper.protocol.epochs=2", LEARNS, "executor=serial", "selfcheck.enabled=false"]
    shown = run_cli(["--cfg", "job", "--resolve", *command], cwd=tmp_path, timeout=120)
    assert shown.returncode == 0, shown.stderr
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith("output_dir:")]
    run = run_cli(command, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / line.split(":", 1)[1].strip() / "run.json").is_file()  # the same directory the run used
