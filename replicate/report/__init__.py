"""Report files (summary.json, results.csv, report.md, report.html, PNGs) rebuilt from run.json and the records."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import pandas as pd

from replicate.config import headline_column, metric_columns
from replicate.plan import run_identities
from replicate.report.html import render_html
from replicate.report.markdown import render_markdown
from replicate.report.plots import make_plots
from replicate.report.summary import build_summary, learned_on, stopping
from replicate.runfile import SELF_CHECK_FILE, read_run_file, save_run_file
from replicate.runs import ID_COLUMNS, run_id
from replicate.seeding import SOURCES
from replicate.store import FINISHED, RecordStore, write_atomic


def load_records(run_dir: Path, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's records that belong to it: a corrupt, misplaced or foreign record is set aside (kept, renamed)
    with a warning and left out, and the report lists it."""
    return RecordStore(run_dir).checked(run_identities(run))


def used_records(run_dir: Path, run: dict[str, Any]) -> list[dict[str, Any]]:
    """The records a report's numbers use: load_records, less (under repeats=auto) those trained past the stop."""
    return stopping(run, load_records(run_dir, run))[0]


def results_table(run: dict[str, Any], records: list[dict[str, Any]], used: Optional[set[int]] = None) -> pd.DataFrame:
    """One row per repeat: run id, paper, status, whether the report's numbers use it, whether it did not learn (on
    the headline column; empty for a failed repeat), seeds, kept epoch, metrics, hashes, time (results.csv's rows,
    and replicate.load_runs's). The run id and paper lead every row so that tables of several runs concatenate into
    one that still tells them apart (a spreadsheet, pandas, a database import).
    ``used``: the repeats the report's numbers use (default: all, or under repeats=auto those before the stop)."""
    paper, identity = run["paper"], run_id(run)
    headline = headline_column(paper)
    if used is None:
        used = {record["repeat"] for record in stopping(run, records)[0]}
    rows = []
    for record in sorted(records, key=lambda r: r["repeat"]):
        row: dict[str, Any] = {"run_id": identity, "paper": paper["name"], "repeat": record["repeat"],
                               "status": record["status"], "used": record["repeat"] in used,
                               "did_not_learn": None if record["status"] not in FINISHED else
                               not learned_on(record, headline)}
        row.update({f"seed_{source}": record["seeds"].get(source) for source in SOURCES})
        row.update({column: record["metrics"].get(column) for column in metric_columns(paper)})
        row["kept_epoch"] = record.get("kept_epoch")
        row["wall_seconds"] = round(record.get("wall_seconds", math.nan), 3)
        row["weights_sha256"] = record.get("weights_sha256")
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(run_dir: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Write summary.json, results.csv and report.md in `run_dir` from its stored records; returns the summary.

    ``overrides`` (KEY=VALUE) change scoring settings only (claims, report.*): they are written into run.json first,
    so the report stays regenerable from run.json and the records alone."""
    from replicate.config import apply_scoring_overrides

    run_dir = Path(run_dir)
    run = read_run_file(run_dir)
    if overrides:
        run = apply_scoring_overrides(run, overrides)
        save_run_file(run_dir, run)
    records = load_records(run_dir, run)
    selfcheck_path = run_dir / SELF_CHECK_FILE
    selfcheck = json.loads(selfcheck_path.read_text(encoding="utf-8")) if selfcheck_path.exists() else None
    summary = _clean(build_summary(run, records, selfcheck, RecordStore(run_dir).set_aside_files()))
    auto = summary.get("sequential")
    used = [r for r in records if not auto or r["repeat"] < auto["repeats_used"]]
    table = results_table(run, records, {r["repeat"] for r in used})
    figures = make_plots(summary, used, run_dir)
    # report.md is about one run of one paper: the same run id and paper name in every row of its table say nothing.
    markdown = render_markdown(summary, table.drop(columns=list(ID_COLUMNS), errors="ignore"), figures)
    write_atomic(run_dir / "summary.json", json.dumps(summary, indent=1, sort_keys=True, default=_json_default) + "\n")
    write_atomic(run_dir / "results.csv", table.to_csv(index=False))
    write_atomic(run_dir / "report.md", markdown)
    write_atomic(run_dir / "report.html", render_html(markdown, run_dir, f"replicate: {summary['paper']['name']}"))
    return summary


def _clean(value: Any) -> Any:
    """NaN and infinities as null, tuples as lists, numpy scalars as numbers: strict JSON that reads back equal."""
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)
