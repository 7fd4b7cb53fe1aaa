"""The private TensorFlow/Keras calls replicate makes (replicate/tf_private.py) still exist in the installed versions."""
from replicate import tf_private


def test_every_private_call_is_still_there():
    problems = tf_private.check()
    assert not problems, "\n".join(problems)  # names the call, the versions and what it is for


def test_every_private_call_is_listed_and_used_only_through_the_adapter():
    import pathlib
    import re

    root = pathlib.Path(tf_private.__file__).parent
    private = re.compile(r"\._(flatten_layers|symbolic_build|call_flat)\(|_noinline|keras\.src")
    offenders = [f"{path.name}:{number}" for path in root.rglob("*.py") if path.name != "tf_private.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if private.search(line)]
    assert offenders == []
    assert set(tf_private.USED) == {"all_layers", "symbolic_build", "call_concrete", "noinline", "global_seed_generator"}


def test_the_check_names_a_missing_call(monkeypatch):
    import keras

    owner = next(cls for cls in keras.Model.__mro__ if "_symbolic_build" in vars(cls))
    monkeypatch.delattr(owner, "_symbolic_build")
    (problem,) = tf_private.check()
    assert problem.startswith("keras.Model._symbolic_build(data_batch=...) is gone in tensorflow ")
    assert "replicate/tf_private.py" in problem
