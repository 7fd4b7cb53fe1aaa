"""`study=variance`: one group of repeats per source of randomness, plus all and none, and each source's share."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from replicate.config import RunSettings
from replicate.report.markdown import fmt, fmt_interval, table
from replicate.report.summary import metric_values
from replicate.runner import RunOutcome, run
from replicate.seeding import SOURCES
from replicate.store import write_atomic

log = logging.getLogger(__name__)


def groups() -> dict[str, tuple[str, ...]]:
    """Group name -> the sources that vary in it: each source alone, all of them, and none."""
    return {**{source: (source,) for source in SOURCES}, "all": SOURCES, "none": ()}


def std_interval(values: list[float], confidence: float) -> tuple[float, float]:
    """Chi-square interval for a normal population's std: sqrt((n-1)s^2 / chi2 quantiles)."""
    n = len(values)
    if n < 2:
        return (float("nan"), float("nan"))
    variance = float(np.var(values, ddof=1))
    alpha = 1 - confidence
    return (float(np.sqrt((n - 1) * variance / scipy_stats.chi2.ppf(1 - alpha / 2, n - 1))),
            float(np.sqrt((n - 1) * variance / scipy_stats.chi2.ppf(alpha / 2, n - 1))))


def breakdown(values_by_group: dict[str, list[float]], confidence: float) -> list[dict[str, Any]]:
    """Per group: n, std (ddof=1) with its interval, and its variance as a share of the all-sources variance."""
    total = values_by_group.get("all") or []
    total_variance = float(np.var(total, ddof=1)) if len(total) > 1 else float("nan")
    rows = []
    for name, values in values_by_group.items():
        std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
        share = std**2 / total_variance if total_variance and np.isfinite(total_variance) and total_variance > 0 else float("nan")
        rows.append({"group": name, "n": len(values), "std": std, "std_interval": std_interval(values, confidence),
                     "share_of_all_variance": share, "mean": float(np.mean(values)) if values else float("nan")})
    return rows


def run_variance_study(settings: RunSettings) -> list[RunOutcome]:
    """Run every group as an ordinary set of repeats in OUTPUT_DIR/variance/<group> (resumable), then report."""
    root = Path(settings.output_dir)
    outcomes = []
    for name, vary in groups().items():
        log.info("variance study: group '%s' (varying: %s)", name, ", ".join(vary) or "nothing")
        group_settings = dataclasses.replace(
            settings, vary=vary, output_dir=str(root / "variance" / name),
            selfcheck={**settings.selfcheck, "enabled": settings.selfcheck["enabled"] and name == "all"},
        )
        outcomes.append(run(group_settings))
    write_variance_report(root, settings)
    return outcomes


def write_variance_report(root: Path, settings: RunSettings) -> Path:
    from replicate.report import load_records
    from replicate.runner import read_run_file

    column = settings.headline
    values = {}
    for name in groups():
        run_dir = root / "variance" / name
        values[name] = metric_values(load_records(run_dir, read_run_file(run_dir)), column)
    rows = breakdown(values, settings.report["confidence"])
    conf = int(round(settings.report["confidence"] * 100))
    lines = [f"# Variance breakdown: `{settings.paper['name']}`, `{column}`", "",
             f"Each group retrains {settings.repeats} times with only the named source of randomness varying "
             "(the others keep one seed); `all` varies every source, `none` varies nothing and so measures the "
             "backend's own nondeterminism (zero in `bitwise` mode).", ""]
    lines.append(table(["group (varying)", "n", "mean", "std", f"{conf}% interval of std (chi-square)", "share of all-sources variance"],
                       [[f"`{r['group']}`", r["n"], r["mean"], r["std"], fmt_interval(r["std_interval"]),
                         fmt(r["share_of_all_variance"], 3)] for r in rows]))
    none = next(r for r in rows if r["group"] == "none")
    if settings.determinism == "bitwise":
        verdict = "zero, as bitwise determinism promises" if none["std"] == 0 else f"NOT zero ({fmt(none['std'])}): the backend is not deterministic here"
        lines += ["", f"Spread with nothing varying: {verdict}."]
    lines += ["", "Shares need not add up to 1: sources interact, and each std is itself estimated from "
              f"{settings.repeats} repeats (see its interval)."]
    plot = _plot(rows, column, root / "variance.png")
    if plot:
        lines += ["", f"![std of {column} per source]({plot.name})"]
    path = root / "variance_report.md"
    write_atomic(path, "\n".join(lines) + "\n")
    write_atomic(root / "variance_summary.json", json.dumps({"column": column, "groups": rows}, indent=1) + "\n")
    log.info("variance report: %s", path)
    return path


def _plot(rows: list[dict], column: str, path: Path) -> Path | None:
    from replicate.report.plots import pyplot, save

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.4))
    names = [r["group"] for r in rows]
    stds = np.array([r["std"] for r in rows], dtype=float)
    low = np.array([r["std_interval"][0] for r in rows], dtype=float)
    high = np.array([r["std_interval"][1] for r in rows], dtype=float)
    axis.bar(names, np.nan_to_num(stds), color=["tab:blue"] * (len(rows) - 2) + ["tab:green", "tab:gray"])
    axis.errorbar(names, np.nan_to_num(stds), yerr=[np.nan_to_num(stds - low), np.nan_to_num(high - stds)], fmt="none", color="black", capsize=4)
    axis.set_ylabel(f"std of {column}")
    axis.set_title("seed-to-seed spread by source of randomness")
    return save(figure, path)
