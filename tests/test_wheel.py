"""The wheel (what `pip install .` and `pip install git+URL` build) carries the configs and runs from any directory."""
from __future__ import annotations

import json
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, cli_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip install .` builds from this checkout."""
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = dist.glob("replicate-*.whl")
    return path


def _resolved(requirement: str, report: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                             "--report", str(report), requirement], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_gpu_extra_brings_gpu_tensorflow_and_never_tensorflow_cpu(wheel, tmp_path):
    """pip's own resolution (a dry run, so nothing is installed) of the CPU and GPU extras; the plain install's
    requirements name neither TensorFlow build unless an extra asks for it."""
    extras = {"cpu": "[cpu]", "gpu": "[gpu]"}
    running = {name: _resolved(f"replicate{extra} @ {wheel.as_uri()}", tmp_path / f"{name}.json")
               for name, extra in extras.items()}
    resolved = {}
    for name, process in running.items():
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        report = json.loads((tmp_path / f"{name}.json").read_text())
        resolved[name] = {item["metadata"]["name"].lower().replace("_", "-") for item in report["install"]}
    tensorflow = {"tensorflow", "tensorflow-cpu"}
    assert resolved["cpu"] & tensorflow == {"tensorflow-cpu"} and not any(n.startswith("nvidia-") for n in resolved["cpu"])
    assert resolved["gpu"] & tensorflow == {"tensorflow"} and {"nvidia-cudnn-cu12", "nvidia-cublas-cu12"} <= resolved["gpu"]
    metadata = zipfile.ZipFile(wheel).read(f"replicate-{wheel.name.split('-')[1]}.dist-info/METADATA").decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if r.split(";")[0].split("[")[0].split(">")[0].strip() in tensorflow
                and "extra ==" not in r]  # a plain `pip install` brings neither: the command then names both extras


def test_a_wheel_installed_in_a_fresh_venv_runs_a_paper_from_an_empty_directory(wheel, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {name.split("replicate/conf/", 1)[1] for name in names if name.startswith("replicate/conf/")}
    in_repo = {str(path.relative_to(ROOT / "conf")) for path in (ROOT / "conf").rglob("*.yaml")}
    assert in_repo and shipped == in_repo  # every config, at the same place below conf/
    assert "replicate/papers/tmd_cnn/model.py" in names and "replicate/papers/__init__.py" in names
    assert not any(name.startswith("papers/") for name in names)  # no top-level 'papers' package to clash

    # A fresh venv that sees the dependencies already installed here (TensorFlow etc.; CI runs inside a venv, so not
    # --system-site-packages) but not this checkout: a path line in a .pth adds those folders without running their
    # own .pth files, so the editable install of this checkout stays invisible.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "dependencies-from-the-test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run([str(python), "-c", "import replicate.resolvers as r; print(r.__file__); print(r.CONF_DIR)"],
                           cwd=empty, capture_output=True, text=True, env=cli_env(), timeout=120)
    module, conf = where.stdout.split()
    assert module.startswith(str(venv)) and conf.startswith(str(venv)), where.stdout  # not the checkout
    # The console command the wheel installed, as a user types it (repeats=auto: a claim far off stops at look 5).
    claim = "paper.reported=[{label: far off, metric: mse, split: test, statistic: single_run, value: 1e-9, source: t}]"
    run = subprocess.run([str(venv / "bin" / "replicate"), "repeats=auto", claim, "paper.protocol.epochs=5",
                          "paper.protocol.optimizer.learning_rate=0.03"],
                         cwd=empty, capture_output=True, text=True, env=cli_env(), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    (report,) = (empty / "outputs" / "mlp_sequence").glob("*/report.md")
    text = report.read_text()
    assert "bitwise reproducible: yes" in text and "repeats=auto stopped after 5 repeats" in text
    check = subprocess.run([str(python), "-m", "replicate.check", "paper=tmd_cnn", "paper.data.num_segments=300"],
                           cwd=empty, capture_output=True, text=True,
                           env=cli_env(REPLICATE_DATA_DIR=str(tmp_path / "data")), timeout=600)
    assert check.returncode == 0 and "replicate.check: tmd_cnn: ok" in check.stdout, check.stderr[-3000:]
