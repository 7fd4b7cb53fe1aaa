"""A paper that lives outside the repository, written by tests: config in its own folder, code in its own module."""
from pathlib import Path
from textwrap import dedent

MODULE = '''
"""A tiny classifier with dropout on Gaussian blobs: a test paper outside replicate's repository."""
import numpy as np
import keras
from keras import layers

from replicate.dataset import Dataset


class GlobalNoise(layers.Layer):
    """Gaussian noise in training from a process-wide generator (TensorFlow's, or Keras' global one when
    source='keras'), not from a SeedGenerator of its own: not stateless-safe."""

    def __init__(self, stddev, source="tf", **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.source = stddev, source

    def call(self, inputs, training=None):
        if not training:
            return inputs
        if self.source == "keras":
            return inputs + keras.random.normal(keras.ops.shape(inputs), stddev=self.stddev)
        import tensorflow as tf

        return inputs + tf.random.normal(tf.shape(inputs), stddev=self.stddev)


def build(input_shape=(4,), num_outputs=3, hidden=16, dropout=0.3, output_units=None, fail_if_draw_in=None,
          explode_if_draw_in=None, global_noise=None, global_noise_source="tf"):
    """output_units hard-codes the last layer (as papers often do), ignoring num_outputs.

    fail_if_draw_in=[low, high]: raise when Python's first random draw after seeding (a pure function of the
    repeat's init seed) falls in [low, high): a repeat that fails, deterministically.
    explode_if_draw_in=[low, high]: the same draw picks a repeat whose hidden weights start at 1e30 (its loss
    goes non-finite: a repeat that diverges, deterministically).
    global_noise=stddev: a noise layer that draws from a process-wide generator (not stateless-safe):
    TensorFlow's (global_noise_source='tf') or Keras' global SeedGenerator ('keras').
    """
    import random

    draw = random.random()
    if fail_if_draw_in is not None and fail_if_draw_in[0] <= draw < fail_if_draw_in[1]:
        raise RuntimeError("simulated failure in the model builder")
    explode = explode_if_draw_in is not None and explode_if_draw_in[0] <= draw < explode_if_draw_in[1]
    inputs = keras.Input(shape=input_shape)
    x = GlobalNoise(global_noise, global_noise_source)(inputs) if global_noise else inputs
    x = layers.Dense(hidden, activation="relu",
                     kernel_initializer=keras.initializers.Constant(1e30) if explode else "glorot_uniform")(x)
    x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, layers.Dense(output_units or num_outputs, activation="softmax")(x))


def load(num_examples=150, seed=0, onehot=False):
    """onehot=True: the labels one-hot encoded, a common loader mistake (replicate wants class ids)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, num_examples)
    x = rng.normal(size=(num_examples, 4)) + y[:, None] * 1.5
    return Dataset(x=x.astype("float32"), y=np.eye(3)[y] if onehot else y, class_names=["a", "b", "c"],
                   synthetic=True, description="Gaussian blobs (test data)")
'''

CONFIG = """
name: {name}
citation: {{title: A tiny test paper, authors: [Test], year: 2026, venue: tests}}
task: classification
model: {{_target_: {module}.build, hidden: 16, dropout: 0.3}}
data: {{_target_: {module}.load, num_examples: 150}}
split: {{_target_: replicate.splits.holdout, test_size: 0.3}}
protocol:
  loss: categorical_crossentropy
  epochs: 3
  batch_size: 16
  shuffle: true
metrics: [accuracy, macro_f1]
evaluate_on: [test]
reported:
  - {{metric: accuracy, split: test, statistic: mean_of_k, k: 3, value: 0.8, source: "made up by the test"}}
"""


def write_external_paper(root: Path, name: str = "tiny_dropout") -> tuple[Path, Path]:
    """Writes ROOT/conf/paper/NAME.yaml and ROOT/code/NAME_paper.py; returns (config dir, code dir)."""
    conf, code = root / "conf", root / "code"
    (conf / "paper").mkdir(parents=True, exist_ok=True)
    code.mkdir(parents=True, exist_ok=True)
    module = f"{name}_paper"
    (code / f"{module}.py").write_text(dedent(MODULE))
    (conf / "paper" / f"{name}.yaml").write_text(CONFIG.format(name=name, module=module))
    return conf, code


def external_args(conf: Path, name: str = "tiny_dropout") -> list[str]:
    return [f"hydra.searchpath=[file://{conf}]", f"paper={name}"]
