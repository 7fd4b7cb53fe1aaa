"""mnist_dense: the loader reads a real mnist.npz (a small fake one the test writes) or says where to put it."""
import json

import numpy as np
import pytest

from conftest import run_cli
from replicate.papers.mnist_dense.data import load_mnist
from replicate.errors import DataError
from test_papers import write_fake_mnist


def test_loader_reads_the_first_images_as_raw_pixels(tmp_path):
    path = write_fake_mnist(tmp_path / "mnist.npz", num_train=120, num_test=30)
    data = load_mnist(str(path), num_train=100)
    with np.load(path) as archive:
        np.testing.assert_array_equal(data.x[:100], archive["x_train"][:100].astype("float32"))
        np.testing.assert_array_equal(data.y[100:], archive["y_test"])
    assert data.x.max() > 1  # no scaling, as the answer fed raw 0-255 pixels
    assert list(data.folds[:100]) == ["train"] * 100 and list(data.folds[100:]) == ["test"] * 30


def test_missing_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr("replicate.papers.mnist_dense.data.KERAS_CACHE", tmp_path / "no-cache" / "mnist.npz")
    with pytest.raises(DataError) as error:
        load_mnist(str(tmp_path / "absent.npz"))
    message = str(error.value)
    assert "absent.npz" in message and "keras.datasets.mnist.load_data()" in message and "data/mnist.npz" in message


def test_a_file_that_is_not_mnist_is_named(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, images=np.zeros((2, 28, 28)))
    with pytest.raises(DataError, match="not an mnist.npz"):
        load_mnist(str(path))


def test_cli_missing_mnist_is_one_line(tmp_path):
    result = run_cli(["paper=mnist_dense", f"paper.data.path={tmp_path / 'absent.npz'}", f"hydra.run.dir={tmp_path / 'run'}"],
                     HOME=str(tmp_path))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "MNIST file not found" in lines[0]


@pytest.mark.slow
def test_end_to_end_on_a_fake_mnist_shows_train_and_test_accuracy(tmp_path):
    path = write_fake_mnist(tmp_path / "mnist.npz")
    run_dir = tmp_path / "run"
    result = run_cli(["paper=mnist_dense", f"paper.data.path={path}", "repeats=2", "paper.protocol.epochs=3",
                      "executor=serial", "selfcheck.enabled=false", f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {"fit_loss", "fit_accuracy", "train_accuracy", "test_accuracy"} <= set(summary["metrics"])
    report = (run_dir / "report.md").read_text()
    assert "cannot reproduce this run" in report or "cannot be reproduced on Keras 3" in report


def test_resume_refuses_data_that_changed_under_finished_repeats(tmp_path):
    path = write_fake_mnist(tmp_path / "mnist.npz", seed=0)
    run_dir = tmp_path / "run"
    args = ["paper=mnist_dense", f"paper.data.path={path}", "paper.protocol.epochs=1", "executor=serial",
            "selfcheck.enabled=false", f"hydra.run.dir={run_dir}"]
    assert run_cli([*args, "repeats=1"]).returncode in (0, 4)  # noise with random labels: it may learn nothing
    before = (run_dir / "records" / "repeat-00000.json").read_bytes()
    write_fake_mnist(path, seed=1)  # same file name and config, other content
    result = run_cli([*args, "repeats=2"])
    assert result.returncode == 2
    assert "repeat-00000.json: was trained on data with SHA-256" in result.stderr
    assert (run_dir / "records" / "repeat-00000.json").read_bytes() == before
    assert not (run_dir / "records" / "repeat-00001.json").exists()
