"""`replicate-export-mlflow RUN_DIR [--tracking-uri URI] [--experiment NAME]` (or `python -m replicate.export.mlflow`):
put a finished run, or every run of a sweep, into MLflow, without retraining.

One parent MLflow run per replicate run (params: its settings; metrics: the summary's statistics; tags: each
claim's verdict; artifacts: the report files) and one nested child run per repeat (params: its seeds; metrics: its
final metrics and its per-epoch history, step = epoch). Exporting the same run again replaces what the last export
wrote instead of adding a copy.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import re
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Optional

from replicate.errors import ReplicateError

log = logging.getLogger(__name__)

INSTALL = "pip install 'replicate[mlflow]'"
# Tags that find an earlier export of the same run (an MLflow filter on them), and tell parent from repeat.
KEY_TAG, KIND_TAG, RUN_ID_TAG, REPEAT_TAG = "replicate.export_key", "replicate.kind", "replicate.run_id", "replicate.repeat"
ARTIFACTS = ("report.html", "report.md", "summary.json", "results.csv", "run.json")
# The numbers of each metric's summary logged on the parent run (summary.json's metrics.<column>).
STATISTICS = ("n", "mean", "std", "sem", "median", "q1", "q3", "min", "max")
_BATCH = 1000  # MLflow's log_batch takes at most 1000 metrics (and 100 params) per call


def _mlflow():
    """The mlflow package, or a one-line error saying which extra installs it."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as error:
        raise ReplicateError(f"MLflow is not installed ({error}); fix: {INSTALL}") from None
    return MlflowClient


def export(path: str | Path, tracking_uri: Optional[str] = None, experiment: Optional[str] = None) -> list[str]:
    """Export the run directory at `path`, or every run directory below it (a sweep); returns the parent MLflow run
    ids, one per replicate run, in path order.

    tracking_uri: None uses MLflow's own default (MLFLOW_TRACKING_URI, else ./mlflow.db or ./mlruns as the MLflow
    version has it). experiment: None puts each run in an experiment named after its paper (made if absent).
    """
    from replicate.runs import run_dirs

    client_class = _mlflow()
    from mlflow.exceptions import MlflowException

    try:
        client = client_class(tracking_uri=tracking_uri)
        return [export_run(client, run_dir, experiment) for run_dir in run_dirs(path)]
    except MlflowException as error:
        said = str(error.message if hasattr(error, "message") else error).strip().splitlines()[0]
        where = tracking_uri or "MLflow's default tracking URI"
        raise ReplicateError(f"MLflow at {where}: {said}; fix: check --tracking-uri (e.g. sqlite:///mlflow.db or "
                             "http://host:5000) and that the server or database is reachable") from None


def export_run(client, run_dir: Path, experiment: Optional[str] = None) -> str:
    """Export one run directory with `client` (an MlflowClient); returns the parent MLflow run's id."""
    from mlflow.entities import Metric, Param, RunTag

    from replicate import __version__
    from replicate.runfile import read_run_file
    from replicate.runs import job_overrides, run_id, usable_records

    run_dir = Path(run_dir)
    run = read_run_file(run_dir)
    identity, paper = run_id(run), run["paper"]["name"]
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise ReplicateError(f"{summary_path}: no such file; fix: write the report first with 'python -m "
                             f"replicate.report {run_dir}', then export again")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    records = sorted(usable_records(run_dir, run), key=lambda record: record["repeat"])
    experiment_id = _experiment(client, experiment or paper)
    # The same run directory exported again is the same key; another directory holding a run of the same id (a
    # sweep over `repeats`, which is not part of the id) is another key, so neither replaces the other.
    key = hashlib.sha256(f"{identity}\0{run_dir.resolve()}".encode()).hexdigest()[:16]
    _remove_earlier(client, experiment_id, key)

    now = _now()
    tags = {KEY_TAG: key, KIND_TAG: "run", RUN_ID_TAG: identity, "mlflow.runName": f"{paper} {identity}",
            "replicate.run_dir": str(run_dir.resolve()), "replicate.reproducible": summary["reproducible"]["status"],
            "replicate.headline": summary["headline"]}
    tags.update(_verdict_tags(summary.get("claims", [])))
    parent = client.create_run(experiment_id, start_time=now, tags=tags, run_name=f"{paper} {identity}")
    params = {"paper": paper, "run_id": identity, "seed": run["seed"], "repeats": run["repeats"],
              "determinism": run["determinism"], "threads": run["threads"], "vary": run.get("vary"),
              "execution": run.get("execution"), "replicas": run.get("replicas"),
              "report.confidence": run["report"]["confidence"], "report.tolerance": run["report"]["tolerance"],
              "replicate_version": summary.get("replicate_version", __version__),
              "execution_paths": json.dumps(summary["settings"]["execution"]["paths"], sort_keys=True),
              **{f"versions.{name}": value for name, value in sorted(run.get("versions", {}).items())},
              **{f"override.{name}": value for name, value in job_overrides(run_dir).items()}}
    metrics = {f"repeats_{name}": value for name, value in summary["repeats"].items()}
    for column, statistics in (summary.get("metrics") or {}).items():
        for name in STATISTICS:
            metrics[f"{column}_{name}"] = (statistics or {}).get(name)
        interval = (statistics or {}).get("ci_t") or [None, None]
        metrics[f"{column}_ci_low"], metrics[f"{column}_ci_high"] = interval
    metrics["total_wall_seconds"] = summary["compute"]["total_wall_seconds"]
    _log(client, parent.info.run_id, params, [Metric(name, float(value), now, 0) for name, value in metrics.items()
                                              if _finite(value)], Param, RunTag)
    for name in (*ARTIFACTS, *sorted(path.name for path in run_dir.glob("*.png"))):
        if (run_dir / name).is_file():
            client.log_artifact(parent.info.run_id, str(run_dir / name))

    for record in records:
        _export_repeat(client, experiment_id, parent.info.run_id, key, identity, record, Metric, Param, RunTag)
    client.set_terminated(parent.info.run_id, "FINISHED", end_time=_now())
    log.info("%s: exported as MLflow run %s with %d repeats (experiment %s)", run_dir, parent.info.run_id,
             len(records), experiment or paper)
    return parent.info.run_id


def _export_repeat(client, experiment_id: str, parent_id: str, key: str, identity: str, record: dict,
                   Metric, Param, RunTag) -> str:
    """One repeat as a child of the run's parent: seeds and hashes as params, final metrics, history by epoch."""
    index = record["repeat"]
    now = _now()
    child = client.create_run(experiment_id, start_time=now, run_name=f"repeat {index}", tags={
        "mlflow.parentRunId": parent_id, KEY_TAG: key, KIND_TAG: "repeat", RUN_ID_TAG: identity,
        REPEAT_TAG: str(index), "replicate.status": record["status"]})
    params = {"repeat": index, "status": record["status"], "weights_sha256": record.get("weights_sha256"),
              "init_weights_sha256": record.get("init_weights_sha256"), "kept_epoch": record.get("kept_epoch"),
              **{f"seed_{source}": seed for source, seed in sorted(record["seeds"].items())}}
    metrics = [Metric(name, float(value), now, 0) for name, value in sorted(record["metrics"].items())
               if _finite(value)]
    metrics += [Metric(name, float(value), now, 0) for name, value in
                (("kept_epoch", record.get("kept_epoch")), ("wall_seconds", record.get("wall_seconds")))
                if _finite(value)]
    for name, values in sorted((record.get("history") or {}).items()):
        # Keras numbers epochs from 1 in its logs and the record's kept_epoch does too: step = that epoch.
        metrics += [Metric(name, float(value), now, epoch) for epoch, value in enumerate(values, start=1)
                    if _finite(value)]
    _log(client, child.info.run_id, params, metrics, Param, RunTag)
    client.set_terminated(child.info.run_id, "FINISHED" if record["status"] == "completed" else "FAILED",
                          end_time=_now())
    return child.info.run_id


def _experiment(client, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is None:
        return client.create_experiment(name)
    if found.lifecycle_stage == "deleted":
        client.restore_experiment(found.experiment_id)
    return found.experiment_id


def _remove_earlier(client, experiment_id: str, key: str) -> None:
    """Delete what an earlier export of the same run directory wrote (its parent and its repeats), so exporting
    again replaces it: MLflow params cannot be changed once logged, and a re-scored report has new verdicts."""
    earlier = client.search_runs([experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'", max_results=50000)
    for found in earlier:
        client.delete_run(found.info.run_id)


def _log(client, mlflow_run_id: str, params: dict[str, Any], metrics: list, Param, RunTag) -> None:
    """Params (as text, None as 'null', cut to MLflow's limit) and metrics in batches MLflow accepts."""
    items = [Param(_key(name), _text(value)) for name, value in params.items()]
    for start in range(0, len(items), 100):
        client.log_batch(mlflow_run_id, params=items[start:start + 100])
    for start in range(0, len(metrics), _BATCH):
        client.log_batch(mlflow_run_id, metrics=metrics[start:start + _BATCH])


def _verdict_tags(claims: Iterable[dict]) -> dict[str, str]:
    """verdict.<claim label> -> its verdict (consistent, inconsistent, inconclusive, none); a repeated label gets
    its claim's position appended so no verdict is lost."""
    tags: dict[str, str] = {}
    for position, claim in enumerate(claims):
        name = f"verdict.{_key(claim.get('label') or claim.get('column') or str(position))}"
        if name in tags:
            name = f"{name}.{position}"
        tags[name] = str(claim.get("verdict"))
    return tags


def _key(name: str) -> str:
    """A name MLflow accepts as a param, metric or tag key (letters, digits, _ - . space / only; at most 250)."""
    return re.sub(r"[^A-Za-z0-9_\-. /]", "_", str(name))[:250]


def _text(value: Any) -> str:
    text = "null" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:6000]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _now() -> int:
    return int(time.time() * 1000)


def main(argv: Optional[list[str]] = None) -> int:
    from replicate import cli

    parser = argparse.ArgumentParser(prog=cli.prog("replicate-export-mlflow", "replicate.export.mlflow"),
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run directory (run.json, records/) or a sweep directory above "
                                                   "several; every run found is exported")
    parser.add_argument("--tracking-uri", default=None,
                        help="where MLflow keeps runs, e.g. sqlite:///mlflow.db or http://host:5000 "
                             "(default: MLFLOW_TRACKING_URI, else MLflow's own default)")
    parser.add_argument("--experiment", default=None, help="MLflow experiment name (default: the paper's name)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        exported = export(args.run_dir, args.tracking_uri, args.experiment)
    except ReplicateError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"{args.run_dir}: {len(exported)} run(s) exported to MLflow: {', '.join(exported)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
