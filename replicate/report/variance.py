"""The variance study's report (variance_report.md, variance_summary.json, variance.png) from each group's records."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np

from replicate import stats
from replicate.config import headline_column
from replicate.errors import ReplicateError
from replicate.report import used_records
from replicate.report.markdown import fmt, fmt_interval, percent, table
from replicate.report.summary import metric_values
from replicate.runfile import RUN_FILE, read_run_file
from replicate.store import write_atomic

log = logging.getLogger(__name__)


def breakdown(values_by_group: Mapping[str, list[float]], confidence_by_group: Mapping[str, float]) -> list[dict[str, Any]]:
    """Per group, in the mapping's order: n, mean, std (ddof=1) with its chi-square interval at the group's
    confidence, and its variance as a share of the `all` group's variance (NaN where that is undefined).

    values_by_group: group name -> that group's values (n,); confidence_by_group: group name -> confidence level."""
    total = values_by_group.get("all") or []
    total_variance = float(np.var(total, ddof=1)) if len(total) > 1 else float("nan")
    rows = []
    for name, values in values_by_group.items():
        std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
        share = std**2 / total_variance if np.isfinite(total_variance) and total_variance > 0 else float("nan")
        rows.append({"group": name, "n": len(values), "std": std, "confidence": confidence_by_group[name],
                     "std_interval": stats.std_interval(values, confidence_by_group[name]),
                     "share_of_all_variance": share, "mean": float(np.mean(values)) if values else float("nan")})
    return rows


def write_variance_report(root: Path, group_dirs: Mapping[str, Path]) -> Path:
    """Write variance_report.md, variance_summary.json and variance.png in `root` from every group's run.json and
    records; group_dirs: group name -> its run directory, in table order."""
    root = Path(root)
    runs = {name: read_run_file(run_dir) for name, run_dir in group_dirs.items()}
    first = next(iter(group_dirs))
    column = headline_column(runs[first]["paper"])
    for name, run in runs.items():
        # A group re-scored on its own (python -m replicate.report DIR paper.headline=...) would compare other metrics.
        if headline_column(run["paper"]) != column:
            raise ReplicateError(
                f"{Path(group_dirs[name]) / RUN_FILE}: headline metric '{headline_column(run['paper'])}' differs from "
                f"'{column}' in {Path(group_dirs[first]) / RUN_FILE}; fix: python -m replicate.report "
                f"{group_dirs[name]} paper.headline={column}")
    values = {name: metric_values(used_records(group_dirs[name], run), column)
              for name, run in runs.items()}
    confidences = {name: run["report"]["confidence"] for name, run in runs.items()}
    rows = breakdown(values, confidences)

    # Training settings are the study's and so the same in every group; scoring settings can be changed per group.
    repeats, determinism = runs[first]["repeats"], runs[first]["determinism"]
    levels = sorted(set(confidences.values()))
    auto = repeats == "auto"
    retrains = "until its claims are decided (repeats=auto; n per group below)" if auto else f"{repeats} times"
    lines = [f"# Variance breakdown: `{runs[first]['paper']['name']}`, `{column}`", "",
             f"Each group retrains {retrains} with only the named source of randomness varying "
             "(the others keep one seed); `all` varies every source, `none` varies nothing and so measures the "
             "backend's own nondeterminism (zero in `bitwise` mode).", ""]
    if len(levels) == 1:
        header = ["group (varying)", "n", "mean", "std", f"{percent(levels[0])} interval of std (chi-square)",
                  "share of all-sources variance"]
        cells = [[f"`{r['group']}`", r["n"], r["mean"], r["std"], fmt_interval(r["std_interval"]),
                  fmt(r["share_of_all_variance"], 3)] for r in rows]
    else:
        lines += [f"The groups' run.json files disagree on `report.confidence` ({', '.join(percent(c) for c in levels)}): "
                  "each interval is at its own group's level.", ""]
        header = ["group (varying)", "n", "mean", "std", "confidence", "interval of std (chi-square)",
                  "share of all-sources variance"]
        cells = [[f"`{r['group']}`", r["n"], r["mean"], r["std"], percent(r["confidence"]), fmt_interval(r["std_interval"]),
                  fmt(r["share_of_all_variance"], 3)] for r in rows]
    lines.append(table(header, cells))
    none = next((r for r in rows if r["group"] == "none"), None)
    if none is not None and determinism == "bitwise":
        verdict = "zero, as bitwise determinism promises" if none["std"] == 0 else f"NOT zero ({fmt(none['std'])}): the backend is not deterministic here"
        lines += ["", f"Spread with nothing varying: {verdict}."]
    lines += ["", "Shares need not add up to 1: sources interact, and each std is itself estimated from "
              + ("its group's n repeats" if auto else f"{repeats} repeats") + " (see its interval)."]
    plot = _plot(rows, column, root / "variance.png")
    if plot:
        lines += ["", f"![std of {column} per source]({plot.name})"]
    path = root / "variance_report.md"
    write_atomic(path, "\n".join(lines) + "\n")
    write_atomic(root / "variance_summary.json", json.dumps({"column": column, "groups": rows}, indent=1) + "\n")
    log.info("variance report: %s", path)
    return path


def _plot(rows: list[dict], column: str, path: Path) -> Optional[Path]:
    from replicate.report.plots import pyplot, save

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.4))
    names = [r["group"] for r in rows]
    stds = np.array([r["std"] for r in rows], dtype=float)
    low = np.array([r["std_interval"][0] for r in rows], dtype=float)
    high = np.array([r["std_interval"][1] for r in rows], dtype=float)
    colours = {"all": "tab:green", "none": "tab:gray"}
    axis.bar(names, np.nan_to_num(stds), color=[colours.get(name, "tab:blue") for name in names])
    axis.errorbar(names, np.nan_to_num(stds), yerr=[np.nan_to_num(stds - low), np.nan_to_num(high - stds)], fmt="none", color="black", capsize=4)
    axis.set_ylabel(f"std of {column}")
    axis.set_title("seed-to-seed spread by source of randomness")
    return save(figure, path)
