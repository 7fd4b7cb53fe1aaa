"""Records are written atomically, checksummed, reused, set aside when corrupt, and never overwritten."""
import json

import pytest

from replicate.errors import ReplicateError
from replicate.store import CorruptRecord, RecordStore, read_record


def _record(index=0, identity="abc", status="completed", value=0.5):
    return {"repeat": index, "identity": identity, "status": status, "seeds": {"init": 1}, "metrics": {"test_mse": value}}


def test_write_then_read_round_trips_and_leaves_no_temporary_files(tmp_path):
    store = RecordStore(tmp_path)
    path = store.write(_record(value=0.1 + 0.2))
    assert store.read(0)["metrics"]["test_mse"] == 0.1 + 0.2  # floats round-trip exactly
    assert [p.name for p in path.parent.iterdir()] == ["repeat-00000.json"]


def test_a_tampered_record_is_detected_by_its_checksum(tmp_path):
    store = RecordStore(tmp_path)
    path = store.write(_record())
    data = json.loads(path.read_text())
    data["metrics"]["test_mse"] = 0.9
    path.write_text(json.dumps(data))
    with pytest.raises(CorruptRecord, match="checksum"):
        read_record(path)


@pytest.mark.parametrize("content", ["", '{"repeat": 0, "ident', "[1, 2]", '{"repeat": 0}'])
def test_truncated_or_malformed_records_are_corrupt(tmp_path, content):
    path = tmp_path / "records" / "repeat-00000.json"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(CorruptRecord):
        read_record(path)


def test_a_corrupt_record_is_set_aside_and_the_repeat_runs_again(tmp_path):
    store = RecordStore(tmp_path)
    store.path(0).parent.mkdir(parents=True)
    store.path(0).write_text('{"repeat": 0, "trunc')
    assert store.usable(0, "abc") is None
    kept = list(store.directory.glob("repeat-00000.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_text() == '{"repeat": 0, "trunc'


def test_a_failed_record_is_kept_aside_and_retried(tmp_path):
    store = RecordStore(tmp_path)
    store.write(_record(status="failed"))
    assert store.usable(0, "abc") is None
    assert list(store.directory.glob("repeat-00000.json.failed-*"))


def test_a_finished_record_is_reused(tmp_path):
    store = RecordStore(tmp_path)
    store.write(_record())
    assert store.usable(0, "abc")["metrics"] == {"test_mse": 0.5}


def test_records_of_another_configuration_are_never_replaced(tmp_path):
    store = RecordStore(tmp_path)
    store.write(_record(identity="old"))
    with pytest.raises(ReplicateError, match="different configuration"):
        store.usable(0, "new")
    assert store.read(0)["identity"] == "old"


def test_nan_can_never_be_written_as_a_number(tmp_path):
    with pytest.raises(ValueError):
        RecordStore(tmp_path).write(_record(value=float("nan")))
    assert not RecordStore(tmp_path).path(0).exists()
