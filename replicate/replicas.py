"""execution=vectorized: a group of repeats trained in lockstep, as one TensorFlow graph per step.

Each replica is the very model its repeat would build (same init seed, same dropout streams, same batches,
its own optimizer state and its own kept epoch); one traced function runs every replica's Keras
`train_step` for the current batch, so a step costs one graph call for the whole group instead of one
Keras `fit` step per repeat, and the group's independent work runs back to back without Python in between.
Keras' step is traced once, on replica 0, and run for each replica on that replica's own variables. The
replicas share nothing but the input tensors, so a replica's bits do not depend on its group: the records
are bit for bit those of the per-repeat path (tests/test_vectorized.py).

Why not `jax.vmap` over stacked weights: measured on the 2-core CPU (XLA:CPU, jax 0.10.2), vmap turns the
per-replica convolutions of CNN-A into grouped convolutions that run 4-15x slower than separate ones
(a gradient step for 4 replicas: 37.7 ms vmapped, 8.3 ms as separate convolutions, 2.5 ms for one), and
JAX's random streams cannot reproduce the TensorFlow initial weights and dropout masks of the per-repeat
path. See benchmarks/README.md.

A model that draws randomness outside Keras' per-layer seed generators (TensorFlow's stateful random ops,
Keras' global generator) or runs Python inside its graph cannot be given per-replica streams in one graph;
such a paper falls back to the per-repeat path with a one-line notice, and its records say so.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Optional

import numpy as np

from replicate import tf_private
from replicate.dataset import Dataset
from replicate.plan import RepeatSpec
from replicate.train import (FIT_SPLIT, EpochCallback, Prepared, epoch_order, failed_result, finish, loss_targets,
                             model_inputs, prepare, record_header, run_repeat)

log = logging.getLogger(__name__)

# Op types whose randomness comes from a process-wide generator, not from the replica's own seeds.
_STATEFUL_RANDOM = {
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "ParameterizedTruncatedNormal",
    "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "Multinomial", "RandomCrop",
    "StatefulUniform", "StatefulUniformInt", "StatefulUniformFullInt", "StatefulStandardNormal",
    "StatefulStandardNormalV2", "StatefulTruncatedNormal", "StatefulRandomBinomial", "RngSkip", "RngReadAndSkip",
}
_PYTHON_IN_GRAPH = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


class NotVectorizable(Exception):
    """The group's models cannot share one graph with their own random streams (the message says why)."""


def run_task(paper: dict, specs: list[RepeatSpec], data: Dataset,
             on_epoch: Optional[EpochCallback] = None) -> list[dict[str, Any]]:
    """The records of one unit of work: a single repeat (per_repeat) or a group trained in lockstep."""
    if specs[0].execution in ("vectorized", "auto"):
        return run_replicas(paper, specs, data, on_epoch)
    return [run_repeat(paper, spec, data, on_epoch) for spec in specs]


def run_replicas(paper: dict, specs: list[RepeatSpec], data: Dataset,
                 on_epoch: Optional[EpochCallback] = None) -> list[dict[str, Any]]:
    """Train `specs` as replicas of one lockstep graph; never raises for a failing repeat (its record says so).

    A repeat whose model cannot be built fails alone; an error in the shared graph fails the whole group.
    """
    started = time.perf_counter()
    headers = {spec.index: record_header(paper, spec, data) for spec in specs}
    results: dict[int, dict[str, Any]] = {}
    prepared: list[Prepared] = []
    for spec in specs:
        try:
            prepared.append(prepare(paper, spec, data))
        except Exception as error:
            results[spec.index] = failed_result(spec.index, error)
    group = [p.spec.index for p in prepared]
    if prepared:
        try:
            trainer = Lockstep(paper, prepared, data)
            histories = trainer.train(on_epoch)
            for item in prepared:
                item.restore_kept_weights()
            outputs = {split: trainer.predictions(split) for split in paper["evaluate_on"] if split != FIT_SPLIT}
            for replica, item in enumerate(prepared):
                results[item.spec.index] = finish(paper, item, data, histories[replica],
                                                  lambda split, indices, r=replica: outputs[split][r])
        except NotVectorizable as reason:
            # asked for by name: worth a warning; chosen by auto: the expected way for such a model
            (log.warning if specs[0].execution == "vectorized" else log.info)(
                "%s: cannot train its repeats in lockstep (%s); running each repeat on its own "
                "(execution=per_repeat)", paper["name"], reason)
            return [_fallback(paper, spec, data, on_epoch, str(reason)) for spec in specs]
        except Exception as error:  # the shared graph failed: every repeat in it is recorded as failed
            for item in prepared:
                results[item.spec.index] = failed_result(item.spec.index, error)
    seconds = (time.perf_counter() - started) / max(1, len(specs))
    records = []
    for spec in specs:
        record = {**headers[spec.index], **results[spec.index]}
        record["execution"] = {"path": "vectorized", "backend": "tensorflow", "group": group,
                               "requested": spec.execution,
                               "note": "replicas in lockstep in one TensorFlow graph; wall_seconds is the "
                                       "group's time divided by its size"}
        record["wall_seconds"] = seconds
        records.append(record)
    return records


def _fallback(paper: dict, spec: RepeatSpec, data: Dataset, on_epoch, reason: str) -> dict[str, Any]:
    record = run_repeat(paper, spec, data, on_epoch)
    record["execution"] = {"path": "per_repeat", "backend": "tensorflow", "requested": spec.execution,
                           "fallback_reason": reason}
    return record


class Lockstep:
    """The replicas' Keras models stepped together: one traced call per training step for the whole group.

    What a step does for each replica is exactly what Keras `fit` does: `model.train_step` on its batch;
    each epoch resets the metrics, trains, reads the metrics, then (when the protocol watches a split)
    resets them again and runs `model.test_step` over that split, as `fit`'s validation does.
    """

    def __init__(self, paper: dict, prepared: list[Prepared], data: Dataset):
        import tensorflow as tf

        self.paper, self.prepared = paper, prepared
        first = prepared[0]
        self.epochs, self.batch_size, self.eval_batch_size = first.epochs, first.batch_size, first.eval_batch_size
        # Inputs as each replica sees them: data.x, or x preprocessed on that replica's training rows
        # (paper.preprocess); replicas sharing training rows share one array.
        arrays: list[np.ndarray] = []
        self.version_of: list[int] = []
        for item in prepared:
            version = next((k for k, array in enumerate(arrays) if array is item.inputs), None)
            if version is None:
                arrays.append(item.inputs)
                version = len(arrays) - 1
            self.version_of.append(version)
        self.inputs = [tf.constant(model_inputs(np.asarray(array))) for array in arrays]
        self.targets = tf.constant(loss_targets(np.asarray(data.y), paper["protocol"]["loss"], first.num_classes))
        # Replicas with the same training indices, order seed and inputs read the same batches: one gather serves them.
        self.feeds: list[tuple[np.ndarray, Optional[int]]] = []
        self.feed_version: list[int] = []
        self.feed_of: list[int] = []
        for item, version in zip(prepared, self.version_of):
            key = (item.splits["train"], item.shuffle_seed)
            position = next((k for k, (index, seed) in enumerate(self.feeds)
                             if seed == key[1] and self.feed_version[k] == version and np.array_equal(index, key[0])),
                            None)
            if position is None:
                self.feeds.append(key)
                self.feed_version.append(version)
                position = len(self.feeds) - 1
            self.feed_of.append(position)
        for item, version in zip(prepared, self.version_of):
            # What fit does before its first step: build the compiled loss, metrics and optimizer state.
            sample = self._gather(item.splits["train"][: self.batch_size], version)
            tf_private.symbolic_build(item.model, sample)

        x_spec = tf.TensorSpec([None, *self.inputs[0].shape[1:]], self.inputs[0].dtype)
        y_spec = tf.TensorSpec([None, *self.targets.shape[1:]], self.targets.dtype)
        self.metric_names = sorted(first.model.get_metrics_result())
        replicated = _Replicated(prepared)
        self._train_one = replicated.trace(lambda model, x, y: model.train_step((x, y)) and None, x_spec, y_spec)
        self._test_one = replicated.trace(lambda model, x, y: model.test_step((x, y)) and None, x_spec, y_spec)
        self._predict_one = replicated.trace(lambda model, x: model(x, training=False), x_spec)
        self._reset_one = replicated.trace(lambda model: model.reset_metrics())
        self._metrics_one = replicated.trace(
            lambda model: [model.get_metrics_result()[name] for name in self.metric_names])
        _check_replica_safe(replicated.graphs())
        self.traced_once = replicated.swap

        count = len(prepared)
        # autograph=False: these graphs are plain Python loops over the replicas.
        self._train_step = tf.function(self._train_graph, reduce_retracing=True, autograph=False)
        self._test_step = tf.function(self._test_graph, reduce_retracing=True, autograph=False)
        self._predict_step = tf.function(self._predict_graph, reduce_retracing=True, autograph=False)
        # Metric bookkeeping for the whole group in one call each (eagerly it is one op per metric variable).
        self._reset_metrics = tf.function(lambda: [self._reset_one(r) for r in range(count)] and None, autograph=False)
        self._read_metrics = tf.function(lambda: [self._metrics_one(r) for r in range(count)], autograph=False)

    def _gather(self, indices, version: int):
        import tensorflow as tf

        return tf.gather(self.inputs[version], indices), tf.gather(self.targets, indices)

    # Each graph takes one index tensor per feed (train) or per replica (test, predict); None skips that
    # feed or replica in this call (a split with fewer batches than the others is done for the epoch).
    def _train_graph(self, feed_indices):
        batches = [None if indices is None else self._gather(indices, self.feed_version[feed])
                   for feed, indices in enumerate(feed_indices)]
        for replica, feed in enumerate(self.feed_of):
            if batches[feed] is not None:
                self._train_one(replica, *batches[feed])

    def _test_graph(self, replica_indices):
        for replica, indices in enumerate(replica_indices):
            if indices is not None:
                self._test_one(replica, *self._gather(indices, self.version_of[replica]))

    def _predict_graph(self, replica_indices):
        return [None if indices is None else self._predict_one(replica, self._gather(indices, self.version_of[replica])[0])
                for replica, indices in enumerate(replica_indices)]

    def _metric_values(self) -> list[dict[str, float]]:
        return [dict(zip(self.metric_names, (float(value) for value in values))) for values in self._read_metrics()]

    def train(self, on_epoch: Optional[EpochCallback]) -> list[dict[str, list]]:
        """Run every epoch of every replica; returns each replica's history (Keras' History keys)."""
        histories: list[dict[str, list]] = [{} for _ in self.prepared]
        for epoch in range(self.epochs):
            orders = [index if seed is None else index[epoch_order(seed, epoch, len(index))]
                      for index, seed in self.feeds]
            self._reset_metrics()
            for window in _windows(orders, self.batch_size):
                self._train_step(window)
            logs = self._metric_values()
            if self.prepared[0].monitor_split is not None:
                monitored = [item.splits[item.monitor_split] for item in self.prepared]
                self._reset_metrics()
                for window in _windows(monitored, self.eval_batch_size):
                    self._test_step(window)
                for values, validation in zip(logs, self._metric_values()):
                    values.update({f"val_{name}": value for name, value in validation.items()})
            for item, history, values in zip(self.prepared, histories, logs):
                for name, value in values.items():
                    history.setdefault(name, []).append(value)
                if item.keeper is not None:
                    item.keeper.update(epoch + 1, values, item.model)
                if on_epoch is not None:
                    on_epoch(item.spec.index, epoch + 1, values)
        for item in self.prepared:
            item.model.optimizer.finalize_variable_values(item.model.trainable_weights)
        return histories

    def predictions(self, split: str) -> list[np.ndarray]:
        """Every replica's outputs on its own `split`, batch by batch as Keras' predict (same batch size).

        Call after each replica has its kept weights back (finish() restores them).
        """
        indices = [item.splits[split] for item in self.prepared]
        chunks: list[list] = [[] for _ in self.prepared]
        for window in _windows(indices, self.eval_batch_size):
            for replica, output in enumerate(self._predict_step(window)):
                if output is not None:
                    chunks[replica].append(np.asarray(output))
        return [np.concatenate(parts) for parts in chunks]


class _Replicated:
    """A per-replica function traced once, on replica 0, and run for any replica on that replica's variables.

    The replicas are one architecture, so replica r's graph is replica 0's with r's variables in place of
    0's: calling the traced function with r's variable handles as its captured inputs runs r's step on r's
    state (the same ops, so the same bits as tracing r itself). Tracing Keras' train_step costs ~0.1 s per
    model: once instead of R times is what lets a large group start fast. When the replicas' variables do
    not line up one for one, or the graph captures another resource of replica 0, each replica is traced.
    """

    def __init__(self, prepared: list[Prepared]):
        self.models = [item.model for item in prepared]
        self.states = [_state(model) for model in self.models]
        shapes = [[(tuple(v.shape), v.dtype) for v in state] for state in self.states]
        self.swap = all(shape == shapes[0] for shape in shapes)
        self.traced: list = []

    def trace(self, function, *specs):
        """`call(replica, *tensors)`: function(model, *tensors) as traced for `replica` (usable in a graph)."""
        import tensorflow as tf

        def concrete(model):
            return tf.function(lambda *args: function(model, *args), autograph=False,
                               experimental_attributes=tf_private.NOINLINE).get_concrete_function(*specs)

        first = concrete(self.models[0])
        plans = None
        if self.swap:
            position = {id(v.handle): k for k, v in enumerate(self.states[0])}
            captures = first.captured_inputs
            if all(id(c) in position for c in captures if c.dtype == tf.resource):
                plans = [(first, [state[position[id(c)]].handle if id(c) in position else c for c in captures])
                         for state in self.states]
            else:
                self.swap = False
        if plans is None:  # trace each replica on its own
            plans = [(fn, list(fn.captured_inputs)) for fn in [first, *map(concrete, self.models[1:])]]
        self.traced += [fn for fn, _ in plans]

        def call(replica, *tensors):
            fn, captures = plans[replica]
            return tf_private.call_concrete(fn, tensors, captures)

        return call

    def graphs(self) -> list:
        return [fn.graph for fn in {id(fn): fn for fn in self.traced}.values()]


def _state(model) -> list:
    """Every TensorFlow variable a replica's steps read or write, in a fixed order."""
    variables = (model.trainable_variables + model.non_trainable_variables + model.optimizer.variables
                 + model.metrics_variables)
    return [getattr(v, "value", v) for v in variables]


def _check_replica_safe(graphs) -> None:
    """Refuse what cannot have per-replica random streams in one graph (see the module docstring)."""
    ops: set[str] = set()
    for graph in graphs:
        definition = graph.as_graph_def()
        ops.update(node.op for node in definition.node)
        for function in definition.library.function:
            ops.update(node.op for node in function.node_def)
    random_ops = sorted(ops & _STATEFUL_RANDOM)
    if random_ops:
        raise NotVectorizable(f"the model uses TensorFlow's process-wide random generator ({', '.join(random_ops)}) "
                              "instead of a Keras SeedGenerator, so its replicas cannot have streams of their own")
    python_ops = sorted(ops & _PYTHON_IN_GRAPH)
    if python_ops:
        raise NotVectorizable(f"the model runs Python inside its graph ({', '.join(python_ops)}), "
                              "whose order across replicas is not defined")
    if tf_private.uses_global_seed_generator():
        raise NotVectorizable("a layer draws from Keras' global random generator (a keras.random call without "
                              "seed=), which all replicas would share")


def _windows(index_lists: list[np.ndarray], size: int):
    """Consecutive batches of each index list as int64 tensors, None once a list is used up."""
    import tensorflow as tf

    for start in range(0, max(len(index) for index in index_lists), size):
        yield [tf.constant(index[start:start + size], tf.int64) if start < len(index) else None
               for index in index_lists]

