"""Repeats one after another in the current process."""
from __future__ import annotations

from replicate import seeding
from replicate.config import RunSettings
from replicate.executors.common import check_data_unchanged, load_data
from replicate.plan import RepeatSpec
from replicate.progress import make_progress
from replicate.store import RecordStore


def execute(settings: RunSettings, specs: list[RepeatSpec], store: RecordStore) -> None:
    from replicate.train import run_repeat

    seeding.configure_process(settings.threads, settings.determinism)
    data = load_data(settings.paper)
    check_data_unchanged(data, store)
    with make_progress(settings.progress, len(specs), settings.headline, settings.paper["protocol"]["epochs"]) as progress:
        for spec in specs:
            record = run_repeat(settings.paper, spec, data, on_epoch=progress.epoch)
            store.write(record)
            progress.finished(record)
