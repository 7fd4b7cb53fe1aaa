"""The authors' pipeline, vectorised: label points, segment, compute motion features, remove outliers, smooth, pad."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import Geod
from scipy.signal import savgol_coeffs

from replicate.papers.tmd_cnn.geolife import ReadStats, read_labels, read_plt, user_folders

log = logging.getLogger(__name__)

SEGMENT_POINTS = 200
MIN_POINTS = 10
MAX_GAP_SECONDS = 1200.0
# Outlier limits by class (walk, bike, bus, driving, train), from the authors' code.
SPEED_LIMIT = np.array([7.0, 12.0, 33.3, 50.0, 33.3])
ACCELERATION_LIMIT = np.array([3.0, 3.0, 2.0, 10.0, 3.0])
SAVGOL_WINDOW, SAVGOL_ORDER = 9, 3
_SAVGOL = savgol_coeffs(SAVGOL_WINDOW, SAVGOL_ORDER)  # computed once: it was 60% of the pipeline's time per call
_GEOD = Geod(ellps="WGS84")


@dataclass
class Points:
    """Labelled points of every user in time order; arrays of shape (P,)."""

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    mode: np.ndarray
    user: np.ndarray
    track: np.ndarray  # a running id of the .plt file: segments never cross files


@dataclass
class Processed:
    x: np.ndarray  # (N, 1, 200, 4) float32: speed, acceleration, jerk, bearing rate
    y: np.ndarray  # (N,) int64 class ids
    users: np.ndarray  # (N,) user folder names
    stats: dict[str, Any] = field(default_factory=dict)


def read_points(root: Path, stats: ReadStats) -> Points:
    """Every labelled point. A point gets the label whose interval contains its time within ±1 s."""
    parts = []
    track = 0
    for user in user_folders(root):
        labels_path = user / "labels.txt"
        plt_files = sorted((user / "Trajectory").glob("*.plt"))
        if not labels_path.exists():
            stats.skip("user folder without labels.txt", str(user), 1)
            continue
        labels = read_labels(labels_path, stats)
        for path in plt_files:
            trajectory = read_plt(path, stats)
            if trajectory is None:
                continue
            stats.counts["points read"] += len(trajectory.time)
            mode = label_points(trajectory.time, labels)
            keep = mode >= 0
            stats.counts["points labelled"] += int(keep.sum())
            stats.counts["points dropped: in no label interval, or labelled with a dropped mode"] += int((~keep).sum())
            parts.append((trajectory.time[keep], trajectory.lat[keep], trajectory.lon[keep], mode[keep],
                          np.full(int(keep.sum()), user.name, dtype=object), np.full(int(keep.sum()), track)))
            track += 1
    if not parts:
        return Points(*(np.empty(0) for _ in range(6)))
    return Points(*(np.concatenate(column) for column in zip(*parts)))


def label_points(time: np.ndarray, labels) -> np.ndarray:
    """Class id of each point (-1: no label, or a dropped mode): the label interval that contains its time, within
    ±1 s as the authors allowed. Where intervals overlap or nest (a car ride inside a bus trip), the point takes the
    shortest interval containing it, the inner one; an interval containing it exactly beats one that only reaches
    it through the ±1 s; among equals the later-starting wins."""
    time = np.asarray(time, dtype=float)
    mode = np.full(len(time), -1, dtype=np.int64)
    if len(time) == 0 or len(labels.start) == 0:
        return mode
    near = np.flatnonzero((labels.end + 1.0 >= time.min()) & (labels.start - 1.0 <= time.max()))
    if near.size == 0:
        return mode
    order = np.argsort(time, kind="stable")
    sorted_time = time[order]
    # longest first (ties: earlier start first), so shorter and later intervals overwrite
    ranked = near[np.lexsort((labels.start[near], -(labels.end[near] - labels.start[near])))]
    # GeoLife times are whole seconds, read back through a float `days` column: "exactly" means within half a second
    for tolerance in (1.0, 0.5):
        for i in ranked:
            low = np.searchsorted(sorted_time, labels.start[i] - tolerance, side="left")
            high = np.searchsorted(sorted_time, labels.end[i] + tolerance, side="right")
            mode[order[low:high]] = labels.mode[i]
    return mode


def segment_ids(points: Points) -> np.ndarray:
    """A segment id per point: a new segment at a mode change, a new file, a gap over 20 min, or after 200 points.

    Points stay in time order (the authors' set intersection could reorder them and give negative time steps;
    we deliberately do not reproduce that bug).
    """
    count = len(points.time)
    if count == 0:
        return np.empty(0, dtype=np.int64)
    breaks = np.ones(count, dtype=bool)
    breaks[1:] = ((points.mode[1:] != points.mode[:-1]) | (points.track[1:] != points.track[:-1])
                  | (np.diff(points.time) > MAX_GAP_SECONDS))
    run = np.cumsum(breaks) - 1
    run_start = np.flatnonzero(breaks)
    position = np.arange(count) - run_start[run]
    chunk_break = breaks | (position % SEGMENT_POINTS == 0)
    return np.cumsum(chunk_break) - 1


def _within(segment: np.ndarray) -> np.ndarray:
    """True where the previous element belongs to the same segment."""
    same = np.zeros(len(segment), dtype=bool)
    same[1:] = segment[1:] == segment[:-1]
    return same


def features(points: Points, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-step features of every segment: a segment of n points gives n-1 rows (one per consecutive pair).

    Row k (pair k, k+1): distance d_k (geodesic, WGS84), step s_k = Δt_k + 1 s (the authors add one second),
    speed v_k = d_k / s_k; acceleration a_k = (v_k - v_{k-1}) / s_k, jerk j_k = (a_k - a_{k-1}) / s_k and
    bearing rate r_k = |b_k - b_{k-1}| (degrees per point, forward azimuth, not wrapped), each 0 for k = 0.
    Returns (values (R, 4), segment id (R,), mode (R,)).
    """
    pair = _within(segment)[1:]  # pair k -> k+1 inside one segment
    azimuth, _, distance = _GEOD.inv(points.lon[:-1], points.lat[:-1], points.lon[1:], points.lat[1:])
    step = np.diff(points.time) + 1.0
    azimuth, distance, step = azimuth[pair], distance[pair], step[pair]
    row_segment = segment[:-1][pair]
    mode = points.mode[:-1][pair]
    speed = distance / step
    first = ~_within(row_segment)
    acceleration = np.where(first, 0.0, np.diff(speed, prepend=0.0) / step)
    jerk = np.where(first, 0.0, np.diff(acceleration, prepend=0.0) / step)
    bearing_rate = np.where(first, 0.0, np.abs(np.diff(azimuth, prepend=0.0)))
    return np.stack([speed, acceleration, jerk, bearing_rate], axis=1), row_segment, mode


def _drop_short(keep: np.ndarray, segment: np.ndarray, stats: ReadStats, reason: str) -> np.ndarray:
    """Also drop every row of a segment left with fewer than MIN_POINTS rows."""
    _, inverse, counts = np.unique(segment[keep], return_inverse=True, return_counts=True)
    short = np.zeros(len(segment), dtype=bool)
    short[np.flatnonzero(keep)] = counts[inverse] < MIN_POINTS
    dropped = len(np.unique(segment[short]))
    if dropped:
        stats.counts[f"segments dropped: fewer than {MIN_POINTS} values after {reason}"] += dropped
    return keep & ~short


def remove_outliers(values: np.ndarray, segment: np.ndarray, mode: np.ndarray, stats: ReadStats) -> np.ndarray:
    """Rows to keep: first speed < 0 or over the mode's limit, then |acceleration| over the mode's limit, go."""
    keep = (values[:, 0] >= 0) & (values[:, 0] <= SPEED_LIMIT[mode])
    stats.counts["points removed: speed outlier"] += int((~keep).sum())
    keep = _drop_short(keep, segment, stats, "speed outliers")
    accel_ok = np.abs(values[:, 1]) <= ACCELERATION_LIMIT[mode]
    stats.counts["points removed: acceleration outlier"] += int((keep & ~accel_ok).sum())
    keep = _drop_short(keep & accel_ok, segment, stats, "acceleration outliers")
    return keep


def savgol_cookbook(y: np.ndarray) -> np.ndarray:
    """The SciPy-cookbook Savitzky-Golay smoother (window 9, order 3): ends padded by mirroring about the end
    values. y: (n,) or (n, channels) with n >= 9, each column smoothed."""
    half = SAVGOL_WINDOW // 2
    first = y[0] - np.abs(y[1:half + 1][::-1] - y[0])
    last = y[-1] + np.abs(y[-half - 1:-1][::-1] - y[-1])
    padded = np.concatenate([first, y, last])
    # np.convolve per column, as the cookbook: a matrix product would differ in the last bits of the result
    kernel = _SAVGOL[::-1]
    if padded.ndim == 1:
        return np.convolve(kernel, padded, mode="valid")
    return np.stack([np.convolve(kernel, padded[:, c], mode="valid") for c in range(padded.shape[1])], axis=1)


def to_tensor(values: np.ndarray, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth each segment's features and zero-pad to (N, 1, 200, 4); returns (tensor, first row of each segment)."""
    starts = np.flatnonzero(~_within(segment))
    ends = np.append(starts[1:], len(segment))
    tensor = np.zeros((len(starts), 1, SEGMENT_POINTS, 4), dtype=np.float32)
    for index, (start, end) in enumerate(zip(starts, ends)):
        tensor[index, 0, : end - start] = savgol_cookbook(values[start:end])
    return tensor, starts


def process(root: str | Path) -> Processed:
    """Raw GeoLife tree -> the model tensor, labels and user ids, with counts of everything skipped or dropped."""
    stats = ReadStats()
    points = read_points(Path(root), stats)
    segment = segment_ids(points)
    sizes = np.bincount(segment) if len(segment) else np.empty(0, dtype=int)
    stats.counts["segments made"] += len(sizes)
    long_enough = sizes[segment] >= MIN_POINTS if len(segment) else np.empty(0, dtype=bool)
    stats.counts[f"segments dropped: fewer than {MIN_POINTS} points"] += int((sizes < MIN_POINTS).sum())
    kept = Points(*(getattr(points, name)[long_enough] for name in ("time", "lat", "lon", "mode", "user", "track")))
    segment = segment[long_enough]
    values, row_segment, row_mode = features(kept, segment)
    keep = remove_outliers(values, row_segment, row_mode, stats)
    values, row_segment, row_mode = values[keep], row_segment[keep], row_mode[keep]
    tensor, starts = to_tensor(values, row_segment)
    # a segment's user: that of its first point (segment ids are non-decreasing along the points)
    users = kept.user[np.searchsorted(segment, row_segment[starts])].astype(str)
    stats.counts["segments kept"] += len(tensor)
    log.info("GeoLife pipeline: %d segments from %d points (%s)", len(tensor), stats.counts["points read"],
             ", ".join(f"{k}: {v}" for k, v in sorted(stats.counts.items())))
    return Processed(tensor, row_mode[starts].astype(np.int64), users,
                     {"counts": dict(stats.counts), "examples": stats.examples})
