"""The sweep report: after `python -m replicate -m ...`, one row per configuration, pairwise tests, one plot."""
from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hydra.experimental.callback import Callback

from replicate import stats
from replicate.report.markdown import fmt, fmt_interval, table
from replicate.store import write_atomic

log = logging.getLogger(__name__)


def collect(sweep_dir: Path) -> list[dict[str, Any]]:
    """Each configuration's name (its override string), headline values (from results.csv) and summary."""
    runs = []
    for summary_path in sorted(sweep_dir.glob("*/summary.json")):
        run_dir = summary_path.parent
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        results = pd.read_csv(run_dir / "results.csv")
        column = summary["headline"]
        completed = results[results["status"] == "completed"]
        runs.append({"name": run_dir.name, "dir": run_dir, "summary": summary, "column": column,
                     "values": completed[column].dropna().tolist()})
    return runs


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
    runs = collect(sweep_dir)
    if not runs:
        return None
    lines = [f"# Sweep report: {sweep_dir}", "", f"{len(runs)} configurations; headline metric per configuration, "
             "95% t interval of the mean, and each claim's verdict.", ""]
    rows = []
    for run in runs:
        metric = run["summary"]["metrics"].get(run["column"]) or {}
        verdicts = "; ".join(f"{c['label']}: {c.get('verdict_label', c['verdict'])}" for c in run["summary"]["claims"]) or "—"
        counts = run["summary"]["repeats"]
        rows.append([f"`{run['name']}`", f"`{run['column']}`", f"{counts['completed']}/{counts['requested']}",
                     f"{fmt(metric.get('mean'))} ± {fmt(metric.get('std'))}", fmt_interval(metric.get("ci_t")), verdicts])
    lines.append(table(["configuration", "metric", "completed", "mean ± std", "CI (t)", "verdicts"], rows))
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
        {"configurations": [{"name": r["name"], "column": r["column"], "values": r["values"],
                             "metric": r["summary"]["metrics"].get(r["column"]),
                             "claims": [{"label": c["label"], "verdict": c.get("verdict_label", c["verdict"])} for c in r["summary"]["claims"]]}
                            for r in runs],
         "pairwise": comparisons}, indent=1, default=lambda v: v.item() if hasattr(v, "item") else str(v)) + "\n")
    return path


def _plot(runs: list[dict[str, Any]], path: Path) -> Path | None:
    if not any(run["values"] for run in runs):
        return None
    from replicate.report.plots import pyplot, save

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(max(4, 1.6 * len(runs)), 3.8))
    data = [run["values"] or [np.nan] for run in runs]
    axis.boxplot(data, showfliers=False)
    rng = np.random.default_rng(0)
    for position, values in enumerate(data, start=1):
        axis.scatter(position + rng.uniform(-0.12, 0.12, len(values)), values, s=12, alpha=0.7)
    axis.set_xticks(range(1, len(runs) + 1), [run["name"] or "(defaults)" for run in runs], rotation=20, ha="right", fontsize=7)
    axis.set_ylabel(runs[0]["column"])
    return save(figure, path)


class SweepReport(Callback):
    """Hydra callback: writes sweep_report.md in the sweep directory when a multirun ends."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = write_sweep_report(sweep_dir)
        except Exception as error:  # a report problem must not hide the finished runs
            log.error("sweep report failed: %s", error)
            return
        if path:
            log.info("sweep report: %s", path)
