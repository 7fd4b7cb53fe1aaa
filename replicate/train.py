"""One repeat: build the model under its seeds, fit under the paper's protocol, evaluate, return its record."""
from __future__ import annotations

import hashlib
import logging
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from replicate import metrics as metric_functions
from replicate import seeding, tf_private
from replicate.config import headline_column
from replicate.dataset import Dataset
from replicate.environment import fingerprint
from replicate.plan import RepeatSpec
from replicate.splits import carve_validation

log = logging.getLogger(__name__)

# A split named "fit" reads the Keras training log at the kept epoch (what `fit` prints), not a fresh evaluation.
FIT_SPLIT = "fit"

EpochCallback = Callable[[int, int, dict], None]


def weights_sha256(weights: list[np.ndarray]) -> str:
    """SHA-256 over every weight array's dtype, shape and bytes, in the model's order."""
    digest = hashlib.sha256()
    for array in weights:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def instantiate(node: dict, **kwargs: Any) -> Any:
    """Call a config node's `_target_` with its keys plus `kwargs` (Hydra's instantiate on plain dicts).

    `kwargs` are passed as they are (a Dataset stays a Dataset); only the config's own values are converted.
    """
    from hydra.utils import instantiate as hydra_instantiate

    return hydra_instantiate(node, _partial_=True, _convert_="all")(**kwargs)


def build_model(paper: dict, data: Dataset, inputs: Optional[np.ndarray] = None):
    """The paper's model for this data: its builder is called with the input shape (of ``inputs``, the
    preprocessed x, when given) and the output size."""
    num_outputs = data.num_classes if paper["task"] == "classification" else _target_width(data.y)
    shape = (data.x if inputs is None else inputs).shape[1:]
    return instantiate(paper["model"], input_shape=tuple(shape), num_outputs=num_outputs)


# The last preprocessed inputs, keyed by (data, training rows, transformers): with a pinned split every repeat
# fits the same transformers on the same rows, so they are fitted once per process.
_PREPROCESSED: dict[tuple, tuple[np.ndarray, list[dict]]] = {}


def preprocess(paper: dict, data: Dataset, train: np.ndarray) -> tuple[np.ndarray, list[dict]]:
    """x as the model sees it: ``paper.preprocess``'s transformers fitted, in order, on the training rows
    ``train`` only (never a validation carve-out or test rows), then applied to every row. Returns (inputs, what
    was fitted: one entry per transformer for the record). Without transformers: data.x itself.

    Transformers take 2-D arrays, so x is flattened to (N, features) around them and put back in shape when the
    feature count is unchanged. Float inputs keep their dtype.
    """
    steps = paper.get("preprocess") or []
    if not steps:
        return data.x, []
    from replicate.plan import canonical_json

    key = (data.sha256, hashlib.sha256(np.ascontiguousarray(train).tobytes()).hexdigest(), canonical_json(steps))
    if key in _PREPROCESSED:
        return _PREPROCESSED[key]
    flat = data.x.reshape(len(data.x), -1)
    fitted = []
    for position, node in enumerate(steps):
        transformer = instantiate(node)
        if not (hasattr(transformer, "fit") and hasattr(transformer, "transform")):
            raise TypeError(f"paper.preprocess[{position}]: {node.get('_target_')} has no fit/transform; "
                            "fix: name a scikit-learn transformer (e.g. sklearn.preprocessing.StandardScaler)")
        transformer.fit(flat[train])
        flat = np.asarray(transformer.transform(flat))
        fitted.append({"_target_": node.get("_target_"), "params": {k: v for k, v in node.items() if k != "_target_"},
                       "fitted_on": "train", "rows": int(len(train))})
    if flat.shape[1] == int(np.prod(data.x.shape[1:], dtype=np.int64)):
        flat = flat.reshape(data.x.shape)
    if np.issubdtype(data.x.dtype, np.floating):
        flat = flat.astype(data.x.dtype, copy=False)
    fitted[-1]["inputs_sha256"] = weights_sha256([flat])
    _PREPROCESSED.clear()
    _PREPROCESSED[key] = (flat, fitted)
    return flat, fitted


def _target_width(y: np.ndarray) -> int:
    return 1 if y.ndim == 1 else int(y.shape[1])


def split_indices(paper: dict, data: Dataset, seeds: dict[str, int], unpin: bool = False) -> dict[str, np.ndarray]:
    """Named index arrays (train, test, and validation when the protocol carves one).

    unpin: ignore a random_state the paper pins, so the split follows the repeat's split seed.
    """
    extra = {"random_state": None} if unpin else {}
    splits = dict(instantiate(paper["split"], data=data, seed=seeds["split"], **extra))
    fraction = float(paper["protocol"].get("validation_fraction") or 0.0)
    if fraction > 0:
        splits["train"], splits["validation"] = carve_validation(splits["train"], fraction, seeds["split"])
    return splits


def model_inputs(x: np.ndarray) -> np.ndarray:
    """Inputs as the model sees them: float64 arrays as float32 (what Keras would feed)."""
    return x.astype("float32", copy=False) if x.dtype == np.float64 else x


def loss_targets(y: np.ndarray, loss: str, num_classes: Optional[int]) -> np.ndarray:
    """Targets as the loss takes them: one-hot float32 for a categorical loss, else y (float64 as float32)."""
    if num_classes is not None and "categorical" in loss and "sparse" not in loss:
        return np.eye(num_classes, dtype="float32")[y]
    return model_inputs(y)


def epoch_order(order_seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which `n` training examples are visited in `epoch` (0-based) when the protocol shuffles.

    A uniform permutation from NumPy's PCG64 seeded with (order_seed, epoch): a pure function of the order
    seed alone, so data order is a source of randomness of its own (no other seed moves it), and every
    execution path visits the same batches.
    """
    return np.random.default_rng([order_seed, epoch]).permutation(n)


def steps_per_epoch(n: int, batch_size: int) -> int:
    return -(-n // batch_size)


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: Optional[int], epochs: int = 1):
    """A tf.data pipeline of batches for `fit`.

    Without a seed: the examples in order, batch by batch (one epoch; Keras iterates it again each epoch).
    With a seed: `epochs` epochs back to back, epoch e in the order `epoch_order(seed, e, n)`, no batch
    spanning two epochs; fit it with steps_per_epoch = steps_per_epoch(n, batch_size).
    Building the pipeline here (rather than Keras' array adapter) also costs far less per epoch.
    """
    import tensorflow as tf

    x, y = model_inputs(x), model_inputs(y)
    if shuffle_seed is None:
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)
    orders = np.stack([epoch_order(shuffle_seed, epoch, len(x)) for epoch in range(epochs)])
    inputs, targets = tf.constant(x), tf.constant(y)
    per_epoch = tf.data.Dataset.from_tensor_slices(orders)
    indices = per_epoch.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    return indices.map(lambda index: (tf.gather(inputs, index), tf.gather(targets, index)))


class KeepWeights:
    """Keeps the weights of the epoch with the best monitored value in memory (Keras' ModelCheckpoint, save_best_only)."""

    def __init__(self, monitor: str, mode: str):
        self.monitor, self.mode = monitor, mode
        self.best_value: Optional[float] = None
        self.best_epoch: Optional[int] = None
        self.weights: Optional[list[np.ndarray]] = None

    def update(self, epoch: int, logs: dict, model) -> None:
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        # Strict improvement, like ModelCheckpoint: ties keep the earlier epoch.
        improved = self.best_value is None or (value > self.best_value if self.mode == "max" else value < self.best_value)
        if improved:
            self.best_value, self.best_epoch, self.weights = float(value), epoch, model.get_weights()


def record_header(paper: dict, spec: RepeatSpec, data: Dataset) -> dict[str, Any]:
    """The part of a record known before training: who the repeat is, its seeds, environment and data."""
    return {
        "repeat": spec.index,
        "identity": spec.identity,
        "seeds": dict(spec.seeds),
        "seed_notes": dict(spec.seed_notes),
        "settings": spec.settings(),
        "execution": {"path": "per_repeat", "backend": "tensorflow"},  # run_replicas rewrites it for a group
        "environment": fingerprint(spec.threads, spec.determinism),
        "data": {
            "description": data.description,
            "synthetic": bool(data.synthetic),
            "examples": len(data),
            "sha256": data.sha256,
            "provenance": data.provenance,
        },
        "paper": paper,
    }


def failed_result(index: int, error: BaseException) -> dict[str, Any]:
    """The result of a repeat that raised: its traceback is kept in the record."""
    log.error("repeat %d failed: %s: %s", index, type(error).__name__, error)
    return {
        "status": "failed",
        "metrics": {},
        "error": {"type": type(error).__name__, "message": str(error),
                  "traceback": "".join(traceback.format_exception(error))},
    }


@dataclass
class Prepared:
    """One repeat ready to train: its splits, its model (built under its init seed, compiled), its keeper."""

    spec: RepeatSpec
    splits: dict[str, np.ndarray]
    inputs: np.ndarray  # x as the model sees it (after paper.preprocess, fitted on this repeat's training rows)
    preprocessing: list[dict]
    model: Any
    init_hash: str
    streams: int
    keeper: Optional[KeepWeights]
    monitor_split: Optional[str]
    num_classes: Optional[int]
    epochs: int
    batch_size: int
    eval_batch_size: int
    shuffle_seed: Optional[int]

    def restore_kept_weights(self) -> int:
        """Put the kept epoch's weights back (keep=best; idempotent) and return that epoch (1-based)."""
        if self.keeper is not None and self.keeper.weights is not None:
            self.model.set_weights(self.keeper.weights)
            return int(self.keeper.best_epoch)
        return self.epochs


def prepare(paper: dict, spec: RepeatSpec, data: Dataset) -> Prepared:
    """Split, build under the init seed, reseed the layers' random streams from the dropout seed, compile."""
    protocol = paper["protocol"]
    seeds = spec.seeds
    num_classes = data.num_classes if paper["task"] == "classification" else None
    splits = split_indices(paper, data, seeds, spec.unpin_split)
    inputs, preprocessing = preprocess(paper, data, splits["train"])

    # Weight initialisation: layers draw their initializer seeds from Python's `random` when built.
    seeding.reset_session(seeds["init"])
    model = build_model(paper, data, inputs)
    init_hash = weights_sha256(model.get_weights())
    streams = seeding.reseed_layer_streams(tf_private.all_layers(model), seeds["dropout"])

    model.compile(
        optimizer=instantiate(protocol["optimizer"]),
        loss=protocol["loss"],
        metrics=["accuracy"] if paper["task"] == "classification" else [],
        jit_compile=False if spec.determinism == "bitwise" else "auto",
    )
    monitor_split = protocol.get("monitor_split")
    if protocol["keep"] == "best" or monitor_split:
        if monitor_split not in splits:
            raise ValueError(f"monitor_split {monitor_split!r} is not one of the splits {sorted(splits)}")
    keeper = None
    if protocol["keep"] == "best":
        monitor = "val_" + protocol["monitor_metric"]
        keeper = KeepWeights(monitor, "max" if metric_functions.higher_is_better(monitor) else "min")
    return Prepared(
        spec=spec, splits=splits, inputs=inputs, preprocessing=preprocessing, model=model, init_hash=init_hash, streams=streams, keeper=keeper,
        monitor_split=monitor_split if (protocol["keep"] == "best" or monitor_split) else None,
        num_classes=num_classes, epochs=int(protocol["epochs"]),
        batch_size=int(protocol.get("batch_size") or len(splits["train"])),
        eval_batch_size=int(protocol["eval_batch_size"]),
        shuffle_seed=seeds["order"] if protocol["shuffle"] else None,
    )


def clean_history(history: dict[str, list]) -> dict[str, list[Optional[float]]]:
    """A non-finite value is stored as null (JSON has no NaN); the repeat is then 'diverged'."""
    return {key: [float(v) if math.isfinite(v) else None for v in values] for key, values in history.items()}


def trivial_score(paper: dict, metric: str, y_train: np.ndarray, y_true: np.ndarray,
                  num_classes: Optional[int]) -> Optional[float]:
    """The score of `metric`'s trivial predictor (replicate.metrics.trivial: a constant made from the training
    split's targets y_train alone) on targets y_true; None for a metric without one or not of this paper's task."""
    if metric not in metric_functions.names(paper["task"]):
        return None
    return metric_functions.trivial(metric, y_train, y_true, num_classes)


def finish(paper: dict, prepared: Prepared, data: Dataset, history: dict[str, list],
           predict: Callable[[str, np.ndarray], np.ndarray]) -> dict[str, Any]:
    """Restore the kept epoch's weights, evaluate every split the paper names, and build the result.

    predict(split, indices) -> the model's outputs for data.x[indices] (in batches of eval_batch_size).
    Beside each metric column the result has its trivial predictor's score on this repeat's split (`trivial`,
    None where the metric has none), whether the repeat beat it (`learned`; a diverged repeat, or one whose weights
    training left unchanged, learned nothing), and `did_not_learn`: not learned on the paper's headline column.
    Every execution path builds its records here.
    """
    history = clean_history(history)
    splits = prepared.splits
    kept_epoch = prepared.restore_kept_weights()
    final_weights = prepared.model.get_weights()

    diverged = any(v is None for v in history.get("loss", []))
    metrics: dict[str, Optional[float]] = {}
    trivial: dict[str, Optional[float]] = {}
    per_class: dict[str, dict] = {}
    y_train = data.y[splits["train"]]
    for split_name in paper["evaluate_on"]:
        if split_name == FIT_SPLIT:
            for key, values in history.items():
                if not key.startswith("val_"):
                    column = metric_functions.column(FIT_SPLIT, key)
                    metrics[column] = values[kept_epoch - 1]
                    # the training log is scored on the rows fit trained on; its loss has no trivial value
                    trivial[column] = trivial_score(paper, key, y_train, y_train, prepared.num_classes)
            continue
        indices = splits[split_name]
        y_true = data.y[indices]
        y_pred = predict(split_name, indices)
        finite = bool(np.all(np.isfinite(y_pred)))
        diverged = diverged or not finite
        for metric in paper["metrics"]:
            column = metric_functions.column(split_name, metric)
            metrics[column] = metric_functions.compute(metric, y_true, y_pred) if finite else None
            trivial[column] = trivial_score(paper, metric, y_train, y_true, prepared.num_classes)
        if prepared.num_classes is not None and finite:
            per_class[split_name] = metric_functions.per_class(y_true, y_pred, prepared.num_classes)

    # Read from the finished metrics only (after the weights and their hash): nothing here touches training.
    # Training that left the weights bit for bit as they started (a learning rate of 0) learned nothing, whatever
    # the untrained model happens to score.
    weights_hash = weights_sha256(final_weights)
    moved = weights_hash != prepared.init_hash
    learned = {column: moved and not diverged and metric_functions.learned(column, value, trivial.get(column))
               for column, value in metrics.items()}
    return {
        "status": "diverged" if diverged else "completed",
        "metrics": metrics,
        "trivial": trivial,
        "learned": learned,
        "did_not_learn": bool(diverged or not learned.get(headline_column(paper), True)),
        "per_class": per_class,
        "class_names": data.class_names,
        "split_sizes": {name: int(len(indices)) for name, indices in splits.items()},
        "split_sha256": weights_sha256([splits[name] for name in sorted(splits)]),
        "history": history,
        "kept_epoch": int(kept_epoch),
        "epochs_run": len(history.get("loss", [])),
        "weights_sha256": weights_hash,
        "init_weights_sha256": prepared.init_hash,
        "layer_random_streams": prepared.streams,
        "preprocess": prepared.preprocessing,
        "error": None,
    }


def run_repeat(
    paper: dict,
    spec: RepeatSpec,
    data: Dataset,
    on_epoch: Optional[EpochCallback] = None,
) -> dict[str, Any]:
    """Train and evaluate one repeat with Keras' `fit`; never raises for a failing repeat (the record says it failed).

    paper: the resolved paper config as plain containers. Returns the record (see store.py) without checksum.
    """
    started = time.perf_counter()
    record = record_header(paper, spec, data)
    try:
        prepared = prepare(paper, spec, data)
        history = _fit(paper, prepared, data, on_epoch)
        record.update(finish(paper, prepared, data, history,
                             _predictor(prepared.model, prepared.inputs, prepared.eval_batch_size)))
    except Exception as error:  # a failing repeat is recorded and the others go on
        record.update(failed_result(spec.index, error))
    record["wall_seconds"] = time.perf_counter() - started
    return record


def _predictor(model, inputs: np.ndarray, batch_size: int) -> Callable[[str, np.ndarray], np.ndarray]:
    return lambda split, indices: model.predict(model_inputs(inputs[indices]), batch_size=batch_size, verbose=0)


def _fit(paper: dict, prepared: Prepared, data: Dataset, on_epoch: Optional[EpochCallback]) -> dict[str, list]:
    import keras

    protocol = paper["protocol"]
    spec, splits, keeper = prepared.spec, prepared.splits, prepared.keeper
    x_train = prepared.inputs[splits["train"]]
    y_train = loss_targets(data.y[splits["train"]], protocol["loss"], prepared.num_classes)
    validation_data = None
    if prepared.monitor_split is not None:
        indices = splits[prepared.monitor_split]
        validation_data = batches(prepared.inputs[indices], loss_targets(data.y[indices], protocol["loss"], prepared.num_classes),
                                  prepared.eval_batch_size, None)

    class _Epochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            if keeper is not None:
                keeper.update(epoch + 1, logs, self.model)
            if on_epoch is not None:
                on_epoch(spec.index, epoch + 1, {k: float(v) for k, v in logs.items()})

    train_batches = batches(x_train, y_train, prepared.batch_size, prepared.shuffle_seed, prepared.epochs)
    steps = steps_per_epoch(len(x_train), prepared.batch_size) if prepared.shuffle_seed is not None else None
    # Anything else in fit that draws from the global generators draws from the order seed.
    seeding.reset_random_state(spec.seeds["order"])
    history = prepared.model.fit(train_batches, epochs=prepared.epochs, steps_per_epoch=steps, shuffle=False,
                                 validation_data=validation_data, callbacks=[_Epochs()], verbose=0)
    return history.history
