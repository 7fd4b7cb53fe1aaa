"""The local executor's copy of the data for its workers: every Dataset field survives the round trip."""
from __future__ import annotations

import dataclasses

import numpy as np

from replicate.dataset import Dataset
from replicate.executors.local import open_shared_dataset, share_dataset


def test_every_dataset_field_round_trips(tmp_path):
    data = Dataset(x=np.arange(24, dtype="float32").reshape(4, 2, 3), y=np.array([0, 1, 0, 1]),
                   class_names=["a", "b"], groups=np.array(["u1", "u2", "u1", "u3"], dtype=object),
                   folds=np.array(["train", "train", "test", "test"]), synthetic=True,
                   description="four examples", provenance={"path": "/data/x.npz", "sha256": "ab" * 32})
    back = open_shared_dataset(share_dataset(data, tmp_path / "shared"))
    for field in dataclasses.fields(Dataset):
        original, copy = getattr(data, field.name), getattr(back, field.name)
        if isinstance(original, np.ndarray):
            assert copy.dtype == original.dtype and copy.shape == original.shape, field.name
            assert np.array_equal(np.asarray(copy), original), field.name
        else:
            assert copy == original, field.name
    assert back.sha256 == data.sha256  # the data hash in every record is the same under every executor
    minimal = Dataset(x=np.zeros((2, 1)), y=np.array([0.5, 1.5]))
    again = open_shared_dataset(share_dataset(minimal, tmp_path / "minimal"))
    assert again.groups is None and again.folds is None and again.sha256 == minimal.sha256
