"""The CNNs of Dabiri & Heaslip (2018): CNN-A (the seed's script) and CNN-E (their best configuration)."""
import keras
from keras import layers


def build_cnn_a(input_shape=(1, 200, 4), num_outputs=5, filters=32, kernel_width=3):
    """CNN-A: two Conv2D(32, (1, 3), same, relu), Flatten, Dense(5, softmax), as the seed's training script.

    Reference:
    - Dabiri & Heaslip, "Inferring transportation modes from GPS trajectories using a convolutional
      neural network", Transportation Research Part C 86 (2018) 360-371.

    Args:
        input_shape: one segment, (1, 200, 4): points x (speed, acceleration, jerk, bearing rate).
        num_outputs: number of transportation modes (5).
        filters: filters of each convolution (32).
        kernel_width: width of the (1, w) kernels (3).
    """
    inputs = keras.Input(shape=input_shape, name="segment")
    x = layers.Conv2D(filters, (1, kernel_width), padding="same", activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(filters, (1, kernel_width), padding="same", activation="relu", name="conv2")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(num_outputs, activation="softmax", name="mode")(x)
    return keras.Model(inputs, outputs, name="cnn_a")


def build_cnn_e(input_shape=(1, 200, 4), num_outputs=5, filters=(32, 64, 128), dense_units=800, dropout=0.5):
    """CNN-E, the authors' best configuration (their CNN-Keras.py): three conv pairs with (1, 2) max-pooling,
    dropout 0.5, Dense(800, relu), dropout 0.5, softmax.

    Reference:
    - Dabiri & Heaslip (2018), as above; the authors' repository `sinadabiri/Transport-Mode-GPS-CNN`.

    Args:
        input_shape: one segment, (1, 200, 4).
        num_outputs: number of transportation modes (5).
        filters: filters of the three convolution pairs.
        dense_units: units of the hidden dense layer.
        dropout: dropout rate before and after the dense layer.
    """
    inputs = keras.Input(shape=input_shape, name="segment")
    x = inputs
    for block, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, (1, 3), padding="same", activation="relu", name=f"conv{block}a")(x)
        x = layers.Conv2D(width, (1, 3), padding="same", activation="relu", name=f"conv{block}b")(x)
        x = layers.MaxPooling2D(pool_size=(1, 2), name=f"pool{block}")(x)
    x = layers.Dropout(dropout, name="dropout1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout2")(x)
    outputs = layers.Dense(num_outputs, activation="softmax", name="mode")(x)
    return keras.Model(inputs, outputs, name="cnn_e")
