"""From the run file and per-repeat records to the summary every report file is rendered from (pure)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from replicate import metrics as metric_functions
from replicate import sequential, stats, verdict
from replicate.config import headline_column, metric_columns
from replicate.runs import run_id
from replicate.seeding import SOURCES
from replicate.store import FINISHED


# summary.json's layout: bump it when a key is renamed, moved or changes meaning (adding a key does not), so a tool
# reading many runs' summaries can tell which layout each one has.
SUMMARY_SCHEMA = 1


def _finite(values) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def metric_values(records: list[dict], column: str) -> list[float]:
    """Values of one metric column over completed repeats, in repeat order."""
    return _finite(r["metrics"].get(column) for r in records if r["status"] == "completed")


def _summary_dict(values: list[float], column: str, confidence: float, resamples: int) -> Optional[dict]:
    if not values:
        return None
    return asdict(stats.summarize(values, confidence=confidence, n_resamples=resamples, random_state=0,
                                  bounds=metric_functions.bounds(column)))


def claim_values(claim: dict, records: list[dict]) -> list[float]:
    """The finite values of a claim's metric over the completed repeats among ``records`` (the statistics' values;
    what a claim is judged on, with the runs that did not learn, is claim_inputs)."""
    return metric_values(records, metric_functions.column(claim["split"], claim["metric"]))


# ------------------------------------------------------------------------------------- runs that did not learn

def learned_on(record: dict, column: str) -> bool:
    """Whether a repeat learned on ``column``: its record's `learned` entry (train.finish: better than the trivial
    predictor, not diverged, weights moved by training). A record written before trivial predictors has none: it counts as learned when it
    completed with a finite value, as nothing else is known about it. A failed repeat learned nothing."""
    value = (record.get("metrics") or {}).get(column)
    finite = value is not None and math.isfinite(value)
    if column in (record.get("learned") or {}):
        return bool(record["learned"][column]) and finite
    return record["status"] == "completed" and finite


@dataclass(frozen=True)
class ClaimInputs:
    """What a claim's column is judged on (replicate.verdict.judge's ``values``, ``learned`` and
    ``failure_threshold``): its value in every finished repeat (completed or diverged) whose record has the column,
    in repeat order, a diverged repeat's null (the record's JSON for a non-finite value) as NaN; whether each of
    those repeats learned on the column (NaN only where it did not); and the trivial predictor's value there, the
    median over those repeats of their records' `trivial` entry (None when no record has one)."""

    values: list[float]
    learned: list[bool]
    failure_threshold: Optional[float]
    repeats: list[int]

    @property
    def learned_values(self) -> list[float]:
        """The values of the repeats that learned (all finite)."""
        return [value for value, ok in zip(self.values, self.learned) if ok]

    def __len__(self) -> int:
        return len(self.values)


def column_inputs(records: list[dict], column: str) -> ClaimInputs:
    """ClaimInputs of one metric column over ``records`` (any order; failed repeats and records without the column
    are left out)."""
    finished = sorted((r for r in records if r["status"] in FINISHED and column in (r.get("metrics") or {})),
                      key=lambda r: r["repeat"])
    values = [math.nan if r["metrics"][column] is None else float(r["metrics"][column]) for r in finished]
    trivial = [float(r["trivial"][column]) for r in finished if (r.get("trivial") or {}).get(column) is not None]
    return ClaimInputs(values, [learned_on(r, column) for r in finished],
                       float(np.median(trivial)) if trivial else None, [r["repeat"] for r in finished])


def claim_inputs(claim: dict, records: list[dict]) -> ClaimInputs:
    """What a claim is judged on (see ClaimInputs): pass it to claim_verdict as its ``values``."""
    return column_inputs(records, metric_functions.column(claim["split"], claim["metric"]))


def claim_verdict(claim: dict, inputs: ClaimInputs, report: dict, alpha: Optional[float] = None,
                  decide_repeats: bool = True) -> verdict.Verdict:
    """One claim against the achieved values (replicate.verdict.judge with the claim's settings); ``alpha``: the level
    (default 1 - report.confidence; a `repeats=auto` run passes its sequential nominal level).

    ``inputs``: claim_inputs(claim, records) (every finished repeat's value, whether it learned, the trivial
    predictor's value). judge also gets the claim's ``learned_only`` (the paper says it discarded runs that did not
    learn)."""
    column = metric_functions.column(claim["split"], claim["metric"])
    sample = claim["statistic"] == "sample"
    return verdict.judge(
        claim["statistic"], tuple(claim["values"]) if sample else claim["value"], inputs.values, k=claim.get("k"),
        reported_std=claim.get("std"), higher_is_better=metric_functions.higher_is_better(column),
        alpha=1 - report["confidence"] if alpha is None else alpha,
        tolerance=claim.get("tolerance") or report["tolerance"],
        half_unit=0.0 if sample else verdict.printed_half_unit(claim["value"], claim.get("digits")),
        scale="log" if metric_functions.multiplicative(column) else "raw", bounds=metric_functions.bounds(column),
        decide_repeats=decide_repeats,
        learned=inputs.learned, failure_threshold=inputs.failure_threshold,
        learned_only=bool(claim.get("learned_only") or False),
    )


SPLIT_WORDS = {"test": "test", "train": "training-split", "validation": "validation", "fit": "training-log"}
METRIC_WORDS = {"accuracy": "accuracy", "macro_f1": "macro-F1", "weighted_f1": "weighted F1",
                "cross_entropy": "cross-entropy", "mse": "MSE", "mae": "MAE", "loss": "loss"}


def column_words(column: str) -> str:
    """A metric column in words: 'test_accuracy' -> 'test accuracy', 'fit_loss' -> 'training-log loss'."""
    split, _, metric = column.partition("_")
    return f"{SPLIT_WORDS.get(split, split)} {METRIC_WORDS.get(metric, metric)}".strip()


def _rate(value: float) -> str:
    return f"{value:.2g}"


def unmoved(record: dict) -> bool:
    """Training left the repeat's weights bit for bit as they were initialised (e.g. a learning rate of 0)."""
    return bool(record.get("init_weights_sha256")) and record.get("weights_sha256") == record["init_weights_sha256"]


def _learning_entry(inputs: ClaimInputs, column: str, diverged: set[int], unchanged: set[int],
                    confidence: float) -> dict[str, Any]:
    n = len(inputs.values)
    missed = [repeat for repeat, ok in zip(inputs.repeats, inputs.learned) if not ok]
    low, high = verdict.proportion_interval(len(missed), n, confidence)
    return {"n": n, "not_learned": len(missed), "rate": len(missed) / n if n else None, "interval": [low, high],
            "repeats": missed, "diverged": sum(repeat in diverged for repeat in missed),
            "unchanged": sum(repeat in unchanged and repeat not in diverged for repeat in missed),
            "trivial": inputs.failure_threshold,
            "trivial_what": metric_functions.trivial_words(column) if inputs.failure_threshold is not None else None}


def _why_not_learned(column: str, entry: dict) -> str:
    """Why a run counts as not learned on ``column``, in words: the bar it did not clear, or how training failed."""
    words = column_words(column)
    if entry["trivial"] is not None:
        reason = f"{words} no better than {entry['trivial_what']} ({entry['trivial']:.4g})"
    else:
        reason = f"{words} not a finite number"
    runs = lambda count: f"{count} run{'' if count == 1 else 's'}"  # noqa: E731
    failures = [f"{what} ({runs(entry.get(key))})" for key, what in (("diverged", "diverged"),
                                                                     ("unchanged", "kept its initial weights"))
                if entry.get(key)]
    return reason + (", or the run " + " or ".join(failures) if failures else "")


def learning(records: list[dict], columns: list[str], headline: str, confidence: float) -> dict[str, Any]:
    """summary.json's `did_not_learn` block: for each metric column, over the finished repeats (completed or
    diverged), how many did not learn (no better than the trivial predictor made from the training split, or not
    finite, or diverged, or weights left unchanged by training), the failure rate with its exact (Clopper-Pearson) interval, the trivial predictor's value
    (median over repeats) and what it predicts; the headline column's count in words (`text`), and `none_learned`:
    no finished repeat learned on the headline column (no claim gets a verdict then)."""
    diverged = {r["repeat"] for r in records if r["status"] == "diverged"}
    unchanged = {r["repeat"] for r in records if "learned" in r and unmoved(r)}
    entries = {column: _learning_entry(column_inputs(records, column), column, diverged, unchanged, confidence)
               for column in columns}
    entry = entries.get(headline) or _learning_entry(column_inputs(records, headline), headline, diverged, unchanged,
                                                     confidence)
    n, missed = entry["n"], entry["not_learned"]
    if not n:
        text = "no repeat finished training, so whether the runs learn is not known"
    elif missed:
        low, high = entry["interval"]
        text = (f"{missed} of {n} runs did not learn ({_why_not_learned(headline, entry)}): failure rate "
                f"{_rate(entry['rate'])}, exact {confidence * 100:g}% interval [{_rate(low)}, {_rate(high)}]")
    elif entry["trivial"] is not None:
        text = (f"all {n} runs learned: each scored a better {column_words(headline)} than {entry['trivial_what']} "
                f"({entry['trivial']:.4g})")
    else:
        text = (f"all {n} runs learned as far as can be told: each has a finite {column_words(headline)} (this "
                "metric has no trivial predictor to compare with)")
    return {"headline": headline, "confidence": confidence, "columns": entries, "text": text,
            "none_learned": bool(n) and missed == n}


NO_LEARNING_RULE = ("a claim is about a trained model: with no run that learned (see 'Runs that did not learn') there "
                    "is nothing to compare it with, so no verdict")


def _no_learning_why(learned: dict[str, Any]) -> str:
    entry = learned["columns"].get(learned["headline"]) or {}
    return (f"no run learned: none of the {entry.get('n')} runs did ({_why_not_learned(learned['headline'], entry)}), "
            "so there is no trained model to compare the claim with; see 'Runs that did not learn'")


def _claim_entry(claim: dict, values: ClaimInputs, report: dict, counts: dict, learned: dict[str, Any],
                 result: Optional[verdict.Verdict] = None) -> dict[str, Any]:
    """One claim's verdict (replicate.verdict) and what the report shows of it; ``values``: claim_inputs (a
    `repeats=auto` run's too: the inputs of the look that decided the claim); ``learned``: the did_not_learn block; ``result``: a verdict already made
    (a `repeats=auto` run's, at the look that decided the claim). No run learned: no verdict, whatever was made."""
    column = metric_functions.column(claim["split"], claim["metric"])
    sample = claim["statistic"] == "sample"
    learned_count = sum(values.learned)
    entry = {
        "label": claim.get("label") or column,
        "column": column,
        "statistic": claim["statistic"],
        "k": claim.get("k"),
        "reported": tuple(claim["values"]) if sample else claim["value"],
        "reported_std": claim.get("std"),
        "printed_half_unit": 0.0 if sample else verdict.printed_half_unit(claim["value"], claim.get("digits")),
        "tolerance": claim.get("tolerance") or report["tolerance"],
        "source": claim["source"],
        "note": claim.get("note"),
        "higher_is_better": metric_functions.higher_is_better(column),
        "n": len(values),
        "n_learned": learned_count,
        "learned_only": bool(claim.get("learned_only") or False),
    }
    if learned["none_learned"] or (learned_count == 0 and len(values)):
        why = (_no_learning_why(learned) if learned["none_learned"] else
               f"no run learned {column_words(column)}: none of the {len(values)} runs did, so there is no trained "
               "model to compare the claim with; see 'Runs that did not learn'")
        result = verdict.Verdict(claim["statistic"], "none", None, why, NO_LEARNING_RULE,
                                 "no verdict, so no error rate applies", "none")
    elif result is None and not values:
        why = (f"no completed repeat to compare with ({counts['failed']} failed, {counts['diverged']} diverged, "
               f"{counts['missing']} not run); see 'Repeats that did not complete'")
        result = verdict.Verdict(claim["statistic"], "none", None, why, why, "no verdict, so no error rate applies", "none")
    elif result is None:
        result = claim_verdict(claim, values, report)
    entry.update(verdict=result.outcome, direction=result.direction, verdict_label=result.label, why=result.why,
                 rule=result.rule, error_rates=result.error_rates, method=result.method, p_value=result.p_value,
                 power=result.power, width_factor=result.width_factor, repeats_to_decide=result.repeats_to_decide,
                 percentile=result.percentile, quantities=[list(q) for q in result.quantities],
                 details=result.details)
    return entry


def _per_class(records: list[dict], split: str, class_names: list[str], confidence: float) -> Optional[dict]:
    rows = [r["per_class"][split] for r in records if r["status"] == "completed" and split in r.get("per_class", {})]
    if not rows:
        return None
    table: dict[str, Any] = {"classes": class_names, "n": len(rows)}
    for measure in ("precision", "recall", "f1"):
        matrix = np.array([row[measure] for row in rows], dtype=float)  # (repeats, classes)
        table[measure] = [
            {"mean": float(col.mean()), "std": float(col.std(ddof=1)) if len(col) > 1 else float("nan"),
             "ci_t": list(stats.summarize(col, confidence, n_resamples=0, bounds=(0.0, 1.0)).ci_t)}
            for col in matrix.T
        ]
    table["support"] = [int(v) for v in np.mean([row["support"] for row in rows], axis=0)]
    confusion = np.array([row["confusion"] for row in rows], dtype=float)  # (repeats, C, C)
    mean_confusion = confusion.mean(axis=0)
    table["confusion_mean"] = mean_confusion.tolist()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["confusion_row_normalised"] = np.nan_to_num(mean_confusion / mean_confusion.sum(axis=1, keepdims=True)).tolist()
    worst = int(np.argmin([entry["mean"] for entry in table["f1"]]))
    table["worst_class"] = {"index": worst, "name": class_names[worst], "f1_mean": table["f1"][worst]["mean"]}
    return table


def _fixed_sources(records: list[dict]) -> set[str]:
    """Sources that took the same value in every repeat: frozen by `vary`, pinned by the paper, or unused.

    Judged from what the records show, not only from settings: one split (same split hash in every repeat),
    no layer with its own random stream (no dropout), or a note saying the seed was fixed.
    """
    notes = next((r.get("seed_notes") for r in records), {}) or {}
    fixed = {source for source, note in notes.items() if note.startswith("fixed")}
    finished = [r for r in records if r["status"] != "failed"]
    split_hashes = {r.get("split_sha256") for r in finished}
    if len(finished) > 1 and None not in split_hashes and len(split_hashes) == 1:
        fixed.add("split")
    if finished and all(r.get("layer_random_streams") == 0 for r in finished):
        fixed.add("dropout")
    return fixed


def execution(run: dict[str, Any], records: list[dict]) -> dict[str, Any]:
    """How the repeats were run, from the records: which path produced how many, group sizes, any fallback."""
    runs = [r.get("execution") or {"path": "per_repeat"} for r in records]
    paths: dict[str, int] = {}
    for item in runs:
        paths[item["path"]] = paths.get(item["path"], 0) + 1
    return {
        "requested": run.get("execution", "auto"),
        "paths": paths,
        "group_sizes": sorted({len(item["group"]) for item in runs if item.get("group")}),
        "fallback_reason": next((item["fallback_reason"] for item in runs if item.get("fallback_reason")), None),
    }


def reproducibility(run: dict[str, Any], selfcheck: Optional[list[dict]]) -> dict[str, Any]:
    """Whether a repeat re-run in a fresh process gave the same bits, in words for the report's first lines."""
    if run["determinism"] != "bitwise":
        return {"status": "off", "text": "not checked: determinism=off, so results are not bitwise reproducible"}
    if not selfcheck:
        return {"status": "unchecked", "text": "not checked (self-check disabled or no finished repeat to re-run)"}
    result = selfcheck[0]
    # what was compared: the re-run's path and process against the original's (runner.finish_self_check)
    how = result.get("how") or "re-run in a fresh process after the run (python -m replicate.verify)"
    if result["match"]:
        return {"status": "yes", "how": how, "text": f"yes: repeat {result['repeat']}, {how}, gave the same weights "
                                                     "(SHA-256), metrics and training history"}
    changed = ", ".join(result["environment_changes"]) or "nothing in the environment fingerprint"
    return {"status": "no", "how": how, "text": f"NO: repeat {result['repeat']}, {how}, differed in "
                                                f"{', '.join(result['differences'])}; changed: {changed}"}


def stopping(run: dict[str, Any], records: list[dict[str, Any]]) -> tuple[list[dict], list, Optional[dict]]:
    """repeats=auto (replicate.sequential): the records the stopping rule used (a round's overrun past the stop
    stays in records/, unused), each claim's (verdict, values) under the rule, and the report's `sequential` block.
    A fixed-n run: its records, no verdicts made, None."""
    design = sequential.design_of(run)
    claims = run["paper"]["reported"]
    if design is None:
        return records, [None] * len(claims), None
    report, frozen = run["report"], design.scoring(run["report"])
    sequence = sequential.evaluate(design, records, lambda claim, values, alpha: claim_verdict(claim, values, frozen, alpha))
    made, block = sequential.summarize(design, sequence, claims, records, report,
                                       lambda claim, values, alpha: claim_verdict(claim, values, report, alpha))
    return [r for r in records if r["repeat"] < sequence.used], made, block


def build_summary(run: dict[str, Any], records: list[dict[str, Any]],
                  selfcheck: Optional[list[dict]] = None, set_aside: Optional[list[dict]] = None) -> dict[str, Any]:
    """Everything the report shows, computed from run.json's content, the records (repeat order) and the self-check."""
    paper, report = run["paper"], run["report"]
    records = sorted(records, key=lambda r: r["repeat"])
    records, auto_verdicts, auto = stopping(run, records)
    requested = auto["repeats_used"] if auto else run["repeats"]
    statuses = [r["status"] for r in records]
    counts = {
        "requested": requested,
        "attempted": len(records),
        "completed": statuses.count("completed"),
        "failed": statuses.count("failed"),
        "diverged": statuses.count("diverged"),
        "missing": requested - len(records),
    }
    columns = metric_columns(paper)
    metrics = {c: _summary_dict(metric_values(records, c), c, report["confidence"], report["bootstrap_resamples"])
               for c in columns}
    learned = learning(records, columns, headline_column(paper), report["confidence"])
    claims = []
    for claim, made in zip(paper["reported"], auto_verdicts):
        result, values = made if made is not None else (None, claim_inputs(claim, records))
        claims.append(_claim_entry(claim, values, report, counts, learned, result))

    data_info = next((r.get("data") for r in records if r.get("data")), {}) or {}
    class_names = next((r.get("class_names") for r in records if r.get("class_names")), None)
    per_class = {}
    if class_names:
        for split in paper["evaluate_on"]:
            table = _per_class(records, split, class_names, report["confidence"])
            if table:
                table["reference"] = _reference_per_class(paper, split, class_names)
                per_class[split] = table

    walls = [r["wall_seconds"] for r in records if "wall_seconds" in r]
    environment = next((r["environment"] for r in records if r.get("environment")), {})
    headline = headline_column(paper)
    test_size = next((r["split_sizes"].get(headline.split("_", 1)[0]) for r in records if r.get("split_sizes")), None)
    noise = None
    if headline.endswith("_accuracy") and metrics.get(headline) and test_size:
        noise = {
            "test_examples": test_size,
            "binomial_se": stats.binomial_se(metrics[headline]["mean"], test_size),
            "between_seed_std": metrics[headline]["std"],
        }
    precision = None
    headline_values = metric_values(records, headline)
    std = float(np.std(headline_values, ddof=1)) if len(headline_values) >= 2 else math.nan
    if math.isfinite(std):
        precision = {
            "half_width": stats.interval_half_width(headline_values, report["confidence"]),
            "tolerance": report["tolerance"],
            "repeats_needed": stats.repeats_needed(std, report["tolerance"], report["confidence"]),
        }

    from replicate import __version__

    return {
        "schema_version": SUMMARY_SCHEMA,
        "replicate_version": __version__,
        "run_id": run_id(run),
        "paper": {
            "name": paper["name"],
            "citation": paper["citation"],
            "task": paper["task"],
            "protocol": paper["protocol"],
            "notes": paper.get("notes", []),
        },
        "data": data_info,
        "settings": {
            "master_seed": run["seed"],
            "threads": run["threads"],
            "determinism": run["determinism"],
            "confidence": report["confidence"],
            "tolerance": report["tolerance"],
            "bootstrap_resamples": report["bootstrap_resamples"],
            "seed_sources": list(SOURCES),
            "varied": [s for s in SOURCES if s not in _fixed_sources(records)],
            "fixed": [s for s in SOURCES if s in _fixed_sources(records)],
            "seed_notes": next((r.get("seed_notes") for r in records), {}) or {},
            "execution": execution(run, records),
        },
        "repeats": counts,
        "did_not_learn": learned,
        "sequential": auto,
        "reproducible": reproducibility(run, selfcheck),
        "headline": headline,
        "metrics": metrics,
        "claims": claims,
        "external": _external(paper, records, report),
        "per_class": per_class,
        "test_noise": noise,
        "precision": precision,
        "failures": [{"repeat": r["repeat"], "status": r["status"], "error": one_line_error(r.get("error"))}
                     for r in records if r["status"] != "completed"],
        "set_aside": list(set_aside or []),
        "compute": {
            "total_wall_seconds": float(sum(walls)),
            "mean_wall_seconds_per_repeat": float(np.mean(walls)) if walls else None,
        },
        "environment": environment,
        "versions": run.get("versions", {}),
    }


def one_line_error(error: Optional[dict], width: int = 240) -> Optional[str]:
    """A failed repeat's error as one table-safe line: type and the message's lines joined, cut at `width`
    characters (the record keeps the full message and traceback)."""
    if not error:
        return None
    message = " ".join(line.strip() for line in str(error.get("message") or "").splitlines() if line.strip())
    text = f"{error.get('type') or 'Error'}: {message}" if message else str(error.get("type") or "error")
    text = text.replace("|", "/")
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _reference_per_class(paper: dict, split: str, class_names: list[str]) -> list[dict]:
    """Per-class numbers the paper or an external replication gave on `split` (mean over their runs)."""
    references = []
    sources = [(c.get("label") or "reported", [c.get("per_class")]) for c in paper.get("reported", [])
               if c.get("per_class") and c["split"] == split]
    sources += [(e["label"], [run.get("per_class") for run in e["runs"]]) for e in paper.get("external", [])
                if e["split"] == split and any(run.get("per_class") for run in e["runs"])]
    for label, tables in sources:
        tables = [t for t in tables if t]
        entry = {"label": label, "runs": len(tables)}
        for measure in ("precision", "recall", "f1"):
            entry[measure] = [
                float(np.mean(values)) if (values := [t[name][measure] for t in tables if name in t and measure in t[name]]) else None
                for name in class_names
            ]
        references.append(entry)
    return references


def _external(paper: dict, records: list[dict], report: dict) -> list[dict]:
    """External replications (e.g. a reader's own retraining) beside ours, compared as samples."""
    entries = []
    for external in paper.get("external", []):
        column = metric_functions.column(external["split"], external["metric"])
        values = metric_values(records, column)
        external_values = [run["value"] for run in external["runs"]]
        entry = {
            "label": external["label"], "source": external["source"], "column": column,
            "values": external_values, "note": external.get("note"),
            "per_class": [run.get("per_class") for run in external["runs"]],
        }
        if len(values) >= 2 and len(external_values) >= 2:
            entry["comparison"] = stats.compare_groups(external_values, values)
            result = verdict.judge("sample", external_values, values, higher_is_better=metric_functions.higher_is_better(column),
                                   alpha=1 - report["confidence"], tolerance=report["tolerance"])
            entry.update(verdict=result.outcome, verdict_label=result.label, why=result.why, rule=result.rule)
        entries.append(entry)
    return entries
