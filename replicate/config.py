"""From a composed Hydra config to plain, checked run settings; every problem is one line with its fix."""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, Optional

from omegaconf import DictConfig, ListConfig, OmegaConf

from replicate import metrics as metric_functions
from replicate.errors import ConfigError

from replicate import resolvers

CONF_DIR = resolvers.CONF_DIR  # the checkout's conf/, or the wheel's replicate/conf
register_resolvers = resolvers.register  # what the entry points call

# The Keras training log at the kept epoch ("fit" split) holds these for each task.
FIT_METRICS = {"classification": ("loss", "accuracy"), "regression": ("loss",)}
# Optimizer settings Keras takes as floats (an int from the command line is converted).
FLOAT_HYPERPARAMETERS = {"learning_rate", "beta_1", "beta_2", "epsilon", "momentum", "rho", "weight_decay",
                         "clipnorm", "clipvalue", "global_clipnorm", "initial_accumulator_value", "ema_momentum",
                         "learning_rate_power", "l1_regularization_strength", "l2_regularization_strength",
                         "beta_2_power", "lr"}


@dataclass(frozen=True)
class RunSettings:
    """Everything one run needs, as plain values (no DictConfig past the entry point)."""

    paper: dict[str, Any]
    repeats: int
    seed: int
    determinism: str
    threads: int
    output_dir: str
    report: dict[str, Any]
    progress: Optional[bool]
    executor: dict[str, Any]
    vary: Optional[tuple[str, ...]]
    selfcheck: dict[str, Any]
    study: Optional[str] = None
    execution: str = "auto"
    replicas: Optional[int] = None
    repeats_min: int = 5
    repeats_max: int = 100

    @property
    def auto(self) -> bool:
        """repeats=auto: rounds of repeats until every claim is decided (replicate.sequential)."""
        return self.repeats == "auto"

    @property
    def planned(self) -> int:
        """The most repeats this run may train: `repeats`, or `repeats_max` under repeats=auto."""
        return self.repeats_max if self.auto else int(self.repeats)

    @property
    def headline(self) -> str:
        return headline_column(self.paper)

    def as_dict(self) -> dict[str, Any]:
        return {
            "paper": self.paper,
            "repeats": self.repeats,
            "seed": self.seed,
            "determinism": self.determinism,
            "threads": self.threads,
            "vary": None if self.vary is None else list(self.vary),
            "execution": self.execution,
            "replicas": self.replicas,
            "report": self.report,
            **({"repeats_min": self.repeats_min, "repeats_max": self.repeats_max} if self.auto else {}),
        }


def headline_column(paper: dict) -> str:
    """The metric column the report leads with: `paper.headline`, else the first claim's, else the first metric's."""
    if paper.get("headline"):
        return paper["headline"]
    if paper.get("reported"):
        claim = paper["reported"][0]
        return metric_functions.column(claim["split"], claim["metric"])
    return metric_functions.column(paper["evaluate_on"][0], paper["metrics"][0])


def metric_columns(paper: dict) -> list[str]:
    """Every metric column a repeat of this paper records, e.g. ['test_accuracy', 'fit_loss']."""
    columns = []
    for split in paper["evaluate_on"]:
        names = FIT_METRICS[paper["task"]] if split == "fit" else paper["metrics"]
        columns += [metric_functions.column(split, name) for name in names]
    return columns


def _suggest(value: str, choices) -> str:
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def schema_problems(cfg: DictConfig, overrides: tuple[str, ...] = ()) -> list[str]:
    """Keys the schema doesn't have (added with `+key=value`, which Hydra lets into a struct config) and keys it
    requires that are gone (`~key`): one line each, naming the override and the fix. Free-form nodes (paper.model,
    paper.data, paper.split: the builder's and loader's own arguments) take any key."""
    problems: list[str] = []

    def walk(node, path: str) -> None:
        if isinstance(node, ListConfig):
            for index, item in enumerate(node._iter_ex(resolve=False)):
                if isinstance(item, (DictConfig, ListConfig)):
                    walk(item, f"{path}.{index}")
            return
        kind = OmegaConf.get_type(node)
        if not dataclasses.is_dataclass(kind):
            return  # free-form: any key
        fields = [field.name for field in dataclasses.fields(kind)]
        keys = [str(key) for key in node.keys() if not (not path and key == "hydra")]
        for key in keys:
            full = f"{path}.{key}" if path else key
            if key not in fields:
                close = difflib.get_close_matches(key, fields, n=1)
                hint = f"did you mean '{path + '.' if path else ''}{close[0]}'? " if close else ""
                problems.append(f"unknown config key '{full}'{_given(full, overrides, ' (got {})')}; fix: {hint}"
                                f"valid keys under {path or 'the top level'}: {', '.join(sorted(fields))}")
                continue
            child = node._get_node(key)
            if isinstance(child, (DictConfig, ListConfig)) and not child._is_none() and not child._is_missing():
                walk(child, full)
        for name in fields:
            if name not in keys:
                full = f"{path}.{name}" if path else name
                problems.append(f"config key '{full}' was removed{_given(full, overrides, ' ({})')}, but every run "
                                f"needs it; fix: give it a value instead ({full}=VALUE)")

    walk(cfg, "")
    return problems


def override_for(full_key: str, overrides) -> Optional[str]:
    """The command-line override that names `full_key` ('+repats=3', '~seed', 'seed=abc'), or None."""
    return next((o for o in overrides if o.lstrip("+~").partition("=")[0] == full_key), None)


def _given(full_key: str, overrides: tuple[str, ...], template: str) -> str:
    """The override that names `full_key` put in `template`, or ''."""
    given = override_for(full_key, overrides)
    return template.format(given) if given else ""


def _task_overrides() -> tuple[str, ...]:
    """The overrides of the Hydra job running now (to name the one at fault), () outside one."""
    from hydra.core.hydra_config import HydraConfig

    try:
        return tuple(HydraConfig.get().overrides.task)
    except ValueError:  # "HydraConfig was not set"
        return ()


def check_schema(cfg: DictConfig, overrides: tuple[str, ...] = ()) -> None:
    """Raise the first schema problem (see schema_problems) as a one-line ConfigError."""
    problems = schema_problems(cfg, overrides)
    if problems:
        raise ConfigError(problems[0] + (f" (and {len(problems) - 1} more like it)" if len(problems) > 1 else ""))


def settings_from_config(cfg: DictConfig) -> RunSettings:
    """Resolve the composed config and check what the schema's types cannot: unknown or removed keys, ranges and
    cross-references."""
    check_schema(cfg, _task_overrides())
    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True, enum_to_str=True)
    settings = RunSettings(
        paper=container["paper"],
        repeats=container["repeats"],
        seed=container["seed"],
        determinism=container["determinism"],
        threads=container["threads"],
        output_dir=container["output_dir"],
        report=container["report"],
        progress=container.get("progress"),
        executor=container["executor"],
        vary=None if container["vary"] is None else tuple(container["vary"]),
        selfcheck=container["selfcheck"],
        study=container.get("study"),
        execution=container["execution"],
        replicas=container["replicas"],
        repeats_min=container["repeats_min"],
        repeats_max=container["repeats_max"],
    )
    check(settings)
    return settings


def check(settings: RunSettings) -> None:
    repeats = settings.repeats
    if repeats != "auto" and (isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1):
        raise ConfigError(f"repeats={repeats}: must be an integer of at least 1, or auto; fix: repeats=30 (the default), or "
                          "repeats=auto to stop when every claim is decided")
    if settings.auto:
        check_auto(settings)
    if settings.seed < 0:
        raise ConfigError(f"seed={settings.seed}: the master seed must be a non-negative integer; fix: seed=0")
    if settings.threads < 1:
        raise ConfigError(f"threads={settings.threads}: must be at least 1; fix: threads=1 (the default)")
    from replicate.seeding import SOURCES

    for source in settings.vary or ():
        if source not in SOURCES:
            raise ConfigError(f"vary: unknown source of randomness '{source}'; {_suggest(source, SOURCES)}fix: choose from {', '.join(SOURCES)}")
    if settings.replicas is not None and settings.replicas < 1:
        raise ConfigError(f"replicas={settings.replicas}: must be at least 1, or null to spread the repeats over the workers; fix: replicas=null")
    workers = settings.executor.get("workers")
    if workers is not None and workers < 1:
        raise ConfigError(f"executor.workers={workers}: must be at least 1, or null for one per core; fix: executor.workers=2")
    always = settings.repeats_min if settings.auto else settings.repeats  # repeats every run trains
    if settings.selfcheck["enabled"] and not 0 <= settings.selfcheck["repeat"] < always:
        raise ConfigError(f"selfcheck.repeat={settings.selfcheck['repeat']}: the repeat to re-run must be one of this run's, "
                          f"0..{always - 1}" + (" (the first round of repeats=auto)" if settings.auto else "")
                          + "; fix: selfcheck.repeat=0 (or selfcheck.enabled=false)")
    check_report(settings.report)
    check_paper(settings.paper)


def check_auto(settings: RunSettings) -> None:
    """repeats=auto: a first look of at least 3 repeats (a t rule on 2 has one degree of freedom), a maximum above it,
    and a claim the stopping rule can wait for."""
    if settings.repeats_min < 3:
        raise ConfigError(f"repeats_min={settings.repeats_min}: repeats=auto looks first after at least 3 repeats; "
                          "fix: repeats_min=5 (the default)")
    if settings.repeats_max < settings.repeats_min:
        raise ConfigError(f"repeats_max={settings.repeats_max}: must be at least repeats_min={settings.repeats_min}; "
                          "fix: repeats_max=100 (the default)")
    if settings.repeats_max > 500:
        raise ConfigError(f"repeats_max={settings.repeats_max}: repeats=auto plans at most 500 repeats; fix: "
                          "repeats_max=100 (the default) or a fixed repeats=N")
    if not any(claim.get("statistic") != "unknown" for claim in settings.paper.get("reported") or []):
        raise ConfigError(f"repeats=auto: paper '{settings.paper.get('name')}' has no claim with a known statistic "
                          "(paper.reported), so nothing would tell the run when to stop; fix: repeats=30, or add a "
                          "claim to paper.reported")


def check_report(report: dict) -> None:
    if not 0 < report["confidence"] < 1:
        raise ConfigError(f"report.confidence={report['confidence']}: must be between 0 and 1; fix: report.confidence=0.95")
    if report["tolerance"] <= 0:
        raise ConfigError(f"report.tolerance={report['tolerance']}: must be positive; fix: e.g. report.tolerance=0.01")
    if report["bootstrap_resamples"] < 1000:
        raise ConfigError(f"report.bootstrap_resamples={report['bootstrap_resamples']}: a BCa interval needs at least "
                          "1000 resamples (fewer leaves it blank or noisy); fix: report.bootstrap_resamples=9999 (the default)")


# What `python -m replicate.report RUN_DIR KEY=VALUE` may change: scoring settings only (nothing that trains).
SCORING_OVERRIDES = ("report.", "paper.reported", "paper.external", "paper.headline")


def apply_scoring_overrides(run: dict, overrides: list[str]) -> dict:
    """run.json's content with KEY=VALUE overrides of scoring settings applied, schema-typed and checked."""
    import yaml

    from replicate.schema import Claim, ExternalReplication, ReportConfig

    cfg = OmegaConf.create(run)
    for override in overrides:
        key, sep, text = override.partition("=")
        key = key.strip().lstrip("+")
        if not sep or not key:
            raise ConfigError(f"'{override}': not KEY=VALUE; fix: e.g. report.tolerance=0.02")
        if not key.startswith(SCORING_OVERRIDES):
            raise ConfigError(
                f"'{key}': only scoring settings can change without retraining ({', '.join(p.rstrip('.') + '*' for p in SCORING_OVERRIDES)}); "
                "fix: re-run 'python -m replicate' with that override to train under it")
        if key != "paper.headline" and not key.startswith("report.") and OmegaConf.select(cfg, key.rsplit(".", 1)[0]) is None:
            raise ConfigError(f"'{key}': no such entry in this run's claims; fix: check the index, e.g. paper.reported.0.value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"'{override}': the value is not valid YAML ({str(error).splitlines()[0]})") from error
        OmegaConf.update(cfg, key, value, merge=False)
    run = OmegaConf.to_container(cfg)
    try:
        run["report"] = OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(ReportConfig), run["report"]))
        paper = run["paper"]
        paper["reported"] = [OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(Claim), claim), enum_to_str=True)
                             for claim in paper.get("reported", [])]
        paper["external"] = [OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(ExternalReplication), e), enum_to_str=True)
                             for e in paper.get("external", [])]
    except Exception as error:  # OmegaConf's validation errors: one line
        message = str(error).strip().splitlines()[0]
        raise ConfigError(f"bad override ({' '.join(overrides)}): {message}; fix: give each key a value of its type") from error
    check_report(run["report"])
    check_paper(run["paper"])
    return run


def check_paper(paper: dict) -> None:
    task = paper["task"]
    known = metric_functions.names(task)
    for metric in paper["metrics"]:
        if metric not in known:
            raise ConfigError(
                f"paper.metrics: '{metric}' is not a {task} metric replicate computes; "
                f"{_suggest(metric, known)}fix: choose from {', '.join(known)}"
            )
    protocol = paper["protocol"]
    optimizer = protocol["optimizer"]
    for key, value in list(optimizer.items()):
        # learning_rate=5 arrives as an int, which Keras' optimizers reject once training starts: it means 5.0.
        if key in FLOAT_HYPERPARAMETERS and isinstance(value, int) and not isinstance(value, bool):
            optimizer[key] = float(value)
        elif key in FLOAT_HYPERPARAMETERS and not isinstance(value, (int, float)) and value is not None:
            raise ConfigError(f"paper.protocol.optimizer.{key}={value!r}: must be a number; fix: e.g. paper.protocol.optimizer.{key}=0.001")
    if protocol["epochs"] < 1:
        raise ConfigError(f"paper.protocol.epochs={protocol['epochs']}: must be at least 1; fix: e.g. paper.protocol.epochs=5")
    if protocol["eval_batch_size"] < 1:
        raise ConfigError(f"paper.protocol.eval_batch_size={protocol['eval_batch_size']}: must be at least 1; fix: paper.protocol.eval_batch_size=1024 (the default)")
    if protocol["batch_size"] is not None and protocol["batch_size"] < 1:
        raise ConfigError(f"paper.protocol.batch_size={protocol['batch_size']}: must be positive or null (whole training set); fix: e.g. paper.protocol.batch_size=64")
    if not 0 <= protocol["validation_fraction"] < 1:
        raise ConfigError(f"paper.protocol.validation_fraction={protocol['validation_fraction']}: must be in [0, 1); fix: e.g. 0.1")
    splits = ["train", "test", "fit"] + (["validation"] if protocol["validation_fraction"] > 0 else [])
    for split in paper["evaluate_on"]:
        if split not in splits:
            hint = " (a validation split needs paper.protocol.validation_fraction > 0)" if split == "validation" else ""
            raise ConfigError(f"paper.evaluate_on: unknown split '{split}'{hint}; fix: choose from {', '.join(splits)}")
    if protocol["keep"] == "best":
        if protocol["monitor_metric"] not in paper["metrics"] + ["loss"]:
            raise ConfigError(
                f"paper.protocol.monitor_metric={protocol['monitor_metric']}: keep=best needs a metric the model is "
                f"compiled with; fix: paper.protocol.monitor_metric={'accuracy' if task == 'classification' else 'loss'}"
            )
        if protocol["monitor_split"] not in splits or protocol["monitor_split"] == "fit":
            raise ConfigError(
                f"paper.protocol.monitor_split={protocol['monitor_split']}: keep=best watches a split each epoch; "
                "fix: paper.protocol.monitor_split=validation (with validation_fraction > 0) or test (the paper's own, optimistic choice)"
            )
    columns = metric_columns(paper)
    if paper.get("headline") and paper["headline"] not in columns:
        raise ConfigError(
            f"paper.headline={paper['headline']}: not a metric column of this paper; "
            f"{_suggest(paper['headline'], columns)}fix: choose from {', '.join(columns)}"
        )
    for position, claim in enumerate(paper["reported"]):
        check_claim(paper, claim, f"paper.reported[{position}]")
    for position, external in enumerate(paper["external"]):
        check_claim(paper, {**external, "statistic": "sample", "values": [run["value"] for run in external["runs"]]},
                    f"paper.external[{position}]")


def check_claim(paper: dict, claim: dict, where: str) -> None:
    task = paper["task"]
    split = claim["split"]
    if split not in paper["evaluate_on"]:
        raise ConfigError(
            f"{where}.split='{split}': the paper does not evaluate on this split; "
            f"fix: use one of {', '.join(paper['evaluate_on'])} or add '{split}' to paper.evaluate_on"
        )
    computed = FIT_METRICS[task] if split == "fit" else paper["metrics"]
    if claim["metric"] not in computed:
        raise ConfigError(
            f"{where}.metric='{claim['metric']}': the paper does not compute this metric on split '{split}'; "
            f"{_suggest(claim['metric'], computed)}fix: use one of {', '.join(computed)} or add it to paper.metrics"
        )
    learned_only = claim.get("learned_only", False)
    if not isinstance(learned_only, bool):
        raise ConfigError(f"{where}.learned_only={learned_only!r}: must be true or false; fix: learned_only: true when "
                          "the paper says it discarded runs that did not learn, else remove the key")
    statistic = claim["statistic"]
    if statistic == "sample":
        if not claim.get("values") or len(claim["values"]) < 2:
            raise ConfigError(f"{where}: statistic=sample needs 'values' with at least two numbers; fix: list the reported sample, or use statistic=single_run with 'value'")
    elif claim.get("value") is None:
        raise ConfigError(f"{where}: statistic={statistic} needs 'value' (the reported number); fix: add value: <number>")
    if statistic in ("mean_of_k", "best_of_k") and (claim.get("k") is None or claim["k"] < 1):
        raise ConfigError(f"{where}: statistic={statistic} needs k (how many runs the paper aggregated), got {claim.get('k')}; fix: add k: <runs>, or use statistic=unknown")
    column = metric_functions.column(split, claim["metric"])
    low, high = metric_functions.bounds(column)
    numbers = [("value", claim.get("value"))] + [(f"values[{i}]", v) for i, v in enumerate(claim.get("values") or [])]
    for key, number in numbers:
        if number is not None and not low <= number <= high:
            span = f"[{low:g}, {high:g}]" if high != float("inf") else f">= {low:g}"
            hint = f" (a percentage? write {number / 100:g})" if 1 < number <= 100 and high == 1 else ""
            raise ConfigError(f"{where}.{key}={number}: {claim['metric']} lies in {span}{hint}; fix: give the value on that scale")
    for key, minimum in (("std", 0.0), ("digits", 0), ("tolerance", None)):
        number = claim.get(key)
        if number is None:
            continue
        if (minimum is None and not number > 0) or (minimum is not None and number < minimum):
            need = "positive" if minimum is None else f">= {minimum}"
            raise ConfigError(f"{where}.{key}={number}: must be {need}; fix: correct it or remove the key")
