"""Splitters: (dataset, seed) -> named index arrays. All share one signature, as scikit-learn's do."""
from __future__ import annotations

from typing import Optional

import numpy as np

from replicate.dataset import Dataset
from replicate.errors import ConfigError


def same_data(data: Dataset, seed: int) -> dict[str, np.ndarray]:
    """Train and evaluate on the same examples (the tutorial's protocol); `seed` is unused."""
    everything = np.arange(len(data))
    return {"train": everything, "test": everything}


def predefined(data: Dataset, seed: int) -> dict[str, np.ndarray]:
    """The split the data comes with (e.g. MNIST's own train/test files); `seed` is unused."""
    if data.folds is None:
        raise ConfigError(
            "paper.split: predefined needs the data loader to name each example's fold; "
            "this loader gives none; fix: use replicate.splits.holdout"
        )
    return {str(name): np.flatnonzero(data.folds == name) for name in np.unique(data.folds)}


def holdout(
    data: Dataset,
    seed: int,
    test_size: float = 0.2,
    stratify: bool = False,
    random_state: Optional[int] = None,
) -> dict[str, np.ndarray]:
    """A random train/test split of examples (scikit-learn's train_test_split).

    `random_state` fixes the split for every repeat as a paper did (e.g. 7); null uses the repeat's
    split seed, so the split varies across repeats.
    """
    from sklearn.model_selection import train_test_split

    state = seed if random_state is None else random_state
    indices = np.arange(len(data))
    train, test = train_test_split(
        indices, test_size=test_size, random_state=state, stratify=data.y if stratify else None
    )
    return {"train": train, "test": test}


def by_group(
    data: Dataset,
    seed: int,
    test_size: float = 0.2,
    random_state: Optional[int] = None,
) -> dict[str, np.ndarray]:
    """A split with no group (e.g. GeoLife user) on both sides: no trip leaks into the test set."""
    if data.groups is None:
        raise ConfigError(
            "paper.split: by_group needs per-example group ids, but this data loader gives none; "
            "use a loader that carries user ids (data=geolife or the synthetic default) or split=holdout"
        )
    from sklearn.model_selection import GroupShuffleSplit

    state = seed if random_state is None else random_state
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=state)
    train, test = next(splitter.split(np.zeros(len(data)), groups=data.groups))
    return {"train": train, "test": test}


def carve_validation(train: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Take `fraction` of the training indices as a validation split (for choosing the epoch)."""
    from sklearn.model_selection import train_test_split

    fitted, validation = train_test_split(train, test_size=fraction, random_state=seed)
    return fitted, validation


def split_random_state(split_config: dict) -> Optional[int]:
    """The fixed seed a paper's split config pins (None when the split follows the repeat's seed)."""
    value = split_config.get("random_state")
    return None if value is None else int(value)
