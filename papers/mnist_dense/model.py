"""The answer's classifier: Flatten(28x28) -> Dense(10, kernel_initializer='uniform', activation='relu')."""
import keras
from keras import layers


def build_dense(input_shape=(28, 28), num_outputs=10, kernel_initializer="uniform", activation="relu"):
    """Builds the one-layer classifier of the answer (note: ReLU outputs, no softmax, as written there).

    Reference:
    - Answer to "Why do I get different results each time in Keras?", quoting keras-team/keras#2743
      (https://github.com/keras-team/keras/issues/2743#issuecomment-219777627).

    Args:
        input_shape: one image, (28, 28), raw 0-255 pixels.
        num_outputs: classes (10 digits).
        kernel_initializer: 'uniform' (Keras' RandomUniform(-0.05, 0.05)), as in the answer.
        activation: 'relu', as in the answer.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    outputs = layers.Dense(num_outputs, kernel_initializer=kernel_initializer, activation=activation, name="digits")(x)
    return keras.Model(inputs, outputs, name="mnist_dense")
