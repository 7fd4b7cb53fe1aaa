"""`study=variance`: one group of repeats per source of randomness, plus all and none, and each source's share."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from replicate.config import RunSettings
from replicate.report.variance import write_variance_report
from replicate.runner import RunOutcome, run
from replicate.seeding import SOURCES

log = logging.getLogger(__name__)


def groups() -> dict[str, tuple[str, ...]]:
    """Group name -> the sources that vary in it: each source alone, all of them, and none."""
    return {**{source: (source,) for source in SOURCES}, "all": SOURCES, "none": ()}


def group_dirs(root: Path) -> dict[str, Path]:
    """Group name -> its run directory, OUTPUT_DIR/variance/<group>, in groups()' order."""
    return {name: Path(root) / "variance" / name for name in groups()}


def run_variance_study(settings: RunSettings) -> list[RunOutcome]:
    """Run every group as an ordinary set of repeats in OUTPUT_DIR/variance/<group> (resumable), then report."""
    root = Path(settings.output_dir)
    directories = group_dirs(root)
    outcomes = []
    for name, vary in groups().items():
        log.info("variance study: group '%s' (varying: %s)", name, ", ".join(vary) or "nothing")
        group_settings = dataclasses.replace(
            settings, vary=vary, output_dir=str(directories[name]),
            selfcheck={**settings.selfcheck, "enabled": settings.selfcheck["enabled"] and name == "all"},
        )
        outcomes.append(run(group_settings))
    write_variance_report(root, directories)
    return outcomes
