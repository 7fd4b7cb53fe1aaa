"""The run's data: loaded once per process (the driver, verify, the dry run) and checked against finished records."""
from __future__ import annotations

import logging
from typing import Any

from replicate.dataset import Dataset

log = logging.getLogger(__name__)


def check_data_unchanged(data: Dataset, store) -> None:
    """Resumed repeats must train on the very data the finished ones did (a paper config does not pin file contents)."""
    from replicate.errors import ReplicateError

    for path in store.existing():
        try:
            record = store.read(int(path.stem.split("-")[1]))
        except Exception:  # a corrupt record is handled (set aside) by the store, not here
            continue
        recorded = ((record or {}).get("data") or {}).get("sha256")
        if recorded and recorded != data.sha256:
            raise ReplicateError(
                f"{path}: was trained on data with SHA-256 {recorded[:12]}, but the data now loads as {data.sha256[:12]} "
                "(a data file or the loader changed); fix: run into a new hydra.run.dir, or restore the data"
            )
        return


# The last data loaded in this process and its config: the run's dry run loads the data, the executor reuses it.
_LAST: dict[str, Any] = {}


def forget_data() -> None:
    _LAST.clear()


def load_data(paper: dict) -> Dataset:
    """The paper's data from its loader. ``paper.data.synthetic: true`` (a harness key, not passed to the loader)
    marks data that are not the paper's (a file of unknown origin, a stand-in set): the report then flags them as
    it flags generated data. The last dataset loaded is kept until forget_data() (loading it twice costs time)."""
    from replicate.plan import canonical_json

    key = canonical_json(paper["data"])
    if _LAST.get("key") == key:
        return _LAST["data"]
    data = _load(paper)
    _LAST.update(key=key, data=data)
    return data


def _load(paper: dict) -> Dataset:
    from replicate.train import instantiate

    node = dict(paper["data"])
    not_the_papers = bool(node.pop("synthetic", False))
    data = instantiate(node)
    if not isinstance(data, Dataset):
        raise TypeError(f"paper.data._target_ {paper['data'].get('_target_')} returned {type(data).__name__}, expected replicate.dataset.Dataset")
    if not_the_papers and not data.synthetic:
        data.synthetic = True
        data.description = f"NOT the paper's data (paper.data.synthetic=true): {data.description}"
    return data
