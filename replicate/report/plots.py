"""PNG figures next to the report: achieved distribution, per-class forest plot, learning curves, confusion matrix."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np

from replicate.report.summary import metric_values


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def save(figure, path: Path) -> Path:
    """Lay out, write the PNG and free the figure (every plot of a report goes through here)."""
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(figure)
    return path


def distribution(summary: dict, records: list[dict], path: Path) -> Optional[Path]:
    """Strip plot and ECDF of the headline metric, reported values as lines, the central band of runs shaded."""
    column = summary["headline"]
    values = np.array(metric_values(records, column))
    if len(values) == 0:
        return None
    plt = pyplot()
    figure, (strip, ecdf) = plt.subplots(1, 2, figsize=(10, 3.6))
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(values))
    strip.scatter(values, jitter, s=18, alpha=0.7, color="tab:blue", label=f"achieved ({len(values)} repeats)")
    strip.set_yticks([])
    sorted_values = np.sort(values)
    ecdf.step(sorted_values, np.arange(1, len(values) + 1) / len(values), where="post", color="tab:blue")
    ecdf.set_ylabel("fraction of repeats ≤ x")
    level = summary["settings"]["confidence"]
    low, high = np.percentile(values, [100 * (1 - level) / 2, 100 * (1 + level) / 2])
    for axis in (strip, ecdf):
        axis.axvspan(low, high, color="tab:blue", alpha=0.12, label=f"central {level:.0%} of repeats")
        axis.set_xlabel(column)
    colours = iter(["tab:red", "tab:orange", "tab:green", "tab:purple", "tab:brown"])
    row = 0.3
    for claim in summary["claims"]:
        if claim["column"] != column:
            continue
        colour = next(colours, "black")
        reported = claim["reported"]
        if isinstance(reported, (list, tuple)):
            strip.scatter(reported, np.full(len(reported), row), marker="x", color=colour, label=f"reported: {claim['label']}")
            row += 0.15
            ecdf.axvline(float(np.median(reported)), color=colour, linestyle="--")
        else:
            for axis in (strip, ecdf):
                axis.axvline(reported, color=colour, linestyle="--", label=f"reported: {claim['label']}" if axis is strip else None)
    for external in summary.get("external", []):
        if external["column"] == column:
            strip.scatter(external["values"], np.full(len(external["values"]), -0.3), marker="^", color="tab:gray",
                          label=external["label"][:40])
    strip.set_ylim(-0.45, max(0.45, row + 0.1))
    strip.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.2), ncol=2)
    figure.suptitle(f"{summary['paper']['name']}: achieved {column} vs reported")
    return save(figure, path)


def per_class_forest(summary: dict, split: str, path: Path) -> Optional[Path]:
    """Mean and t interval per class for precision, recall and F1, with external/reported per-class points."""
    table = summary["per_class"].get(split)
    if not table:
        return None
    plt = pyplot()
    classes = table["classes"]
    figure, axes = plt.subplots(1, 3, figsize=(11, 0.5 * len(classes) + 1.6), sharey=True)
    positions = np.arange(len(classes))
    for axis, measure in zip(axes, ("precision", "recall", "f1")):
        means = np.array([entry["mean"] for entry in table[measure]])
        intervals = np.array([entry["ci_t"] if entry["ci_t"][0] is not None else [m, m] for entry, m in zip(table[measure], means)], dtype=float)
        axis.errorbar(means, positions, xerr=[means - intervals[:, 0], intervals[:, 1] - means], fmt="o", color="tab:blue",
                      capsize=3, label="ours (mean, CI)")
        for external in summary.get("external", []):
            for run_index, per_class in enumerate(external.get("per_class") or []):
                if not per_class:
                    continue
                points = [per_class.get(name, {}).get(measure) for name in classes]
                axis.scatter([p for p in points if p is not None], [i + 0.15 for i, p in enumerate(points) if p is not None],
                             marker="^", color="tab:gray", s=16, label="external runs" if run_index == 0 else None)
        axis.set_title(measure)
        axis.set_yticks(positions, classes)
        axis.grid(axis="x", alpha=0.3)
    axes[0].legend(fontsize=7)
    figure.suptitle(f"per-class results on {split}")
    return save(figure, path)


def learning_curves(records: list[dict], path: Path) -> Optional[Path]:
    """Median and 10-90% band across repeats of each tracked history metric; kept epochs marked."""
    finished = [r for r in records if r["status"] != "failed" and r.get("history")]
    if not finished:
        return None
    keys = sorted(finished[0]["history"])
    plt = pyplot()
    figure, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for axis, key in zip(axes[0], keys):
        length = min(len(r["history"][key]) for r in finished)
        curves = np.array([[np.nan if v is None else v for v in r["history"][key][:length]] for r in finished],
                          dtype=float)  # (repeats, epochs); null (non-finite) as NaN
        epochs = np.arange(1, length + 1)
        with warnings.catch_warnings():
            # an epoch where every repeat's value is null (all diverged) is a gap in the curve, not a warning
            warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
            low, high = np.nanpercentile(curves, 10, axis=0), np.nanpercentile(curves, 90, axis=0)
            median = np.nanmedian(curves, axis=0)
        axis.fill_between(epochs, low, high, alpha=0.25, color="tab:blue", label="10-90% of repeats")
        axis.plot(epochs, median, color="tab:blue", label="median")
        kept = [(r["kept_epoch"], curves[i, r["kept_epoch"] - 1]) for i, r in enumerate(finished)
                if r.get("kept_epoch") and r["kept_epoch"] <= length]
        if kept:
            axis.scatter(*zip(*kept), marker="|", color="tab:red", s=60, label="kept epoch")
        axis.set_title(key)
        axis.set_xlabel("epoch")
    axes[0][0].legend(fontsize=7)
    return save(figure, path)


def confusion(summary: dict, split: str, path: Path) -> Optional[Path]:
    """Mean confusion matrix across repeats, row-normalised colours, mean counts written in each cell."""
    table = summary["per_class"].get(split)
    if not table:
        return None
    plt = pyplot()
    counts = np.array(table["confusion_mean"])
    normalised = np.array(table["confusion_row_normalised"])
    classes = table["classes"]
    figure, axis = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.0 * len(classes) + 1.5))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            axis.text(j, i, f"{counts[i, j]:.0f}\n{normalised[i, j]:.0%}", ha="center", va="center", fontsize=7,
                      color="white" if normalised[i, j] > 0.5 else "black")
    axis.set_xticks(range(len(classes)), classes, rotation=30)
    axis.set_yticks(range(len(classes)), classes)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(f"mean confusion matrix on {split}")
    return save(figure, path)


def make_plots(summary: dict, records: list[dict], run_dir: Path) -> dict[str, str]:
    """Every figure that applies to this run; returns {name: file name} for the report to embed."""
    made: dict[str, Any] = {
        "distribution": distribution(summary, records, run_dir / "distribution.png"),
        "learning_curves": learning_curves(records, run_dir / "learning_curves.png"),
    }
    for split in summary.get("per_class", {}):
        made[f"per_class_{split}"] = per_class_forest(summary, split, run_dir / f"per_class_{split}.png")
        made[f"confusion_{split}"] = confusion(summary, split, run_dir / f"confusion_{split}.png")
    return {name: Path(p).name for name, p in made.items() if p is not None}
