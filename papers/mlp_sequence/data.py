"""The tutorial's data: the sequence 0.0, 0.1, ..., 0.9 as (x, x + 0.1) pairs."""
import numpy as np

from replicate.dataset import Dataset


def load_sequence(length: int = 10) -> Dataset:
    """9 pairs (x, x + 0.1) for length 10, built as the tutorial does (pandas shift, then drop the first row)."""
    if length < 2:
        raise ValueError(f"length={length}: the sequence needs at least 2 values to make one pair")
    sequence = np.array([i / float(length) for i in range(length)])
    x, y = sequence[:-1], sequence[1:]
    return Dataset(
        x=x.reshape(-1, 1),
        y=y,
        description=f"the sequence 0.0..{(length - 1) / length:.1f} as {length - 1} (x, x + 1/{length}) pairs, float64",
        provenance={"generator": "replicate.papers.mlp_sequence.data.load_sequence", "length": length},
    )
