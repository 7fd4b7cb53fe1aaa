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
        self.note(reason, where, number, "skipped")

    def note(self, reason: str, where: str, number: int = 1, outcome: str = "kept") -> None:
        """Count something read that was kept but not as it stood (re-sorted, duplicated, overlapping)."""
        self.counts[reason] += number
        if len(self.examples) < 20:
            self.examples.append(f"{where}: {reason}")
            log.warning("%s: %s (%s)", where, reason, outcome)


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
    """Points of one .plt file in time order. Rules, each counted with the file and its exact line:
    - a malformed line (not 7 fields, a non-numeric or out-of-range value, an unparsable date or time, or a
      `days` value that disagrees with the line's date and time by over a second, as a line cut inside one of
      those fields does) is skipped;
    - points out of time order are put back in order (stable);
    - duplicate timestamps are kept, as the authors' code kept them (their step is then the added 1 s).
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error}); fix: check the file's permissions") from error
    # (1-based file line number, text) of every non-blank line after the header
    body = [(number, line) for number, line in enumerate(text.splitlines()[PLT_HEADER_LINES:], start=PLT_HEADER_LINES + 1)
            if line.strip()]
    if not body:
        stats.skip("empty trajectory", str(path))
        return None
    numbers = np.array([number for number, _ in body])
    lines = [line for _, line in body]
    fields_ok = np.array([line.count(",") == 6 for line in lines])
    frame = pd.read_csv(io.StringIO("\n".join(line for line, ok in zip(lines, fields_ok) if ok)), header=None,
                        dtype=str, names=range(7), engine="c", keep_default_na=False) if fields_ok.any() else None
    bad = ~fields_ok
    time = np.full(len(lines), np.nan)
    lat, lon = np.full(len(lines), np.nan), np.full(len(lines), np.nan)
    if frame is not None:
        rows = np.flatnonzero(fields_ok)
        lat[rows] = pd.to_numeric(frame[0], errors="coerce").to_numpy(float)
        lon[rows] = pd.to_numeric(frame[1], errors="coerce").to_numpy(float)
        days = pd.to_numeric(frame[4], errors="coerce").to_numpy(float)
        stamp = pd.to_datetime(frame[5].str.strip() + " " + frame[6].str.strip(), format="%Y-%m-%d %H:%M:%S",
                               errors="coerce")
        stamp_s = np.where(stamp.isna(), np.nan, stamp.to_numpy("datetime64[s]").astype(np.int64).astype(float))
        time[rows] = (days - UNIX_EPOCH_DAYS) * 86400.0
        with np.errstate(invalid="ignore"):
            agrees = np.abs(time[rows] - stamp_s) <= 1.0
        bad[rows] |= ~agrees
    with np.errstate(invalid="ignore"):
        bad |= ~np.isfinite(lat) | ~np.isfinite(lon) | ~np.isfinite(time) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if bad.any():
        stats.skip("malformed or truncated point line", f"{path}:{numbers[bad][0]}", int(bad.sum()))
    keep = ~bad
    if not keep.any():
        stats.skip("no valid point in trajectory", str(path))
        return None
    time, lat, lon, numbers = time[keep], lat[keep], lon[keep], numbers[keep]
    backwards = np.flatnonzero(np.diff(time) < 0)
    if backwards.size:
        stats.note("point earlier than the line before it (re-sorted into time order)", f"{path}:{numbers[backwards[0] + 1]}",
                   int(backwards.size))
    order = np.argsort(time, kind="stable")
    time, lat, lon, numbers = time[order], lat[order], lon[order], numbers[order]
    repeated = np.flatnonzero(np.diff(time) == 0)
    if repeated.size:
        stats.note("duplicate timestamp (kept, as the authors' code did)", f"{path}:{numbers[repeated[0] + 1]}",
                   int(repeated.size))
    return Trajectory(path, time, lat, lon)


def read_labels(path: Path, stats: ReadStats) -> Labels:
    """Label intervals of one user; a bad line is an error naming file and exact line, an unknown mode and
    overlapping (or nested) intervals are counted."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error}); fix: check the file's permissions") from error
    if not raw.strip():
        raise DataError(f"{path}: empty ({len(raw)} bytes); fix: delete it (that user's trajectories are then skipped as "
                        "unlabelled) or restore GeoLife's header line and intervals")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: byte 0x{raw[error.start]:02x} is not UTF-8 text; fix: re-save the file as "
                        "UTF-8 or ASCII, as GeoLife ships it") from error
    # file line numbers of the non-blank lines (pandas skips blank ones): the first is the header
    numbers = [number for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    try:
        frame = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.ParserError as error:
        raise DataError(f"{path}: cannot be parsed as GeoLife labels ({str(error).strip()}); fix: tab-separated 'Start Time\\tEnd Time\\tTransportation Mode'") from error
    expected = ["Start Time", "End Time", "Transportation Mode"]
    if [c.strip() for c in frame.columns[:3]] != expected or frame.shape[1] < 3:
        raise DataError(f"{path}:{numbers[0]}: header is {list(frame.columns)}, expected {expected}; fix: restore GeoLife's header line")
    line_of = numbers[1:]
    start = pd.to_datetime(frame.iloc[:, 0].str.strip(), format="%Y/%m/%d %H:%M:%S", errors="coerce")
    end = pd.to_datetime(frame.iloc[:, 1].str.strip(), format="%Y/%m/%d %H:%M:%S", errors="coerce")
    for column, values in (("start", start), ("end", end)):
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raw_value = frame.iloc[row, 0 if column == "start" else 1]
            raise DataError(f"{path}:{line_of[row]}: bad {column} time {raw_value!r}; fix: use 'YYYY/MM/DD HH:MM:SS' as GeoLife does")
    start_s = start.to_numpy("datetime64[s]").astype(np.int64).astype(float)
    end_s = end.to_numpy("datetime64[s]").astype(np.int64).astype(float)
    backwards = end_s < start_s
    if backwards.any():
        row = int(np.flatnonzero(backwards)[0])
        raise DataError(f"{path}:{line_of[row]}: end time is before start time; fix: correct or delete that line")
    modes = frame.iloc[:, 2].str.strip().str.lower()
    mode_ids = np.full(len(frame), -1, dtype=np.int64)
    for row, mode in enumerate(modes):
        if mode in MODE_MAP:
            mode_ids[row] = MODE_MAP[mode]
        elif mode not in DROPPED_MODES:
            stats.skip(f"unknown mode {mode!r}", f"{path}:{line_of[row]}")
    order = np.argsort(start_s, kind="stable")
    start_s, end_s, mode_ids = start_s[order], end_s[order], mode_ids[order]
    # an interval that starts before an earlier one has ended overlaps it (or lies inside it)
    overlaps = np.flatnonzero(start_s[1:] < np.maximum.accumulate(end_s)[:-1]) + 1
    if overlaps.size:
        stats.note("label interval overlapping or inside another (each point takes the shortest interval holding it)",
                   f"{path}:{line_of[int(order[overlaps[0]])]}", int(overlaps.size))
    return Labels(start_s, end_s, mode_ids)


def user_folders(root: Path) -> list[Path]:
    data = root / "Data" if (root / "Data").is_dir() else root
    if not root.exists():
        raise DataError(f"GeoLife folder not found: {root}; fix: {WHERE_TO_GET}")
    if not root.is_dir():
        raise DataError(f"{root}: is a file, not the GeoLife folder; fix: unzip it and pass the folder "
                        "'Geolife Trajectories 1.3' (it holds Data/<user>/...)")
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
