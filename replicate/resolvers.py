"""OmegaConf resolvers the configs use: where data lives, and values chosen by a named setting."""
from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

from replicate.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> str:
    """Where datasets live: $REPLICATE_DATA_DIR, else the project's data/ folder."""
    return os.environ.get("REPLICATE_DATA_DIR", str(PROJECT_ROOT / "data"))


def switch(name: str, choices: dict, key: str = "setting"):
    """`${switch:${.name},{faithful: test, corrected: validation}}`: the value for `name`, or a one-line error."""
    if name not in choices:
        raise ConfigError(f"{key}={name}: unknown choice; fix: choose one of {', '.join(map(str, choices))}")
    return choices[name]


def run_id(*, _root_) -> str:
    """A short hash of everything that affects results: the default run directory, stable so a rerun resumes."""
    from replicate.environment import software_versions
    from replicate.plan import run_identity

    paper = OmegaConf.to_container(_root_.paper, resolve=True, enum_to_str=True)
    plain = lambda value: str(getattr(value, "value", value))  # noqa: E731 (an enum from the schema, or a str)
    return run_identity(paper, int(_root_.seed), int(_root_.threads), plain(_root_.determinism), software_versions(),
                        None if _root_.vary is None else tuple(_root_.vary))[:12]


def register() -> None:
    for name, function in (("data_dir", data_dir), ("switch", switch), ("run_id", run_id)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
