"""tmd_cnn's data: GeoLife reader, the authors' pipeline, the synthetic generator, caching and the pickle loader."""
import hashlib
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from replicate.papers.tmd_cnn import data, pipeline, synthetic
from replicate.papers.tmd_cnn.geolife import UNIX_EPOCH_DAYS, ReadStats, read_labels, read_plt
from replicate.errors import DataError

T0 = 1_220_000_000.0  # 2008-08-29, unix seconds
EQUATOR_M_PER_DEG = 6378137.0 * math.pi / 180  # geodesic metres per degree of longitude along the equator


def stamp(seconds):
    return str(np.datetime64(int(seconds), "s")).replace("-", "/").replace("T", " ")


def write_plt(path: Path, times, lats, lons, extra_lines=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["Geolife trajectory", "WGS 84", "Altitude is in Feet", "Reserved 3", "0,2,255,My Track,0,0,2,8421376", "0"]
    for t, a, o in zip(times, lats, lons):
        day = t / 86400 + UNIX_EPOCH_DAYS
        iso = str(np.datetime64(int(t), "s"))
        lines.append(f"{a:.8f},{o:.8f},0,100,{day:.10f},{iso[:10]},{iso[11:]}")
    lines += list(extra_lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_labels(user: Path, intervals):
    user.mkdir(parents=True, exist_ok=True)
    lines = ["Start Time\tEnd Time\tTransportation Mode"] + [f"{stamp(a)}\t{stamp(b)}\t{m}" for a, b, m in intervals]
    (user / "labels.txt").write_text("\n".join(lines) + "\n")


def equator_track(n, start=T0, step_seconds=1.0, step_degrees=0.0001, lon0=0.0):
    times = start + np.arange(n) * step_seconds
    return times, np.zeros(n), lon0 + np.arange(n) * step_degrees


def test_constant_speed_along_the_equator_is_hand_checkable(tmp_path):
    times, lats, lons = equator_track(12)
    write_plt(tmp_path / "Data" / "000" / "Trajectory" / "a.plt", times, lats, lons)
    write_labels(tmp_path / "Data" / "000", [(times[0], times[-1], "bus")])
    result = pipeline.process(tmp_path)
    assert result.x.shape == (1, 1, 200, 4) and result.y.tolist() == [2]
    speed = 0.0001 * EQUATOR_M_PER_DEG / 2.0  # 11.13 m per step over Δt + 1 s = 2 s
    np.testing.assert_allclose(result.x[0, 0, :11, 0], speed, rtol=1e-6)  # 12 points -> 11 rows
    np.testing.assert_allclose(result.x[0, 0, :11, 1:], 0, atol=1e-5)  # no acceleration, jerk or turning
    assert not result.x[0, 0, 11:].any()  # zero padding at the end
    assert result.users.tolist() == ["000"]


def test_linearly_increasing_speed_survives_smoothing(tmp_path):
    n = 30
    gaps = 0.00002 * np.arange(1, n)  # the k-th step covers k times the first one (at most 32 m/s)
    lons = np.concatenate([[0.0], np.cumsum(gaps)])
    times = T0 + np.arange(n)
    write_plt(tmp_path / "Data" / "000" / "Trajectory" / "a.plt", times, np.zeros(n), lons)
    write_labels(tmp_path / "Data" / "000", [(times[0], times[-1], "car")])
    result = pipeline.process(tmp_path)
    expected = gaps * EQUATOR_M_PER_DEG / 2.0
    np.testing.assert_allclose(result.x[0, 0, : n - 1, 0], expected, rtol=1e-5)  # SG (order 3) keeps a line
    assert result.y.tolist() == [3]


def _points(times, modes, tracks=None):
    n = len(times)
    return pipeline.Points(np.asarray(times, float), np.zeros(n), np.zeros(n), np.asarray(modes),
                           np.array(["u"] * n, dtype=object), np.zeros(n) if tracks is None else np.asarray(tracks))


def test_segments_end_at_mode_change_200_points_long_gaps_and_new_files():
    times = np.arange(450.0)
    segments = pipeline.segment_ids(_points(times, [0] * 450))
    assert np.bincount(segments).tolist() == [200, 200, 50]
    segments = pipeline.segment_ids(_points(np.arange(20.0), [0] * 12 + [1] * 8))
    assert np.bincount(segments).tolist() == [12, 8]
    gap = np.concatenate([np.arange(15.0), 15 + 1201 + np.arange(15.0)])
    assert np.bincount(pipeline.segment_ids(_points(gap, [0] * 30))).tolist() == [15, 15]
    exactly_20_minutes = np.concatenate([np.arange(15.0), 14 + 1200 + np.arange(15.0)])
    assert np.bincount(pipeline.segment_ids(_points(exactly_20_minutes, [0] * 30))).tolist() == [30]
    assert np.bincount(pipeline.segment_ids(_points(np.arange(20.0), [0] * 20, [0] * 10 + [1] * 10))).tolist() == [10, 10]


def test_short_segments_are_dropped_and_counted(tmp_path):
    user = tmp_path / "Data" / "000"
    times, lats, lons = equator_track(9)
    write_plt(user / "Trajectory" / "short.plt", times, lats, lons)
    times2, lats2, lons2 = equator_track(15, start=T0 + 5000)
    write_plt(user / "Trajectory" / "long.plt", times2, lats2, lons2)
    write_labels(user, [(times[0], times[-1], "walk"), (times2[0], times2[-1], "walk")])
    result = pipeline.process(tmp_path)
    assert len(result.y) == 1
    assert result.stats["counts"]["segments dropped: fewer than 10 points"] == 1


@pytest.mark.parametrize("mode,expected", [("walk", 0), ("bike", 1), ("bus", 2), ("car", 3), ("taxi", 3),
                                           ("subway", 4), ("railway", 4), ("train", 4), ("run", None), ("boat", None)])
def test_mode_map(tmp_path, mode, expected):
    times, lats, lons = equator_track(15, step_degrees=0.00001)
    write_plt(tmp_path / "Data" / "000" / "Trajectory" / "a.plt", times, lats, lons)
    write_labels(tmp_path / "Data" / "000", [(times[0], times[-1], mode)])
    if expected is None:
        with pytest.raises(DataError, match="kept no segment"):
            data._dataset(pipeline.process(tmp_path), "k", False, "test", {"root": str(tmp_path)})
    else:
        assert pipeline.process(tmp_path).y.tolist() == [expected]


def test_labels_apply_within_one_second_of_the_interval():
    labels = read_labels.__globals__["Labels"](np.array([100.0]), np.array([200.0]), np.array([2]))
    modes = pipeline.label_points(np.array([98.0, 99.0, 150.0, 201.0, 202.0]), labels)
    assert modes.tolist() == [-1, 2, 2, 2, -1]


def test_a_speed_spike_is_removed_as_an_outlier(tmp_path):
    times, lats, lons = equator_track(30, step_degrees=0.00002)  # 1.1 m/s walking
    lons = lons.copy()
    lons[15] += 0.01  # one fix 1.1 km off: > 7 m/s into and out of it
    write_plt(tmp_path / "Data" / "000" / "Trajectory" / "a.plt", times, lats, lons)
    write_labels(tmp_path / "Data" / "000", [(times[0], times[-1], "walk")])
    result = pipeline.process(tmp_path)
    counts = result.stats["counts"]
    assert counts["points removed: speed outlier"] == 2  # the steps into and out of the spike
    # features are not recomputed after a removal (as the authors did): the step after the spike still has the
    # acceleration from the spike's speed, and goes by the acceleration rule
    assert counts["points removed: acceleration outlier"] == 1
    kept = result.x[0, 0, :, 0]
    assert (kept > 0).sum() == 29 - 3 and kept.max() < 7


def test_savgol_matches_the_cookbook_formula():
    y = np.array([0.0, 1.0, 4.0, 2.0, 5.0, 7.0, 3.0, 8.0, 6.0, 9.0, 4.0, 10.0])
    half = 4
    coefficients = np.array([-21, 14, 39, 54, 59, 54, 39, 14, -21]) / 231.0  # window 9, order 3
    padded = np.concatenate([y[0] - np.abs(y[1:half + 1][::-1] - y[0]), y, y[-1] + np.abs(y[-half - 1:-1][::-1] - y[-1])])
    expected = np.convolve(coefficients[::-1], padded, mode="valid")
    np.testing.assert_allclose(pipeline.savgol_cookbook(y), expected, rtol=1e-12, atol=1e-12)


def test_malformed_plt_lines_are_skipped_and_counted_with_file_and_line(tmp_path):
    times, lats, lons = equator_track(12)
    path = write_plt(tmp_path / "a.plt", times, lats, lons, extra_lines=["39.9,116.3,0", "abc,116.3,0,100,39000.5,2008-01-01,00:00:00"])
    stats = ReadStats()
    trajectory = read_plt(path, stats)
    assert len(trajectory.time) == 12
    assert stats.counts["malformed or truncated point line"] == 2
    assert any(example.startswith(f"{path}:19") for example in stats.examples)  # 6 header + 12 points + 1


def test_empty_trajectory_and_user_without_labels_are_counted(tmp_path):
    write_plt(tmp_path / "Data" / "000" / "Trajectory" / "empty.plt", [], [], [])
    write_labels(tmp_path / "Data" / "000", [(T0, T0 + 10, "walk")])
    times, lats, lons = equator_track(12)
    write_plt(tmp_path / "Data" / "001" / "Trajectory" / "a.plt", times, lats, lons)
    stats = ReadStats()
    pipeline.read_points(tmp_path, stats)
    assert stats.counts["empty trajectory"] == 1
    assert stats.counts["user folder without labels.txt"] == 1


@pytest.mark.parametrize("line,message", [
    ("2008/13/45 10:00:00\t2008/08/29 10:00:00\twalk", "labels.txt:2: bad start time '2008/13/45 10:00:00'"),
    ("2008/08/29 10:00:00\tnoon\twalk", "labels.txt:2: bad end time 'noon'"),
    ("2008/08/29 10:00:00\t2008/08/29 09:00:00\twalk", "labels.txt:2: end time is before start time"),
])
def test_bad_label_lines_are_one_line_errors_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "labels.txt"
    path.write_text("Start Time\tEnd Time\tTransportation Mode\n" + line + "\n")
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        read_labels(path, ReadStats())


def test_unknown_mode_is_counted_and_dropped(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("Start Time\tEnd Time\tTransportation Mode\n2008/08/29 10:00:00\t2008/08/29 11:00:00\tspaceship\n")
    stats = ReadStats()
    labels = read_labels(path, stats)
    assert labels.mode.tolist() == [-1] and stats.counts["unknown mode 'spaceship'"] == 1


def test_missing_root_says_where_to_get_geolife(tmp_path):
    with pytest.raises(DataError, match="Geolife Trajectories 1.3"):
        data.load_geolife(str(tmp_path / "nowhere"), cache_dir=str(tmp_path / "cache"))


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_generator_is_deterministic_and_goes_through_the_real_reader(tmp_path):
    first = synthetic.generate(tmp_path / "a", seed=3, num_segments=250)
    synthetic.generate(tmp_path / "b", seed=3, num_segments=250)
    synthetic.generate(tmp_path / "c", seed=4, num_segments=250)
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")
    assert _tree_hash(tmp_path / "a") != _tree_hash(tmp_path / "c")
    assert list((tmp_path / "a" / "Data").glob("*/Trajectory/*.plt"))
    result = pipeline.process(tmp_path / "a")
    assert set(result.y.tolist()) == {0, 1, 2, 3, 4}
    assert 0.7 * 250 <= len(result.y) <= 1.3 * 250
    share = np.bincount(result.y) / len(result.y)
    np.testing.assert_allclose(share, np.array(synthetic.CLASS_MIX) / sum(synthetic.CLASS_MIX), atol=0.08)
    assert first["points"] > 0


def test_synthetic_loader_generates_once_then_hits_the_cache(tmp_path, monkeypatch):
    root, cache = tmp_path / "syn", tmp_path / "cache"
    first = data.load_synthetic(str(root), num_segments=150, cache_dir=str(cache))
    assert first.synthetic and "not comparable" in first.description and first.groups is not None

    def fail(*args, **kwargs):
        raise AssertionError("the pipeline ran again instead of using the cache")

    monkeypatch.setattr(pipeline, "process", fail)
    second = data.load_synthetic(str(root), num_segments=150, cache_dir=str(cache))
    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.y, second.y)
    key = data.cache_key(root)
    next(root.rglob("*.plt")).write_text("changed")
    assert data.cache_key(root) != key


def test_a_tree_another_process_generated_meanwhile_is_used_not_an_error(tmp_path, monkeypatch):
    """Two jobs of a parallel sweep generating the same synthetic tree: the one that renames second uses the first's."""
    root = tmp_path / "syn"
    generate = synthetic.generate

    def generate_while_another_process_finishes_first(staging, **settings):
        other = subprocess.run([sys.executable, "-c", "import sys; from replicate.papers.tmd_cnn import synthetic; "
                                "synthetic.ensure(sys.argv[1], num_segments=50)", str(root)],
                               capture_output=True, text=True, timeout=300)
        assert other.returncode == 0, other.stderr
        return generate(staging, **settings)

    monkeypatch.setattr(synthetic, "generate", generate_while_another_process_finishes_first)
    theirs = sorted(path.name for path in root.rglob("*")) if root.exists() else None
    summary = synthetic.ensure(root, num_segments=50)
    assert theirs is None and summary["num_segments"] == 50
    assert not list(tmp_path.glob(".syn.*"))  # our staging copy is gone; the tree in place is the other process's
    assert (root / "synthetic.json").is_file()


def test_a_foreign_folder_is_never_overwritten(tmp_path):
    root = tmp_path / "mine"
    root.mkdir()
    (root / "precious.txt").write_text("keep me")
    with pytest.raises(DataError, match="not written by the synthetic generator"):
        synthetic.ensure(root, num_segments=50)
    assert (root / "precious.txt").read_text() == "keep me"


def test_authors_pickle_loads_as_their_script_did(tmp_path):
    x = np.random.default_rng(0).normal(size=(6, 1, 200, 4))
    y = np.array([0, 1, 2, 3, 4, 0])
    path = tmp_path / "Revised_KerasData_Smoothing.pickle"
    path.write_bytes(pickle.dumps((x, y), protocol=2))
    dataset = data.load_pickle(str(path))
    np.testing.assert_allclose(dataset.x, x.astype(np.float32))
    assert dataset.y.tolist() == y.tolist() and dataset.class_names[3] == "driving"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert dataset.provenance["sha256"] == digest and digest[:12] in dataset.description
    assert "replicate cannot check that" in dataset.description and not dataset.synthetic
    # paper.data.synthetic=true: the harness marks the data as not the paper's (the report then says so)
    from replicate.executors.common import load_data

    marked = load_data({"data": {"_target_": "replicate.papers.tmd_cnn.data.load_pickle", "path": str(path), "synthetic": True}})
    assert marked.synthetic and marked.description.startswith("NOT the paper's data (paper.data.synthetic=true)")
    assert marked.provenance["sha256"] == digest
    with pytest.raises(DataError, match="Revised_KerasData_Smoothing.pickle"):
        data.load_pickle(str(tmp_path / "absent.pickle"))
    path.write_bytes(pickle.dumps((x[:, :, :100], y)))
    with pytest.raises(DataError, match=r"expected \(N, 1, 200, 4\)"):
        data.load_pickle(str(path))


# ------------------------------------------------------------------------- the GeoLife reader's edge cases

def test_a_label_nested_inside_another_labels_only_its_own_points():
    from replicate.papers.tmd_cnn.geolife import Labels

    labels = Labels(start=np.array([0.0, 100.0]), end=np.array([1000.0, 200.0]), mode=np.array([0, 2]))
    assert pipeline.label_points(np.array([50.0, 150.0, 500.0, 900.0]), labels).tolist() == [0, 2, 0, 0]
    # adjacent intervals sharing a second: the later-starting one takes it, as before
    adjacent = Labels(start=np.array([0.0, 100.0]), end=np.array([100.0, 200.0]), mode=np.array([0, 2]))
    assert pipeline.label_points(np.array([99.0, 100.0, 101.0, 200.5, 202.0]), adjacent).tolist() == [0, 2, 2, 2, -1]


def test_nested_labels_end_to_end_and_the_overlap_is_counted(tmp_path):
    times, lats, lons = equator_track(60)
    user = tmp_path / "Data" / "000"
    write_plt(user / "Trajectory" / "a.plt", times, lats, lons)
    write_labels(user, [(times[0], times[-1], "bus"), (times[20], times[30], "car")])
    stats = ReadStats()
    points = pipeline.read_points(tmp_path, stats)
    assert points.mode.tolist() == [2] * 20 + [3] * 11 + [2] * 29  # the bus trip resumes after the car ride
    key = "label interval overlapping or inside another (each point takes the shortest interval holding it)"
    assert stats.counts[key] == 1
    assert any(example.startswith(f"{user / 'labels.txt'}:3") for example in stats.examples)


def test_empty_labels_file_and_a_root_that_is_a_file_are_one_line_errors(tmp_path):
    (tmp_path / "labels.txt").write_bytes(b"")
    with pytest.raises(DataError, match=r"labels.txt: empty \(0 bytes\); fix: delete it"):
        read_labels(tmp_path / "labels.txt", ReadStats())
    archive = tmp_path / "Geolife Trajectories 1.3.zip"
    archive.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError, match="is a file, not the GeoLife folder; fix: unzip it"):
        data.load_geolife(str(archive), cache_dir=str(tmp_path / "cache"))


def test_a_non_utf8_byte_in_labels_names_its_line(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_bytes(b"Start Time\tEnd Time\tTransportation Mode\n2008/08/29 10:00:00\t2008/08/29 11:00:00\twalk\n"
                     b"2008/08/29 12:00:00\t2008/08/29 13:00:00\tb\xe9s\n")
    with pytest.raises(DataError, match=r"labels.txt:3: byte 0xe9 is not UTF-8 text; fix: re-save the file as UTF-8"):
        read_labels(path, ReadStats())


def test_label_errors_name_the_exact_line_after_a_blank_line(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("Start Time\tEnd Time\tTransportation Mode\n2008/08/29 10:00:00\t2008/08/29 11:00:00\twalk\n\n"
                    "2008/08/29 12:00:00\tnoon\twalk\n")
    with pytest.raises(DataError, match=r"labels.txt:4: bad end time 'noon'"):
        read_labels(path, ReadStats())


def test_lines_cut_inside_the_days_date_or_time_fields_are_malformed(tmp_path):
    times, lats, lons = equator_track(10)
    good = write_plt(tmp_path / "good.plt", times, lats, lons).read_text().splitlines()
    day = times[3] / 86400 + UNIX_EPOCH_DAYS
    cut = [
        good[9].rsplit(",", 2)[0][:-4],                      # inside days: 5 fields (once read as a 1910-ish time)
        good[9][: good[9].rindex(",") + 1] + "12:0",         # inside the time field
        f"0.00000000,0.00030000,0,100,{day:.10f},2008-08-29,{str(np.datetime64(int(times[3]), 's'))[11:17]}1",  # 14 s off
    ]
    path = write_plt(tmp_path / "cut.plt", times, lats, lons, extra_lines=cut)
    stats = ReadStats()
    trajectory = read_plt(path, stats)
    assert len(trajectory.time) == 10
    assert stats.counts["malformed or truncated point line"] == 3
    assert any(example.startswith(f"{path}:17:") for example in stats.examples)  # 6 header + 10 points + 1


def test_out_of_order_and_duplicate_points_are_counted_with_exact_lines(tmp_path):
    times = T0 + np.array([0.0, 1.0, 2.0, 2.0, 5.0, 4.0, 6.0])
    path = write_plt(tmp_path / "a.plt", times, np.zeros(7), np.arange(7) * 0.0001)
    text = path.read_text().splitlines()
    text.insert(8, "")  # a blank line after the second point shifts every later line by one
    path.write_text("\n".join(text) + "\n")
    stats = ReadStats()
    trajectory = read_plt(path, stats)
    assert np.all(np.diff(trajectory.time) >= 0) and len(trajectory.time) == 7  # re-sorted, duplicates kept
    assert stats.counts["point earlier than the line before it (re-sorted into time order)"] == 1
    assert stats.counts["duplicate timestamp (kept, as the authors' code did)"] == 1
    assert f"{path}:13: point earlier than the line before it (re-sorted into time order)" in stats.examples
    assert f"{path}:11: duplicate timestamp (kept, as the authors' code did)" in stats.examples
