"""paper.preprocess: transformers fitted on each repeat's training rows only, applied to every split, recorded,
fitted once when the split is fixed, and the same bits under both execution paths."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from conftest import read_records, run_cli, settings_for
from external_paper import external_args, write_external_paper
from replicate import train
from replicate.dataset import Dataset
from replicate.plan import make_plan


class RowSpy:
    """A transformer that remembers the rows it was fitted on (column 0 holds each row's index)."""

    fitted_rows: list[list[int]] = []

    def fit(self, x, y=None):
        RowSpy.fitted_rows.append(sorted(int(v) for v in x[:, 0]))
        self.offset_ = float(x[:, 1].mean())
        return self

    def transform(self, x):
        out = np.array(x, dtype=float)
        out[:, 1] -= self.offset_
        return out


def _indexed(n: int = 40) -> Dataset:
    rng = np.random.default_rng(0)
    x = np.stack([np.arange(n), rng.normal(size=n), rng.normal(size=n)], axis=1).astype("float32")
    return Dataset(x=x, y=np.arange(n) % 2, class_names=["a", "b"])


def test_transformers_see_the_training_rows_only_and_apply_to_every_row():
    RowSpy.fitted_rows.clear()
    data = _indexed()
    train_rows = np.array([3, 1, 7, 20, 33])
    paper = {"preprocess": [{"_target_": "test_preprocess.RowSpy"}]}
    inputs, fitted = train.preprocess(paper, data, train_rows)
    assert RowSpy.fitted_rows == [[1, 3, 7, 20, 33]]
    assert inputs.shape == data.x.shape and inputs.dtype == data.x.dtype
    assert inputs[:, 1] == pytest.approx(data.x[:, 1] - data.x[train_rows, 1].mean(), abs=1e-6)  # every row
    assert fitted[0]["_target_"] == "test_preprocess.RowSpy" and fitted[0]["rows"] == 5
    assert len(fitted[0]["inputs_sha256"]) == 64
    again, _ = train.preprocess(paper, data, train_rows)  # the same rows: fitted once, reused
    assert again is inputs and len(RowSpy.fitted_rows) == 1
    assert train.preprocess({"preprocess": []}, data, train_rows)[0] is data.x


def test_a_repeats_scaler_never_sees_validation_or_test_rows(tmp_path):
    RowSpy.fitted_rows.clear()
    settings = settings_for(["paper=mlp_sequence", "paper.split._target_=replicate.splits.holdout",
                             "+paper.split.test_size=0.3", "paper.protocol.validation_fraction=0.25",
                             "paper.preprocess=[{_target_: sklearn.preprocessing.StandardScaler}]"], tmp_path)
    paper = settings.paper
    from replicate.executors.common import load_data

    data = load_data(paper)
    # make the test rows' statistics unmistakable: were they in the fit, the training rows would not be centred
    spec = make_plan(paper, 1, 0, 1, "bitwise", {})[0]
    prepared = train.prepare(paper, spec, data)
    rows = prepared.splits
    assert set(rows) == {"train", "validation", "test"}
    expected = StandardScaler().fit(data.x[rows["train"]]).transform(data.x)
    assert prepared.inputs == pytest.approx(expected.astype(data.x.dtype))
    assert prepared.inputs[rows["train"]].mean(axis=0) == pytest.approx(0.0, abs=1e-6)
    leaky = StandardScaler().fit(data.x).transform(data.x)
    assert not np.allclose(prepared.inputs, leaky)
    assert prepared.preprocessing[0]["rows"] == len(rows["train"])


@pytest.mark.slow
def test_preprocessing_gives_the_same_bits_under_both_execution_paths(tmp_path):
    conf, code = write_external_paper(tmp_path)
    common = [*external_args(conf), "executor=serial", "selfcheck.enabled=false", "repeats=3",
              "paper.preprocess=[{_target_: sklearn.preprocessing.StandardScaler}]"]
    records = {}
    for path in ("per_repeat", "vectorized"):
        run_dir = tmp_path / path
        result = run_cli([*common, f"execution={path}", f"hydra.run.dir={run_dir}"], PYTHONPATH=str(code))
        assert result.returncode == 0, result.stderr[-3000:]
        records[path] = read_records(run_dir)
    for k in range(3):
        a, b = records["per_repeat"][k], records["vectorized"][k]
        assert a["status"] == b["status"] == "completed"
        for key in ("init_weights_sha256", "weights_sha256", "metrics", "history", "split_sha256", "preprocess"):
            assert a[key] == b[key], (k, key)
        assert a["preprocess"][0]["_target_"] == "sklearn.preprocessing.StandardScaler"
    # the split follows each repeat's seed here, so each repeat fitted its own scaler
    assert len({records["per_repeat"][k]["preprocess"][0]["inputs_sha256"] for k in range(3)}) == 3
