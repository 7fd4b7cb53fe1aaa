"""The command line: Hydra composes the config; user errors become one line and a non-zero exit."""
from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
import sys
from typing import Callable, Optional

from replicate.errors import ReplicateError

log = logging.getLogger(__name__)

USER_ERROR_EXIT = 2


def prog(command: str, module: str) -> str:
    """The command as the user typed it: the console script (`replicate-report`) or `python -m replicate.report`."""
    return command if os.path.basename(sys.argv[0]) == command else f"python -m {module}"


def require_tensorflow() -> None:
    """TensorFlow comes from an extra ([cpu] or [gpu]); without it, say which to install instead of a traceback."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        raise ReplicateError("TensorFlow is not installed (replicate takes it from an extra, so CPU and GPU builds "
                             "never meet); fix: pip install 'replicate[cpu]' (CPU, small) or 'replicate[gpu]' "
                             "(GPU TensorFlow with CUDA, Linux); from a checkout: pip install -e '.[cpu]'")


def _overrides(argv: list[str]) -> list[str]:
    return [arg for arg in argv if "=" in arg and not arg.startswith("-")]


def _override_value(key: str, argv: list[str]) -> Optional[str]:
    from replicate.config import override_for

    given = override_for(key, _overrides(argv))
    return None if given is None else given.partition("=")[2]


def _valid_keys(key: str, argv: list[str], config_name: str) -> list[str]:
    """Keys that exist beside `key` (under its parent) in the config composed without the offending overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import DictConfig, OmegaConf

    from replicate.config import CONF_DIR

    parent = key.rpartition(".")[0]
    kept = [o for o in _overrides(argv) if not (o.lstrip("+~").partition("=")[0] + ".").startswith(key + ".")]
    try:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = compose(config_name=config_name, overrides=[o for o in kept if not o.startswith("hydra")])
        node = OmegaConf.select(cfg, parent) if parent else cfg
        return sorted(str(k) for k in node.keys()) if isinstance(node, DictConfig) else []
    except Exception:  # composing for a hint must never hide the real error
        return []


def _expected(message: str) -> str:
    """What the schema wanted, in words, from an OmegaConf validation message."""
    choices = re.search(r"expected one of \[([^\]]*)\]", message)
    if choices:
        return f"one of {choices.group(1)}"
    for type_name, words in (("Integer", "an integer"), ("Float", "a number"), ("Boolean", "true or false")):
        if f"converted to {type_name}" in message:
            return words
    return "a value of the type the schema expects (replicate/schema.py)"


def describe_config_error(error: BaseException, argv: list[str], config_name: str = "config") -> str:
    """One line for a Hydra/OmegaConf composition error: the key, the value received and the fix."""
    from omegaconf.errors import OmegaConfBaseException

    cause = error
    while cause.__cause__ is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    text = str(error).strip()
    full_key = getattr(cause, "full_key", None)
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else text.splitlines()[0]

    match = re.search(r"Could not override '([^']+)'", text)
    key = full_key or (match.group(1) if match else None)
    if key and ("not in struct" in str(cause) or "Key '" in first_line and "not" in first_line):
        parent, _, leaf = key.rpartition(".")
        valid = _valid_keys(key, argv, config_name)
        close = difflib.get_close_matches(leaf, valid, n=1)
        hint = f"did you mean '{(parent + '.') if parent else ''}{close[0]}'? " if close else ""
        listing = f"valid keys under {parent or 'the top level'}: {', '.join(valid)}" if valid else "check the spelling"
        value = _override_value(key, argv)
        received = f" (got {key}={value})" if value is not None else ""
        return f"unknown config key '{key}'{received}; fix: {hint}{listing}"
    if key and "does not support deletion" in str(cause):
        return (f"config key '{key}' cannot be removed (~{key}): every run needs it; fix: give it a value instead "
                f"({key}=VALUE)")
    if key:
        value = _override_value(key, argv)
        received = f"{key}={value}" if value is not None else key
        return f"bad value for '{received}': {first_line}; fix: give '{key}' {_expected(first_line)}"
    if "Could not find" in text:
        options = re.search(r"Available options in '[^']+':(.*?)(Config search path|$)", text, re.S)
        available = ", ".join(options.group(1).split()) if options else ""
        return text.splitlines()[0] + (f"; fix: choose one of {available}" if available else "; fix: check the name against the files in conf/")
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


@contextlib.contextmanager
def user_errors():
    """Inside a Hydra task: a ReplicateError becomes one line on stderr and exit 2 (Hydra would log it twice)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        yield
    except (ReplicateError, HydraException, OmegaConfBaseException) as error:
        if os.environ.get("REPLICATE_TRACEBACK") == "1":
            raise
        print(f"replicate: error: {user_message(error)}", file=sys.stderr)
        sys.exit(getattr(error, "exit_code", USER_ERROR_EXIT))
    except Exception as error:
        if os.environ.get("REPLICATE_TRACEBACK") != "1":
            exit_on_io_fault(error, _hydra_run_dir())
        raise


def in_sweep() -> bool:
    """Whether this Hydra job is one configuration of a sweep (-m)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:  # "HydraConfig was not set"
        return False


def exit_after_runs(outcomes) -> None:
    """The main command's exit status once its runs reached their reports (replicate.errors): 0, 1 (repeats failed)
    or 4 (no run learned, said in one line). One configuration of a sweep does not exit: the sweep's other
    configurations still run, and the sweep exits with the worst status when it ends (callbacks.SweepReport)."""
    from replicate.errors import NOTHING_LEARNED_EXIT, worst_exit_status

    status = worst_exit_status(outcome.exit_status for outcome in outcomes)
    for outcome in outcomes:
        if outcome.exit_status == NOTHING_LEARNED_EXIT:
            print(f"replicate: no run learned, so no claim has a verdict: {outcome.summary['did_not_learn']['text']}; "
                  f"report: {outcome.run_dir / 'report.md'}", file=sys.stderr)
    if status and not in_sweep():
        sys.exit(status)


def _hydra_run_dir() -> Optional[str]:
    """The run directory of the Hydra task running now, None outside one."""
    from hydra.core.hydra_config import HydraConfig

    try:
        return HydraConfig.get().runtime.output_dir
    except ValueError:  # "HydraConfig was not set"
        return None


def exit_on_io_fault(error: BaseException, run_dir: Optional[str] = None) -> None:
    """A file-system fault (a file in the way, no permission, a full disk) becomes one line naming the path and the
    fix, and the exit; anything else returns, to keep its traceback. run_dir: named when the OS names no file (a write
    on a full disk)."""
    from replicate.store import io_fault

    fault = io_fault(error, run_dir)
    if fault is not None:
        print(f"replicate: error: {fault}", file=sys.stderr)
        sys.exit(fault.exit_code)


def user_message(error: BaseException) -> str:
    """Our own message when one is in the cause chain (e.g. raised inside a resolver), else a config description."""
    cause: Optional[BaseException] = error
    while cause is not None:
        if isinstance(cause, ReplicateError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return describe_config_error(error, sys.argv[1:])


def main(task: Callable[[], None], argv: Optional[list[str]] = None) -> None:
    """Run a Hydra-decorated `task`; print user errors as one line (exit 2), keep tracebacks for real bugs."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    argv = sys.argv[1:] if argv is None else argv
    try:
        require_tensorflow()
    except ReplicateError as error:
        print(f"replicate: error: {error}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT)
    user_wants_traces = os.environ.get("HYDRA_FULL_ERROR") == "1"
    if user_wants_traces:
        os.environ["REPLICATE_TRACEBACK"] = "1"
    # Hydra re-raises instead of printing its own multi-line message; we print one line below.
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        task()
    except (ReplicateError, HydraException, OmegaConfBaseException) as error:
        if user_wants_traces:
            raise
        print(f"replicate: error: {user_message(error)}", file=sys.stderr)
        sys.exit(getattr(error, "exit_code", USER_ERROR_EXIT))
    except BrokenPipeError:
        # `replicate --help | head`: the reader left; no traceback (and none again when Python flushes at exit).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except Exception as error:
        # Hydra meets the run dir first (making it, .hydra/, its log file), before any task code runs.
        if not user_wants_traces:
            exit_on_io_fault(error)
        raise
    except KeyboardInterrupt:
        print("replicate: interrupted; finished repeats are kept and the next run resumes", file=sys.stderr)
        sys.exit(130)
