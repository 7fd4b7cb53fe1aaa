"""The Q&A answer's MNIST example: Flatten -> Dense(10, relu, uniform init) on the first 100 images."""
