"""`replicate-report RUN_DIR [KEY=VALUE ...]` (or `python -m replicate.report`): rebuild every report file from the stored records, without
training; KEY=VALUE re-scores under other claims or report settings (e.g. report.tolerance=0.02)."""
import argparse
import logging
import sys
from pathlib import Path

from replicate import cli
from replicate.errors import ReplicateError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog=cli.prog("replicate-report", "replicate.report"), description=__doc__)
    parser.add_argument("run_dir", type=Path, help="a run directory written by 'python -m replicate' (run.json, records/)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="scoring settings to change: report.confidence, report.tolerance, paper.reported.N.value, ...")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from replicate.report import write_report

    try:
        summary = write_report(args.run_dir, args.overrides)
    except ReplicateError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    counts = summary["repeats"]
    print(f"{args.run_dir / 'report.md'}: {counts['completed']} completed of {counts['requested']} repeats")
    for claim in summary["claims"]:
        print(f"  {claim['label']}: {claim['verdict_label']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
