"""A deterministic simulator writing GeoLife-format trajectories (.plt + labels.txt) for the five modes."""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

from replicate.papers.tmd_cnn.geolife import UNIX_EPOCH_DAYS

# Test supports of the real set (walk, bike, bus, driving, train): the default class mix.
CLASS_MIX = (2122, 1121, 1439, 888, 918)
GENERATOR_VERSION = 2
PLT_HEADER = "Geolife trajectory\nWGS 84\nAltitude is in Feet\nReserved 3\n0,2,255,My Track,0,0,2,8421376\n0\n"
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Motion:
    """How one mode moves: cruise speed (m/s), its spread, stops per km, dwell time at a stop, acceleration."""

    cruise: float
    spread: float
    stops_per_km: float
    dwell: tuple[float, float]
    acceleration: float
    turn: float  # std of the heading change per second (degrees)
    names: tuple[str, ...]  # GeoLife label strings for this class


MOTION = [
    Motion(1.35, 0.25, 2.0, (5, 40), 0.5, 6.0, ("walk",)),
    Motion(4.5, 1.0, 0.8, (5, 30), 0.8, 3.0, ("bike",)),
    Motion(9.5, 2.0, 2.5, (15, 45), 1.0, 1.5, ("bus",)),
    Motion(14.0, 4.0, 1.2, (10, 70), 2.0, 1.5, ("car", "taxi")),
    Motion(20.0, 4.0, 0.5, (30, 60), 0.8, 0.4, ("subway", "train", "railway")),
]


def speed_profile(motion: Motion, seconds: int, rng: np.random.Generator) -> np.ndarray:
    """Speed each second: cruise with slow random variation (AR(1)), dropping to 0 at stops (stations, lights, pauses)."""
    noise = lfilter([1.0], [1.0, -0.98], rng.normal(0, motion.spread * 0.2, seconds))
    cruise = np.clip(motion.cruise * rng.uniform(0.8, 1.2) + noise, 0.2 * motion.cruise, None)
    envelope = np.ones(seconds)
    distance = np.cumsum(cruise)
    expected_stops = distance[-1] / 1000 * motion.stops_per_km
    ramp = max(2, int(motion.cruise / motion.acceleration))
    for centre in rng.uniform(0, distance[-1], rng.poisson(expected_stops)):
        at = int(np.searchsorted(distance, centre))
        dwell = int(rng.uniform(*motion.dwell))
        low, high = max(0, at - ramp), min(seconds, at + dwell + ramp)
        shape = np.concatenate([np.linspace(1, 0, ramp), np.zeros(dwell), np.linspace(0, 1, ramp)])[: high - low]
        envelope[low:high] = np.minimum(envelope[low:high], shape[: high - low])
    return cruise * envelope


def leg(motion: Motion, points: int, start_time: float, origin: tuple[float, float], rng: np.random.Generator):
    """One leg of `points` GPS fixes: times (unix s), latitudes and longitudes."""
    interval = rng.choice([1, 2, 3, 5], p=[0.4, 0.3, 0.15, 0.15])
    steps = np.maximum(1, interval + rng.integers(-1, 2, points - 1) * (interval > 1))
    if points > 60 and rng.random() < 0.03:  # a long gap (signal lost): the pipeline cuts the segment there
        steps[rng.integers(10, points - 10)] = rng.integers(1300, 2400)
    seconds_at = np.concatenate([[0], np.cumsum(steps)])
    total = int(seconds_at[-1]) + 1
    speed = speed_profile(motion, total, rng)
    heading = np.deg2rad(rng.uniform(0, 360) + np.cumsum(lfilter([1.0], [1.0, -0.9], rng.normal(0, motion.turn, total))))
    east, north = np.cumsum(speed * np.sin(heading)), np.cumsum(speed * np.cos(heading))
    east, north = east[seconds_at] + rng.normal(0, 3.0, points), north[seconds_at] + rng.normal(0, 3.0, points)
    lat = origin[0] + north / METRES_PER_DEGREE
    lon = origin[1] + east / (METRES_PER_DEGREE * math.cos(math.radians(origin[0])))
    return start_time + seconds_at, lat, lon


def _format_points(time: np.ndarray, lat: np.ndarray, lon: np.ndarray, rng: np.random.Generator) -> str:
    days = time / 86400.0 + UNIX_EPOCH_DAYS
    stamps = np.datetime_as_string(np.round(time).astype("datetime64[s]"), unit="s")
    altitude = rng.integers(50, 400, len(time))
    rows = zip(lat.tolist(), lon.tolist(), altitude.tolist(), days.tolist(), stamps.tolist())
    return "".join(f"{a:.6f},{o:.6f},0,{h},{d:.10f},{s[:10]},{s[11:]}\n" for a, o, h, d, s in rows)


def _stamp(seconds: float) -> str:
    return str(np.datetime64(int(round(seconds)), "s")).replace("-", "/").replace("T", " ")


def generate(root: str | Path, seed: int = 0, num_segments: int = 32000, num_users: int | None = None,
             class_mix: tuple[int, ...] = CLASS_MIX) -> dict:
    """Write Data/<user>/Trajectory/*.plt and Data/<user>/labels.txt under `root`; same seed, same bytes.

    Legs are drawn until each class has its share of about `num_segments` segments of up to 200 points.
    A few legs carry a mode the authors drop ('run', 'boat') or no label at all, so dropping is exercised.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    num_users = num_users or max(3, min(60, num_segments // 200))
    # ~8% of drawn segments are lost on the way (users without labels.txt, short or outlier-ridden segments)
    quota = np.round(np.asarray(class_mix) / np.sum(class_mix) * num_segments * 1.08).astype(int)
    made = np.zeros(len(quota), dtype=int)
    users: dict[int, dict[str, list]] = {u: {"trips": [], "labels": []} for u in range(num_users)}
    clock = {u: 1_214_000_000.0 + u * 86400.0 * 3 for u in range(num_users)}  # from mid 2008, as GeoLife
    while (made < quota).any():
        user = int(rng.integers(num_users))
        origin = (39.9 + rng.normal(0, 0.05), 116.3 + rng.normal(0, 0.05))  # around Beijing
        times, lats, lons = [], [], []
        t = clock[user]
        for _ in range(int(rng.integers(1, 4))):
            open_classes = np.flatnonzero(made < quota)
            if len(open_classes) == 0:
                break
            mode = int(rng.choice(open_classes, p=(quota - made)[open_classes] / (quota - made)[open_classes].sum()))
            points = int(rng.choice([rng.integers(10, 200), rng.integers(200, 1200)], p=[0.35, 0.65]))
            leg_time, lat, lon = leg(MOTION[mode], points, t, origin, rng)
            label = rng.choice(MOTION[mode].names)
            if rng.random() < 0.02:
                label = rng.choice(["run", "boat"])  # a mode the authors drop
            elif rng.random() < 0.02:
                label = None  # points nobody labelled
            else:
                made[mode] += int(np.ceil(points / 200))
            if label is not None:
                users[user]["labels"].append((leg_time[0], leg_time[-1], str(label)))
            times.append(leg_time), lats.append(lat), lons.append(lon)
            origin = (lat[-1], lon[-1])
            t = leg_time[-1] + rng.uniform(30, 180)
        clock[user] = t + rng.uniform(3600, 86400)
        users[user]["trips"].append((np.concatenate(times), np.concatenate(lats), np.concatenate(lons)))

    points_written = 0
    for user, content in users.items():
        folder = root / "Data" / f"{user:03d}"
        (folder / "Trajectory").mkdir(parents=True, exist_ok=True)
        for time, lat, lon in content["trips"]:
            name = str(np.datetime64(int(time[0]), "s")).replace("-", "").replace(":", "").replace("T", "")
            (folder / "Trajectory" / f"{name}.plt").write_text(PLT_HEADER + _format_points(time, lat, lon, rng))
            points_written += len(time)
        if content["labels"] and user % 17 != 16:  # every 17th user has no labels.txt, as in GeoLife
            lines = ["Start Time\tEnd Time\tTransportation Mode"]
            lines += [f"{_stamp(a)}\t{_stamp(b)}\t{m}" for a, b, m in sorted(content["labels"])]
            (folder / "labels.txt").write_text("\n".join(lines) + "\n")
    return {"seed": seed, "num_segments": num_segments, "num_users": num_users, "points": points_written,
            "segments_by_class": made.tolist(), "generator_version": GENERATOR_VERSION}


def ensure(root: str | Path, seed: int = 0, num_segments: int = 32000) -> dict:
    """Generate the tree once: reuse it when its marker records the same settings; write atomically (temp dir + rename).

    Only a tree this generator wrote (it has synthetic.json) is ever replaced.
    """
    from replicate.errors import DataError

    root = Path(root)
    settings = {"seed": seed, "num_segments": num_segments, "generator_version": GENERATOR_VERSION}
    marker = root / "synthetic.json"
    if root.exists():
        if not marker.exists():
            raise DataError(f"{root}: exists but was not written by the synthetic generator; fix: pass another paper.data.root")
        summary = json.loads(marker.read_text())
        if {k: summary.get(k) for k in settings} == settings:
            return summary
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        summary = generate(staging, seed=seed, num_segments=num_segments)
        (staging / "synthetic.json").write_text(json.dumps(summary, indent=1) + "\n")
        try:
            os.replace(staging, root)
        except OSError:
            # Another process (a parallel sweep's job, say) generated the same tree meanwhile and renamed it into
            # place first: the generator is deterministic, so its tree is this one; use it, drop ours.
            if not (marker.exists() and {k: json.loads(marker.read_text()).get(k) for k in settings} == settings):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return summary
