"""OmegaConf resolvers the configs use: where data lives, and values chosen by a named setting."""
from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf, open_dict

from replicate.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
# A wheel carries the configs inside the package (setup.py); a checkout (or an editable install) has conf/ beside it.
IN_CHECKOUT = not (PACKAGE_DIR / "conf").is_dir()
CONF_DIR = PROJECT_ROOT / "conf" if IN_CHECKOUT else PACKAGE_DIR / "conf"


def data_dir() -> str:
    """Where datasets live: $REPLICATE_DATA_DIR, else the checkout's data/ folder (installed from a wheel: ./data)."""
    default = PROJECT_ROOT / "data" if IN_CHECKOUT else Path.cwd() / "data"
    return os.environ.get("REPLICATE_DATA_DIR", str(default))


def switch(name: str, choices: dict, key: str = "setting"):
    """`${switch:${.name},{faithful: test, corrected: validation}}`: the value for `name`, or a one-line error."""
    if name not in choices:
        raise ConfigError(f"{key}={name}: unknown choice; fix: choose one of {', '.join(map(str, choices))}")
    return choices[name]


def run_id(*, _root_) -> str:
    """A short hash of everything that affects results: the default run directory, stable so a rerun resumes (the
    same id replicate.runs.run_id reads back from a run's run.json)."""
    from replicate.environment import software_versions
    from replicate.runs import run_id as identify

    plain = lambda value: str(getattr(value, "value", value))  # noqa: E731 (an enum from the schema, or a str)
    return identify({"paper": OmegaConf.to_container(_root_.paper, resolve=True, enum_to_str=True),
                     "seed": _root_.seed, "threads": _root_.threads, "determinism": plain(_root_.determinism),
                     "versions": software_versions(), "vary": None if _root_.vary is None else list(_root_.vary)})


def output_dir(*, _root_) -> str:
    """The job's run directory; where Hydra has made none (`--cfg job --resolve`), the one `hydra.run.dir` names."""
    from hydra.core.hydra_config import HydraConfig

    hydra = HydraConfig.get()
    if not OmegaConf.is_missing(hydra.runtime, "output_dir"):
        return hydra.runtime.output_dir
    pattern = OmegaConf.to_container(hydra.run, resolve=False)["dir"]  # e.g. outputs/${paper.name}/${run_id:}
    with open_dict(_root_):
        _root_["_run_dir"] = pattern
        try:
            return str(_root_._run_dir)
        finally:
            del _root_["_run_dir"]


def sweep_id() -> str:
    """A short hash of a sweep's overrides as typed (order, hydra.* settings and the launcher aside): the default sweep directory,
    stable so the same `-m` command resumes every configuration. Hydra resolves it first in the sweeper (this
    process, before any job runs) and copies the resolver cache into each job's config, so every job, in this
    process or a launcher's worker, gets that same value."""
    import hashlib
    import json
    import sys

    typed = sorted(arg for arg in sys.argv[1:]
                   if not arg.startswith("-") and not arg.lstrip("+~").startswith(("hydra.", "hydra/")))
    return hashlib.sha256(json.dumps(typed).encode()).hexdigest()[:12]


def path_safe(text: str) -> str:
    """One directory name from an override string: a config-group key ('paper/model=cnn_a') keeps its '/' out of the
    path (it would nest the run directories), written as '.' like any other key path."""
    return str(text).replace("/", ".")


def register() -> None:
    for name, function in (("data_dir", data_dir), ("switch", switch), ("run_id", run_id), ("output_dir", output_dir),
                           ("sweep_id", sweep_id), ("path_safe", path_safe)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function, use_cache=name == "sweep_id")
