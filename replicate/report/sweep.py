"""The sweep report: after `python -m replicate -m ...`, one row per configuration, pairwise tests, one plot."""
from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from replicate import stats
from replicate.config import headline_column
from replicate.errors import REPEATS_FAILED_EXIT, run_exit_status, worst_exit_status
from replicate.report import used_records
from replicate.report.markdown import fmt, fmt_interval, percent, table
from replicate.report.summary import metric_values
from replicate.runfile import job_overrides, natural_key, read_run_file, run_dirs, swept_keys
from replicate.store import write_atomic

log = logging.getLogger(__name__)


def collect(sweep_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Each configuration (every run directory below `sweep_dir`, at any depth): its name (the swept keys only, e.g.
    `paper/model=cnn_e`), headline column and values (from run.json and its records, repeat order), confidence
    (run.json's report.confidence) and summary, in natural order of the swept values (8 before 32); and the
    configurations left out (no summary.json, or one computed at another confidence than run.json's), each with
    the reason and the fix."""
    found = [(run_dir, job_overrides(run_dir)) for run_dir in run_dirs(sweep_dir)]
    keys = swept_keys([overrides for _, overrides in found])

    def name(run_dir: Path, overrides: dict[str, str]) -> str:
        if keys and all(key in overrides for key in keys):
            return ", ".join(f"{key}={overrides[key]}" for key in keys)
        return run_dir.relative_to(sweep_dir).as_posix() if run_dir != sweep_dir else run_dir.name

    found.sort(key=lambda item: ([natural_key(item[1].get(key, "")) for key in keys], str(item[0])))
    runs, left_out = [], []
    for run_dir, overrides in found:
        run = read_run_file(run_dir)
        confidence = run["report"]["confidence"]
        summary_path = run_dir / "summary.json"
        summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else None
        # The mean, interval and verdicts come from summary.json: it must have been written under this run.json.
        if summary is None or summary["settings"]["confidence"] != confidence:
            why = "no summary.json" if summary is None else (
                f"summary.json was computed at confidence {summary['settings']['confidence']}, run.json says {confidence}")
            left_out.append({"name": name(run_dir, overrides), "why": why, "fix": f"replicate-report {run_dir}"})
            log.warning("sweep report: %s left out: %s; fix: replicate-report %s", run_dir, why, run_dir)
            continue
        column = headline_column(run["paper"])
        runs.append({"name": name(run_dir, overrides), "dir": run_dir, "summary": summary, "column": column,
                     "confidence": confidence,
                     "values": metric_values(used_records(run_dir, run), column),
                     "overrides": {key: overrides.get(key) for key in keys}})
    return runs, left_out


def sweep_exit_status(sweep_dir: Path) -> tuple[int, str]:
    """The sweep's exit status (replicate.errors.worst_exit_status over its configurations' summaries) and which
    configurations set it, in words ('' for 0)."""
    statuses = {}
    for run_dir in run_dirs(Path(sweep_dir)):
        path = run_dir / "summary.json"
        if path.exists():
            statuses[run_dir] = run_exit_status(json.loads(path.read_text(encoding="utf-8")))
    status = worst_exit_status(statuses.values())
    if not status:
        return 0, ""
    named = ", ".join(str(run_dir.relative_to(sweep_dir)) for run_dir, found in statuses.items() if found == status)
    what = "some repeats failed" if status == REPEATS_FAILED_EXIT else "no run learned, so no claim has a verdict,"
    return status, f"{what} in {named} (each configuration's report.md says why)"


def pairwise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Welch t and Mann-Whitney U for every pair of configurations, Holm-adjusted over all pairs."""
    pairs = [(a, b) for a, b in itertools.combinations(runs, 2) if len(a["values"]) >= 2 and len(b["values"]) >= 2]
    rows = [{"a": a["name"], "b": b["name"], **stats.compare_groups(a["values"], b["values"])} for a, b in pairs]
    for test in ("welch_p", "mannwhitney_p"):
        if rows and all(test in row for row in rows):
            for row, adjusted in zip(rows, stats.holm([row[test] for row in rows])):
                row[f"{test}_holm"] = float(adjusted)
    return rows


def write_sweep_report(sweep_dir: Path) -> Path | None:
    """Write sweep_report.md, sweep_summary.json and sweep.png in `sweep_dir` from every configuration's run.json,
    records and summary.json; None when no configuration has a run.json."""
    sweep_dir = Path(sweep_dir)
    runs, left_out = collect(sweep_dir)
    if not runs and not left_out:
        return None
    levels = sorted({run["confidence"] for run in runs})
    if len(levels) <= 1:
        level = percent(levels[0]) if levels else "—"
        interval_words, interval_header = f"{level} t interval of the mean", f"{level} CI (t)"
    else:
        interval_words = ("t interval of the mean at each configuration's own `report.confidence` (the configurations "
                          f"disagree: {', '.join(percent(c) for c in levels)})")
        interval_header = "CI (t), at its confidence"
    lines = [f"# Sweep report: {sweep_dir}", "", f"{len(runs)} configurations; headline metric per configuration, "
             f"{interval_words}, and each claim's verdict.", ""]
    rows = []
    for run in runs:
        metric = run["summary"]["metrics"].get(run["column"]) or {}
        verdicts = "; ".join(f"{c['label']}: {c.get('verdict_label', c['verdict'])}" for c in run["summary"]["claims"]) or "—"
        counts = run["summary"]["repeats"]
        interval = fmt_interval(metric.get("ci_t"))
        rows.append([f"`{run['name']}`", f"`{run['dir'].relative_to(sweep_dir).as_posix()}`", f"`{run['column']}`", f"{counts['completed']}/{counts['requested']}",
                     f"{fmt(metric.get('mean'))} ± {fmt(metric.get('std'))}",
                     interval if len(levels) <= 1 else f"{interval} ({percent(run['confidence'])})", verdicts])
    lines.append(table(["configuration", "directory", "metric", "completed", "mean ± std", interval_header, "verdicts"], rows))
    if left_out:
        lines += ["", "## Configurations left out", ""]
        lines.append(table(["configuration", "why", "fix"], [[f"`{r['name']}`", r["why"], f"`{r['fix']}`"] for r in left_out]))
    comparisons = pairwise(runs)
    if comparisons:
        lines += ["", "## Pairwise comparisons", "", "Holm-adjusted over all pairs; effect sizes: Hedges' g and Cliff's delta.", ""]
        keys = [k for k in comparisons[0] if k not in ("a", "b")]
        lines.append(table(["a", "b", *keys], [[f"`{r['a']}`", f"`{r['b']}`", *[r[k] for k in keys]] for r in comparisons]))
    plot = _plot(runs, sweep_dir / "sweep.png")
    if plot:
        lines += ["", f"![every configuration's distribution]({plot.name})"]
    path = sweep_dir / "sweep_report.md"
    write_atomic(path, "\n".join(lines) + "\n")
    write_atomic(sweep_dir / "sweep_summary.json", json.dumps(
        {"configurations": [{"name": r["name"], "directory": r["dir"].relative_to(sweep_dir).as_posix(),
                             "overrides": r["overrides"], "column": r["column"], "confidence": r["confidence"], "values": r["values"],
                             "metric": r["summary"]["metrics"].get(r["column"]),
                             "claims": [{"label": c["label"], "verdict": c.get("verdict_label", c["verdict"])} for c in r["summary"]["claims"]]}
                            for r in runs],
         "left_out": left_out,
         "pairwise": comparisons}, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v)) + "\n")
    return path


def _plot(runs: list[dict[str, Any]], path: Path) -> Path | None:
    if not any(run["values"] for run in runs):
        return None
    from replicate.report.plots import pyplot, save

    plt = pyplot()
    # One line per swept key under each box: short labels, and the figure grows with them instead of squashing.
    labels = [(run["name"] or "(defaults)").replace(", ", "\n") for run in runs]
    tall = max(label.count("\n") + 1 for label in labels)
    wide = max(len(line) for label in labels for line in label.split("\n"))
    figure, axis = plt.subplots(figsize=(min(24, max(4.5, len(runs) * max(1.2, 0.075 * wide))), 3.6 + 0.22 * tall))
    data = [run["values"] or [np.nan] for run in runs]
    axis.boxplot(data, showfliers=False)
    rng = np.random.default_rng(0)
    for position, values in enumerate(data, start=1):
        axis.scatter(position + rng.uniform(-0.12, 0.12, len(values)), values, s=12, alpha=0.7)
    axis.set_xticks(range(1, len(runs) + 1), labels, fontsize=8)
    axis.set_ylabel(runs[0]["column"])
    return save(figure, path)
