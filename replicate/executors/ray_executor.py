"""executor=ray: units of work on a pool of Ray actors, one per CPU slot; the driver (replicate/driver.py) writes every record.

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

from replicate.dataset import unpack
from replicate.driver import Job, Result, Unit, Worker, WorkerLost
from replicate.errors import ReplicateError

log = logging.getLogger(__name__)

INSTALL_HINT = "executor=ray needs Ray: pip install -e '.[ray]'"
# Ray's multi-node switch (meant for Windows/macOS); see _LoopbackSwitch.
_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_RESUME_HINT = "finished repeats are kept; fix: run the same command again to resume the missing repeats"


class RepeatWorker:
    """One Ray actor: a process configured for bitwise repeats (driver.Worker), checked to run the driver's software."""

    def __init__(self, job: Job):
        from replicate.environment import software_versions

        here = software_versions()
        if here != job.versions:
            differing = ", ".join(f"{k} {here.get(k)} (driver {v})" for k, v in job.versions.items() if here.get(k) != v)
            raise ReplicateError(
                f"a Ray node runs other software than the driver: {differing}; a repeat's bits depend on these "
                "versions; fix: install the same versions on every node"
            )
        self.worker = Worker(job, unpack(job.data))

    def run(self, unit: Unit) -> tuple[Result, str]:
        """The unit's result and the id of the node that ran it."""
        import ray

        return self.worker.run(unit), ray.get_runtime_context().get_node_id()


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
    return WorkerLost(f"a Ray worker died ({type(error).__name__}: {reason[:200]}) in {run_dir}; {_RESUME_HINT}")


class RayExecutor:
    def __init__(self, run_dir, address: Optional[str] = "auto", workers: Optional[int] = None,
                 cpus_per_repeat: Optional[float] = None, resources: Optional[dict] = None, **options):
        self.run_dir, self.address, self.workers = run_dir, address, workers
        self.cpus_per_repeat, self.resources = cpus_per_repeat, dict(resources or {})
        self.ray = _import_ray()
        self.started_here = False
        self.switch = None
        self.actors: list = []
        self.idle: deque = deque()
        self.running: dict = {}  # ObjectRef of a running unit -> (actor, unit)
        self.used_nodes: set[str] = set()

    def capacity(self, job: Job) -> int:
        """Connects (or starts a local cluster on 127.0.0.1) and counts the repeats the alive nodes can run at once."""
        ray = self.ray
        self.started_here = not ray.is_initialized()
        if self.started_here and _on_this_machine(self.address):
            self.switch = _LoopbackSwitch()
            self.switch.on()
        if self.started_here:
            _connect(ray, self.address)
        self.need = {"CPU": float(self.cpus_per_repeat or job.threads),
                     **{name: float(amount) for name, amount in self.resources.items()}}
        slots, self.nodes = _slots(ray, self.need)
        if self.workers:
            return self.workers  # e.g. an autoscaling cluster that grows to fit them
        if slots < 1:
            wanted = ", ".join(f"{name}={amount:g}" for name, amount in self.need.items())
            raise ReplicateError(
                f"no node of the Ray cluster ({self.nodes} alive) has the resources one repeat asks for ({wanted}); "
                "fix: lower executor.cpus_per_repeat / executor.resources, add nodes, or set executor.workers"
            )
        return slots

    def describe(self, size: int) -> str:
        return (f"{size} Ray actor{'s' if size != 1 else ''} ({self.need['CPU']:g} CPU each) on a cluster of "
                f"{self.nodes} node(s)")

    def start(self, job: Job, size: int, on_epoch) -> None:
        ray = self.ray
        # A fixed string-hash seed in every actor process, as the local executor gives its workers.
        options: dict[str, Any] = {"num_cpus": self.need["CPU"], "max_restarts": 0, "max_task_retries": 0,
                                   "runtime_env": {"env_vars": {"PYTHONHASHSEED": "0"}}}
        custom = {name: amount for name, amount in self.need.items() if name != "CPU"}
        if custom:
            options["resources"] = custom
        job_ref = ray.put(job)  # once; every actor maps the data's arrays zero-copy from the object store
        self.actors = [ray.remote(RepeatWorker).options(**options).remote(job_ref) for _ in range(size)]
        self.idle = deque(self.actors)

    def submit(self, unit: Unit) -> None:
        actor = self.idle.popleft()
        self.running[actor.run.remote(unit)] = (actor, unit)

    def wait(self, timeout: float) -> list:
        from ray import exceptions as ray_errors

        dead = (ray_errors.RayActorError, ray_errors.WorkerCrashedError, ray_errors.NodeDiedError,
                ray_errors.ObjectLostError, ray_errors.OutOfMemoryError, ray_errors.LocalRayletDiedError,
                ray_errors.ActorUnschedulableError)
        done, _ = self.ray.wait(list(self.running), num_returns=1, timeout=timeout)
        finished = []
        for ref in done:
            actor, unit = self.running.pop(ref)
            try:
                result, node = self.ray.get(ref)
            except dead as error:
                finished.append((unit, _died(error, self.run_dir)))
                continue
            except ReplicateError as error:  # the model check (a RayTaskError that is also the ConfigError)
                finished.append((unit, error))
                continue
            except Exception as error:
                finished.append((unit, WorkerLost(f"a Ray worker failed running {unit.label}: "
                                                  f"{type(error).__name__}: {str(error).strip().splitlines()[-1][:300]}; {_RESUME_HINT}")))
                continue
            self.used_nodes.add(node)
            self.idle.append(actor)
            finished.append((unit, result))
        return finished

    def close(self) -> None:
        ray = self.ray
        for ref in list(self.running):
            try:
                ray.cancel(ref)
            except Exception:  # best effort: the actors are killed below anyway
                pass
        self.running.clear()
        for actor in self.actors:
            try:
                ray.kill(actor)  # stops a repeat still training after Ctrl-C or an error
            except Exception:
                pass
        self.actors = []
        if self.used_nodes:
            log.info("the repeats ran on %d Ray node(s)", len(self.used_nodes))
        if self.started_here and ray.is_initialized():
            ray.shutdown()
        if self.switch is not None:
            self.switch.off()
            self.switch = None


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
