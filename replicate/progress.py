"""Progress of a run: a live rich display on a terminal, one log line per finished repeat otherwise."""
from __future__ import annotations

import logging
import math
import statistics
import sys
from typing import Any, Optional

log = logging.getLogger(__name__)


class LogProgress:
    """One log line per finished repeat, with the running mean ± std of the headline metric (quiet mode)."""

    def __init__(self, total: int, headline: str, epochs: int):
        self.total, self.headline, self.epochs = total, headline, epochs
        self.done = 0
        self.values: list[float] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def epoch(self, repeat: int, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch of a running repeat (ignored in quiet mode)."""

    def running(self) -> str:
        if not self.values:
            return ""
        spread = f" ± {statistics.stdev(self.values):.4g}" if len(self.values) > 1 else ""
        return f"{self.headline} running mean {statistics.fmean(self.values):.4g}{spread}"

    def finished(self, record: dict[str, Any]) -> None:
        self.done += 1
        value: Optional[float] = (record.get("metrics") or {}).get(self.headline)
        if record["status"] == "completed" and value is not None and math.isfinite(value):
            self.values.append(value)
        shown = f"{self.headline}={value:.6g}" if isinstance(value, float) and record["status"] == "completed" else record["status"]
        running = self.running()
        log.info("repeat %d finished (%d/%d) in %.1f s: %s%s", record["repeat"], self.done, self.total,
                 record.get("wall_seconds") or float("nan"), shown, f"; {running}" if running else "")

    def close(self) -> None:
        pass


class RichProgress(LogProgress):
    """Repeats done/total with elapsed time and ETA, the current epoch of each running repeat, and the running mean."""

    def __init__(self, total: int, headline: str, epochs: int, console=None):
        super().__init__(total, headline, epochs)
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[note]}"),
            transient=False, console=console,
        )
        self.overall = self.bar.add_task("repeats", total=total, note="")
        self.tasks: dict[int, Any] = {}
        self.bar.start()

    def epoch(self, repeat: int, epoch: int, logs: dict[str, float]) -> None:
        if repeat not in self.tasks:
            self.tasks[repeat] = self.bar.add_task(f"  repeat {repeat}", total=self.epochs, note="")
        loss = logs.get("loss")
        self.bar.update(self.tasks[repeat], completed=epoch, note=f"loss {loss:.4g}" if loss is not None else "")

    def finished(self, record: dict[str, Any]) -> None:
        super().finished(record)
        task = self.tasks.pop(record["repeat"], None)
        if task is not None:
            self.bar.remove_task(task)
        self.bar.update(self.overall, advance=1, note=self.running())

    def close(self) -> None:
        self.bar.stop()


def make_progress(enabled: Optional[bool], total: int, headline: str, epochs: int) -> LogProgress:
    """Rich display when asked (progress=true) or when stdout is a terminal (progress=null); log lines otherwise."""
    live = sys.stdout.isatty() if enabled is None else enabled
    return (RichProgress if live else LogProgress)(total, headline, epochs)
