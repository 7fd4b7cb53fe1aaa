"""Progress: a live display on a terminal, one log line per finished repeat otherwise."""
import io
import logging

from rich.console import Console

from replicate.progress import LogProgress, RichProgress, Terminal


def _record(repeat, value, status="completed"):
    return {"repeat": repeat, "status": status, "metrics": {"test_mse": value}, "wall_seconds": 1.5}


def test_quiet_mode_logs_one_line_per_repeat_with_the_running_mean(caplog):
    caplog.set_level(logging.INFO)
    progress = Terminal(False).progress(3, "test_mse", 10)
    assert type(progress) is LogProgress
    for repeat, value in enumerate([1.0, 3.0]):
        progress.finished(_record(repeat, value))
    progress.finished(_record(2, None, status="failed"))
    lines = [r.getMessage() for r in caplog.records]
    assert lines[1] == "repeat 1 finished (2/3) in 1.5 s: test_mse=3; test_mse running mean 2 ± 1.414"
    assert lines[2].startswith("repeat 2 finished (3/3) in 1.5 s: failed")


def test_not_a_terminal_means_quiet_by_default(capsys):
    assert type(Terminal(None).progress(1, "m", 1)) is LogProgress  # pytest's stdout is not a terminal


def test_live_display_shows_repeats_epochs_and_running_mean():
    buffer = io.StringIO()
    progress = RichProgress(2, "test_mse", 4, console=Console(file=buffer, width=150, force_terminal=False))
    progress.epoch(0, 2, {"loss": 0.5})
    progress.finished(_record(0, 0.25))
    progress.epoch(1, 4, {"loss": 0.1})
    progress.finished(_record(1, 0.75))
    progress.close()
    text = buffer.getvalue()
    assert "repeats" in text and "2/2" in text
    assert "test_mse running mean 0.5 ± 0.3536" in text
