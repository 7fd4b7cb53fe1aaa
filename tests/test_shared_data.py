"""How the data reaches the workers (replicate.dataset.pack): every Dataset field survives every transport."""
from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from replicate.dataset import Dataset, load_packed, pack, save_packed, unpack

FULL = dict(x=np.arange(24, dtype="float32").reshape(4, 2, 3), y=np.array([0, 1, 0, 1]), class_names=["a", "b"],
            groups=np.array(["u1", "u2", "u1", "u3"], dtype=object), folds=np.array(["train", "train", "test", "test"]),
            synthetic=True, description="four examples", provenance={"path": "/data/x.npz", "sha256": "ab" * 32})

# The three ways a packed Dataset travels: as it is (serial), pickled (Ray's object store) and as files the
# local executor's workers memory-map.
TRANSPORTS = {
    "serial": lambda packed, tmp: packed,
    "ray": lambda packed, tmp: pickle.loads(pickle.dumps(packed)),
    "local": lambda packed, tmp: load_packed(save_packed(packed, tmp / "shared")),
}


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_every_dataset_field_round_trips(tmp_path, transport):
    data = Dataset(**FULL)
    assert {field.name for field in dataclasses.fields(Dataset)} == set(FULL)  # a new field must be added above
    back = unpack(TRANSPORTS[transport](pack(data), tmp_path))
    for field in dataclasses.fields(Dataset):
        original, copy = getattr(data, field.name), getattr(back, field.name)
        if isinstance(original, np.ndarray):
            assert copy.dtype == original.dtype and copy.shape == original.shape, field.name
            assert np.array_equal(np.asarray(copy), original), field.name
        else:
            assert copy == original, field.name
    assert back.sha256 == data.sha256  # the data hash in every record is the same under every executor
    minimal = Dataset(x=np.zeros((2, 1)), y=np.array([0.5, 1.5]))
    again = unpack(TRANSPORTS[transport](pack(minimal), tmp_path / "minimal"))
    assert again.groups is None and again.folds is None and again.sha256 == minimal.sha256


def test_large_inputs_are_memory_mapped_not_copied(tmp_path):
    big = Dataset(x=np.ones((300, 1024), dtype="float32"), y=np.zeros(300, dtype=int))
    back = unpack(load_packed(save_packed(pack(big), tmp_path)))
    assert isinstance(back.x, np.memmap) and not isinstance(back.y, np.memmap)
    assert back.sha256 == big.sha256
