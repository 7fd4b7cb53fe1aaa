"""Repeats on a Ray cluster: a pool of actors, one per CPU slot; the driver writes every record.

Why actors and not plain tasks: `seeding.configure_process` (thread counts, op determinism) must run in a
process before TensorFlow starts its runtime, and Ray reuses worker processes between tasks, so a task could
land in a process whose TensorFlow already runs with other settings. An actor owns its process for its whole
life: its constructor configures the process once, imports TensorFlow once and holds the data, and each of
its calls runs one repeat. A fresh process per task (`max_calls=1`) would also be safe but would pay
TensorFlow's import (seconds) for every repeat.

Records are returned to the driver, which writes them as each repeat finishes: the nodes of a real cluster
need not share the run directory's file system. The dataset is loaded once on the driver and put in Ray's
object store once; every actor maps its numpy arrays zero-copy from there. Progress reports finished
repeats only (no per-epoch events from the cluster).

Every node needs the same software as the driver (checked: a repeat's bits depend on it), the paper's own
code included: Ray puts the driver's working directory on the workers' path, anything else must be
installed on the nodes (or on the PYTHONPATH they were started with).
"""
from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections import deque
from typing import Any, Optional

from replicate.config import RunSettings
from replicate.errors import ReplicateError
from replicate.executors.common import check_data_unchanged, load_data
from replicate.plan import RepeatSpec, tasks
from replicate.progress import make_progress
from replicate.store import RecordStore

log = logging.getLogger(__name__)

INSTALL_HINT = "executor=ray needs Ray: pip install -e '.[ray]'"
# Ray's multi-node switch (meant for Windows/macOS); see _LoopbackSwitch.
_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_RESUME_HINT = "finished repeats are kept; fix: run the same command again to resume the missing repeats"


class RepeatWorker:
    """One Ray actor: a process configured for bitwise repeats, holding the paper and the data."""

    def __init__(self, threads: int, determinism: str, paper: dict, data, versions: dict[str, str]):
        from replicate import seeding
        from replicate.environment import software_versions

        here = software_versions()
        if here != versions:
            differing = ", ".join(f"{k} {here.get(k)} (driver {v})" for k, v in versions.items() if here.get(k) != v)
            raise ReplicateError(
                f"a Ray node runs other software than the driver: {differing}; a repeat's bits depend on these "
                "versions; fix: install the same versions on every node"
            )
        seeding.configure_process(threads, determinism)
        self.paper, self.data = paper, data

    def run(self, task: list[RepeatSpec]) -> tuple[list[dict[str, Any]], str]:
        """The records of one unit of work (failures included, see run_task) and the id of the node that ran it."""
        import ray

        from replicate.replicas import run_task

        return run_task(self.paper, task, self.data), ray.get_runtime_context().get_node_id()


def _import_ray():
    try:
        import ray
    except ImportError as error:
        raise ReplicateError(INSTALL_HINT) from error
    return ray


def _on_this_machine(address: Optional[str]) -> bool:
    """A local instance (null), the cluster found on this machine ("auto"), or a loopback host:port."""
    if address is None or address == "auto":
        return True
    if "://" in address:
        return False
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_reachable(address: str) -> None:
    """Fail in seconds, not minutes (Ray retries a silent GCS for several minutes), when host:port does not answer."""
    target = address.split("://", 1)[-1]
    if address == "auto" or ":" not in target:
        return
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=10):
            pass
    except (OSError, ValueError) as error:
        raise ReplicateError(
            f"executor.address={address}: no Ray cluster answers there ({error}); "
            "fix: start one with 'ray start --head', pass its address, or executor.address=null to start a local one"
        ) from error


def _connect(ray, address: Optional[str]) -> None:
    """Join the cluster at `address`, or start a local instance that listens on 127.0.0.1 only."""
    if address is not None:
        _check_reachable(address)
    try:
        if address is None:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=True)
        else:
            # Joining: the driver takes the address of the local node it attaches to (no _node_ip_address).
            ray.init(address=address, log_to_driver=True)
    except ConnectionError as error:
        raise ReplicateError(
            f"executor.address={address}: no Ray cluster answered ({str(error).strip().splitlines()[0]}); "
            "fix: start one with 'ray start --head', pass its address, or executor.address=null to start a local one"
        ) from error


def _slots(ray, need: dict[str, float]) -> tuple[int, int]:
    """(repeats the alive nodes can run at once, alive nodes): per node, the fewest fits over asked resources."""
    slots, nodes = 0, 0
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        nodes += 1
        have = node.get("Resources") or {}
        slots += min(int(have.get(name, 0.0) // amount) if amount > 0 else 1 << 30 for name, amount in need.items())
    return slots, nodes


def _pool_size(ray, settings: RunSettings, need: dict[str, float], todo: int) -> tuple[int, int]:
    slots, nodes = _slots(ray, need)
    asked = settings.executor.get("workers")
    if asked:
        return min(asked, todo), nodes  # e.g. an autoscaling cluster that grows to fit them
    if slots < 1:
        wanted = ", ".join(f"{name}={amount:g}" for name, amount in need.items())
        raise ReplicateError(
            f"no node of the Ray cluster ({nodes} alive) has the resources one repeat asks for ({wanted}); "
            "fix: lower executor.cpus_per_repeat / executor.resources, add nodes, or set executor.workers"
        )
    return min(slots, todo), nodes


def _died(error: BaseException, run_dir) -> ReplicateError:
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if type(error).__name__ == "ActorUnschedulableError":
        return ReplicateError(f"Ray cannot place a repeat's actor on any node ({reason[:200]}); fix: lower "
                              "executor.cpus_per_repeat / executor.resources or add nodes that have them")
    if getattr(error, "actor_init_failed", False):
        cause = str(error).strip().splitlines()
        detail = next((line for line in reversed(cause) if "Error" in line), reason)
        return ReplicateError(f"a Ray worker could not start ({detail.strip()}); fix: install replicate and the "
                              "same packages on every node of the cluster, then run the same command again")
    return ReplicateError(f"a Ray worker died ({type(error).__name__}: {reason[:200]}) in {run_dir}; {_RESUME_HINT}")


def execute(settings: RunSettings, specs: list[RepeatSpec], store: RecordStore) -> None:
    ray = _import_ray()
    address = settings.executor.get("address")
    started_here = not ray.is_initialized()
    switch = _LoopbackSwitch() if started_here and _on_this_machine(address) else None
    actors: list = []
    running: dict = {}  # ObjectRef of a running unit of work -> (actor, its specs)
    progress = None
    try:
        if switch is not None:
            switch.on()
        if started_here:
            _connect(ray, address)
        need = {"CPU": float(settings.executor.get("cpus_per_repeat") or settings.threads),
                **{name: float(amount) for name, amount in (settings.executor.get("resources") or {}).items()}}
        size, nodes = _pool_size(ray, settings, need, len(specs))
        work = tasks(specs, settings.replicas, size)
        size = min(size, len(work))
        log.info("running %d repeats on %d Ray actors (%g CPU, %d thread(s) each) on a cluster of %d node(s)%s",
                 len(specs), size, need["CPU"], settings.threads, nodes,
                 f", in {len(work)} lockstep groups" if settings.execution == "vectorized" else "")
        data = load_data(settings.paper)
        check_data_unchanged(data, store)
        data_ref = ray.put(data)  # once; every actor maps the arrays from the object store
        del data
        actors = _start_actors(ray, settings, need, size, data_ref)
        progress = make_progress(settings.progress, len(specs), settings.headline,
                                 settings.paper["protocol"]["epochs"])
        _run_all(ray, actors, work, store, progress, running)
    except KeyboardInterrupt:
        for ref in running:
            try:
                ray.cancel(ref)
            except Exception:  # best effort: the actors are killed below anyway
                pass
        raise
    finally:
        for actor in actors:
            try:
                ray.kill(actor)  # stops a repeat still training after Ctrl-C or an error
            except Exception:
                pass
        if progress is not None:
            progress.close()
        if started_here and ray.is_initialized():
            ray.shutdown()
        if switch is not None:
            switch.off()


class _LoopbackSwitch:
    """Ray's multi-node switch off while we start or join a cluster on this machine, so nothing binds outward.

    With it on (Ray's default on Linux) Ray swaps 127.0.0.1 for the machine's outward address and its
    servers listen on every interface; with it off they listen on 127.0.0.1. Joining a cluster reached
    through a loopback address needs it too, or Ray would look for the cluster at the outward address.
    Ray reads the environment variable once at import (child processes read it again), hence both.
    """

    def __init__(self):
        from ray._private import ray_constants

        self.constants = ray_constants
        self.saved = (os.environ.get(_LOOPBACK_SWITCH), ray_constants.ENABLE_RAY_CLUSTER)

    def on(self) -> None:
        os.environ[_LOOPBACK_SWITCH] = "0"
        self.constants.ENABLE_RAY_CLUSTER = False

    def off(self) -> None:
        environment, constant = self.saved
        if environment is None:
            os.environ.pop(_LOOPBACK_SWITCH, None)
        else:
            os.environ[_LOOPBACK_SWITCH] = environment
        self.constants.ENABLE_RAY_CLUSTER = constant


def _start_actors(ray, settings: RunSettings, need: dict[str, float], size: int, data_ref) -> list:
    from replicate.environment import software_versions

    # A fixed string-hash seed in every actor process, as the local executor gives its workers.
    options: dict[str, Any] = {"num_cpus": need["CPU"], "max_restarts": 0, "max_task_retries": 0,
                               "runtime_env": {"env_vars": {"PYTHONHASHSEED": "0"}}}
    custom = {name: amount for name, amount in need.items() if name != "CPU"}
    if custom:
        options["resources"] = custom
    worker = ray.remote(RepeatWorker).options(**options)
    versions = software_versions()
    return [worker.remote(settings.threads, settings.determinism, settings.paper, data_ref, versions)
            for _ in range(size)]


def _run_all(ray, actors: list, work: list[list[RepeatSpec]], store: RecordStore, progress, running: dict) -> None:
    """Hand each idle actor the next unit of work; write each record as it comes back (ray.wait loop)."""
    from ray import exceptions as ray_errors

    dead = (ray_errors.RayActorError, ray_errors.WorkerCrashedError, ray_errors.NodeDiedError,
            ray_errors.ObjectLostError, ray_errors.OutOfMemoryError, ray_errors.LocalRayletDiedError,
            ray_errors.ActorUnschedulableError)
    todo, idle = deque(work), deque(actors)
    used_nodes: set[str] = set()
    failure: Optional[BaseException] = None
    while running or (todo and failure is None):
        while todo and idle and failure is None:
            actor, task = idle.popleft(), todo.popleft()
            running[actor.run.remote(task)] = (actor, task)
        # A timeout so that Ctrl-C is seen while repeats run.
        done, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
        for ref in done:
            actor, task = running.pop(ref)
            try:
                records, node = ray.get(ref)
            except dead as error:
                # No new work; the repeats still running on other actors finish and are written.
                log.error("repeat%s %s lost: its Ray worker died (%s)", "s" if len(task) > 1 else "",
                          ", ".join(str(spec.index) for spec in task), type(error).__name__)
                failure = failure or error
                continue
            for record in records:
                store.write(record)
                progress.finished(record)
            used_nodes.add(node)
            idle.append(actor)
    if failure is not None:
        raise _died(failure, store.run_dir) from failure
    log.info("the repeats ran on %d Ray node(s)", len(used_nodes))
