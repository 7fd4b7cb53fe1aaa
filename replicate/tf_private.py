"""Every call into TensorFlow's or Keras' private internals, in one place, each with why; tests/test_tf_private.py breaks loudly on an upgrade.

pyproject.toml bounds tensorflow and keras to the minor versions these were tested on. When an upgrade
breaks one of them, `check()` names the call (the test suite runs it first), and only this file needs work.
"""
from __future__ import annotations

from typing import Any, Callable

# name -> (what we use, why there is no public way)
USED = {
    "all_layers": ("keras.Model._flatten_layers(include_self=True, recursive=True)",
                   "every layer of a model, nested ones included, to reseed each layer's own SeedGenerator from the "
                   "dropout seed (Model.layers lists the top level only)"),
    "symbolic_build": ("keras.Model._symbolic_build(data_batch=...)",
                       "build the compiled loss, metrics and optimizer variables as `fit` does before its first step, "
                       "so a lockstep replica starts from exactly fit's state (replicas.py)"),
    "call_concrete": ("tf ConcreteFunction._call_flat(tensors, captured_inputs)",
                      "run a step traced once on replica 0 with replica r's variables as its captures, instead of "
                      "tracing Keras' train_step once per replica (replicas.py, _Replicated)"),
    "noinline": ('tf.function(experimental_attributes={"_noinline": True})',
                 "keep each replica's step a separate function call in the group graph, so that Grappler cannot "
                 "fuse replicas' ops and change their bits"),
    "global_seed_generator": ("keras.src.backend.common.global_state and keras.src.random.seed_generator."
                              "GLOBAL_SEED_GENERATOR",
                              "detect a layer drawing from Keras' global random generator (keras.random without "
                              "seed=), which lockstep replicas would share"),
}


def all_layers(model) -> list:
    return list(model._flatten_layers(include_self=True, recursive=True))


def symbolic_build(model, data_batch) -> None:
    model._symbolic_build(data_batch=data_batch)


def call_concrete(function, tensors: list, captures: list) -> Any:
    return function._call_flat(list(tensors), captures)


NOINLINE = {"_noinline": True}


def uses_global_seed_generator() -> bool:
    """True when some layer created Keras' global SeedGenerator; False when none did (or this Keras has no such
    internals: the graph check for stateful random ops in replicas.py still runs)."""
    try:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
    except ImportError:
        return False
    return global_state.get_global_attribute(GLOBAL_SEED_GENERATOR) is not None


def check() -> list[str]:
    """One line per private call this TensorFlow/Keras no longer has (empty: all present)."""
    import keras
    import tensorflow as tf

    problems = []

    def need(name: str, present: Callable[[], bool]) -> None:
        try:
            ok = present()
        except Exception as error:  # an import or attribute error is exactly what this looks for
            ok, detail = False, f": {type(error).__name__}: {error}"
        else:
            detail = ""
        if not ok:
            problems.append(f"{USED[name][0]} is gone in tensorflow {tf.__version__} / keras {keras.__version__}"
                            f"{detail}; replicate uses it to {USED[name][1]}; fix: adapt replicate/tf_private.py")

    need("all_layers", lambda: hasattr(keras.Model, "_flatten_layers"))
    need("symbolic_build", lambda: hasattr(keras.Model, "_symbolic_build"))
    need("call_concrete", lambda: hasattr(
        tf.function(lambda: tf.constant(1)).get_concrete_function(), "_call_flat"))
    need("noinline", lambda: tf.function(lambda: tf.constant(1), experimental_attributes=NOINLINE)
         .get_concrete_function() is not None)

    def seed_generator_internals() -> bool:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR

        return hasattr(global_state, "get_global_attribute") and isinstance(GLOBAL_SEED_GENERATOR, str)

    need("global_seed_generator", seed_generator_internals)
    return problems
