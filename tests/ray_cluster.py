"""A real Ray cluster for tests: nodes started with `ray start` on 127.0.0.1 only, stopped by pid afterwards."""
from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from conftest import ROOT, cli_env

# `ray start` with Ray's multi-node switch off (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0) keeps every server on
# 127.0.0.1, but then refuses to add a second node; this runs the `ray` command with only that refusal lifted.
RAY_CLI = """
import sys, types
import ray._private.ray_constants as constants
from ray.scripts import scripts
scripts.ray_constants = types.SimpleNamespace(**{**vars(constants), "ENABLE_RAY_CLUSTER": True})
sys.argv[0] = "ray"
scripts.main()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_env(**extra) -> dict[str, str]:
    env = cli_env(RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", **extra)
    env.pop("RAY_ADDRESS", None)
    return env


def start_node(args: list[str], log: Path, **extra: str) -> subprocess.Popen:
    """`ray start ... --block` in its own session: it stops its Ray processes when terminated."""
    with open(log, "wb") as stream:
        node = subprocess.Popen([sys.executable, "-c", RAY_CLI, "start", "--block", *args], cwd=ROOT, env=ray_env(**extra),
                                stdout=stream, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while "Ray runtime started" not in log.read_text(errors="replace"):
        if node.poll() is not None or time.monotonic() > deadline:
            stop([node])
            pytest.fail(f"ray start {' '.join(args)} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return node


def ours(nodes: list[subprocess.Popen]) -> list:
    """The `ray start` processes we started and every process below them (GCS, raylets, agents, workers)."""
    found = []
    for node in nodes:
        try:
            root = psutil.Process(node.pid)
            found += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return found


def stop(nodes: list[subprocess.Popen]) -> None:
    """Stop exactly the processes this test started, by pid (never `ray stop`, which stops every Ray on the machine)."""
    processes = ours(nodes)
    for node in reversed(nodes):
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
    for node in reversed(nodes):
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    alive = [process for process in processes if process.is_running()]
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=10)


@contextlib.contextmanager
def start_cluster(logs: Path, nodes: int = 2, cpus: int = 1, **env: str):
    """A head and nodes-1 more nodes, `cpus` CPUs each, on 127.0.0.1; yields {"address", "nodes"}. `env`: extra
    environment of the nodes (e.g. PYTHONPATH for a paper's code that is not installed)."""
    # Ray's Unix socket paths live under the temp dir and must stay short (~107 characters).
    temp_dir = tempfile.mkdtemp(prefix="r", dir="/tmp")
    port = free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", f"--temp-dir={temp_dir}", "--disable-usage-stats"]
    started: list[subprocess.Popen] = []
    try:
        started.append(start_node(["--head", f"--port={port}", "--include-dashboard=false",
                                   f"--ray-client-server-port={free_port()}",
                                   f"--dashboard-agent-listen-port={free_port()}", *common], logs / "head.log", **env))
        for number in range(1, nodes):
            started.append(start_node([f"--address={address}", f"--dashboard-agent-listen-port={free_port()}", *common],
                                      logs / f"node{number}.log", **env))
        yield {"address": address, "nodes": started}
    finally:
        stop(started)
        shutil.rmtree(temp_dir, ignore_errors=True)
