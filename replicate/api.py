"""The Python API for notebooks: run the main command for a paper and get its run's files back as Python objects.

Training runs in a subprocess (``python -m replicate``, the same interpreter), not in the notebook's process: a
repeat's bits depend on TensorFlow's process-wide settings (threads, op determinism) that can only be set before
TensorFlow first runs, and a notebook has usually imported it already. The subprocess is exactly the command line a
colleague would type, so a notebook's result is the command's result. docs/python-api.md shows it in use.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterable, Mapping, Optional

from replicate.errors import ReplicateError

if TYPE_CHECKING:
    import pandas as pd

_MULTIRUN = ("-m", "--multirun")


@dataclass(frozen=True)
class RunResult:
    """One finished run directory: its path, summary.json as a dict, its repeats as a DataFrame, its report paths.

    ``RunResult(Path("outputs/mlp_sequence/b07b3e362331"))`` opens a run made earlier (by the command or run_paper).
    """

    run_dir: Path

    @cached_property
    def summary(self) -> dict[str, Any]:
        """summary.json: every number and verdict the report shows (its keys: docs/python-api.md)."""
        path = self.run_dir / "summary.json"
        if not path.is_file():
            raise ReplicateError(f"{path}: no such file; fix: rebuild the report with 'python -m replicate.report "
                                 f"{self.run_dir}' (or run the command again, which resumes the run)")
        return json.loads(path.read_text(encoding="utf-8"))

    @cached_property
    def records(self) -> "pd.DataFrame":
        """One row per repeat, from the records (replicate.load_runs): seeds, metrics, kept epoch, hashes, time."""
        from replicate.runs import load_runs

        return load_runs(self.run_dir)

    @property
    def report_md(self) -> Path:
        return self.run_dir / "report.md"

    @property
    def report_html(self) -> Path:
        return self.run_dir / "report.html"

    @property
    def run_id(self) -> str:
        return self.summary["run_id"]


def run_paper(paper: str, overrides: Iterable[str] = (), output_dir: Optional[str | os.PathLike] = None, *,
              cwd: Optional[str | os.PathLike] = None, env: Optional[Mapping[str, str]] = None,
              quiet: bool = False, timeout: Optional[float] = None) -> RunResult:
    """Run ``python -m replicate paper=PAPER OVERRIDES...`` in a subprocess and return its run directory's files.

    paper: a paper config name (conf/paper/<name>.yaml), e.g. "mlp_sequence".
    overrides: the command's KEY=VALUE arguments, e.g. ["repeats=10", "paper.protocol.epochs=5"].
    output_dir: the run directory (passed as hydra.run.dir); None: the command's default,
        outputs/<paper>/<run id> below `cwd`, the same folder the command line would use, so a rerun resumes it.
    cwd: where the command runs (relative paths in overrides and the default outputs/ are below it); default: the
        notebook's working directory.
    env: extra environment variables for the command (e.g. {"REPLICATE_DATA_DIR": "/data"}).
    quiet: False echoes the command's output live (a notebook cell shows the progress); True keeps it quiet.
    timeout: seconds before the command is stopped (a ReplicateError); None waits for it. Finished repeats are kept,
        so calling run_paper again with the same arguments resumes.

    Raises ReplicateError with the command's own last error line when it exits non-zero (the same one line the
    command prints, e.g. an unknown key and its fix).
    """
    overrides = [str(item) for item in overrides]
    if any(item in _MULTIRUN for item in overrides):
        raise ReplicateError(f"run_paper: overrides {overrides} ask for a sweep (-m), which makes many run "
                             "directories; fix: run one configuration per call, or run the sweep with "
                             "'python -m replicate -m ...' and read it with replicate.load_runs(SWEEP_DIR)")
    if output_dir is not None and any(item.lstrip("+").startswith("hydra.run.dir=") for item in overrides):
        raise ReplicateError("run_paper: both output_dir and a hydra.run.dir override name the run directory; fix: "
                             "give one of them")
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    command = [sys.executable, "-m", "replicate", f"paper={paper}", *overrides]
    if output_dir is not None:
        command.append(f"hydra.run.dir={Path(output_dir).expanduser().resolve()}")
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}

    run_dir = _planned_run_dir(command, cwd, environment)
    returncode, stdout_tail, stderr_tail = _run(command, cwd, environment, quiet, timeout)
    if returncode != 0:
        said = _last_line(stderr_tail) or _last_line(stdout_tail) or "no output"
        raise ReplicateError(f"{_shown(command)} exited with status {returncode}: {said}",
                             exit_code=returncode if returncode > 0 else 1)
    return RunResult(run_dir)


def _planned_run_dir(command: list[str], cwd: Path, environment: Mapping[str, str]) -> Path:
    """The run directory the command will use: the main command asked for its resolved `output_dir` key
    (`--cfg job --resolve -p output_dir`, which composes the config without training), relative to `cwd`."""
    asked = subprocess.run([*command, "--cfg", "job", "--resolve", "-p", "output_dir"], cwd=cwd, env=dict(environment),
                           capture_output=True, text=True)
    lines = [line.strip() for line in asked.stdout.splitlines() if line.strip()]
    if asked.returncode != 0 or not lines:
        said = _last_line(asked.stderr) or _last_line(asked.stdout) or "no output"
        raise ReplicateError(f"{_shown(command)} exited with status {asked.returncode}: {said}",
                             exit_code=asked.returncode if asked.returncode > 0 else 1)
    return (cwd / lines[-1]).resolve()


def _run(command: list[str], cwd: Path, environment: Mapping[str, str], quiet: bool,
         timeout: Optional[float]) -> tuple[int, list[str], list[str]]:
    """Run `command`, echoing its stdout and stderr as they come unless `quiet`; returns the exit status and the
    last lines of each stream (kept for the error message, not the whole log: a long run's output is large)."""
    process = subprocess.Popen(command, cwd=cwd, env=dict(environment), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace")
    tails: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def pump(stream: IO[str], name: str, echo: IO[str]) -> None:
        for line in stream:
            tails[name] = [*tails[name][-49:], line.rstrip("\n")]
            if not quiet:
                echo.write(line)
                echo.flush()

    readers = [threading.Thread(target=pump, args=(process.stdout, "stdout", sys.stdout), daemon=True),
               threading.Thread(target=pump, args=(process.stderr, "stderr", sys.stderr), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()  # SIGTERM: the command stops its workers and keeps every finished record
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise ReplicateError(f"{_shown(command)} ran past timeout={timeout} s and was stopped; fix: call run_paper "
                             "again with the same arguments (it resumes from the finished repeats) or a larger "
                             "timeout") from None
    except BaseException:
        process.kill()  # the notebook's cell was interrupted: do not leave a training process behind
        process.wait()
        raise
    finally:
        for reader in readers:
            reader.join(timeout=10)
    return returncode, tails["stdout"], tails["stderr"]


def _last_line(text: str | list[str]) -> str:
    lines = text.splitlines() if isinstance(text, str) else text
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _shown(command: list[str]) -> str:
    """The command as a person would type it (python -m replicate ...), for error messages."""
    return " ".join(["python", *command[1:]])
