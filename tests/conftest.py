"""Shared fixtures: compose the real configs with Hydra's compose API, run the real CLI in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from replicate import config, schema

ROOT = Path(__file__).resolve().parent.parent
schema.register()
config.register_resolvers()


def pytest_configure(config):
    """TensorFlow in the test process runs as a repeat's worker does (1 thread, bitwise), set before any test starts
    it: thread counts cannot change once it runs, and the in-process tests (tests/test_seams.py, models built by
    tests/test_papers.py) would otherwise meet whatever the first test to import it left."""
    from replicate import seeding

    seeding.configure_process(1, "bitwise")


def compose_config(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config.CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


def settings_for(overrides: list[str], output_dir: Path) -> config.RunSettings:
    return config.settings_from_config(compose_config([*overrides, f"output_dir={output_dir}"]))


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env.update({"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}, **extra)
    return env


def run_cli(args: list[str], cwd: Path | None = None, timeout: int = 600, module: str = "replicate",
            **env: str) -> subprocess.CompletedProcess:
    """`python -m replicate ARGS` in a real subprocess; returns the completed process (text output)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or ROOT, env=cli_env(**env), capture_output=True, text=True, timeout=timeout,
    )


def read_records(run_dir: Path) -> dict[int, dict]:
    return {int(p.stem.split("-")[1]): json.loads(p.read_text()) for p in sorted((run_dir / "records").glob("repeat-*.json"))}


SMALL_RUN = ["repeats=3", "paper.protocol.epochs=2", "selfcheck.enabled=false", "executor=serial"]
# mlp_sequence at its learning rate (0.001) does not learn in a few epochs: its first two repeats stay worse than
# predicting the mean target, so a command of 1 or 2 such repeats learns nothing and exits 4 (README, exit statuses).
# At 0.03 at least one of the first two repeats learns at 1 to 12 epochs (repeat 0 from 2 epochs).
LEARNS = "paper.protocol.optimizer.learning_rate=0.03"


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """One small real run of the default paper (3 repeats, 2 epochs, serial), made under umask 022 as from a usual
    login shell, shared by the tests that only read a run (its files, modes, ids, load_runs, the MLflow export)."""
    path = tmp_path_factory.mktemp("small-run") / "run"
    result = subprocess.run(["sh", "-c", 'umask 022 && exec "$@"', "sh", sys.executable, "-m", "replicate", *SMALL_RUN,
                             f"hydra.run.dir={path}"], cwd=ROOT, env=cli_env(), capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return path


@pytest.fixture(scope="session")
def small_sweep(tmp_path_factory) -> tuple[Path, list[str], subprocess.CompletedProcess]:
    """One real sweep typed as a user would, in its own folder (the default sweep dir below it): three configurations
    of the default paper listed out of order. (cwd, the command's arguments, its result), shared by read-only tests."""
    cwd = tmp_path_factory.mktemp("small-sweep")
    args = ["-m", "executor=serial", "selfcheck.enabled=false", "repeats=2", LEARNS, "paper.protocol.epochs=12,2,6"]
    result = run_cli(args, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, args, result


@pytest.fixture
def data_dir(tmp_path_factory, monkeypatch):
    """A private data folder so tests never write into the project's data/."""
    directory = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("REPLICATE_DATA_DIR", str(directory))
    return directory


@pytest.fixture(scope="session")
def outside_paper(tmp_path_factory):
    """The test paper that lives outside the repository (tests/external_paper.py): (config dir, code dir)."""
    from external_paper import write_external_paper

    return write_external_paper(tmp_path_factory.mktemp("outside-paper"))


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory, outside_paper):
    """One real two-node Ray cluster (one CPU each, 127.0.0.1 only) for the whole session, started on first use;
    its nodes can import the outside paper's code. Yields {"address", "nodes"}."""
    pytest.importorskip("ray")
    from ray_cluster import start_cluster

    with start_cluster(tmp_path_factory.mktemp("ray-logs"), PYTHONPATH=str(outside_paper[1])) as running:
        yield running
