"""GeoLife 1.3 reader: Data/<user>/Trajectory/*.plt points and Data/<user>/labels.txt intervals."""
from __future__ import annotations

import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.errors import DataError

log = logging.getLogger(__name__)

# The authors' five classes; run, motorcycle, boat, airplane and other are dropped.
MODE_MAP = {"walk": 0, "bike": 1, "bus": 2, "car": 3, "taxi": 3, "subway": 4, "railway": 4, "train": 4}
DROPPED_MODES = {"run", "motorcycle", "boat", "airplane", "other"}
CLASS_NAMES = ["walk", "bike", "bus", "driving", "train"]
# GeoLife's `days` column counts days since 1899-12-30; the Unix epoch is day 25569.
UNIX_EPOCH_DAYS = 25569.0
PLT_HEADER_LINES = 6
WHERE_TO_GET = ("download 'Geolife Trajectories 1.3' from Microsoft Research on a machine with internet, unzip it, "
                "and pass paper.data.root='/path/to/Geolife Trajectories 1.3'")


@dataclass
class ReadStats:
    """What reading skipped, counted (the first few places are kept for the log and the report)."""

    counts: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str, number: int = 1) -> None:
        self.counts[reason] += number
        if len(self.examples) < 20:
            self.examples.append(f"{where}: {reason}")
            log.warning("%s: %s (skipped)", where, reason)


@dataclass
class Labels:
    start: np.ndarray  # unix seconds, sorted
    end: np.ndarray
    mode: np.ndarray  # class id 0..4, or -1 for a dropped mode


@dataclass
class Trajectory:
    """One .plt file's valid points in time order."""

    path: Path
    time: np.ndarray  # unix seconds (float64)
    lat: np.ndarray
    lon: np.ndarray


def read_plt(path: Path, stats: ReadStats) -> Trajectory | None:
    """Points of one .plt file; malformed lines (truncated, non-numeric, out of range) are skipped and counted."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error}); fix: check the file's permissions") from error
    lines = text.splitlines()[PLT_HEADER_LINES:]
    lines = [line for line in lines if line.strip()]
    if not lines:
        stats.skip("empty trajectory", str(path))
        return None
    frame = pd.read_csv(io.StringIO("\n".join(lines)), header=None, dtype=str, names=range(7),
                        on_bad_lines="skip", engine="c", keep_default_na=False)
    if len(frame) < len(lines):
        stats.skip("line with too many fields", str(path), len(lines) - len(frame))
    lat = pd.to_numeric(frame[0], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(frame[1], errors="coerce").to_numpy(float)
    days = pd.to_numeric(frame[4], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(lat) | ~np.isfinite(lon) | ~np.isfinite(days) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        # line numbers are 1-based and count the 6 header lines (exact when no line was dropped above)
        stats.skip("malformed or truncated point line", f"{path}:{first + PLT_HEADER_LINES + 1}", int(bad.sum()))
    keep = ~bad
    if not keep.any():
        stats.skip("no valid point in trajectory", str(path))
        return None
    time = (days[keep] - UNIX_EPOCH_DAYS) * 86400.0
    order = np.argsort(time, kind="stable")
    return Trajectory(path, time[order], lat[keep][order], lon[keep][order])


def read_labels(path: Path, stats: ReadStats) -> Labels:
    """Label intervals of one user; a bad time is an error naming file and line, an unknown mode is counted."""
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot be parsed as GeoLife labels ({error}); fix: tab-separated 'Start Time\\tEnd Time\\tTransportation Mode'") from error
    expected = ["Start Time", "End Time", "Transportation Mode"]
    if [c.strip() for c in frame.columns[:3]] != expected:
        raise DataError(f"{path}:1: header is {list(frame.columns)}, expected {expected}; fix: restore GeoLife's header line")
    start = pd.to_datetime(frame.iloc[:, 0].str.strip(), format="%Y/%m/%d %H:%M:%S", errors="coerce")
    end = pd.to_datetime(frame.iloc[:, 1].str.strip(), format="%Y/%m/%d %H:%M:%S", errors="coerce")
    for column, values in (("start", start), ("end", end)):
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raw = frame.iloc[row, 0 if column == "start" else 1]
            raise DataError(f"{path}:{row + 2}: bad {column} time {raw!r}; fix: use 'YYYY/MM/DD HH:MM:SS' as GeoLife does")
    start_s = start.to_numpy("datetime64[s]").astype(np.int64).astype(float)
    end_s = end.to_numpy("datetime64[s]").astype(np.int64).astype(float)
    backwards = end_s < start_s
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0])
        raise DataError(f"{path}:{row + 2}: end time is before start time; fix: correct or delete that line")
    modes = frame.iloc[:, 2].str.strip().str.lower()
    mode_ids = np.full(len(frame), -1, dtype=np.int64)
    for row, mode in enumerate(modes):
        if mode in MODE_MAP:
            mode_ids[row] = MODE_MAP[mode]
        elif mode not in DROPPED_MODES:
            stats.skip(f"unknown mode {mode!r}", f"{path}:{row + 2}")
    order = np.argsort(start_s, kind="stable")
    return Labels(start_s[order], end_s[order], mode_ids[order])


def user_folders(root: Path) -> list[Path]:
    data = root / "Data" if (root / "Data").is_dir() else root
    if not root.exists():
        raise DataError(f"GeoLife folder not found: {root}; fix: {WHERE_TO_GET}")
    users = sorted(p for p in data.iterdir() if p.is_dir())
    if not users:
        raise DataError(f"{data}: no user folders (expected Data/<user>/Trajectory/*.plt); fix: {WHERE_TO_GET}")
    return users


def raw_files(root: Path) -> list[Path]:
    """Every file the pipeline reads (for the cache key)."""
    files = []
    for user in user_folders(root):
        files += sorted((user / "Trajectory").glob("*.plt"))
        if (user / "labels.txt").exists():
            files.append(user / "labels.txt")
    return files
