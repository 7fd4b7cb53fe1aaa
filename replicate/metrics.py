"""Metrics computed from predictions, by name; the same key is used in YAML claims, CSV columns and reports."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

# name -> (function(y_true, y_pred) -> float, higher_is_better, tasks it applies to)
# y_true: class ids (N,) or regression targets (N,) / (N, d); y_pred: class probabilities (N, C) or predictions.
_REGISTRY: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool, tuple[str, ...]]] = {}


def _register(name: str, higher_is_better: bool, tasks: tuple[str, ...]):
    def decorator(function):
        _REGISTRY[name] = (function, higher_is_better, tasks)
        return function

    return decorator


def _sklearn():
    # scikit-learn takes ~0.6 s to import; the CLI composes and checks configs without it.
    from sklearn import metrics

    return metrics


@_register("accuracy", True, ("classification",))
def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(_sklearn().accuracy_score(y_true, np.argmax(y_pred, axis=1)))


@_register("macro_f1", True, ("classification",))
def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(_sklearn().f1_score(y_true, np.argmax(y_pred, axis=1), average="macro", zero_division=0))


@_register("weighted_f1", True, ("classification",))
def weighted_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(_sklearn().f1_score(y_true, np.argmax(y_pred, axis=1), average="weighted", zero_division=0))


@_register("cross_entropy", False, ("classification",))
def cross_entropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(_sklearn().log_loss(y_true, y_pred, labels=np.arange(y_pred.shape[1])))


@_register("mse", False, ("regression",))
def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(_sklearn().mean_squared_error(np.reshape(y_true, (len(y_true), -1)), np.reshape(y_pred, (len(y_pred), -1))))


@_register("mae", False, ("regression",))
def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(_sklearn().mean_absolute_error(np.reshape(y_true, (len(y_true), -1)), np.reshape(y_pred, (len(y_pred), -1))))


# ------------------------------------------------------------------------------------------ trivial predictors
# A run "did not learn" a metric when it scores no better than a constant prediction made from the training split
# alone (learned() below). Each metric with such a constant has one function here, registered by name with what it
# predicts in words: function(y_train, y_true, num_classes) -> the metric of that constant on y_true.
# y_train: the training split's targets, class ids (M,) or regression targets (M,) / (M, d); y_true: the evaluated
# split's, same kind (N,) / (N, d); num_classes: C for classification (None for regression).
_TRIVIAL: dict[str, tuple[Callable[[np.ndarray, np.ndarray, "int | None"], float], str]] = {}

MAJORITY_CLASS = "predicting the training split's majority class"
CLASS_FREQUENCIES = "predicting the training split's class frequencies"
MEAN_TARGET = "predicting the training split's mean target"
MEDIAN_TARGET = "predicting the training split's median target"

# Class frequencies are clipped to this before the log, so a class absent from the training split costs a large
# finite loss instead of an infinite one (and the record stays JSON).
PRIOR_FLOOR = 1e-15


def _trivial(name: str, words: str):
    def decorator(function):
        _TRIVIAL[name] = (function, words)
        return function

    return decorator


def class_counts(y_train: np.ndarray, num_classes: int) -> np.ndarray:
    """How often each class id 0..num_classes-1 occurs in y_train (M,): (num_classes,) int."""
    return np.bincount(np.asarray(y_train, dtype=np.int64).ravel(), minlength=num_classes)[:num_classes]


def majority_class(y_train: np.ndarray, num_classes: int) -> int:
    """The most frequent class id of y_train (M,); on a tie the lowest id."""
    return int(np.argmax(class_counts(y_train, num_classes)))


def _constant_rows(row: np.ndarray, n: int) -> np.ndarray:
    """`row` (C,) or (d,) repeated for n examples: (n, C) / (n, d)."""
    return np.tile(np.asarray(row, dtype=float), (n, 1))


def _majority_class_score(metric: Callable[[np.ndarray, np.ndarray], float]):
    """A classification metric of predicting the training split's majority class for every example of y_true (N,)
    (for accuracy: that class's share of y_true), scored by the metric itself."""
    def score(y_train: np.ndarray, y_true: np.ndarray, num_classes: int) -> float:
        row = np.eye(num_classes)[majority_class(y_train, num_classes)]
        return metric(y_true, _constant_rows(row, len(y_true)))

    return score


for _name, _metric in (("accuracy", accuracy), ("macro_f1", macro_f1), ("weighted_f1", weighted_f1)):
    _trivial(_name, MAJORITY_CLASS)(_majority_class_score(_metric))


@_trivial("cross_entropy", CLASS_FREQUENCIES)
def trivial_cross_entropy(y_train: np.ndarray, y_true: np.ndarray, num_classes: int) -> float:
    """Cross-entropy of predicting the training split's class frequencies (its priors) for every example, each
    clipped to at least PRIOR_FLOOR and renormalised (no log 0 for a class the training split lacks)."""
    counts = class_counts(y_train, num_classes).astype(float)
    priors = np.clip(counts / counts.sum(), PRIOR_FLOOR, 1.0)
    return cross_entropy(y_true, _constant_rows(priors / priors.sum(), len(y_true)))


@_trivial("mse", MEAN_TARGET)
def trivial_mse(y_train: np.ndarray, y_true: np.ndarray, num_classes: "int | None" = None) -> float:
    """MSE of predicting the training split's mean target (per output) for every example: the constant with the
    least squared error on the training split."""
    mean = np.reshape(np.asarray(y_train, dtype=float), (len(y_train), -1)).mean(axis=0)
    return mse(y_true, _constant_rows(mean, len(y_true)))


@_trivial("mae", MEDIAN_TARGET)
def trivial_mae(y_train: np.ndarray, y_true: np.ndarray, num_classes: "int | None" = None) -> float:
    """MAE of predicting the training split's median target (per output) for every example. The median, not the
    mean: it is the constant with the least absolute error on the training split, so the bar is the fair one."""
    median = np.median(np.reshape(np.asarray(y_train, dtype=float), (len(y_train), -1)), axis=0)
    return mae(y_true, _constant_rows(median, len(y_true)))


def _registered(metric: str, registry: dict) -> "str | None":
    """The registry name `metric` (a bare name or a column like 'test_accuracy') refers to, None if none."""
    if metric in registry:
        return metric
    return next((name for name in registry if metric.endswith("_" + name)), None)


def trivial(name: str, y_train: np.ndarray, y_true: np.ndarray, num_classes: "int | None" = None) -> "float | None":
    """The score on y_true of metric `name`'s trivial predictor, a constant made from y_train alone (see each
    trivial_* function); None for a metric without one (a Keras loss, an outside paper's own metric) or when the
    score is not a finite number."""
    if name not in _TRIVIAL or len(y_train) == 0 or len(y_true) == 0:
        return None
    if name in names("classification") and num_classes is None:
        return None
    value = float(_TRIVIAL[name][0](y_train, y_true, num_classes))
    return value if math.isfinite(value) else None


def trivial_words(metric: str) -> "str | None":
    """What the trivial predictor of `metric` (a bare name or a column like 'test_accuracy') predicts, in words;
    None for a metric without one."""
    name = _registered(metric, _TRIVIAL)
    return _TRIVIAL[name][1] if name else None


def learned(column: str, value: "float | None", trivial_value: "float | None") -> bool:
    """Whether a run's `value` of `column` is strictly better than the trivial predictor's `trivial_value`.

    Not learned: a missing or non-finite value (the run diverged), or one no better than the trivial value (for a
    higher-is-better metric value <= trivial, else value >= trivial; values equal to rounding, relative 1e-9, count
    as equal). Without a trivial value (None) a finite value counts as learned: there is no bar to fall under."""
    if value is None or not math.isfinite(value):
        return False
    if trivial_value is None:
        return True
    if math.isclose(value, trivial_value, rel_tol=1e-9, abs_tol=1e-12):
        return False
    return value > trivial_value if higher_is_better(column) else value < trivial_value


def names(task: str | None = None) -> list[str]:
    return sorted(name for name, (_, _, tasks) in _REGISTRY.items() if task is None or task in tasks)


def compute(name: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return _REGISTRY[name][0](y_true, y_pred)


def higher_is_better(metric: str) -> bool:
    """Whether larger is better; `metric` may be a bare name or a column like 'test_accuracy'."""
    for name, (_, better, _) in _REGISTRY.items():
        if metric == name or metric.endswith("_" + name):
            return better
    # Keras history losses ('loss', 'fit_loss') are lower-is-better.
    return not metric.endswith("loss")


def bounds(metric: str) -> tuple[float, float]:
    """The range a metric's values lie in: [0, 1] for accuracy and F1 scores, [0, inf) for losses and errors.
    `metric` may be a bare name or a column like 'test_accuracy'."""
    if multiplicative(metric):
        return (0.0, math.inf)
    return (0.0, 1.0)


def multiplicative(metric: str) -> bool:
    """Losses and errors (>= 0, lower is better) vary multiplicatively between seeds; verdicts judge them on the log
    scale. Scores in [0, 1] (accuracy, F1) are judged as they are."""
    return not higher_is_better(metric)


def per_class(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> dict[str, list]:
    """Per-class precision, recall, F1, support and the confusion matrix (rows: true, columns: predicted)."""
    skm = _sklearn()
    labels = np.arange(num_classes)
    predicted = np.argmax(y_pred, axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, predicted, labels=labels, zero_division=0
    )
    return {
        "precision": [float(v) for v in precision],
        "recall": [float(v) for v in recall],
        "f1": [float(v) for v in f1],
        "support": [int(v) for v in support],
        "confusion": skm.confusion_matrix(y_true, predicted, labels=labels).tolist(),
    }


def column(split: str, metric: str) -> str:
    """The CSV column / record key of a metric on a split, e.g. ('test', 'accuracy') -> 'test_accuracy'."""
    return f"{split}_{metric}"
