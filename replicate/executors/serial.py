"""executor=serial: units of work one after another in this process (debugging; no worker start-up cost)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from replicate.dataset import unpack
from replicate.driver import Job, Unit, Worker


class SerialExecutor:
    def __init__(self, run_dir: Optional[Path] = None, **options):
        self.worker: Optional[Worker] = None
        self.queued: list[Unit] = []

    def capacity(self, job: Job) -> int:
        return 1

    def describe(self, size: int) -> str:
        return "this process (executor=serial)"

    def start(self, job: Job, size: int, on_epoch) -> None:
        self.worker, self.on_epoch = Worker(job, unpack(job.data)), on_epoch

    def submit(self, unit: Unit) -> None:
        self.queued.append(unit)

    def wait(self, timeout: float) -> list:
        """Runs the queued unit here (the driver submits one at a time: capacity 1)."""
        done = []
        while self.queued:
            unit = self.queued.pop(0)
            done.append((unit, self.worker.run(unit, self.on_epoch)))
        return done

    def close(self) -> None:
        self.queued.clear()
