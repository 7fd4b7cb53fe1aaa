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


def register() -> None:
    for name, function in (("data_dir", data_dir), ("switch", switch)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, function)
