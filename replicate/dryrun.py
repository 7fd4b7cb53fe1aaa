"""A paper's dry run before any repeat: every mistake that would fail all repeats, as one line with the fix."""
from __future__ import annotations

import difflib
import importlib
import inspect
from typing import Any, Optional

import numpy as np

from replicate.dataset import Dataset

# Keras losses that compare numbers, not class probabilities: a classification paper using one is a mistake.
REGRESSION_LOSSES = {"mean_squared_error", "mse", "mean_absolute_error", "mae", "mean_absolute_percentage_error",
                     "mape", "mean_squared_logarithmic_error", "msle", "huber", "log_cosh", "logcosh"}
CLASSIFICATION_LOSSES = {"categorical_crossentropy", "sparse_categorical_crossentropy", "categorical_focal_crossentropy",
                         "kl_divergence", "kld", "categorical_hinge"}


def _suggest(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def locate(target: str, key: str) -> tuple[Optional[Any], Optional[str]]:
    """The object a `_target_` names, or a one-line problem naming the module and the missing attribute."""
    if not isinstance(target, str) or not target:
        return None, f"{key}._target_ is missing; fix: name a callable, e.g. package.module.function"
    parts = target.split(".")
    module, depth = None, 0
    for depth in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:depth]))
            break
        except ModuleNotFoundError as error:
            if error.name and not ".".join(parts[:depth]).startswith(error.name):
                return None, f"{key}._target_={target}: importing it needs module '{error.name}', which is not installed; fix: install it"
            continue
        except Exception as error:  # the module exists but fails on import
            return None, f"{key}._target_={target}: importing {'.'.join(parts[:depth])} fails ({type(error).__name__}: {error}); fix: run 'python -c \"import {'.'.join(parts[:depth])}\"' to see why"
    if module is None:
        return None, f"{key}._target_={target}: no module '{parts[0]}' can be imported; fix: check the spelling, or put its folder on PYTHONPATH"
    obj: Any = module
    for position in range(depth, len(parts)):
        name = parts[position]
        if not hasattr(obj, name):
            owner = ".".join(parts[:position])
            public = [n for n in dir(obj) if not n.startswith("_")]
            return None, f"{key}._target_={target}: {owner} has no attribute '{name}'; {_suggest(name, public)}fix: correct the name"
        obj = getattr(obj, name)
    return obj, None


def _signature_problem(function: Any, node: dict, key: str, supplied: tuple[str, ...]) -> Optional[str]:
    """A keyword the callable does not take (the config's keys plus what the harness passes)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    parameters = signature.parameters
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return None
    names = [n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for given in [k for k in node if k != "_target_"] + list(supplied):
        if given not in names:
            where = f"{key}.{given}" if given not in supplied else f"{key} (the harness passes '{given}')"
            return (f"{where}: {node['_target_']}() takes no parameter '{given}'; {_suggest(given, names)}"
                    f"fix: use its parameters ({', '.join(names)})")
    return None


def static_problems(paper: dict) -> list[str]:
    """What can be told without data or TensorFlow: importable targets, keywords they take, loss vs task."""
    problems = []
    model, problem = locate(paper["model"].get("_target_"), "paper.model")
    if problem:
        problems.append(problem)
    else:
        problem = _signature_problem(model, paper["model"], "paper.model", ("input_shape", "num_outputs"))
        if problem:
            problems.append(problem)
    optimizer, problem = locate(paper["protocol"]["optimizer"].get("_target_"), "paper.protocol.optimizer")
    if problem:
        problems.append(problem)
    else:
        problem = _signature_problem(optimizer, paper["protocol"]["optimizer"], "paper.protocol.optimizer", ())
        if problem:
            problems.append(problem)
    for position, node in enumerate(paper.get("preprocess") or []):
        transformer, problem = locate(node.get("_target_"), f"paper.preprocess[{position}]")
        if problem:
            problems.append(problem)
        elif not (hasattr(transformer, "fit") and hasattr(transformer, "transform")):
            problems.append(f"paper.preprocess[{position}]._target_={node['_target_']}: has no fit/transform; "
                            "fix: name a scikit-learn transformer (e.g. sklearn.preprocessing.StandardScaler)")
    loss = str(paper["protocol"]["loss"])
    if paper["task"] == "classification":
        if loss in REGRESSION_LOSSES:
            problems.append(f"paper.protocol.loss={loss}: a regression loss on class ids; fix: "
                            "paper.protocol.loss=categorical_crossentropy (a softmax over the classes)")
        elif "binary" in loss:
            problems.append(f"paper.protocol.loss={loss}: replicate scores classes from one output per class (argmax), "
                            "which a binary loss does not train; fix: paper.protocol.loss=categorical_crossentropy "
                            "with a softmax over the classes (two classes included)")
    elif loss in CLASSIFICATION_LOSSES or "crossentropy" in loss:
        problems.append(f"paper.protocol.loss={loss}: a classification loss on a regression task; fix: e.g. "
                        "paper.protocol.loss=mean_squared_error")
    return problems


def label_problems(paper: dict, data: Dataset) -> list[str]:
    """Targets in the encoding the task needs: class ids 0..C-1 of shape (N,) for classification."""
    y = np.asarray(data.y)
    if paper["task"] != "classification":
        if not np.issubdtype(y.dtype, np.number):
            return [f"paper.data: regression targets have dtype {y.dtype}; fix: return numbers"]
        return []
    classes = data.num_classes
    if y.ndim == 2 and y.shape[1] > 1:
        kind = "one-hot" if np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1) else "per-class"
        return [f"paper.data: the loader returns {kind} labels (y of shape {y.shape}); replicate wants class ids of "
                "shape (N,); fix: return y.argmax(axis=1) from the loader"]
    if y.ndim != 1:
        return [f"paper.data: y has shape {y.shape}; fix: return class ids of shape (N,)"]
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
            return [f"paper.data: class ids are floats ({y.dtype}); fix: return y.astype('int64') from the loader"]
        return [f"paper.data: y holds non-integer values ({y.dtype}) for a classification task; fix: return class "
                "ids 0..C-1, or set task: regression"]
    if classes is not None and len(y) and (y.min() < 0 or y.max() >= classes):
        return [f"paper.data: class ids range {y.min()}..{y.max()} but there are {classes} class names; fix: "
                f"return ids 0..{classes - 1}, one name per class"]
    return []


def dry_run(paper: dict, data: Optional[Dataset] = None, threads: int = 1, determinism: str = "bitwise",
            examples: int = 8) -> list[str]:
    """Every problem that would fail all repeats, one line each: the data and labels (data_problems), then the
    model's (model_problems)."""
    from replicate.executors.common import load_data

    # The data first: a missing file is the commonest mistake, and saying so needs no TensorFlow.
    if data is None:
        data = load_data(paper)
    return data_problems(paper, data) or model_problems(paper, data, threads, determinism, examples)


def data_problems(paper: dict, data: Dataset) -> list[str]:
    """The labels' encoding and class names (no TensorFlow)."""
    problems = label_problems(paper, data)
    if paper["task"] == "classification" and data.class_names is None:
        problems.append("paper.data: a classification loader must set Dataset.class_names; fix: return class_names=[...] from the loader")
    return problems


def model_problems(paper: dict, data: Dataset, threads: int = 1, determinism: str = "bitwise",
                   examples: int = 8) -> list[str]:
    """The static checks, then the model built, compiled with the protocol's optimizer and loss, one training step
    and one prediction on a few training examples (preprocessed as a repeat would be). Imports TensorFlow: a process
    that trains anyway (a worker) runs it at almost no cost."""
    from replicate import seeding

    # Before anything imports TensorFlow (a _target_ in keras does): its threads are set once per process.
    seeding.configure_process(threads, determinism)
    problems = static_problems(paper)
    if problems:
        return problems
    from replicate.train import build_model, instantiate, loss_targets, model_inputs, preprocess, split_indices

    import keras

    try:
        splits = split_indices(paper, data, {"split": 0})
    except Exception as error:
        return [f"paper.split: {paper['split'].get('_target_')} failed: {type(error).__name__}: {error}"]
    for name in ("train", "test"):
        if len(splits.get(name, [])) == 0:
            problems.append(f"paper.split: the '{name}' split is empty; fix: check test_size or the loader's folds")
    if problems:
        return problems
    try:
        inputs, _ = preprocess(paper, data, splits["train"])
    except Exception as error:
        return [f"paper.preprocess: fitting on the training rows failed: {type(error).__name__}: {error}"]
    rows = splits["train"][:examples]
    try:
        seeding.reset_session(0)  # as a repeat does: models whose layers draw from the global generators need seeds
        seeding.reset_random_state(0)
        model = build_model(paper, data, inputs)
    except Exception as error:
        return [f"paper.model: {paper['model']['_target_']} failed on inputs of shape {inputs.shape[1:]}: "
                f"{type(error).__name__}: {_first_line(error)}; fix: run the builder by hand to see the traceback"]
    try:
        output_width = int(model(model_inputs(inputs[rows[:2]])).shape[-1])
    except Exception as error:
        return [f"paper.model: the built model fails on inputs of shape {inputs.shape[1:]}: {type(error).__name__}: "
                f"{_first_line(error)}; fix: build it with keras.Input(shape=input_shape)"]
    if paper["task"] == "classification" and output_width != data.num_classes:
        return [f"paper.model: outputs {output_width} values per example but the data has {data.num_classes} classes; "
                "fix: build the last layer with num_outputs units"]
    try:
        optimizer = instantiate(paper["protocol"]["optimizer"])
    except Exception as error:
        return [f"paper.protocol.optimizer: {paper['protocol']['optimizer']['_target_']} failed: "
                f"{type(error).__name__}: {_first_line(error)}; fix: check its settings"]
    loss = paper["protocol"]["loss"]
    try:
        keras.losses.get(loss)
    except Exception:
        known = [n for n in dir(keras.losses) if not n.startswith("_") and n.islower()]
        return [f"paper.protocol.loss={loss}: not a Keras loss; {_suggest(str(loss), known)}fix: e.g. "
                + ("categorical_crossentropy" if paper["task"] == "classification" else "mean_squared_error")]
    try:
        model.compile(optimizer=optimizer, loss=loss,
                      metrics=["accuracy"] if paper["task"] == "classification" else [], jit_compile=False)
        model.train_on_batch(model_inputs(inputs[rows]), loss_targets(data.y[rows], loss, data.num_classes))
        model.predict(model_inputs(inputs[rows]), verbose=0)
    except Exception as error:
        return [f"paper.protocol: one training step of {paper['model']['_target_']} with loss={loss} failed: "
                f"{type(error).__name__}: {_first_line(error)}; fix: make the loss match the model's output and the labels"]
    finally:
        keras.backend.clear_session(free_memory=False)
    return []


def _first_line(error: BaseException, width: int = 200) -> str:
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text if len(text) <= width else text[: width - 1] + "…"


def stop_on(problems: list[str], paper_name: str) -> None:
    """The first problem as a one-line user error (exit 2), naming how to see them all."""
    from replicate.errors import ConfigError

    if problems:
        more = (f" (and {len(problems) - 1} more: python -m replicate.check paper={paper_name})"
                if len(problems) > 1 else "")
        raise ConfigError(problems[0] + more)
