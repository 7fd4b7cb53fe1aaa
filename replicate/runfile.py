"""A run directory's own files, run.json and selfcheck.json: their names and how run.json is written and read."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from replicate.environment import software_versions
from replicate.errors import ReplicateError
from replicate.store import write_atomic

if TYPE_CHECKING:
    from replicate.config import RunSettings

RUN_FILE = "run.json"
SELF_CHECK_FILE = "selfcheck.json"


def write_run_file(run_dir: Path, settings: RunSettings) -> None:
    """The run's resolved settings: with the records, all a report needs to be rebuilt."""
    save_run_file(run_dir, {**settings.as_dict(), "versions": software_versions()})


def save_run_file(run_dir: Path, run: dict[str, Any]) -> None:
    """Write run.json's content as given (the report's scoring overrides rewrite it this way)."""
    write_atomic(Path(run_dir) / RUN_FILE, json.dumps(run, indent=1, sort_keys=True) + "\n")


def read_run_file(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    if not path.exists():
        raise ReplicateError(f"{path}: no such file; fix: pass a run directory written by 'python -m replicate' (it holds run.json and records/)")
    return json.loads(path.read_text(encoding="utf-8"))
