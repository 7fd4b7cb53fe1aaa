"""The configuration schema: dataclasses registered with Hydra's ConfigStore, checked at composition."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Choice(str, Enum):
    """A closed set of strings; shown as its value, so `${execution}` in a path reads per_repeat, not Execution.per_repeat."""

    def __str__(self) -> str:
        return self.value


class Determinism(Choice):
    bitwise = "bitwise"
    off = "off"


class Statistic(Choice):
    """What kind of number a paper reported."""

    single_run = "single_run"
    mean_of_k = "mean_of_k"
    best_of_k = "best_of_k"
    sample = "sample"
    unknown = "unknown"


class Study(Choice):
    """A study runs several sets of repeats instead of one."""

    variance = "variance"


class Execution(Choice):
    """How repeats train: one Keras `fit` per repeat, several repeats in lockstep in one graph, or auto (lockstep
    where the model allows it, per repeat otherwise). Every path gives the same bits: not part of any identity."""

    auto = "auto"
    per_repeat = "per_repeat"
    vectorized = "vectorized"


class Keep(Choice):
    """Which epoch's weights are kept at the end of training."""

    last = "last"
    best = "best"


class Task(Choice):
    classification = "classification"
    regression = "regression"


@dataclass
class Citation:
    title: str = MISSING
    authors: List[str] = MISSING
    year: int = MISSING
    venue: str = MISSING
    doi: Optional[str] = None
    url: Optional[str] = None


@dataclass
class Claim:
    """One number (or sample of numbers) a paper reported."""

    metric: str = MISSING
    split: str = "test"
    statistic: Statistic = MISSING
    value: Optional[float] = None
    values: Optional[List[float]] = None
    k: Optional[int] = None
    # the std the paper gave with a mean of k runs (pooled into the mean_of_k test)
    std: Optional[float] = None
    # decimal places the paper printed (0.750 -> 3); null: read from the value as written (0.745 -> 3)
    digits: Optional[int] = None
    # equivalence margin for this claim, in the metric's units; null: report.tolerance
    tolerance: Optional[float] = None
    per_class: Optional[Dict[str, Any]] = None  # class -> {precision, recall, f1, support}
    source: str = MISSING
    label: Optional[str] = None
    note: Optional[str] = None
    # the paper says it discarded runs that diverged or did not learn: judge the claim on the runs that learned only
    learned_only: bool = False


@dataclass
class ExternalRun:
    """One run of an external replication (e.g. a reader's retraining) shown beside ours."""

    value: float = MISSING
    per_class: Optional[Dict[str, Any]] = None  # class -> {precision, recall, f1, support}


@dataclass
class ExternalReplication:
    label: str = MISSING
    source: str = MISSING
    metric: str = MISSING
    split: str = "test"
    runs: List[ExternalRun] = field(default_factory=list)
    note: Optional[str] = None


@dataclass
class Protocol:
    """How the paper trained: optimizer, loss, epochs, batching and which weights are kept."""

    name: str = "default"
    optimizer: Dict[str, Any] = field(
        default_factory=lambda: {"_target_": "keras.optimizers.Adam", "learning_rate": 0.001}
    )
    loss: str = MISSING
    epochs: int = MISSING
    # null = the whole training set in one batch
    batch_size: Optional[int] = None
    shuffle: bool = True
    keep: Keep = Keep.last
    # metric and split watched when keep=best, e.g. accuracy on 'test' (the faithful tmd_cnn protocol)
    monitor_metric: Optional[str] = None
    monitor_split: Optional[str] = None
    # fraction of the training split carved off as a validation split (0 = none)
    validation_fraction: float = 0.0
    eval_batch_size: int = 1024
    notes: List[str] = field(default_factory=list)


@dataclass
class PaperConfig:
    name: str = MISSING
    citation: Citation = field(default_factory=Citation)
    task: Task = MISSING
    model: Dict[str, Any] = MISSING
    data: Dict[str, Any] = MISSING
    split: Dict[str, Any] = MISSING
    # transformers (scikit-learn's fit/transform, by _target_) fitted on each repeat's training rows only and
    # applied to every split, in order
    preprocess: List[Dict[str, Any]] = field(default_factory=list)
    protocol: Protocol = field(default_factory=Protocol)
    # metrics computed on every evaluated split; a claim names one of them and a split
    metrics: List[str] = MISSING
    evaluate_on: List[str] = field(default_factory=lambda: ["test"])
    headline: Optional[str] = None
    reported: List[Claim] = field(default_factory=list)
    external: List[ExternalReplication] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


@dataclass
class ReportConfig:
    """Scoring settings: they never change a repeat's identity, so changing them re-scores without retraining."""

    # level of every interval; 1 - confidence is the verdicts' false-alarm rate (alpha)
    confidence: float = 0.95
    # the smallest difference a verdict must be able to see (a claim off by this is flagged with >= 80% probability
    # before it is called consistent); in the metric's units
    tolerance: float = 0.01
    bootstrap_resamples: int = 9999


@dataclass
class ExecutorConfig:
    """Where repeats run; not part of a repeat's identity (every executor gives the same bits)."""

    # the class that runs units of work (replicate/driver.py says what it must do); its options are the keys below
    _target_: str = "replicate.executors.local.LocalExecutor"
    name: str = "local"
    # worker processes for `local`; null = one per core (cores // threads)
    workers: Optional[int] = None
    # `ray`: the cluster to join ("auto", "ray://host:port", "127.0.0.1:6379"); null starts a local one
    address: Optional[str] = None
    # `ray`: resources each repeat asks for (CPUs default to `threads`)
    cpus_per_repeat: Optional[float] = None
    resources: Dict[str, float] = field(default_factory=dict)


@dataclass
class SelfCheckConfig:
    """Re-run one repeat in a fresh process after every run and compare its bits (skipped when determinism=off)."""

    enabled: bool = True
    repeat: int = 0


@dataclass
class Config:
    paper: PaperConfig = MISSING
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)
    # a number, or "auto": rounds of repeats until every claim is decided (replicate/sequential.py)
    repeats: Any = 30
    # repeats=auto: the first look (the first round trains at least this many) and the most repeats it may use
    repeats_min: int = 5
    repeats_max: int = 100
    seed: int = 0
    determinism: Determinism = Determinism.bitwise
    threads: int = 1
    # sources of randomness that differ between repeats (split, init, order, dropout); the others keep one seed.
    # null: every source the paper's protocol has (a split the paper pins stays pinned)
    vary: Optional[List[str]] = None
    output_dir: str = MISSING
    # per_repeat: each repeat is one Keras fit; vectorized: `replicas` repeats train in lockstep in one graph
    execution: Execution = Execution.auto
    # vectorized: repeats per group (one process trains a group); null = the repeats spread over the workers
    replicas: Optional[int] = None
    report: ReportConfig = field(default_factory=ReportConfig)
    selfcheck: SelfCheckConfig = field(default_factory=SelfCheckConfig)
    study: Optional[Study] = None
    progress: Optional[bool] = None


def register() -> None:
    """Put the schema in Hydra's ConfigStore so config.yaml can start its defaults with it."""
    ConfigStore.instance().store(name="replicate_schema", node=Config)
