"""report.md: readable in a terminal, pasteable into a review; rendered from the summary alone."""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional

import pandas as pd

from replicate import metrics as metric_functions
from replicate.stats import BCA_MIN_N


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v, digits) for v in value)
    return str(value)


def fmt_interval(interval: Optional[Iterable[float]], digits: int = 4) -> str:
    if interval is None:
        return "—"
    low, high = list(interval)
    if low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return "—"
    return f"[{fmt(low, digits)}, {fmt(high, digits)}]"


def percent(confidence: float) -> str:
    """A confidence level as the report prints it: 0.95 -> '95%', 0.975 -> '97.5%'."""
    return f"{confidence * 100:g}%"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(cell) if not isinstance(cell, str) else cell for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def citation_line(citation: dict) -> str:
    authors = ", ".join(citation.get("authors") or [])
    where = citation.get("doi") or citation.get("url") or ""
    return f"{authors} ({citation.get('year')}). *{citation.get('title')}*. {citation.get('venue')}. {where}".strip()


STATISTIC_WORDS = {"single_run": "one run", "mean_of_k": "a mean of {k} runs", "best_of_k": "the best of {k} runs",
                   "sample": "a sample of runs", "unknown": "kind not stated"}


# stats.compare_groups keys (a = theirs, b = ours) in words
GROUP_LABELS = {
    "n_a": "their runs", "n_b": "our runs", "mean_a": "their mean", "mean_b": "our mean",
    "median_a": "their median", "median_b": "our median", "std_a": "their std", "std_b": "our std",
    "welch_t": "Welch t", "welch_p": "Welch t-test p", "mannwhitney_u": "Mann-Whitney U (theirs)",
    "mannwhitney_p": "Mann-Whitney p", "ks_statistic": "Kolmogorov-Smirnov D", "ks_p": "Kolmogorov-Smirnov p",
    "hedges_g": "Hedges' g (their mean − ours, in pooled std)", "cohens_d": "Cohen's d",
    "cliffs_delta": "Cliff's delta (P(theirs > ours) − P(theirs < ours))",
}


def claim_kind(claim: dict) -> str:
    return STATISTIC_WORDS[claim["statistic"]].format(k=claim.get("k"))


def headline_lines(summary: dict) -> list[str]:
    """The report's first lines: the verdict block, then the facts as a short list."""
    counts = summary["repeats"]
    paper = summary["paper"]
    settings = summary["settings"]
    lines = [f"# Replication report: {paper['citation'].get('title')} (`{paper['name']}`)", ""]
    data = summary.get("data") or {}
    if data.get("synthetic"):
        lines += [
            "> **Synthetic data.** These repeats trained on generated or stand-in data, not the paper's. The achieved "
            "numbers test the harness and the protocol; they are **not comparable with the paper's reported values**, "
            "and the verdicts below say nothing about the paper.",
            "",
        ]
    lines += learning_notice(summary.get("did_not_learn"))
    alpha = 1 - settings["confidence"]
    lines += ["## Verdicts", ""]
    for claim in summary["claims"]:
        lines.append(f"- **{claim['label']}** (`{claim['column']}`, reported as {claim_kind(claim)}: "
                     f"{_reported_text(claim)}): **{claim['verdict_label']}** — {claim['why']}.")
        if claim.get("learned_only"):
            lines.append(f"  - {learned_only_text(claim)}.")
        lines.append(f"  - Error rates: {claim['error_rates']}.")
    if not summary["claims"]:
        lines.append("- the paper config lists no reported claims")
    lines += ["", f"What the three outcomes mean: *inconsistent* — rejected at level α = {alpha:.2g} under the claim's "
              "own kind of number (one run, a mean of k, the best of k, a sample); *consistent* — not rejected, and "
              f"the check was sharp enough to see a claim off by the tolerance (or our repeats barely widen it); "
              "*inconclusive* — neither, with how many repeats would decide it. Rules and their measured error rates: "
              "docs/statistics.md in the replicate repository.", ""]
    lines += sequential_lines(summary.get("sequential"))
    protocol = paper["protocol"]
    kept = (f"the epoch with the best {protocol['monitor_split']} {protocol['monitor_metric']}"
            if protocol["keep"] == "best" else "the last epoch")
    lines += ["## Facts", "",
              f"- **Paper:** {citation_line(paper['citation'])}",
              f"- **Data:** {data.get('description') or 'not recorded'}" + (" (**synthetic**)" if data.get("synthetic") else ""),
              f"- **Repeats:** {counts['completed']} completed of {counts['requested']} "
              f"{'used by repeats=auto' if summary.get('sequential') else 'requested'} ({counts['failed']} "
              f"failed, {counts['diverged']} diverged, {counts['missing']} not run); statistics use completed repeats only.",
              f"- **Protocol:** `{protocol['name']}`: {protocol['epochs']} epochs, batch {protocol['batch_size'] or 'all'}, "
              f"shuffle={protocol['shuffle']}, keeps {kept}.",
              *learning_fact(summary.get("did_not_learn")),
              f"- **Determinism:** `{settings['determinism']}`; bitwise reproducible: {summary['reproducible']['text']}.",
              *([f"- **Records set aside:** {len(summary['set_aside'])} (corrupt, misplaced, foreign or failed; "
                  "listed under 'Records set aside')"] if summary.get("set_aside") else []),
              f"- **Claims scored:** {len(summary['claims'])} from this run's settings (run.json); claims and report "
              "settings only read the records, so changing them re-scores without retraining."]
    notes = list(protocol.get("notes") or []) + list(paper.get("notes") or [])
    if protocol["keep"] == "best" and protocol["monitor_split"] == "test":
        notes.insert(0, "The epoch is selected on the test set: the kept weights are chosen by test accuracy, so the reported test number is optimistically biased.")
    for note in notes:
        lines.append(f"- {note}")
    return lines


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def learning_notice(block: Optional[dict]) -> list[str]:
    """The report's first words on runs that did not learn (summary.learning), beside the synthetic-data notice:
    none when every run learned."""
    if not block:
        return []
    headline = (block.get("columns") or {}).get(block["headline"]) or {}
    if block.get("none_learned"):
        return [f"> **No run learned.** {_sentence(block['text'])}. No claim gets a verdict: there is no trained model "
                "to compare the paper's numbers with. See 'Runs that did not learn'.", ""]
    if headline.get("not_learned"):
        return [f"> **Runs that did not learn.** {_sentence(block['text'])}. The claims below are judged knowing "
                "which runs did not learn. See 'Runs that did not learn'.", ""]
    return []


def learning_fact(block: Optional[dict]) -> list[str]:
    """The Facts line on whether the runs learned (summary.learning's words)."""
    if not block:
        return []
    headline = (block.get("columns") or {}).get(block["headline"]) or {}
    label = "Runs that did not learn" if headline.get("not_learned") else "Runs that learned"
    return [f"- **{label}:** {_sentence(block['text'])}."]


def learned_only_text(claim: dict) -> str:
    count = f" ({claim['n_learned']} of {claim['n']})" if claim.get("n_learned") is not None else ""
    return f"Judged on the runs that learned only{count}, as the paper says it discarded runs that did not learn"


def learning_lines(block: Optional[dict]) -> list[str]:
    """The 'Runs that did not learn' section: per metric column, the runs that did no better than the trivial
    predictor made from each repeat's training split (or diverged), the failure rate and its exact interval."""
    if not block or not any(entry["n"] for entry in block["columns"].values()):
        return []
    conf = percent(block["confidence"])
    rows = []
    for column, entry in block["columns"].items():
        if not entry["n"]:
            continue
        listed = ", ".join(map(str, entry["repeats"][:12])) + (" …" if len(entry["repeats"]) > 12 else "")
        rows.append([f"`{column}`", entry["n"], entry["not_learned"], fmt(entry["rate"], 2),
                     fmt_interval(entry["interval"], 2), entry["trivial_what"] or "none (no trivial predictor)",
                     fmt(entry["trivial"]), entry["diverged"], entry.get("unchanged", 0), listed or "—"])
    return ["", "## Runs that did not learn", "",
            "A run did not learn a metric when it diverged, training left its weights exactly as they were "
            "initialised, its value is not a finite number, or it is no better than a trivial predictor: a constant made from that repeat's training split alone (the majority class for "
            "accuracy and F1, the class frequencies for cross-entropy, the mean target for MSE, the median target for "
            "MAE), scored on the same split with the same metric. A loss from Keras' training log has none. "
            f"Intervals are exact (Clopper-Pearson) {conf} intervals of the failure rate.", "",
            table(["metric", "runs", "did not learn", "failure rate", f"exact {conf} interval", "trivial predictor",
                   "its score (median over repeats)", "diverged", "kept initial weights", "repeats that did not learn"],
                  rows)]


def sequential_lines(block: Optional[dict]) -> list[str]:
    """repeats=auto: the rule, where the run stopped and why, each claim's look and the fixed-n design it replaces,
    and every look's interim results (all recomputed from the records)."""
    if not block:
        return []
    lines = ["## Sequential stopping (repeats=auto)", "", f"**{block['text']}.**", "", block["rule"] + ".", ""]
    rows = []
    for claim in block["claims"]:
        used = claim["decided_at"] or block["repeats_used"]
        ratio = f"{used / claim['fixed_n']:.2f}×" if claim.get("fixed_n") else "—"
        rows.append([claim["label"], claim["statistic"].replace("_", " ") + (f" (k={claim['k']})" if claim["k"] > 1 else ""),
                     f"{claim['level']:.4g}", claim["last_look"], claim["decided_at"] or "—", claim["outcome"],
                     claim.get("fixed_n") or "—", ratio])
    lines.append(table(["claim", "kind", "nominal level α′ per look", "decided by look (at the latest)", "decided at",
                        "outcome", "fixed-n design (α, same sharpness)", "repeats used / fixed n"], rows))
    lines += ["", f"α = {block['alpha']:g} over all looks. \"Decided by look\": an honest claim whose runs look normal is "
              "decided by then at the latest (its band is sharp by width there). The fixed-n design is the number of "
              "repeats the fixed-n rule at full α would need for the same sharpness (power at the tolerance, or band "
              "width), planned with the spread measured at the deciding look."]
    if block["overrun"]:
        shown = ", ".join(map(str, block["overrun"][:10])) + (" …" if len(block["overrun"]) > 10 else "")
        one = len(block["overrun"]) == 1
        lines += ["", f"Repeat{'' if one else 's'} {shown} {'was' if one else 'were'} trained after the stopping point "
                  "(the last round fills every worker, or the records were already there); kept in records/, not used "
                  "by the verdicts or the statistics of this report."]
    if block["rescored"]:
        lines += ["", f"**Re-scored:** the stopping rule was computed for the claims set when the run ran "
                  f"({', '.join(block['stopping_claims']) or 'none'}) at α = {block['alpha']:g}. "
                  f"{', '.join(block['rescored'])}: not among them (set or changed afterwards, or report.confidence or "
                  f"report.tolerance changed; α is now {block['alpha_now']:g}), so judged on the {block['repeats_used']} repeats used at "
                  "the level that holds at every look from the first to repeats_max: the data-dependent stopping "
                  "point cannot inflate their false-alarm rate."]
    if block["looks"]:
        names = list(dict.fromkeys(name for look in block["looks"] for name in look["results"]))
        look_rows = [[look["n"], look["completed"]] + [
            (f"{look['results'][name]['outcome']} (p = {fmt(look['results'][name]['p_value'], 2)})"
             if name in look["results"] else "·") for name in names] for look in block["looks"]]
        lines += ["", "Interim results, one look per repeat (· = decided at an earlier look):", "",
                  table(["look (repeats)", "completed"] + names, look_rows)]
    return lines + [""]


def data_lines(data: dict) -> list[str]:
    """The Data section: what the data are, their hashes, and every count of what was read, kept and skipped."""
    if not data:
        return []
    provenance = data.get("provenance") or {}
    lines = ["", "## Data", "", f"{data.get('description') or 'not described'}"
             + (" **These are not the paper's data.**" if data.get("synthetic") else ""), "",
             f"- Examples: {data.get('examples')}; SHA-256 of the arrays the model sees: `{data.get('sha256')}`"]
    if provenance.get("sha256"):
        lines.append(f"- The file's SHA-256: `{provenance['sha256']}` ({provenance.get('path')})")
    if provenance.get("raw_sha256"):
        lines.append(f"- SHA-256 over the raw files read: `{provenance['raw_sha256']}`")
    counts = provenance.get("pipeline") or {}
    if counts:
        first = [key for key in ("points read", "points labelled", "segments made", "segments kept") if key in counts]
        rest = sorted(key for key in counts if key not in first)
        lines += ["", "What reading and preprocessing read, kept, changed and skipped, and why:", "",
                  table(["what", "count"], [[key, counts[key]] for key in first + rest])]
    examples = provenance.get("read_examples") or []
    if examples:
        lines += ["", f"The first {len(examples)} places (file:line) where something was skipped or changed:", ""]
        lines += [f"- `{example}`" for example in examples]
    return lines


def _reported_text(claim: dict) -> str:
    reported = claim["reported"]
    if isinstance(reported, (list, tuple)):
        return f"{len(reported)} values, median {fmt(float(pd.Series(reported).median()))}"
    text = fmt(reported, 6)
    if claim.get("printed_half_unit"):
        text += f" (± {fmt(claim['printed_half_unit'], 2)} as printed)"
    return text


def _short(label: str, width: int = 28) -> str:
    """A label for a table header: up to its first parenthesis, else cut at a word within `width` characters."""
    label = label.split(" (", 1)[0].strip()
    return label if len(label) <= width else label[:width].rsplit(" ", 1)[0] + "…"


def execution_line(execution: dict) -> str:
    """How the repeats ran, in words (from the records; see summary.execution). Every path gives the same bits (the
    path is not part of a repeat's identity), so a run may mix records of both paths."""
    paths = ", ".join(f"{count} by `{path}`" for path, count in execution["paths"].items()) or "none"
    asked = execution["requested"]
    if execution.get("fallback_reason"):
        return (f"`{asked}` was asked for, but {execution['fallback_reason']}; so each repeat ran on its own "
                f"(`per_repeat`, one Keras `fit` per repeat). Repeats: {paths}.")
    if "vectorized" in execution["paths"]:
        sizes = ", ".join(str(size) for size in execution["group_sizes"]) or "—"
        return (f"`vectorized`{' (chosen by `execution=auto`)' if asked == 'auto' else ''}: repeats trained in "
                f"lockstep, groups of {sizes} in one TensorFlow graph per step; each replica is its repeat's own "
                f"model, stepped by Keras' own `train_step` on that repeat's batches, so grouping does not change its "
                f"bits. Repeats: {paths}.")
    return f"`per_repeat`: one Keras `fit` per repeat. Repeats: {paths}."


def figure(figures: dict[str, str], name: str, caption: str) -> list[str]:
    return ["", f"![{caption}]({figures[name]})"] if name in figures else []


def render_markdown(summary: dict, results: pd.DataFrame, figures: Optional[dict[str, str]] = None) -> str:
    figures = figures or {}
    lines = headline_lines(summary)
    settings = summary["settings"]
    conf = int(round(settings["confidence"] * 100))

    lines += data_lines(summary.get("data") or {})

    lines += ["", "## Scope of the claims", ""]
    data_words = (summary.get("data") or {}).get("description") or "the configured data"
    for claim in summary["claims"]:
        kind = claim_kind(claim)
        lines.append(f"- **{claim['label']}**: `{claim['column']}` reported as {kind} ({claim['source']}); compared with "
                     f"{claim['n']} retrainings of the same model and protocol on {data_words}.")

    lines += ["", "## Claims", ""]
    rows = []
    for claim in summary["claims"]:
        achieved = summary["metrics"].get(claim["column"]) or {}
        rows.append([
            claim["label"], f"`{claim['column']}`", claim_kind(claim), _reported_text(claim),
            f"{fmt(achieved.get('mean'))} ± {fmt(achieved.get('std'))}" if achieved else "—",
            fmt_interval(achieved.get("ci_t")) if achieved else "—",
            fmt(claim.get("percentile"), 3), claim["verdict_label"],
        ])
    if rows:
        lines.append(table(["claim", "metric", "reported as", "reported", "ours: mean ± std", f"{conf}% CI of our mean (t)",
                            "reported value's percentile (among its kind of number)", "verdict"], rows))
    lines += figure(figures, "distribution", f"achieved {summary['headline']} (points and ECDF), reported values as dashed lines, central {conf}% of repeats shaded")
    for claim in summary["claims"]:
        lines += ["", f"### {claim['label']}: {claim['verdict_label']}", "", f"Source: {claim['source']}."]
        if claim.get("note"):
            lines.append(f"Note: {claim['note']}")
        if claim.get("learned_only"):
            lines.append(f"{learned_only_text(claim)}.")
        lines += ["", f"Why: {claim['why']}.", "", f"Rule: {claim['rule']}", "", f"Error rates: {claim['error_rates']}."]
        if claim.get("quantities"):
            lines += ["", table(["quantity", "value"], [[name, value] for name, value in claim["quantities"]])]

    lines += learning_lines(summary.get("did_not_learn"))

    lines += ["", "## Achieved metrics", "",
              f"Over completed repeats; std is the sample std (ddof=1); intervals are {conf}% intervals for the mean, clipped to "
              f"the metric's range: t, and BCa bootstrap ({settings['bootstrap_resamples']} resamples) from {BCA_MIN_N} "
              "repeats on (below that its coverage falls well short of its promise)."
              + (" For losses and errors (skewed between seeds) both intervals cover less than they say: about "
                 "87-90% at n = 3..30 when runs are log-normal (docs/statistics.md)."
                 if any(metric_functions.multiplicative(c) for c in summary["metrics"]) else ""), ""]
    rows = []
    for column, s in summary["metrics"].items():
        if s is None:
            rows.append([f"`{column}`", 0] + ["—"] * 8)
            continue
        rows.append([f"`{column}`", s["n"], s["mean"], s["std"], s["median"], s["iqr"], s["min"], s["max"],
                     fmt_interval(s["ci_t"]), fmt_interval(s["ci_bca"])])
    lines.append(table(["metric", "n", "mean", "std", "median", "IQR", "min", "max", "CI (t)", "CI (BCa)"], rows))
    if summary.get("test_noise"):
        noise = summary["test_noise"]
        lines += ["", f"Test-set noise vs seed noise: one run's accuracy on {noise['test_examples']} test examples has a binomial "
                      f"standard error of {fmt(noise['binomial_se'])}; the between-seed std is {fmt(noise['between_seed_std'])}."]
    if summary.get("precision"):
        p = summary["precision"]
        needed = (f"about {p['repeats_needed']} repeats would bring it to the tolerance {fmt(p['tolerance'])}"
                  if p.get("repeats_needed") else f"no practical number of repeats would bring it to the tolerance {fmt(p['tolerance'])}")
        lines += ["", f"Precision of this estimate: the {conf}% interval's half-width is {fmt(p['half_width'])} at n = "
                      f"{summary['repeats']['completed']}; {needed}."]

    for split, per_class in summary.get("per_class", {}).items():
        lines += ["", f"## Per-class results on `{split}` (mean ± std over {per_class['n']} repeats)", ""]
        references = per_class.get("reference") or []
        header = ["class"]
        for measure in ("precision", "recall", "F1"):
            header.append(f"{measure} (ours, {conf}% CI)")
            header += [f"{measure} ({_short(ref['label'])}; Δ)" for ref in references]
        rows = []
        for i, name in enumerate(per_class["classes"]):
            cells = [f"{i} {name}"]
            for measure in ("precision", "recall", "f1"):
                entry = per_class[measure][i]
                cells.append(f"{fmt(entry['mean'], 3)} ± {fmt(entry['std'], 2)} {fmt_interval(entry['ci_t'], 3)}")
                for ref in references:
                    value = ref[measure][i]
                    cells.append("—" if value is None else f"{fmt(value, 3)} ({entry['mean'] - value:+.3f})")
            cells.append(per_class["support"][i])
            rows.append(cells)
        lines.append(table(header + ["support"], rows))
        if references:
            lines += ["", "Δ = our mean minus theirs (their value is the mean over their runs: "
                      + "; ".join(f"{r['label']}: {r['runs']} run(s)" for r in references) + ")."]
        worst = per_class["worst_class"]
        lines += ["", f"Worst class by mean F1: {worst['index']} {worst['name']} ({fmt(worst['f1_mean'], 3)})."]
        classes = per_class["classes"]
        lines += ["", f"Mean confusion matrix on `{split}` over repeats (rows: true class, columns: predicted; mean count, row share):", ""]
        lines.append(table(["true \\ predicted", *classes], [
            [name, *[f"{count:.1f} ({share:.0%})" for count, share in zip(per_class["confusion_mean"][i], per_class["confusion_row_normalised"][i])]]
            for i, name in enumerate(classes)]))
        lines += figure(figures, f"per_class_{split}", f"per-class precision, recall and F1 on {split}: mean and {conf}% t interval")
        lines += figure(figures, f"confusion_{split}", f"mean confusion matrix on {split}")

    for external in summary.get("external", []):
        lines += ["", f"## External replication: {external['label']}", "", f"Source: {external['source']}."]
        if external.get("note"):
            lines.append(external["note"])
        lines.append(f"Their values of `{external['column']}`: {fmt(external['values'], 5)}.")
        if external.get("verdict_label"):
            lines += ["", f"Their runs against ours, as samples: **{external['verdict_label']}** — {external['why']}."]
        comparison = external.get("comparison")
        if comparison:
            lines += ["", table(["quantity", "value"], [[GROUP_LABELS.get(name, name), value]
                                                       for name, value in comparison.items()])]

    if "learning_curves" in figures:
        lines += ["", "## Learning curves", ""] + figure(figures, "learning_curves", "median and 10-90% band across repeats; kept epochs marked")[1:]

    lines += ["", "## Methodology", "",
              f"- Master seed {settings['master_seed']}; each repeat gets its own seed for each source of randomness "
              f"({', '.join(settings['seed_sources'])}) from numpy's SeedSequence (spawn key (repeat, source)).",
              f"- Error bars cover: {', '.join(settings['varied']) or 'nothing (every source fixed)'}; fixed: {', '.join(settings['fixed']) or 'none'}.",
              f"- Intervals: {conf}% intervals for the mean, by t and (from {BCA_MIN_N} repeats) by BCa bootstrap "
              f"(scipy.stats.bootstrap, {settings['bootstrap_resamples']} resamples, random_state 0), clipped to the "
              "metric's range. '±' is the sample standard deviation across repeats (ddof=1), not a standard error. "
              "Each claim's rule is stated under it.",
              f"- Determinism: `{settings['determinism']}`; {settings['threads']} intra-/inter-op thread(s) per repeat.",
              f"- Execution: {execution_line(settings['execution'])}"]
    for source, note in (settings.get("seed_notes") or {}).items():
        lines.append(f"- {source}: {note}.")

    compute = summary["compute"]
    env = summary.get("environment") or {}
    lines += ["", "## Environment and compute", "",
              f"- Python {env.get('python')}, TensorFlow {env.get('tensorflow')}, Keras {env.get('keras')}, NumPy {env.get('numpy')}, scikit-learn {env.get('scikit-learn')}",
              f"- CPU: {(env.get('cpu') or {}).get('model')} ({(env.get('cpu') or {}).get('logical_cores')} logical cores); oneDNN: {env.get('onednn')}",
              f"- Training time: {fmt(compute['total_wall_seconds'], 4)} s in all, {fmt(compute['mean_wall_seconds_per_repeat'], 3)} s per repeat on average"]
    if summary.get("failures"):
        lines += ["", "## Repeats that did not complete", ""]
        lines.append(table(["repeat", "status", "error (first line; the full traceback is in the repeat's record)"],
                           [[f["repeat"], f["status"], f["error"] or "—"] for f in summary["failures"]]))

    if summary.get("set_aside"):
        words = {"corrupt": "unreadable or tampered with (checksum)", "misplaced": "another repeat's record in this slot",
                 "foreign": "a record of another configuration", "failed": "a failed repeat, re-run since",
                 "diverged": "a diverged repeat"}
        lines += ["", "## Records set aside", "",
                  "Kept in records/ under these names, never deleted, and left out of every number above:", ""]
        lines.append(table(["file", "why"], [[f"`{item['file']}`", words.get(item["reason"], item["reason"])]
                                              for item in summary["set_aside"]]))

    lines += ["", "## Every repeat", "", "Also in results.csv; each row is regenerable from records/repeat-NNNNN.json.", ""]
    header = list(results.columns)
    lines.append(table(header, [[(value[:12] if isinstance(value, str) and len(value) == 64 else value) for value in row] for row in results.itertuples(index=False)]))
    return "\n".join(lines) + "\n"
