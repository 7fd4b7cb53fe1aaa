"""What a person sees: the real command in a real terminal (tmux) with the live display on, and what
`hydra.verbose=true` opens (replicate's own debug lines, no third-party noise)."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import LEARNS, ROOT, run_cli

# One log line as hydra/job_logging/replicate.yaml formats it.
LOG_LINE = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]\[[\w.]+\]\[[A-Z]+\] - ")
BAR = "━"


def _tmux(socket: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=timeout, check=True)


def _screen(socket: str) -> list[str]:
    """The pane and its scrollback, wrapped lines joined (-J): one line per line the program printed."""
    text = _tmux(socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "run").stdout
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: no real terminal to look at")
def test_live_display_in_a_real_terminal(tmp_path):
    """Log lines (and the workers' stderr) print above the bars, never inside one; start-up says what it waits for;
    the run ends with the verdict table and both report paths."""
    run_dir = tmp_path / "run"
    command = shutil.which("replicate") or f"{shlex.quote(sys.executable)} -m replicate"
    socket = f"replicate-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("HYDRA_FULL_ERROR", "TF_CPP_MIN_LOG_LEVEL", "TMUX")}
    script = (f"cd {shlex.quote(str(ROOT))} && {command} repeats=4 paper.protocol.epochs=3 executor=local "
              f"executor.workers=2 hydra.run.dir={shlex.quote(str(run_dir))}; "
              f"echo EXIT=$? > {shlex.quote(str(tmp_path / 'exit'))}; tmux -L {socket} wait-for -S done; sleep 120")
    screens: list[list[str]] = []
    try:
        subprocess.run(["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", "run", "-x", "160",
                        "-y", "50", script], env=env, check=True, timeout=30)
        deadline = time.monotonic() + 180
        while not (tmp_path / "exit").exists():  # look at the screen as it changes, as a person would
            assert time.monotonic() < deadline, "\n".join(_screen(socket))
            screens.append(_screen(socket))
            time.sleep(0.2)
        _tmux(socket, "wait-for", "done", timeout=30)
        screen = _screen(socket)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=30)
    shown = "\n".join(screen)
    assert (tmp_path / "exit").read_text().strip() == "EXIT=0", shown

    lines = [line for line in screen if line.strip()]
    table_at = next(i for i, line in enumerate(lines) if line.endswith("repeats completed"))  # the verdicts' title
    for at, line in enumerate(lines):
        starts = [match.start() for match in LOG_LINE.finditer(line)]
        assert starts in ([], [0]), f"a log line inside another line:\n{line}"
        if BAR in line and at < table_at:  # a bar line: the display's own, with no log text cut into it
            assert re.match(r"^(repeats|  repeat \d+|  self-check: repeat \d+) ", line), f"a broken bar line:\n{line}"
    # every log line whole: its text ends as the log file has it (no bar glued onto it)
    logged = (run_dir / "replicate.log").read_text(encoding="utf-8").splitlines()
    for line in lines:
        if LOG_LINE.match(line):
            assert line in logged, f"a log line on screen differs from the log file's:\n{line}"

    assert any(line.startswith("repeats ") and "4/4" in line for line in lines), shown
    # start-up: while the workers start, the bar says so instead of a bare 0/4 with an unknown ETA
    assert any(line.startswith("repeats ") and "0/4" in line and "starting 2 worker processes" in line
               for seen in screens for line in seen), "no screen showed the workers starting"
    assert any("loading mlp_sequence's data" in line for line in lines), shown
    assert any("writing the report" in line for line in lines), shown

    summary = json.loads((run_dir / "summary.json").read_text())
    table = lines[table_at:]
    for claim in summary["claims"]:
        row = next((line for line in table if line.lstrip("│┃ ").startswith(claim["label"] + " ")), None)
        assert row is not None, f"no row for claim {claim['label']!r}:\n{table}"
        assert claim["verdict_label"].split(" (")[0] in row, row
    assert f"report: {run_dir / 'report.html'}" in lines, shown
    assert f"report: {run_dir / 'report.md'}" in lines, shown
    assert lines.index(f"report: {run_dir / 'report.md'}") > table_at > max(
        i for i, line in enumerate(lines) if line.startswith("repeats "))


def test_verbose_shows_replicates_debug_lines_and_no_third_party_noise(tmp_path):
    """hydra.verbose=true sets the root logger to DEBUG; conf/hydra/job_logging/replicate.yaml keeps matplotlib,
    markdown-it, PIL & co. at WARNING, so what opens is replicate's own: the plan, the executor, the groups."""
    run_dir = tmp_path / "run"
    result = run_cli(["repeats=2", "paper.protocol.epochs=2", LEARNS, "selfcheck.enabled=false", "executor=serial",
                      f"hydra.run.dir={run_dir}", "hydra.verbose=true"], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    logged = (run_dir / "replicate.log").read_text(encoding="utf-8").splitlines()
    debug = [line for line in logged if "][DEBUG] - " in line]
    ours = [line for line in debug if re.match(r"\[[^]]*\]\[replicate[.\]]", line)]
    others = [line for line in debug if line not in ours]
    assert others == [], f"{len(others)} third-party debug lines, e.g.:\n" + "\n".join(others[:5])
    assert len(ours) >= 6, "\n".join(ours)
    for expected in ("plan: 2 repeats of mlp_sequence", "plan: repeat 0 identity", "plan: repeat 1 identity",
                     "executor: SerialExecutor", "executor capacity: 1", "unit: repeats 0, 1 (a lockstep group)"):
        assert any(expected in line for line in ours), f"no debug line with {expected!r}:\n" + "\n".join(ours)
    for noisy in ("matplotlib", "markdown_it", "PIL"):
        assert f"[{noisy}" not in result.stdout and f"[{noisy}" not in result.stderr
    # not a terminal: the verdicts as plain lines, then the report paths
    out = result.stdout.splitlines()
    header = next(i for i, line in enumerate(out) if re.search(r"\] - claim +statistic +reported .* verdict$", line))
    summary = json.loads((run_dir / "summary.json").read_text())
    for claim, line in zip(summary["claims"], out[header + 1:]):
        assert claim["label"] in line and line.rstrip().endswith(claim["verdict_label"]), line
    assert out[-2].endswith(f"report: {run_dir / 'report.html'}") and out[-1].endswith(f"report: {run_dir / 'report.md'}")


def test_resume_lists_the_reused_identities_under_verbose(tmp_path):
    """The same command again reuses the finished records; verbose says which, by identity."""
    run_dir = tmp_path / "run"
    args = ["repeats=2", "paper.protocol.epochs=2", LEARNS, "selfcheck.enabled=false", "executor=serial",
            f"hydra.run.dir={run_dir}", "hydra.verbose=true"]
    assert run_cli(args, timeout=300).returncode == 0
    (run_dir / "replicate.log").unlink()
    result = run_cli(args, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    logged = Path(run_dir / "replicate.log").read_text(encoding="utf-8")
    assert re.search(r"resume: repeat 0 reused \(identity [0-9a-f]{16} matches its record, status completed\)", logged)
    assert "resume: repeat 1 reused" in logged


def test_log_lines_go_through_the_display_console_and_come_back_after(capsys):
    """While live, the root logger's console handler (Hydra's StreamHandler on stdout) is swapped for one that
    prints on the display's Console, keeping its format; afterwards the original is back. Records marked
    screen=False (the verdict lines a terminal sees as a table) stay off the screen."""
    import io
    import logging

    from rich.console import Console

    from replicate.progress import ConsoleHandler, Terminal

    root = logging.getLogger()
    original = logging.StreamHandler(sys.stdout)
    original.setFormatter(logging.Formatter("[%(name)s][%(levelname)s] - %(message)s"))
    before = list(root.handlers)
    root.addHandler(original)
    buffer = io.StringIO()
    try:
        with Terminal(True, console=Console(file=buffer, width=60, force_terminal=True)) as terminal:
            assert original not in root.handlers
            assert any(isinstance(handler, ConsoleHandler) for handler in root.handlers)
            logging.getLogger("replicate.test").warning("a line longer than the sixty columns of this console, whole")
            logging.getLogger("replicate.test").warning("file only", extra={"screen": False})
            with terminal.progress(2, "test_mse", 3) as progress:
                progress.starting("starting 2 worker processes (1 thread(s) each)")
                progress.bar.refresh()  # the frame a person sees until the first epoch arrives
                progress.epoch(0, 1, {"loss": 0.5})
        assert original in root.handlers and not any(isinstance(h, ConsoleHandler) for h in root.handlers)
    finally:
        root.removeHandler(original)
        assert root.handlers == before
    text = buffer.getvalue()
    assert "[replicate.test][WARNING] - a line longer than the sixty columns of this console, whole\n" in text
    assert "file only" not in text
    assert "starting 2 worker processes" in text
