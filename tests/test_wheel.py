"""The wheel (what `pip install .` and `pip install git+URL` build) carries the configs and runs from any directory."""
from __future__ import annotations

import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, cli_env

pytestmark = pytest.mark.slow


def test_a_wheel_installed_in_a_fresh_venv_runs_a_paper_from_an_empty_directory(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("replicate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {name.split("replicate/conf/", 1)[1] for name in names if name.startswith("replicate/conf/")}
    in_repo = {str(path.relative_to(ROOT / "conf")) for path in (ROOT / "conf").rglob("*.yaml")}
    assert in_repo and shipped == in_repo  # every config, at the same place below conf/
    assert any(name.startswith("papers/tmd_cnn/") for name in names)

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
    run = subprocess.run([str(python), "-m", "replicate", "repeats=2", "paper.protocol.epochs=2"], cwd=empty,
                         capture_output=True, text=True, env=cli_env(), timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    (report,) = (empty / "outputs" / "mlp_sequence").glob("*/report.md")
    assert "bitwise reproducible: yes" in report.read_text()
    check = subprocess.run([str(python), "-m", "replicate.check", "paper=tmd_cnn", "paper.data.num_segments=300"],
                           cwd=empty, capture_output=True, text=True,
                           env=cli_env(REPLICATE_DATA_DIR=str(tmp_path / "data")), timeout=600)
    assert check.returncode == 0 and "replicate.check: tmd_cnn: ok" in check.stdout, check.stderr[-3000:]
