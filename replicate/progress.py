"""What a run shows while it works: a live rich display on a terminal (log lines above it, a spinner for each phase,
bars for the repeats, the verdicts at the end), plain log lines otherwise (CI logs, a pipe, a file)."""
from __future__ import annotations

import contextlib
import logging
import math
import os
import statistics
import sys
import threading
from pathlib import Path
from typing import Any, Iterator, Optional

log = logging.getLogger(__name__)


def live_mode(enabled: Optional[bool]) -> bool:
    """progress=true/false decides; progress=null: live when stdout is a terminal."""
    return sys.stdout.isatty() if enabled is None else bool(enabled)


class ConsoleHandler(logging.Handler):
    """Prints log records through the live display's rich Console, so they land above the bars and spinners
    instead of inside them (a plain StreamHandler writes wherever the cursor is, mid-bar). The line is printed as
    the replaced handler formatted it, unwrapped (the terminal wraps it): one log record, one line. A record logged
    with extra={"screen": False} goes to the log file only (the screen shows it another way, e.g. as a table)."""

    def __init__(self, console, level: int = logging.NOTSET):
        super().__init__(level)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "screen", True) is False:
            return
        try:
            from rich.text import Text

            self.console.print(Text(self.format(record)), soft_wrap=True)
        except Exception:
            self.handleError(record)


def _is_console_handler(handler: logging.Handler) -> bool:
    return (type(handler) is logging.StreamHandler
            and getattr(handler, "stream", None) in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__))


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


class _StderrThroughConsole:
    """The process's file descriptor 2 as a pipe whose lines a thread prints through the console. Worker processes
    inherit it, so what TensorFlow's C++ side and the workers write to stderr (oneDNN notices, absl warnings) comes
    out as whole lines above the display instead of cutting into a bar. Python's own sys.stderr is left alone (rich
    already redirects it while a display is live)."""

    def __init__(self, console):
        self.console = console
        self.saved: Optional[int] = None
        self.thread: Optional[threading.Thread] = None

    def start(self) -> None:
        try:
            sys.__stderr__.flush()
            self.saved = os.dup(2)
            read, write = os.pipe()
            os.dup2(write, 2)
            os.close(write)
        except (OSError, AttributeError, ValueError):
            self.saved = None
            return
        self.thread = threading.Thread(target=self._pump, args=(read,), name="replicate-stderr", daemon=True)
        self.thread.start()

    def _pump(self, read: int) -> None:
        from rich.text import Text

        with os.fdopen(read, "r", encoding="utf-8", errors="replace") as pipe:
            for line in pipe:
                try:
                    self.console.print(Text(line.rstrip("\n"), style="dim"), soft_wrap=True)
                except Exception:  # the console is gone (shutdown): nowhere left to show it
                    return

    def stop(self) -> None:
        if self.saved is None:
            return
        try:
            sys.__stderr__.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(self.saved, 2)  # the pipe's write end closes here, unless a worker still holds it
        os.close(self.saved)
        self.saved = None
        if self.thread is not None:
            self.thread.join(timeout=2)  # what the pipe still holds is printed; a straggler worker does not block


class Terminal:
    """The screen of one run, from loading the data to the verdicts.

    Live (a terminal, or progress=true): one rich Console for everything; Python logging's console handlers
    (Hydra's, from hydra/job_logging) are swapped for a ConsoleHandler on it and fd 2 is piped through it while
    the run lasts, then restored, so every line prints above the live part. Each phase shows a spinner (rich has no
    timer for it); the repeats show bars (RichProgress); the run ends with a verdict table and the report paths.
    Not live: each phase is one log line, the repeats one line each (LogProgress), the verdicts plain lines."""

    def __init__(self, enabled: Optional[bool], console=None):
        self.live = console is not None or live_mode(enabled)
        self.console = console
        if self.live and self.console is None:
            from rich.console import Console

            self.console = Console()
        self.swapped: list[tuple[logging.Handler, logging.Handler]] = []
        self.stderr: Optional[_StderrThroughConsole] = None

    def __enter__(self) -> "Terminal":
        if self.live:
            root = logging.getLogger()
            for handler in list(root.handlers):
                if _is_console_handler(handler):
                    routed = ConsoleHandler(self.console, handler.level)
                    routed.setFormatter(handler.formatter)
                    for log_filter in handler.filters:
                        routed.addFilter(log_filter)
                    root.removeHandler(handler)
                    root.addHandler(routed)
                    self.swapped.append((handler, routed))
            if self.console.file in (sys.stdout, sys.__stdout__) and _isatty(1) and _isatty(2):
                # both on the terminal (not `2>file`, where stderr already stays out of the display's way)
                self.stderr = _StderrThroughConsole(self.console)
                self.stderr.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.stderr is not None:
            self.stderr.stop()
            self.stderr = None
        root = logging.getLogger()
        for original, routed in reversed(self.swapped):
            root.removeHandler(routed)
            root.addHandler(original)
        self.swapped.clear()

    @contextlib.contextmanager
    def phase(self, text: str) -> Iterator[None]:
        """A step outside the repeats (loading data, the self-check's re-run, writing the report): one log line as
        it starts (the log file keeps it, and the screen's scrollback), and while it lasts a spinner on a
        terminal, so a long step (e.g. generating tmd_cnn's synthetic data on first use) never looks stuck."""
        log.info("%s", text)
        if not self.live:
            yield
            return
        with self.console.status(f"{text}…", spinner="dots"):
            yield

    def progress(self, total: int, headline: str, epochs: int) -> "LogProgress":
        if self.live:
            return RichProgress(total, headline, epochs, console=self.console)
        return LogProgress(total, headline, epochs)

    def verdicts(self, summary: dict[str, Any], run_dir: Path) -> None:
        """The run's last words: one row per claim (reported, achieved, verdict), then the report files. The log
        file gets the plain-text lines in both modes; a terminal shows a rich table instead of them."""
        rows = verdict_rows(summary)
        paths = [run_dir / "report.html", run_dir / "report.md"]
        notes = verdict_notes(summary)
        for line in [*notes, *plain_table(rows)]:
            log.info("%s", line, extra={"screen": not self.live})
        for path in paths:
            log.info("report: %s", path, extra={"screen": not self.live})
        if self.live:
            for note in notes:
                style = "bold yellow" if note[:1].isupper() and note.split(":")[0].isupper() else ""
                self.console.print(f"[{style}]{note}[/{style}]" if style else note, highlight=False, soft_wrap=True)
            self.console.print(rich_table(rows, summary))
            for path in paths:
                self.console.print(f"report: [bold]{path}[/bold]", highlight=False, soft_wrap=True)


HEADERS = ("claim", "statistic", "reported", "achieved (mean ± sd, n)", "interval of the mean", "verdict")


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def verdict_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per claim of a summary (replicate.report.summary.build_summary): its label, statistic, the value
    reported, what the repeats achieved in that metric and the verdict's label. Numbers as the report prints them."""
    rows = []
    for claim in summary.get("claims", []):
        statistic = claim["statistic"].replace("_", " ")
        if claim.get("k"):
            statistic += f" (k={claim['k']})"
        if claim.get("learned_only"):
            statistic += ", learned runs only"
        reported = claim["reported"]
        if isinstance(reported, (list, tuple)):
            shown = f"{len(reported)} values, median {_fmt(float(statistics.median(reported)))}" if reported else "—"
        else:
            shown = _fmt(float(reported), 6)
            if claim.get("reported_std") is not None:
                shown += f" ± {_fmt(float(claim['reported_std']))}"
        metric = (summary.get("metrics") or {}).get(claim["column"]) or {}
        if metric.get("n"):
            spread = f" ± {_fmt(metric['std'])}" if metric["n"] > 1 else ""
            achieved = f"{_fmt(metric['mean'])}{spread} (n={metric['n']})"
            low, high = (metric.get("ci_t") or [None, None])[:2]
            interval = "—" if low is None or high is None else f"[{_fmt(low)}, {_fmt(high)}]"
            if interval != "—" and metric.get("confidence"):
                interval = f"{metric['confidence']:.0%} {interval}"
        else:
            achieved, interval = "no completed repeat", "—"
        rows.append((claim["label"], statistic, shown, achieved, interval, claim["verdict_label"]))
    return rows


def verdict_notes(summary: dict[str, Any]) -> list[str]:
    """What must be read with the verdicts, said where they are shown as the report says it: synthetic data, failed
    repeats, runs that did not learn, and whether the self-check found the run bitwise reproducible."""
    notes = []
    if (summary.get("data") or {}).get("synthetic"):
        notes.append("SYNTHETIC DATA: these repeats trained on generated data, not the paper's; the verdicts test the "
                     "harness and the protocol and say nothing about the paper")
    counts = summary.get("repeats") or {}
    lost = sum(counts.get(key) or 0 for key in ("failed", "diverged", "missing"))
    if lost:
        notes.append(f"FAILED: {lost} of {counts.get('requested', '?')} repeats did not complete (failed "
                     f"{counts.get('failed') or 0}, diverged {counts.get('diverged') or 0}, missing "
                     f"{counts.get('missing') or 0}); the numbers use the {counts.get('completed', 0)} that did")
    learned = summary.get("did_not_learn") or {}
    headline = (learned.get("columns") or {}).get(learned.get("headline")) or {}
    if learned.get("none_learned"):
        notes.append(f"NO VERDICT: {learned['text']}; no claim is judged, as no run learned")
    elif headline.get("not_learned"):
        notes.append(f"RUNS THAT DID NOT LEARN: {learned['text']}")
    if summary.get("sequential"):
        notes.append(summary["sequential"]["text"])
    reproducible = summary.get("reproducible") or {}
    if reproducible.get("text"):
        prefix = "NOT BITWISE REPRODUCIBLE: " if reproducible.get("status") == "no" else "bitwise reproducible: "
        notes.append(prefix + reproducible["text"])
    return notes


def plain_table(rows: list[tuple[str, ...]]) -> list[str]:
    """The verdict table as aligned plain-text lines (logs that are not a terminal)."""
    if not rows:
        return ["no claims to test (the paper config reports no number)"]
    widths = [max(len(str(row[i])) for row in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(HEADERS, widths)).rstrip()]
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return lines


VERDICT_STYLES = {"consistent": "green", "inconsistent": "bold red", "inconclusive": "yellow"}


def rich_table(rows: list[tuple[str, ...]], summary: dict[str, Any]):
    from rich.table import Table

    counts = summary.get("repeats") or {}
    title = (f"{(summary.get('paper') or {}).get('name', '')}: {counts.get('completed', '?')} of "
             f"{counts.get('requested', '?')} repeats completed")
    table = Table(title=title, title_justify="left")
    for header in HEADERS:
        table.add_column(header, overflow="fold")
    for row, claim in zip(rows, summary.get("claims", [])):
        style = VERDICT_STYLES.get(str(claim.get("verdict")), "")
        table.add_row(*row[:-1], f"[{style}]{row[-1]}[/{style}]" if style else row[-1])
    if not rows:
        table.add_row("no claims to test", *[""] * (len(HEADERS) - 1))
    return table


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

    def starting(self, text: str) -> None:
        """Workers are starting (TensorFlow loads in each): said once, until the first epoch arrives."""
        log.info("%s", text)

    def note(self, text: str, level: int = logging.INFO) -> None:
        """What the run waits on once no repeat is left to finish (the self-check's re-run, the workers stopping):
        a log line at `level`; the live display also shows it beside the repeats bar."""
        log.log(level, "%s", text)

    def epoch(self, repeat, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch of a running repeat (ignored in quiet mode). `repeat`: its index, or a label
        (the self-check's re-run)."""

    def unit_done(self, repeat) -> None:
        """A bar that no record finishes (the self-check's re-run) is done."""

    def grow(self, total: int, text: str) -> None:
        """More repeats to run than the bar said (repeats=auto: the next round); ``text`` says why."""
        self.total = total
        log.info("%s", text)

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
        self.console = self.bar.console
        self.overall = self.bar.add_task("repeats", total=total, note="")
        self.tasks: dict[Any, Any] = {}
        self.waiting = False
        self.bar.start()

    def starting(self, text: str) -> None:
        """Shown in the repeats bar's note (instead of an ETA that cannot be known yet) until the first epoch."""
        super().starting(text)
        self.waiting = True
        self.bar.update(self.overall, note=f"{text}…")

    def note(self, text: str, level: int = logging.INFO) -> None:
        super().note(text, level)
        running = self.running()
        self.bar.update(self.overall, note=f"{running}; {text}…" if running else f"{text}…")

    def epoch(self, repeat, epoch: int, logs: dict[str, float]) -> None:
        if self.waiting:
            self.waiting = False
            self.bar.update(self.overall, note=self.running())
        if repeat not in self.tasks:
            label = f"repeat {repeat}" if isinstance(repeat, int) else str(repeat)
            self.tasks[repeat] = self.bar.add_task(f"  {label}", total=self.epochs, note="")
        loss = logs.get("loss")
        self.bar.update(self.tasks[repeat], completed=epoch, note=f"loss {loss:.4g}" if loss is not None else "")

    def unit_done(self, repeat) -> None:
        task = self.tasks.pop(repeat, None)
        if task is not None:
            self.bar.remove_task(task)

    def grow(self, total: int, text: str) -> None:
        super().grow(total, text)
        self.bar.update(self.overall, total=total)

    def finished(self, record: dict[str, Any]) -> None:
        super().finished(record)
        self.unit_done(record["repeat"])
        self.waiting = False
        self.bar.update(self.overall, advance=1, note=self.running())

    def close(self) -> None:
        self.bar.stop()
