"""Hydra callbacks (conf/config.yaml, hydra.callbacks). Hydra makes them before every command, so this module
imports nothing heavy: what a callback needs is imported when it runs."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class StrictKeys(Callback):
    """Refuses unknown or removed keys (replicate.config.check_schema) before Hydra writes anything into the run
    directory, so a refused command never rewrites a finished run's .hydra/; settings_from_config checks again
    inside every job (sweeps included)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from replicate.config import check_schema
        from replicate.errors import ConfigError

        try:
            check_schema(config, tuple(config.hydra.overrides.task))
        except ConfigError as error:
            # Hydra turns a callback's exception into a warning and goes on; SystemExit is not an Exception.
            print(f"replicate: error: {error}", file=sys.stderr)
            raise SystemExit(error.exit_code) from error


class SweepReport(Callback):
    """Writes sweep_report.md in the sweep directory when a multirun ends (replicate.report.sweep)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from replicate.report.sweep import sweep_exit_status, write_sweep_report

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = write_sweep_report(sweep_dir)
        except Exception as error:  # a report problem must not hide the finished runs
            log.error("sweep report failed: %s", error)
            path = None
        if path:
            log.info("sweep report: %s", path)
        # Every configuration ran (one that failed or learned nothing does not stop the others): the sweep exits with
        # the worst of their statuses, as one run would (SystemExit, not an Exception: Hydra lets it through).
        status, why = sweep_exit_status(sweep_dir)
        if status:
            print(f"replicate: {why} (exit {status})", file=sys.stderr)
            raise SystemExit(status)
