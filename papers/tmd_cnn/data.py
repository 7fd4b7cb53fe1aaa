"""Loaders for tmd_cnn: real GeoLife, the authors' processed pickle, and synthetic GeoLife-format data (default)."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

from replicate.papers.tmd_cnn import pipeline, synthetic
from replicate.papers.tmd_cnn.geolife import CLASS_NAMES, raw_files
from replicate.dataset import Dataset
from replicate.errors import DataError

log = logging.getLogger(__name__)
PIPELINE_VERSION = 2  # 2: nested labels take the inner one; lines cut in date/time skipped. Bump when the pipeline's output changes, so caches are rebuilt


def cache_key(root: Path) -> str:
    """SHA-256 over every raw file's relative path and content, plus the pipeline version."""
    digest = hashlib.sha256(f"pipeline={PIPELINE_VERSION}".encode())
    for path in raw_files(root):
        digest.update(str(path.relative_to(root)).encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _processed(root: Path, cache_dir: Path) -> tuple[pipeline.Processed, str]:
    key = cache_key(root)
    cached = cache_dir / f"geolife-{key[:20]}.npz"
    if cached.exists():
        with np.load(cached, allow_pickle=False) as archive:
            stats = json.loads(str(archive["stats"]))
            return pipeline.Processed(archive["x"], archive["y"], archive["users"], stats), key
    result = pipeline.process(root)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".npz.tmp")
    with os.fdopen(handle, "wb") as stream:
        np.savez(stream, x=result.x, y=result.y, users=result.users, stats=json.dumps(result.stats))
    os.replace(temporary, cached)
    return result, key


def _dataset(result: pipeline.Processed, key: str, synthetic_data: bool, description: str, provenance: dict) -> Dataset:
    if len(result.y) == 0:
        raise DataError(f"{provenance.get('root')}: the pipeline kept no segment (counts: {result.stats.get('counts')}); "
                        "fix: check that labels.txt intervals cover the trajectories")
    counts = np.bincount(result.y, minlength=len(CLASS_NAMES)).tolist()
    return Dataset(x=result.x, y=result.y, class_names=list(CLASS_NAMES), groups=result.users,
                   synthetic=synthetic_data, description=f"{description}; {len(result.y)} segments, per class {counts}",
                   provenance={**provenance, "raw_sha256": key, "pipeline": result.stats.get("counts", {}),
                               "read_examples": result.stats.get("examples", [])})


def load_geolife(root: str, cache_dir: str = "data/cache") -> Dataset:
    """GeoLife 1.3 through the authors' pipeline, cached by the raw files' content hash."""
    result, key = _processed(Path(root), Path(cache_dir))
    return _dataset(result, key, False, f"GeoLife 1.3 at {root}, the authors' pipeline",
                    {"root": root, "source": "GeoLife 1.3"})


def load_synthetic(root: str = "data/tmd_synthetic", seed: int = 0, num_segments: int = 32000,
                   cache_dir: str = "data/cache") -> Dataset:
    """Synthetic GeoLife-format files (generated once), read by the same reader and pipeline as the real data."""
    summary = synthetic.ensure(root, seed=seed, num_segments=num_segments)
    result, key = _processed(Path(root), Path(cache_dir))
    return _dataset(
        result, key, True,
        f"SYNTHETIC GeoLife-format trajectories (simulator seed {seed}, {summary['points']} points), not the paper's "
        "data: accuracy on it is not comparable with the paper's",
        {"root": root, "generator": summary},
    )


def load_pickle(path: str) -> Dataset:
    """The authors' processed tensors `(TotalInput, FinalLabel)`, loaded as their script did (latin1)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file}: not found; it is the authors' Revised_KerasData_Smoothing.pickle; "
                        "fix: pass paper.data.path=/path/to/Revised_KerasData_Smoothing.pickle")
    try:
        with open(file, "rb") as handle:
            total_input, final_label = pickle.load(handle, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise DataError(f"{file}: not a pickle of (TotalInput, FinalLabel) ({error}); fix: use the authors' file") from error
    x = np.asarray(total_input, dtype=np.float32)
    y = np.asarray(final_label).ravel().astype(np.int64)
    if x.ndim != 4 or x.shape[1:] != (1, 200, 4) or len(x) != len(y):
        raise DataError(f"{file}: TotalInput has shape {x.shape} and FinalLabel {len(y)} labels; "
                        "expected (N, 1, 200, 4) and N; fix: use the authors' processed file")
    if y.min() < 0 or y.max() >= len(CLASS_NAMES):
        raise DataError(f"{file}: labels range {y.min()}..{y.max()}, expected 0..4; fix: use the authors' processed file")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    # Nothing in the file proves where it came from: the record keeps its hash, and the description says what is
    # assumed (a user with another file sets paper.data.synthetic=true and the report flags the data).
    return Dataset(x=x, y=y, class_names=list(CLASS_NAMES),
                   description=(f"a processed pickle {file.name} (SHA-256 {digest[:12]}…, {len(y)} segments), taken to "
                                "be the authors' Revised_KerasData_Smoothing.pickle; replicate cannot check that"),
                   provenance={"path": str(file), "sha256": digest})
