"""The dry run (replicate.dryrun): `python -m replicate.check` and the run itself catch a broken paper before any
repeat, each mistake in one line with the key, the value and the fix."""
from __future__ import annotations

import pytest

from conftest import run_cli, settings_for
from external_paper import external_args, write_external_paper


@pytest.fixture(scope="module")
def external(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    conf, code = write_external_paper(root)
    return {"args": external_args(conf), "env": {"PYTHONPATH": str(code)}, "root": root}


MISTAKES = [
    (["+paper.data.onehot=true"], ["one-hot labels", "y.argmax(axis=1)", "fix"]),
    (["paper.protocol.loss=binary_crossentropy"], ["paper.protocol.loss=binary_crossentropy", "categorical_crossentropy"]),
    (["paper.protocol.loss=mean_squared_error"], ["paper.protocol.loss=mean_squared_error", "regression loss on class ids"]),
    (["paper.protocol.loss=nope"], ["paper.protocol.loss=nope", "not a Keras loss"]),
    (["paper.protocol.optimizer._target_=keras.optimizers.Adamm"], ["keras.optimizers has no attribute 'Adamm'", "did you mean 'Adam'"]),
    (["paper.model._target_=tiny_dropout_paper.buildd"], ["tiny_dropout_paper has no attribute 'buildd'", "did you mean 'build'"]),
    (["+paper.model.hiden=3"], ["paper.model.hiden", "takes no parameter 'hiden'", "did you mean 'hidden'"]),
    (["+paper.model.output_units=5"], ["outputs 5 values per example but the data has 3 classes", "num_outputs"]),
]


@pytest.mark.parametrize("overrides, words", MISTAKES, ids=[" ".join(m[0]) for m in MISTAKES])
def test_check_names_each_mistake_in_one_line(external, overrides, words):
    result = run_cli([*external["args"], *overrides], module="replicate.check", **external["env"])
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("replicate.check:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_check_passes_a_working_paper(external):
    result = run_cli(external["args"], module="replicate.check", **external["env"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "one training step" in result.stdout


@pytest.mark.parametrize("overrides, words, executor", [(*MISTAKES[0], "serial"), (*MISTAKES[2], "serial"),
                                                         (*MISTAKES[0], "local"), (*MISTAKES[3], "local")],
                         ids=["onehot-serial", "mse-serial", "onehot-local", "loss-in-the-workers"])
def test_the_run_stops_before_its_first_repeat(external, tmp_path, overrides, words, executor):
    """serial: the whole dry run in the driver; local: data in the driver, the model part in each worker before
    its first repeat (the driver never imports TensorFlow)."""
    run_dir = tmp_path / "run"
    result = run_cli([*external["args"], *overrides, "repeats=3", f"executor={executor}", f"hydra.run.dir={run_dir}"],
                     **external["env"])
    assert result.returncode == 2, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("replicate: error: ") and all(word in line for word in words), line
    assert not (run_dir / "records").exists() or not list((run_dir / "records").glob("*.json"))


def test_an_integer_learning_rate_is_taken_as_a_float(tmp_path):
    settings = settings_for(["paper.protocol.optimizer.learning_rate=5"], tmp_path)
    value = settings.paper["protocol"]["optimizer"]["learning_rate"]
    assert value == 5.0 and isinstance(value, float)
