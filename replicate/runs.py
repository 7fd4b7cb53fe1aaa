"""Run directories as data: the run id that names them, and every repeat of one run or a whole sweep as a table.

For notebooks and the team's own analysis: `replicate.load_runs(PATH)` gives one pandas row per repeat, read from
the stored records (the source every report is rebuilt from), never from the report files.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from replicate.errors import ReplicateError

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

# Columns that lead every table of repeats (results.csv and load_runs), so rows from several runs stay apart.
ID_COLUMNS = ("run_id", "paper")


def run_id(run: Mapping[str, Any]) -> str:
    """The 12-character id of a run, from run.json's content: the hash that names the default run directory
    (outputs/<paper>/<run id>, replicate.resolvers.run_id), so the same id comes back when a report is rebuilt."""
    from replicate.plan import run_identity

    vary = None if run.get("vary") is None else tuple(run["vary"])
    return run_identity(run["paper"], int(run["seed"]), int(run["threads"]), str(run["determinism"]),
                        run.get("versions", {}), vary)[:12]


def run_dirs(path: str | os.PathLike) -> list[Path]:
    """`path` itself when it is a run directory (it holds run.json), else every run directory below it (a sweep:
    outputs/multirun/<paper>/<stamp>/<job>/), in path order; raises a one-line ReplicateError when there is none."""
    from replicate import runfile

    path = Path(path)
    if not path.exists():
        raise ReplicateError(f"{path}: no such file or folder; fix: pass a run directory written by 'python -m "
                             "replicate' (it holds run.json and records/) or a sweep directory above such folders")
    found = runfile.run_dirs(path)
    if not found:
        raise ReplicateError(f"{path}: holds no replicate run (no run.json in it or below it); fix: pass a run "
                             "directory written by 'python -m replicate' or a sweep directory above such folders")
    return found


def job_overrides(run_dir: Path) -> dict[str, Any]:
    """The Hydra overrides this run was made with (its .hydra/overrides.yaml, replicate.runfile.job_overrides),
    values parsed as YAML scalars so that epochs=3 is the number 3 in a DataFrame and sorts as one; a value YAML
    cannot read (an interpolation, say) stays the text Hydra received. Empty without .hydra/ (a copied run)."""
    import yaml

    from replicate import runfile

    parsed: dict[str, Any] = {}
    for key, value in runfile.job_overrides(run_dir).items():
        try:
            parsed[key] = yaml.safe_load(value) if value else None
        except yaml.YAMLError:
            parsed[key] = value
    return parsed


def usable_records(run_dir: Path, run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The run's records that belong to it, read without touching the directory: unlike the report (which sets a
    corrupt, misplaced or foreign record aside so its run can redo it), a notebook only reads, so such a record is
    left where it is, logged and left out."""
    from replicate.plan import run_identities
    from replicate.store import CorruptRecord, RecordStore

    store = RecordStore(run_dir)
    records = []
    for index, identity in sorted(run_identities(run).items()):
        try:
            record = store.read(index)
        except CorruptRecord as error:
            log.warning("%s is corrupt (%s); left out", store.path(index), error)
            continue
        if record is None:
            continue
        if record["repeat"] != index or record["identity"] != identity:
            log.warning("%s is not repeat %d of this run (repeat %s, identity %s); left out",
                        store.path(index), index, record["repeat"], str(record["identity"])[:12])
            continue
        records.append(record)
    return records


def load_runs(path: str | os.PathLike) -> "pd.DataFrame":
    """Every repeat of a run directory, or of every run below a sweep directory, as one pandas DataFrame.

    One row per repeat, built by the same function as results.csv (replicate.report.results_table): run_id, paper,
    run_dir, then one column per Hydra override that differs between the runs (named by its key, e.g.
    `paper.protocol.epochs`), then repeat, status, used (whether the report's numbers use it: under repeats=auto
    not the repeats trained past the stop), seed_<source>, every metric, kept_epoch, wall_seconds and
    weights_sha256. Read from the records, so it holds whatever finished even when no report was written yet.
    """
    import pandas as pd

    from replicate import runfile
    from replicate.report import results_table

    tables, overrides = [], []
    for run_dir in run_dirs(path):
        run = runfile.read_run_file(run_dir)
        table = results_table(run, usable_records(run_dir, run))
        if table.empty:
            table = pd.DataFrame({column: pd.Series(dtype=object) for column in (*ID_COLUMNS, "repeat", "status")})
        table.insert(len(ID_COLUMNS), "run_dir", str(run_dir))
        tables.append(table)
        overrides.append(job_overrides(run_dir))
    swept = runfile.swept_keys([{key: repr(value) for key, value in settings.items()} for settings in overrides])
    for table, settings in zip(tables, overrides):
        for offset, key in enumerate(swept):
            table.insert(len(ID_COLUMNS) + 1 + offset, key, [settings.get(key)] * len(table))
    frame = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    return frame.reset_index(drop=True)

