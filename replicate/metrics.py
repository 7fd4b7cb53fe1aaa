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
