"""The in-memory dataset a paper's loader returns and the splits the harness trains on."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np


@dataclass
class Dataset:
    """Arrays a paper's data loader returns.

    x: inputs, shape (N, ...) (any float dtype the model accepts).
    y: targets; int class ids of shape (N,) for classification, floats of shape (N,) or (N, d)
       for regression.
    class_names: names of classes 0..C-1 (classification) or None.
    groups: optional per-example group ids of shape (N,) (e.g. GeoLife user ids) for group splits.
    folds: optional per-example names of a predefined split, shape (N,) (e.g. "train"/"test" for MNIST's own).
    synthetic: True when the data is generated rather than the paper's real data.
    description: one line saying what the data is (shown in the report).
    provenance: where it came from (paths, hashes of raw files, generator settings).
    """

    x: np.ndarray
    y: np.ndarray
    class_names: Optional[list[str]] = None
    groups: Optional[np.ndarray] = None
    folds: Optional[np.ndarray] = None
    synthetic: bool = False
    description: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} rows but y has {len(self.y)}")
        for name in ("groups", "folds"):
            array = getattr(self, name)
            if array is not None and len(array) != len(self.x):
                raise ValueError(f"{name} has {len(array)} rows but x has {len(self.x)}")

    def __len__(self) -> int:
        return len(self.x)

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 of the arrays a model sees (x, y and the folds/groups that shape splits): the data's identity."""
        digest = hashlib.sha256()
        for name in ("x", "y", "groups", "folds"):
            array = getattr(self, name)
            if array is not None:
                array = np.ascontiguousarray(array)
                digest.update(f"{name}{array.dtype.str}{array.shape}".encode())
                digest.update(array.tobytes() if array.dtype != object else repr(array.tolist()).encode())
        return digest.hexdigest()

    @property
    def num_classes(self) -> Optional[int]:
        return None if self.class_names is None else len(self.class_names)


# How a Dataset travels to the processes that train on it, whatever runs them: pack() splits it into arrays and
# JSON-able fields by walking every dataclass field (so a field added later cannot be left behind), save_packed()
# writes that to a directory, load_packed() maps it back (arrays memory-mapped), unpack() rebuilds the Dataset.


def pack(data: Dataset) -> dict[str, Any]:
    """{"arrays": {field: ndarray}, "fields": {field: value}}: every field of `data`, none copied."""
    arrays, fields = {}, {}
    for item in dataclasses.fields(Dataset):
        value = getattr(data, item.name)
        if isinstance(value, np.ndarray):
            arrays[item.name] = value
        else:
            fields[item.name] = value
    return {"arrays": arrays, "fields": fields}


def unpack(packed: dict[str, Any]) -> Dataset:
    return Dataset(**packed["arrays"], **packed["fields"])


def save_packed(packed: dict[str, Any], directory: Path) -> Path:
    """Arrays as .npy (object arrays, e.g. user names, pickled), the other fields as meta.json (written last)."""
    import json

    from replicate.store import write_atomic

    directory.mkdir(parents=True, exist_ok=True)
    objects = {}
    for name, array in packed["arrays"].items():
        objects[name] = array.dtype == object
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=objects[name])
    write_atomic(directory / "meta.json", json.dumps({"fields": packed["fields"], "arrays": objects}, default=str))
    return directory


def load_packed(directory: Path) -> dict[str, Any]:
    """save_packed's directory back: numeric arrays memory-mapped read-only, object arrays loaded whole."""
    import json

    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    arrays = {}
    for name, is_object in meta["arrays"].items():
        array = np.load(directory / f"{name}.npy", allow_pickle=is_object, mmap_mode=None if is_object else "r")
        # small arrays (labels, folds) as plain in-memory arrays; the inputs stay shared between the workers
        arrays[name] = np.array(array) if array.nbytes < (1 << 20) else array
    return {"arrays": arrays, "fields": meta["fields"]}
