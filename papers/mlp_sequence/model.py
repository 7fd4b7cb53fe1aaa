"""The tutorial's MLP: Dense(10) -> Dense(1), both linear."""
import keras
from keras import layers


def build_mlp(input_shape=(1,), num_outputs=1, hidden_units=10):
    """Builds the 1-10-1 MLP of the tutorial (no activation on either layer, as in its code).

    Reference:
    - Brownlee, "How to Get Reproducible Results with Keras", Machine Learning Mastery, 2017.

    Args:
        input_shape: shape of one input example, (1,) for the sequence task.
        num_outputs: units of the output layer.
        hidden_units: units of the hidden layer (10 in the tutorial).
    """
    inputs = keras.Input(shape=input_shape, name="x")
    hidden = layers.Dense(hidden_units, name="hidden")(inputs)
    outputs = layers.Dense(num_outputs, name="output")(hidden)
    return keras.Model(inputs, outputs, name="mlp_sequence")
