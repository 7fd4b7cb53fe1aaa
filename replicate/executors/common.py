"""What every executor shares: loading the data once, running one spec, and reporting progress."""
from __future__ import annotations

import logging

from replicate.dataset import Dataset

log = logging.getLogger(__name__)


def load_data(paper: dict) -> Dataset:
    from replicate.train import instantiate

    data = instantiate(paper["data"])
    if not isinstance(data, Dataset):
        raise TypeError(f"paper.data._target_ {paper['data'].get('_target_')} returned {type(data).__name__}, expected replicate.dataset.Dataset")
    return data
