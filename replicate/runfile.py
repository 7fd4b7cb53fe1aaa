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


def write_run_file(run_dir: Path, settings: RunSettings, **extra: Any) -> None:
    """The run's resolved settings (and ``extra``: repeats=auto's frozen design): with the records, all a report
    needs to be rebuilt."""
    save_run_file(run_dir, {**settings.as_dict(), "versions": software_versions(), **extra})


def save_run_file(run_dir: Path, run: dict[str, Any]) -> None:
    """Write run.json's content as given (the report's scoring overrides rewrite it this way)."""
    write_atomic(Path(run_dir) / RUN_FILE, json.dumps(run, indent=1, sort_keys=True) + "\n")


def read_run_file(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    if not path.exists():
        raise ReplicateError(f"{path}: no such file; fix: pass a run directory written by 'python -m replicate' (it holds run.json and records/)")
    return json.loads(path.read_text(encoding="utf-8"))


def run_dirs(path: Path) -> list[Path]:
    """Every run directory at or below `path` (a run, or a sweep with one run per configuration, at any depth)."""
    path = Path(path)
    return sorted(found.parent for found in path.rglob(RUN_FILE) if ".hydra" not in found.parts)


def job_overrides(run_dir: Path) -> dict[str, str]:
    """The command-line overrides Hydra recorded for the job that wrote `run_dir` (.hydra/overrides.yaml), as
    key -> value as typed ('paper/model' -> 'cnn_e', 'paper.protocol.epochs' -> '31'); {} when there is none."""
    import yaml  # Hydra's own dependency (PyYAML)

    path = Path(run_dir) / ".hydra" / "overrides.yaml"
    if not path.exists():
        return {}
    overrides = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return dict(str(override).lstrip("+~").partition("=")[::2] for override in overrides)


def swept_keys(overrides: list[dict[str, str]]) -> list[str]:
    """The keys whose value differs between the runs of a sweep (in the order first met): what tells them apart."""
    keys = list(dict.fromkeys(key for run in overrides for key in run))
    return [key for key in keys if len({run.get(key) for run in overrides}) > 1]


def natural_key(value: object) -> tuple:
    """Sort key that puts 8 before 32 and 'cnn_a' before 'cnn_e': numbers by value, text by its digit runs."""
    import re

    try:
        return (0, float(str(value)), "")
    except ValueError:
        return (1, 0.0, tuple((0, float(part), "") if part[:1].isdigit() else (1, 0.0, part)
                              for part in re.split(r"(\d+(?:\.\d+)?)", str(value)) if part))
