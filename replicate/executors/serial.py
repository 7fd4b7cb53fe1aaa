"""Repeats one after another in the current process."""
from __future__ import annotations

from replicate import seeding
from replicate.config import RunSettings
from replicate.executors.common import check_data_unchanged, load_data
from replicate.plan import RepeatSpec, tasks
from replicate.progress import make_progress
from replicate.store import RecordStore


def execute(settings: RunSettings, specs: list[RepeatSpec], store: RecordStore) -> None:
    from replicate.replicas import run_task

    seeding.configure_process(settings.threads, settings.determinism)
    data = load_data(settings.paper)
    check_data_unchanged(data, store)
    with make_progress(settings.progress, len(specs), settings.headline, settings.paper["protocol"]["epochs"]) as progress:
        for task in tasks(specs, settings.replicas, workers=1):
            for record in run_task(settings.paper, task, data, on_epoch=progress.epoch):
                store.write(record)
                progress.finished(record)
