"""Master seed -> per-repeat, per-source seeds; the process and session settings that make a repeat bitwise reproducible."""
from __future__ import annotations

import logging
import os
import random
from typing import Iterable

import numpy as np

log = logging.getLogger(__name__)

# Every source of randomness a repeat has. The position is part of the seed derivation: append, never reorder.
SOURCES = ("split", "init", "order", "dropout")


def repeat_seeds(master_seed: int, repeat: int) -> dict[str, int]:
    """Seeds for each source of randomness of one repeat.

    A pure function of (master_seed, repeat): each source gets its own SeedSequence child
    (spawn key (repeat, source position)), so adding repeats or sources never changes existing seeds.
    Returns {source: int in [0, 2**31)} (int32-safe, as TensorFlow and Keras accept).
    """
    seeds = {}
    for position, source in enumerate(SOURCES):
        sequence = np.random.SeedSequence(entropy=master_seed, spawn_key=(repeat, position))
        seeds[source] = int(sequence.generate_state(1, dtype=np.uint32)[0] >> 1)
    return seeds


def configure_process(threads: int, determinism: str) -> None:
    """Settings that must precede TensorFlow's runtime start in a process running repeats.

    Thread counts are part of a repeat's identity: on this CPU the same seed gives different weights
    at 1 and 2 intra-op threads, so each process sets them explicitly.
    """
    # Hash randomisation of any process this one starts (a worker) is fixed too.
    os.environ.setdefault("PYTHONHASHSEED", "0")
    # TF logs harmless C++ errors (e.g. unknown NodeDef attributes) on every fit; Python exceptions still surface.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if determinism == "bitwise":
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        os.environ["TF_XLA_FLAGS"] = "--tf_xla_auto_jit=0"
    import tensorflow as tf

    current = (
        tf.config.threading.get_intra_op_parallelism_threads(),
        tf.config.threading.get_inter_op_parallelism_threads(),
    )
    if current != (threads, threads):
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError as error:
            from replicate.errors import ConfigError

            raise ConfigError(
                f"threads={threads}: TensorFlow already started in this process with {current[0]} "
                "intra-op threads; run repeats in a fresh process (the default executor does)"
            ) from error
    if determinism == "bitwise":
        tf.config.experimental.enable_op_determinism()
        tf.config.optimizer.set_jit(False)


def reset_session(seed: int) -> None:
    """A fresh Keras session with Python, NumPy and TensorFlow seeded (and TF's op-seed counter reset)."""
    import keras

    keras.backend.clear_session(free_memory=False)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def reseed_layer_streams(layers: Iterable, seed: int) -> int:
    """Give every layer's own random stream (dropout, noise) a state derived from `seed`.

    Keras layers draw their SeedGenerator seed from Python's `random` when they are built, i.e. from
    the weight-initialisation seed; resetting the state here makes dropout randomness a separate,
    recorded source. Returns the number of streams reset.
    """
    import keras

    count = 0
    for layer in layers:
        for attribute in vars(layer).values():
            if isinstance(attribute, keras.random.SeedGenerator):
                attribute.state.assign(np.array([seed, count], dtype=attribute.state.dtype))
                count += 1
    return count


def reset_random_state(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow's global generator (and op-seed counter) without a new session."""
    import keras

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
