"""What every executor shares: loading the data once, running one spec, and reporting progress."""
from __future__ import annotations

import logging
import math
import statistics
from typing import Any, Optional

from replicate.dataset import Dataset

log = logging.getLogger(__name__)


def load_data(paper: dict) -> Dataset:
    from replicate.train import instantiate

    data = instantiate(paper["data"])
    if not isinstance(data, Dataset):
        raise TypeError(f"paper.data._target_ {paper['data'].get('_target_')} returned {type(data).__name__}, expected replicate.dataset.Dataset")
    return data


class ProgressLog:
    """One log line per finished repeat, with the running mean ± std of the headline metric."""

    def __init__(self, total: int, headline: str):
        self.total, self.headline = total, headline
        self.done = 0
        self.values: list[float] = []

    def finished(self, record: dict[str, Any]) -> None:
        self.done += 1
        value: Optional[float] = record.get("metrics", {}).get(self.headline)
        if record["status"] == "completed" and value is not None and math.isfinite(value):
            self.values.append(value)
        spread = f" ± {statistics.stdev(self.values):.4g}" if len(self.values) > 1 else ""
        running = f"; running mean {statistics.fmean(self.values):.4g}{spread}" if self.values else ""
        shown = f"{self.headline}={value:.6g}" if isinstance(value, float) else record["status"]
        log.info("repeat %d finished (%d/%d) in %.1f s: %s%s", record["repeat"], self.done, self.total,
                 record.get("wall_seconds", float("nan")), shown, running)
