"""Preprocessing throughput of tmd_cnn's GeoLife reader + pipeline, on synthetic GeoLife-format files.

    python benchmarks/bench_tmd_preprocess.py --segments 32000      # the default synthetic set's size
"""
import argparse
import platform
import tempfile
import time
from pathlib import Path

from replicate.papers.tmd_cnn import data, pipeline, synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=32000, help="segments to simulate (default: 32000, the full set)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tmd-") as folder:
        root = Path(folder) / "geolife"
        started = time.perf_counter()
        summary = synthetic.generate(root, seed=args.seed, num_segments=args.segments)
        generated = time.perf_counter() - started
        started = time.perf_counter()
        key = data.cache_key(root)
        hashed = time.perf_counter() - started
        started = time.perf_counter()
        result = pipeline.process(root)
        processed = time.perf_counter() - started
    points = summary["points"]
    print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"generator:            {points:,} points, {generated:.1f} s ({points / generated:,.0f} points/s)")
    print(f"content hash (cache): {hashed:.1f} s ({points / hashed:,.0f} points/s)  key {key[:12]}")
    print(f"reader + pipeline:    {len(result.y):,} segments, {processed:.1f} s ({points / processed:,.0f} points/s, "
          f"{len(result.y) / processed:,.0f} segments/s)")
    print(f"at this rate the real GeoLife set (about 25 million points) takes {25e6 / (points / (processed + hashed)) / 60:.1f} minutes")


if __name__ == "__main__":
    main()
